//! WINHTTP_OPTION_DECOMPRESSION: Accept-Encoding only when enabled, bodies decoded while
//! they stream (gzip, deflate in both forms, and beyond WinHTTP br and zstd), read in small
//! pieces and compared exactly, the encoding headers as WinHTTP reports them.

use hinet_tests::calls::{
    FLAG_REQUEST_HEADERS, QUERY_CONTENT_ENCODING, QUERY_CONTENT_LENGTH, code, header, open,
    read_all, request, send_receive, set_option, status,
};
use hinet_tests::feature_routes::compress;
use hinet_tests::{Daemon, HttpServer, RpcConn, big_body};
use serde_json::json;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const OPTION_DECOMPRESSION: u32 = 118;
const GZIP: u64 = 1;
const ALL: u64 = 3;
const SIZE: usize = 100_000;

async fn query_level(c: &RpcConn, req: u64, level: u32) -> Result<String, hinet_tests::RpcError> {
    let v = c
        .call(
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": level}),
        )
        .await?;
    Ok(v["value"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn every_coding_is_decoded_in_small_reads() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({})).await;
    set_option(&c, s, OPTION_DECOMPRESSION, json!(ALL))
        .await
        .unwrap();
    let expected = big_body(SIZE);
    for enc in ["gzip", "deflate", "deflate-raw", "br", "zstd"] {
        for chunked in [false, true] {
            let path = format!(
                "/compressed?enc={enc}&size={SIZE}{}",
                if chunked { "&chunked=1" } else { "" }
            );
            let req = request(&c, s, "127.0.0.1", origin.port(), "GET", &path, 0).await;
            send_receive(&c, req, json!({})).await.unwrap();
            assert_eq!(status(&c, req).await, 200);
            // The encoding headers describe the encoded body: no longer reported.
            assert_eq!(
                code(query_level(&c, req, QUERY_CONTENT_ENCODING).await),
                12150
            );
            assert_eq!(
                code(query_level(&c, req, QUERY_CONTENT_LENGTH).await),
                12150
            );
            let body = read_all(&c, req, 777).await.unwrap();
            assert!(
                body == expected,
                "{enc} (chunked {chunked}): {} bytes differ",
                body.len()
            );
        }
    }
    let seen = origin.requests();
    assert!(
        seen.iter()
            .all(|r| r.header("accept-encoding") == Some("gzip, deflate, br, zstd")),
        "{:?}",
        seen.iter()
            .map(|r| r.header("accept-encoding"))
            .collect::<Vec<_>>()
    );
    // Each body was read to its end, so one connection carried every request.
    assert_eq!(origin.connections(), 1);
}

#[tokio::test]
async fn without_the_option_bodies_arrive_as_sent() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({})).await;
    let req = request(
        &c,
        s,
        "127.0.0.1",
        origin.port(),
        "GET",
        &format!("/compressed?enc=gzip&size={SIZE}"),
        0,
    )
    .await;
    send_receive(&c, req, json!({})).await.unwrap();
    assert_eq!(
        query_level(&c, req, QUERY_CONTENT_ENCODING).await.unwrap(),
        "gzip"
    );
    let encoded = compress("gzip", &big_body(SIZE)).await.expect("gzip");
    assert_eq!(
        query_level(&c, req, QUERY_CONTENT_LENGTH).await.unwrap(),
        encoded.len().to_string()
    );
    assert!(read_all(&c, req, 4096).await.unwrap() == encoded);
    assert_eq!(origin.requests()[0].header("accept-encoding"), None);
}

#[tokio::test]
async fn gzip_only_replaces_the_applications_accept_encoding() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({})).await;
    let port = origin.port();
    // Set on the request, not the session.
    let req = request(
        &c,
        s,
        "127.0.0.1",
        port,
        "GET",
        "/compressed?enc=gzip&size=5000",
        0,
    )
    .await;
    set_option(&c, req, OPTION_DECOMPRESSION, json!(GZIP))
        .await
        .unwrap();
    send_receive(&c, req, json!({"headers": "Accept-Encoding: identity"}))
        .await
        .unwrap();
    assert!(read_all(&c, req, 100).await.unwrap() == big_body(5000));
    assert_eq!(origin.requests()[0].header("accept-encoding"), Some("gzip"));
    assert_eq!(
        header(&c, req, "Accept-Encoding", FLAG_REQUEST_HEADERS)
            .await
            .unwrap(),
        "gzip"
    );
    // A coding the setting does not cover is passed through untouched.
    let req = request(
        &c,
        s,
        "127.0.0.1",
        port,
        "GET",
        "/compressed?enc=br&size=5000",
        0,
    )
    .await;
    set_option(&c, req, OPTION_DECOMPRESSION, json!(GZIP))
        .await
        .unwrap();
    send_receive(&c, req, json!({})).await.unwrap();
    assert_eq!(
        query_level(&c, req, QUERY_CONTENT_ENCODING).await.unwrap(),
        "br"
    );
    let encoded = compress("br", &big_body(5000)).await.expect("br");
    assert!(read_all(&c, req, 100).await.unwrap() == encoded);
    // Requests opened before the session's setting keep theirs (a snapshot).
    let before = request(
        &c,
        s,
        "127.0.0.1",
        port,
        "GET",
        "/compressed?enc=gzip&size=10",
        0,
    )
    .await;
    set_option(&c, s, OPTION_DECOMPRESSION, json!(ALL))
        .await
        .unwrap();
    send_receive(&c, before, json!({})).await.unwrap();
    assert_eq!(origin.requests()[2].header("accept-encoding"), None);
}

#[tokio::test]
async fn a_broken_or_empty_encoded_body() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({})).await;
    set_option(&c, s, OPTION_DECOMPRESSION, json!(ALL))
        .await
        .unwrap();
    let port = origin.port();
    // "ok" is not gzip: the read fails with 12152, and again on the next read.
    let req = request(
        &c,
        s,
        "127.0.0.1",
        port,
        "GET",
        "/respond?Content-Encoding=gzip",
        0,
    )
    .await;
    send_receive(&c, req, json!({})).await.unwrap();
    let e = read_all(&c, req, 100).await.unwrap_err();
    assert_eq!(e.code, 12152, "{e}");
    assert!(e.message.contains("gzip"), "{e}");
    assert_eq!(code(read_all(&c, req, 100).await), 12152);
    // HEAD: nothing to decode.
    let req = request(&c, s, "127.0.0.1", port, "HEAD", "/compressed?enc=gzip", 0).await;
    send_receive(&c, req, json!({})).await.unwrap();
    assert!(read_all(&c, req, 100).await.unwrap().is_empty());
    // A chunked body with no bytes at all is an empty body, not a broken one.
    let req = request(
        &c,
        s,
        "127.0.0.1",
        port,
        "GET",
        "/compressed?enc=gzip&size=0&chunked=1",
        0,
    )
    .await;
    send_receive(&c, req, json!({})).await.unwrap();
    assert!(read_all(&c, req, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn async_reads_decode_as_they_go() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, json!({"flags": 0x1000_0000u32})).await;
    set_option(&c, s, OPTION_DECOMPRESSION, json!(ALL))
        .await
        .unwrap();
    let req = request(
        &c,
        s,
        "127.0.0.1",
        origin.port(),
        "GET",
        "/compressed?enc=zstd&size=50000&chunked=1",
        0,
    )
    .await;
    c.call(
        "WinHttpSetStatusCallback",
        json!({"handle": req, "notificationFlags": 0xFFFF_FFFFu32}),
    )
    .await
    .unwrap();
    let wait = |name: &'static str| {
        let c = &c;
        async move {
            c.wait_for_notification(std::time::Duration::from_secs(10), |n| {
                let r = &n["params"]["result"];
                r["statusName"] == name || r["statusName"] == "REQUEST_ERROR"
            })
            .await
            .unwrap_or_else(|| panic!("no {name}"))
        }
    };
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    wait("SENDREQUEST_COMPLETE").await;
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    wait("HEADERS_AVAILABLE").await;
    let mut body = Vec::new();
    loop {
        c.call(
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 1000}),
        )
        .await
        .unwrap();
        let n = wait("READ_COMPLETE").await;
        let info = &n["params"]["result"]["info"];
        let data = hinet_tests::unb64(info["data"].as_str().expect("data"));
        if data.is_empty() {
            break;
        }
        assert!(data.len() <= 1000);
        body.extend(data);
    }
    assert!(body == big_body(50_000));
}
