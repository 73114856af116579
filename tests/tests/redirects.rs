//! Automatic redirects inside WinHttpReceiveResponse: policy, limits, method and body rules,
//! cross-host hops and the notification sequence.

use hinet_tests::{Daemon, HttpServer, RpcConn, TestCert, b64, percent_encode, unb64};
use serde_json::{Value, json};
use std::time::Duration;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const WAIT: Duration = Duration::from_secs(10);

fn handle(v: Value) -> u64 {
    v["handle"].as_u64().expect("a handle")
}

fn redirect_path(to: &str, code: u16) -> String {
    format!("/redirect?to={}&code={code}", percent_encode(to))
}

async fn request(
    c: &RpcConn,
    session: u64,
    host: &str,
    port: u16,
    verb: &str,
    path: &str,
    flags: u32,
) -> u64 {
    let con = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": session, "serverName": host, "serverPort": port}),
        )
        .await
        .unwrap(),
    );
    handle(
        c.call(
            "WinHttpOpenRequest",
            json!({"handle": con, "verb": verb, "objectName": path, "flags": flags}),
        )
        .await
        .unwrap(),
    )
}

async fn status(c: &RpcConn, req: u64) -> u64 {
    c.call(
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": 19 | 0x2000_0000}),
    )
    .await
    .unwrap()["value"]
        .as_u64()
        .unwrap()
}

async fn body(c: &RpcConn, req: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let r = c
            .call(
                "WinHttpReadData",
                json!({"handle": req, "bytesToRead": 65536}),
            )
            .await
            .unwrap();
        let chunk = unb64(r["data"].as_str().unwrap());
        if chunk.is_empty() {
            return out;
        }
        out.extend(chunk);
    }
}

async fn send_receive(c: &RpcConn, req: u64, send: Value) -> Result<Value, hinet_tests::RpcError> {
    let mut p = send;
    p["handle"] = json!(req);
    c.call("WinHttpSendRequest", p).await.unwrap();
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
}

#[tokio::test]
async fn follows_a_chain_across_hosts_and_reports_the_final_url() {
    let a = HttpServer::start().await;
    let b = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = handle(c.call("WinHttpOpen", json!({})).await.unwrap());
    // a: /redirect → b (another server) /redirect → b /hello (relative)
    let second = b.url(&redirect_path("/hello", 301));
    let req = request(
        &c,
        s,
        "127.0.0.1",
        a.port(),
        "GET",
        &redirect_path(&second, 302),
        0,
    )
    .await;
    send_receive(&c, req, json!({})).await.unwrap();
    assert_eq!(status(&c, req).await, 200);
    assert_eq!(body(&c, req).await, b"hello world");
    let url = c
        .call("WinHttpQueryOption", json!({"handle": req, "option": 34}))
        .await
        .unwrap();
    assert_eq!(url["value"], b.url("/hello"));
    assert_eq!(a.requests().len(), 1);
    let seen: Vec<_> = b.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(seen, [redirect_path("/hello", 301), "/hello".to_owned()]);
    assert_eq!(
        b.requests()[1].header("host"),
        Some(format!("127.0.0.1:{}", b.port()).as_str())
    );
}

#[tokio::test]
async fn post_becomes_get_on_302_and_keeps_its_body_on_307() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = handle(c.call("WinHttpOpen", json!({})).await.unwrap());

    let req = request(
        &c,
        s,
        "127.0.0.1",
        origin.port(),
        "POST",
        &redirect_path("/echo", 302),
        0,
    )
    .await;
    send_receive(&c, req, json!({"optional": b64(b"payload")}))
        .await
        .unwrap();
    let echo: Value = serde_json::from_slice(&body(&c, req).await).unwrap();
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["body_b64"], "");

    let req = request(
        &c,
        s,
        "127.0.0.1",
        origin.port(),
        "POST",
        &redirect_path("/echo", 307),
        0,
    )
    .await;
    send_receive(&c, req, json!({"optional": b64(b"payload")}))
        .await
        .unwrap();
    let echo: Value = serde_json::from_slice(&body(&c, req).await).unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(unb64(echo["body_b64"].as_str().unwrap()), b"payload");

    // A body streamed through WriteData cannot be sent again: the 307 is the answer.
    let req = request(
        &c,
        s,
        "127.0.0.1",
        origin.port(),
        "POST",
        &redirect_path("/echo", 307),
        0,
    )
    .await;
    c.call(
        "WinHttpSendRequest",
        json!({"handle": req, "totalLength": 4}),
    )
    .await
    .unwrap();
    c.call(
        "WinHttpWriteData",
        json!({"handle": req, "data": b64(b"abcd")}),
    )
    .await
    .unwrap();
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    assert_eq!(status(&c, req).await, 307);
}

#[tokio::test]
async fn policy_disable_and_limits() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = handle(c.call("WinHttpOpen", json!({})).await.unwrap());
    let q = c
        .call("WinHttpQueryOption", json!({"handle": s, "option": 88}))
        .await
        .unwrap();
    assert_eq!(q["value"], 1, "DISALLOW_HTTPS_TO_HTTP by default");
    let q = c
        .call("WinHttpQueryOption", json!({"handle": s, "option": 89}))
        .await
        .unwrap();
    assert_eq!(q["value"], 10);

    // Policy NEVER on the request: the 302 comes back.
    let req = request(
        &c,
        s,
        "127.0.0.1",
        origin.port(),
        "GET",
        &redirect_path("/hello", 302),
        0,
    )
    .await;
    c.call(
        "WinHttpSetOption",
        json!({"handle": req, "option": 88, "value": 0}),
    )
    .await
    .unwrap();
    send_receive(&c, req, json!({})).await.unwrap();
    assert_eq!(status(&c, req).await, 302);
    let loc = c
        .call(
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": 33}),
        )
        .await
        .unwrap();
    assert_eq!(loc["value"], "/hello");

    // WINHTTP_DISABLE_REDIRECTS likewise.
    let req = request(
        &c,
        s,
        "127.0.0.1",
        origin.port(),
        "GET",
        &redirect_path("/hello", 302),
        0,
    )
    .await;
    c.call(
        "WinHttpSetOption",
        json!({"handle": req, "option": 63, "value": 2}),
    )
    .await
    .unwrap();
    send_receive(&c, req, json!({})).await.unwrap();
    assert_eq!(status(&c, req).await, 302);

    // The session's limit is copied by new requests: 2 hops allowed, 3 needed → 12156.
    c.call(
        "WinHttpSetOption",
        json!({"handle": s, "option": 89, "value": 2}),
    )
    .await
    .unwrap();
    let third = redirect_path("/hello", 302);
    let second = redirect_path(&third, 302);
    let req = request(
        &c,
        s,
        "127.0.0.1",
        origin.port(),
        "GET",
        &redirect_path(&second, 302),
        0,
    )
    .await;
    let err = send_receive(&c, req, json!({})).await.unwrap_err();
    assert_eq!(err.code, 12156);
    assert!(
        err.message.starts_with("ERROR_WINHTTP_REDIRECT_FAILED"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn https_to_http_is_refused_by_default_and_allowed_by_always() {
    let cert = TestCert::localhost();
    let tls = HttpServer::start_tls(&cert).await;
    let plain = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &["--ca-file", cert.ca_file.to_str().unwrap()]);
    let c = daemon.connect().await;
    let s = handle(c.call("WinHttpOpen", json!({})).await.unwrap());
    let down = redirect_path(&plain.url("/hello"), 302);
    let req = request(&c, s, "localhost", tls.port(), "GET", &down, 0x0080_0000).await;
    let err = send_receive(&c, req, json!({})).await.unwrap_err();
    assert_eq!(err.code, 12156);
    c.call(
        "WinHttpSetOption",
        json!({"handle": s, "option": 88, "value": 2}),
    )
    .await
    .unwrap();
    let req = request(&c, s, "localhost", tls.port(), "GET", &down, 0x0080_0000).await;
    send_receive(&c, req, json!({})).await.unwrap();
    assert_eq!(body(&c, req).await, b"hello world");
}

#[tokio::test]
async fn async_redirect_sequence() {
    let a = HttpServer::start().await;
    let b = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = handle(
        c.call("WinHttpOpen", json!({"flags": 0x1000_0000}))
            .await
            .unwrap(),
    );
    c.call(
        "WinHttpSetStatusCallback",
        json!({"handle": s, "notificationFlags": 0xFFFF_FFFFu32}),
    )
    .await
    .unwrap();
    let req = request(
        &c,
        s,
        "127.0.0.1",
        a.port(),
        "GET",
        &redirect_path(&b.url("/hello"), 302),
        0,
    )
    .await;
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    c.wait_for_notification(WAIT, |n| {
        n["params"]["result"]["statusName"] == "SENDREQUEST_COMPLETE"
    })
    .await
    .unwrap();
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    let mut seq = Vec::new();
    loop {
        let n = c
            .wait_for_notification(WAIT, |n| n["params"]["result"]["handle"] == req)
            .await
            .unwrap();
        let e = &n["params"]["result"];
        let name = e["statusName"].as_str().unwrap().to_owned();
        if name == "REDIRECT" {
            assert_eq!(e["info"]["url"], b.url("/hello"));
        }
        seq.push(name.clone());
        if name == "HEADERS_AVAILABLE" || name == "REQUEST_ERROR" {
            break;
        }
    }
    // Events of the send (left queued while waiting for its completion) come first.
    let from = seq.iter().position(|n| n == "RECEIVING_RESPONSE").unwrap();
    assert_eq!(
        seq[from..],
        [
            "RECEIVING_RESPONSE",
            "RESPONSE_RECEIVED",
            "REDIRECT",
            "RESOLVING_NAME",
            "NAME_RESOLVED",
            "CONNECTING_TO_SERVER",
            "CONNECTED_TO_SERVER",
            "SENDING_REQUEST",
            "REQUEST_SENT",
            "RECEIVING_RESPONSE",
            "RESPONSE_RECEIVED",
            "HEADERS_AVAILABLE"
        ]
    );
}
