//! Synchronous sessions end to end: hinetd (the real binary) against local HTTP(S) origins.
//!
//! Every test starts its own daemon and servers on 127.0.0.1, drives a synchronous WinHTTP
//! session over JSON-RPC and checks both what the client sees (status, headers, body, error
//! codes) and what the origin saw on the wire. Every daemon call is bounded by a timeout, so
//! a hang fails the test instead of blocking CI.

use std::future::Future;
use std::time::{Duration, Instant};

use hinet_tests::{
    Daemon, HttpServer, RawServer, RpcConn, RpcError, Script, TestCert, b64, big_body, closed_port,
    unb64,
};
use serde_json::{Value, json};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

/// Upper bound for any single daemon call in these tests.
const CALL_LIMIT: Duration = Duration::from_secs(10);
/// Upper bound for reading a whole (small) response body.
const BODY_LIMIT: Duration = Duration::from_secs(5);

// WinHttpQueryHeaders info levels and modifiers.
const QUERY_CONTENT_LENGTH: u32 = 5;
const QUERY_VERSION: u32 = 18;
const QUERY_STATUS_CODE: u32 = 19;
const QUERY_STATUS_TEXT: u32 = 20;
const QUERY_RAW_HEADERS_CRLF: u32 = 22;
const QUERY_USER_AGENT: u32 = 39;
const QUERY_HOST: u32 = 55;
const QUERY_TRANSFER_ENCODING: u32 = 63;
const FLAG_NUMBER: u32 = 0x2000_0000;
const FLAG_REQUEST_HEADERS: u32 = 0x8000_0000;

// WinHttpOpenRequest flags, options and security flags.
const REQUEST_FLAG_SECURE: u32 = 0x0080_0000;
const OPTION_SECURITY_FLAGS: u32 = 31;
const OPTION_URL: u32 = 34;
const SECURITY_FLAG_SECURE: u64 = 0x1;
const IGNORE_UNKNOWN_CA: u64 = 0x100;
const IGNORE_CERT_CN_INVALID: u64 = 0x1000;

// Error numbers.
const ERROR_INVALID_PARAMETER: i64 = 87;
const ERROR_WINHTTP_TIMEOUT: i64 = 12002;
const ERROR_WINHTTP_NAME_NOT_RESOLVED: i64 = 12007;
const ERROR_WINHTTP_INCORRECT_HANDLE_STATE: i64 = 12019;
const ERROR_WINHTTP_CANNOT_CONNECT: i64 = 12029;
const ERROR_WINHTTP_CONNECTION_ERROR: i64 = 12030;
const ERROR_WINHTTP_INVALID_SERVER_RESPONSE: i64 = 12152;
const ERROR_WINHTTP_SECURE_FAILURE: i64 = 12175;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Calls `method`, bounded by [`CALL_LIMIT`]; the daemon's answer, success or error.
async fn try_call(c: &RpcConn, method: &str, params: Value) -> Result<Value, RpcError> {
    match c.call_timeout(method, params.clone(), CALL_LIMIT).await {
        Some(r) => r,
        None => panic!("{method}({params}) did not return within {CALL_LIMIT:?}"),
    }
}

/// Calls `method` and expects success.
async fn ok(c: &RpcConn, method: &str, params: Value) -> Value {
    try_call(c, method, params.clone())
        .await
        .unwrap_or_else(|e| panic!("{method}({params}) failed: {e}"))
}

/// Calls `method` and expects a JSON-RPC error.
async fn fails(c: &RpcConn, method: &str, params: Value) -> RpcError {
    match try_call(c, method, params.clone()).await {
        Ok(v) => panic!("{method}({params}) unexpectedly succeeded with {v}"),
        Err(e) => e,
    }
}

/// Runs `fut`, failing the test if it takes longer than `limit`.
async fn bounded<T>(what: &str, limit: Duration, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

/// `{"handle": h, ...params}`.
fn with_handle(h: u64, mut params: Value) -> Value {
    params
        .as_object_mut()
        .expect("params must be an object")
        .insert("handle".into(), json!(h));
    params
}

fn handle_of(v: &Value) -> u64 {
    v["handle"]
        .as_u64()
        .unwrap_or_else(|| panic!("no handle in {v}"))
}

/// A synchronous session (no ASYNC flag).
async fn open_session(c: &RpcConn, user_agent: &str) -> u64 {
    handle_of(&ok(c, "WinHttpOpen", json!({"userAgent": user_agent})).await)
}

async fn connect(c: &RpcConn, ses: u64, host: &str, port: u16) -> u64 {
    handle_of(
        &ok(
            c,
            "WinHttpConnect",
            json!({"handle": ses, "serverName": host, "serverPort": port}),
        )
        .await,
    )
}

async fn open_request(c: &RpcConn, con: u64, verb: &str, path: &str, flags: u32) -> u64 {
    handle_of(
        &ok(
            c,
            "WinHttpOpenRequest",
            json!({"handle": con, "verb": verb, "objectName": path, "flags": flags}),
        )
        .await,
    )
}

/// Session, connect to 127.0.0.1:`port`, and one request: returns (session, request).
async fn new_request(c: &RpcConn, port: u16, verb: &str, path: &str) -> (u64, u64) {
    let ses = open_session(c, "sync-http-test/1.0").await;
    let con = connect(c, ses, "127.0.0.1", port).await;
    let req = open_request(c, con, verb, path, 0).await;
    (ses, req)
}

async fn send(c: &RpcConn, req: u64, params: Value) {
    ok(c, "WinHttpSendRequest", with_handle(req, params)).await;
}

async fn receive(c: &RpcConn, req: u64) {
    ok(c, "WinHttpReceiveResponse", json!({"handle": req})).await;
}

async fn send_and_receive(c: &RpcConn, req: u64) {
    send(c, req, json!({})).await;
    receive(c, req).await;
}

/// The response status as a number (STATUS_CODE | FLAG_NUMBER).
async fn status_code(c: &RpcConn, req: u64) -> u64 {
    let v = ok(
        c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": QUERY_STATUS_CODE | FLAG_NUMBER}),
    )
    .await;
    v["value"]
        .as_u64()
        .unwrap_or_else(|| panic!("STATUS_CODE with FLAG_NUMBER must be a number: {v}"))
}

/// A header level's text value.
async fn query_text(c: &RpcConn, req: u64, info_level: u32) -> String {
    let v = ok(
        c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": info_level}),
    )
    .await;
    v["value"]
        .as_str()
        .unwrap_or_else(|| panic!("info level {info_level:#x} must be text: {v}"))
        .to_owned()
}

async fn query_option(c: &RpcConn, h: u64, option: u32) -> Value {
    ok(
        c,
        "WinHttpQueryOption",
        json!({"handle": h, "option": option}),
    )
    .await["value"]
        .clone()
}

/// One ReadData; checks that `bytesRead` matches the data.
async fn read_chunk(c: &RpcConn, req: u64, bytes_to_read: u64) -> Vec<u8> {
    let r = ok(
        c,
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": bytes_to_read}),
    )
    .await;
    let data = unb64(r["data"].as_str().expect("data is base64 text"));
    assert_eq!(r["bytesRead"], data.len(), "bytesRead must match data: {r}");
    assert!(data.len() as u64 <= bytes_to_read, "read more than asked");
    data
}

/// Reads the body with ReadData until it returns 0 bytes.
async fn read_all(c: &RpcConn, req: u64, bytes_to_read: u64) -> Vec<u8> {
    let mut body = Vec::new();
    for _ in 0..100_000 {
        let chunk = read_chunk(c, req, bytes_to_read).await;
        if chunk.is_empty() {
            return body;
        }
        body.extend_from_slice(&chunk);
    }
    panic!("ReadData never returned 0 ({} bytes read)", body.len());
}

/// Reads the whole body within [`BODY_LIMIT`].
async fn read_body(c: &RpcConn, req: u64) -> Vec<u8> {
    bounded(
        "reading the response body",
        BODY_LIMIT,
        read_all(c, req, 4096),
    )
    .await
}

/// The JSON body of an /upload or /echo response.
async fn read_json(c: &RpcConn, req: u64) -> Value {
    let body = read_body(c, req).await;
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&body)))
}

/// Checks a WinHTTP error: code, message prefix, `data.name` and a non-empty `data.detail`.
#[track_caller]
fn assert_winhttp_error(e: &RpcError, code: i64, name: &str) {
    assert_eq!(e.code, code, "expected {name}, got {e}");
    assert!(
        e.message.starts_with(name),
        "message must start with {name}: {e}"
    );
    let data = e
        .data
        .as_ref()
        .unwrap_or_else(|| panic!("error without data: {e}"));
    assert_eq!(data["name"], name, "{e}");
    assert!(
        data["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "error without detail: {e}"
    );
}

fn detail(e: &RpcError) -> String {
    e.data
        .as_ref()
        .and_then(|d| d["detail"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Bytes 0..=255 repeated, so that binary bodies are checked byte for byte.
fn binary_body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

// ---------------------------------------------------------------------------------------
// 1. A full GET
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_reports_status_version_body_and_sends_winhttp_headers() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;

    let ses = open_session(&c, "sync-http-agent/2.5").await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;
    let req = open_request(&c, con, "GET", "/hello", 0).await;
    send_and_receive(&c, req).await;

    let number = ok(
        &c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": QUERY_STATUS_CODE | FLAG_NUMBER}),
    )
    .await;
    assert_eq!(number["value"], json!(200), "{number}");
    let text = ok(
        &c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": QUERY_STATUS_CODE}),
    )
    .await;
    assert_eq!(text["value"], json!("200"), "{text}");
    assert_eq!(query_text(&c, req, QUERY_STATUS_TEXT).await, "OK");
    assert_eq!(query_text(&c, req, QUERY_VERSION).await, "HTTP/1.1");
    let len = ok(
        &c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": QUERY_CONTENT_LENGTH | FLAG_NUMBER}),
    )
    .await;
    assert_eq!(len["value"], json!(11), "{len}");

    assert_eq!(read_body(&c, req).await, b"hello world");
    // The end of the body is repeatable.
    assert!(read_chunk(&c, req, 4096).await.is_empty());

    let seen = origin.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let r = &seen[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/hello"));
    assert_eq!(r.version, "HTTP/1.1");
    assert_eq!(r.header("user-agent"), Some("sync-http-agent/2.5"));
    let host = format!("127.0.0.1:{}", origin.port());
    assert_eq!(r.header("host"), Some(host.as_str()));
    assert_eq!(r.header("connection"), Some("Keep-Alive"));
    assert_eq!(r.header("content-length"), None, "a GET has no body");
    ok(&c, "WinHttpCloseHandle", json!({"handle": ses})).await;
}

// ---------------------------------------------------------------------------------------
// 2–4. Request bodies
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn post_with_the_whole_body_in_optional() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open_session(&c, "sync-http-test/1.0").await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;

    let body = binary_body(1000);
    // totalLength given explicitly, and left at 0 (= the optional length).
    for total in [json!(body.len()), json!(0)] {
        let req = open_request(&c, con, "POST", "/upload", 0).await;
        send(
            &c,
            req,
            json!({"optional": b64(&body), "totalLength": total}),
        )
        .await;
        receive(&c, req).await;
        assert_eq!(status_code(&c, req).await, 200);
        let v = read_json(&c, req).await;
        assert_eq!(v["len"], body.len(), "totalLength {total}");
        assert_eq!(unb64(v["body_b64"].as_str().expect("body_b64")), body);
        ok(&c, "WinHttpCloseHandle", json!({"handle": req})).await;
    }

    // A POST without any body still announces its (zero) length.
    let req = open_request(&c, con, "POST", "/upload", 0).await;
    send_and_receive(&c, req).await;
    assert_eq!(read_json(&c, req).await["len"], 0);

    let seen = origin.requests();
    assert_eq!(seen.len(), 3);
    for r in &seen[..2] {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-length"), Some("1000"));
        assert_eq!(r.header("transfer-encoding"), None);
        assert_eq!(r.body, body);
    }
    assert_eq!(seen[2].header("content-length"), Some("0"));
    assert!(seen[2].body.is_empty());
}

#[tokio::test]
async fn post_with_the_rest_of_the_body_through_write_data() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, origin.port(), "POST", "/upload").await;

    let body = binary_body(40);
    send(
        &c,
        req,
        json!({"optional": b64(&body[..10]), "totalLength": 40}),
    )
    .await;
    let w = ok(
        &c,
        "WinHttpWriteData",
        json!({"handle": req, "data": b64(&body[10..17])}),
    )
    .await;
    assert_eq!(w["bytesWritten"], 7, "{w}");
    let w = ok(
        &c,
        "WinHttpWriteData",
        json!({"handle": req, "data": b64(&body[17..30])}),
    )
    .await;
    assert_eq!(w["bytesWritten"], 13, "{w}");

    // 10 bytes remain: 11 would pass the announced total.
    let mut too_much = body[30..].to_vec();
    too_much.push(0xEE);
    let e = fails(
        &c,
        "WinHttpWriteData",
        json!({"handle": req, "data": b64(&too_much)}),
    )
    .await;
    assert_winhttp_error(&e, ERROR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER");

    // The refused write changed nothing: the exact rest still goes through.
    let w = ok(
        &c,
        "WinHttpWriteData",
        json!({"handle": req, "data": b64(&body[30..])}),
    )
    .await;
    assert_eq!(w["bytesWritten"], 10, "{w}");
    let e = fails(
        &c,
        "WinHttpWriteData",
        json!({"handle": req, "data": b64(b"x")}),
    )
    .await;
    assert_eq!(
        e.code, ERROR_INVALID_PARAMETER,
        "write after the total: {e}"
    );

    receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    let v = read_json(&c, req).await;
    assert_eq!(v["len"], 40);
    assert_eq!(unb64(v["body_b64"].as_str().expect("body_b64")), body);

    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("content-length"), Some("40"));
    assert_eq!(seen[0].body, body);
}

#[tokio::test]
async fn large_upload_through_many_write_data_calls() {
    const SIZE: usize = 1 << 20;
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, origin.port(), "PUT", "/upload").await;
    let body = binary_body(SIZE);
    send(&c, req, json!({"totalLength": SIZE})).await;
    bounded("writing 1 MiB", Duration::from_secs(15), async {
        for piece in body.chunks(64 * 1024) {
            let w = ok(
                &c,
                "WinHttpWriteData",
                json!({"handle": req, "data": b64(piece)}),
            )
            .await;
            assert_eq!(w["bytesWritten"], piece.len());
        }
    })
    .await;
    receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    let v = read_json(&c, req).await;
    assert_eq!(v["len"], SIZE);
    let seen = origin.requests();
    assert_eq!(seen[0].header("content-length"), Some("1048576"));
    assert!(seen[0].body == body, "uploaded bytes differ");
}

#[tokio::test]
async fn content_length_header_from_the_application() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open_session(&c, "sync-http-test/1.0").await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;

    // The header gives the length and totalLength is 0 (how WinHTTP sends > 4 GiB
    // bodies, reference §2.1): the body comes through WriteData.
    let req = open_request(&c, con, "POST", "/upload", 0).await;
    ok(
        &c,
        "WinHttpAddRequestHeaders",
        json!({"handle": req, "headers": "Content-Length: 10"}),
    )
    .await;
    send(&c, req, json!({})).await;
    for piece in [&b"01234"[..], b"56789"] {
        let w = ok(
            &c,
            "WinHttpWriteData",
            json!({"handle": req, "data": b64(piece)}),
        )
        .await;
        assert_eq!(w["bytesWritten"], 5);
    }
    receive(&c, req).await;
    let v = read_json(&c, req).await;
    assert_eq!(
        unb64(v["body_b64"].as_str().expect("body_b64")),
        b"0123456789"
    );
    let seen = origin.requests();
    assert_eq!(seen[0].header_all("content-length"), ["10"]);

    // A header that disagrees with totalLength: 87, nothing sent.
    let req = open_request(&c, con, "POST", "/upload", 0).await;
    ok(
        &c,
        "WinHttpAddRequestHeaders",
        json!({"handle": req, "headers": "Content-Length: 5"}),
    )
    .await;
    let e = fails(
        &c,
        "WinHttpSendRequest",
        json!({"handle": req, "optional": b64(b"abc"), "totalLength": 3}),
    )
    .await;
    assert_winhttp_error(&e, ERROR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER");
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn calls_out_of_order_fail_with_incorrect_handle_state() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, origin.port(), "POST", "/upload").await;

    let state_error = |e: RpcError, what: &str| {
        assert_eq!(e.code, ERROR_WINHTTP_INCORRECT_HANDLE_STATE, "{what}: {e}");
        assert!(
            e.message
                .starts_with("ERROR_WINHTTP_INCORRECT_HANDLE_STATE"),
            "{what}: {e}"
        );
    };
    let write = json!({"handle": req, "data": b64(b"early")});
    state_error(
        fails(&c, "WinHttpWriteData", write.clone()).await,
        "WriteData before SendRequest",
    );
    state_error(
        fails(&c, "WinHttpReceiveResponse", json!({"handle": req})).await,
        "ReceiveResponse before SendRequest",
    );
    state_error(
        fails(
            &c,
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": QUERY_STATUS_CODE}),
        )
        .await,
        "QueryHeaders(response) before SendRequest",
    );
    state_error(
        fails(&c, "WinHttpQueryDataAvailable", json!({"handle": req})).await,
        "QueryDataAvailable before SendRequest",
    );
    state_error(
        fails(
            &c,
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 10}),
        )
        .await,
        "ReadData before SendRequest",
    );

    // Sent but not received: response headers are still not there.
    send(&c, req, json!({"optional": b64(b"abc")})).await;
    state_error(
        fails(
            &c,
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": QUERY_STATUS_CODE}),
        )
        .await,
        "QueryHeaders(response) before ReceiveResponse",
    );
    // The whole body was in optional: nothing more may be written (87 or 12019 both
    // refuse it; Windows says 87 for writing past the total).
    let e = fails(&c, "WinHttpWriteData", write.clone()).await;
    assert!(
        e.code == ERROR_INVALID_PARAMETER || e.code == ERROR_WINHTTP_INCORRECT_HANDLE_STATE,
        "WriteData past a complete body: {e}"
    );

    // None of the refused calls broke the request.
    receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    state_error(
        fails(&c, "WinHttpReceiveResponse", json!({"handle": req})).await,
        "ReceiveResponse twice",
    );
    state_error(
        fails(&c, "WinHttpWriteData", write).await,
        "WriteData after ReceiveResponse",
    );
    let v = read_json(&c, req).await;
    assert_eq!(unb64(v["body_b64"].as_str().expect("body_b64")), b"abc");
}

#[tokio::test]
async fn a_send_refused_for_a_bad_header_can_be_retried() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, origin.port(), "GET", "/hello").await;

    // A control character cannot go on the wire. Refusing it when it is added (12153) or
    // when the request is sent (87/12153) are both fine; a refused send must leave the
    // request usable (FAILED → SendRequest is allowed, reference §7).
    let added = try_call(
        &c,
        "WinHttpAddRequestHeaders",
        json!({"handle": req, "headers": "X-Bad: a\u{1}b"}),
    )
    .await;
    match added {
        Err(e) => assert_eq!(e.code, 12153, "{e}"),
        Ok(_) => {
            let e = fails(&c, "WinHttpSendRequest", json!({"handle": req})).await;
            assert!(e.code == ERROR_INVALID_PARAMETER || e.code == 12153, "{e}");
            ok(
                &c,
                "WinHttpAddRequestHeaders",
                json!({"handle": req, "headers": "X-Bad:", "modifiers": 0x8000_0000u32}),
            )
            .await;
        }
    }
    expect_hello(&c, req).await;
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn app_framed_chunked_upload_is_decoded_by_the_server() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open_session(&c, "sync-http-test/1.0").await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;

    let req = open_request(&c, con, "POST", "/upload", 0).await;
    ok(
        &c,
        "WinHttpAddRequestHeaders",
        json!({"handle": req, "headers": "Transfer-Encoding: chunked"}),
    )
    .await;
    send(&c, req, json!({"totalLength": 0})).await;
    // The application's own framing, split at awkward places.
    let pieces: [&[u8]; 4] = [b"5\r\nhel", b"lo\r\n6\r\n world\r\n", b"0\r", b"\n\r\n"];
    for piece in pieces {
        let w = ok(
            &c,
            "WinHttpWriteData",
            json!({"handle": req, "data": b64(piece)}),
        )
        .await;
        assert_eq!(w["bytesWritten"], piece.len(), "{w}");
    }
    receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    let v = read_json(&c, req).await;
    assert_eq!(v["len"], 11, "{v}");
    assert_eq!(
        unb64(v["body_b64"].as_str().expect("body_b64")),
        b"hello world"
    );

    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("transfer-encoding"), Some("chunked"));
    assert_eq!(seen[0].header("content-length"), None);
    assert_eq!(seen[0].body, b"hello world");

    // Chunked with a body in optional, or with a total length: 87, nothing sent.
    for params in [
        json!({"optional": b64(b"5\r\nhello\r\n0\r\n\r\n")}),
        json!({"totalLength": 16}),
    ] {
        let req = open_request(&c, con, "POST", "/upload", 0).await;
        ok(
            &c,
            "WinHttpAddRequestHeaders",
            json!({"handle": req, "headers": "Transfer-Encoding: chunked"}),
        )
        .await;
        let e = fails(&c, "WinHttpSendRequest", with_handle(req, params.clone())).await;
        assert_winhttp_error(&e, ERROR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER");
    }
    assert_eq!(
        origin.requests().len(),
        1,
        "refused sends must not reach the server"
    );
}

// ---------------------------------------------------------------------------------------
// 5. Response bodies
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn chunked_response_body_is_decoded() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, origin.port(), "GET", "/chunked?n=5&size=100").await;
    send_and_receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    assert_eq!(
        query_text(&c, req, QUERY_TRANSFER_ENCODING).await,
        "chunked"
    );
    let body = read_body(&c, req).await;
    assert_eq!(body.len(), 500);
    assert!(body.iter().all(|b| *b == b'a'));
}

#[tokio::test]
async fn close_delimited_body_ends_at_close_and_is_not_reused() {
    let raw = RawServer::start(Script::Respond(
        b"HTTP/1.1 200 OK\r\n\r\nbody-until-close".to_vec(),
    ))
    .await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open_session(&c, "sync-http-test/1.0").await;
    let con = connect(&c, ses, "127.0.0.1", raw.port()).await;
    for _ in 0..2 {
        let req = open_request(&c, con, "GET", "/", 0).await;
        send_and_receive(&c, req).await;
        assert_eq!(status_code(&c, req).await, 200);
        assert_eq!(read_body(&c, req).await, b"body-until-close");
        ok(&c, "WinHttpCloseHandle", json!({"handle": req})).await;
    }
    // A connection whose body ended with its close cannot carry another request.
    assert_eq!(raw.connections(), 2);
}

#[tokio::test]
async fn head_204_and_304_have_no_body_and_end_at_once() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open_session(&c, "sync-http-test/1.0").await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;

    for (verb, path, status) in [
        ("HEAD", "/hello", 200),
        ("GET", "/status/204", 204),
        ("GET", "/status/304", 304),
    ] {
        let req = open_request(&c, con, verb, path, 0).await;
        send_and_receive(&c, req).await;
        assert_eq!(status_code(&c, req).await, status, "{verb} {path}");
        if verb == "HEAD" {
            // The length of the body a GET would get, but no body.
            let len = ok(
                &c,
                "WinHttpQueryHeaders",
                json!({"handle": req, "infoLevel": QUERY_CONTENT_LENGTH | FLAG_NUMBER}),
            )
            .await;
            assert_eq!(len["value"], 11, "{len}");
        }
        let started = Instant::now();
        let avail = ok(&c, "WinHttpQueryDataAvailable", json!({"handle": req})).await;
        assert_eq!(avail["bytesAvailable"], 0, "{verb} {path}: {avail}");
        assert!(
            read_chunk(&c, req, 4096).await.is_empty(),
            "{verb} {path} must have no body"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{verb} {path}: the empty body must end at once, took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(origin.requests().len(), 3);
    assert_eq!(
        origin.connections(),
        1,
        "bodiless responses leave the connection reusable"
    );
}

#[tokio::test]
async fn big_body_read_in_64k_pieces_is_exact() {
    const SIZE: usize = 3_000_000;
    const PIECE: u64 = 65536;
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let path = format!("/big?size={SIZE}");
    let (_ses, req) = new_request(&c, origin.port(), "GET", &path).await;
    send_and_receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);

    let body = bounded("reading 3 MB", Duration::from_secs(20), async {
        let mut body = Vec::with_capacity(SIZE);
        loop {
            let chunk = read_chunk(&c, req, PIECE).await;
            if chunk.is_empty() {
                break body;
            }
            // A synchronous ReadData fills the buffer unless the body ends first.
            if body.len() + chunk.len() < SIZE {
                assert_eq!(chunk.len() as u64, PIECE, "short read at {}", body.len());
            }
            body.extend_from_slice(&chunk);
            assert!(body.len() <= SIZE, "more bytes than Content-Length");
        }
    })
    .await;
    assert_eq!(body.len(), SIZE);
    assert!(body == big_body(SIZE), "body bytes differ from /big's");
}

#[tokio::test]
async fn query_data_available_counts_down_to_zero() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, origin.port(), "GET", "/chunked?n=5&size=100").await;
    send_and_receive(&c, req).await;

    let total = bounded("draining with QueryDataAvailable", BODY_LIMIT, async {
        let mut total = 0u64;
        for _ in 0..1000 {
            let v = ok(&c, "WinHttpQueryDataAvailable", json!({"handle": req})).await;
            let n = v["bytesAvailable"].as_u64().expect("bytesAvailable");
            if n == 0 {
                return total;
            }
            assert!(total + n <= 500, "more available than the body has");
            // What QueryDataAvailable announced can be read in full.
            let chunk = read_chunk(&c, req, n).await;
            assert_eq!(chunk.len() as u64, n);
            total += n;
        }
        panic!("QueryDataAvailable never reached 0");
    })
    .await;
    assert_eq!(total, 500, "0 available before the body was read");
    let again = ok(&c, "WinHttpQueryDataAvailable", json!({"handle": req})).await;
    assert_eq!(again["bytesAvailable"], 0, "0 at the end is repeatable");
    assert!(read_chunk(&c, req, 4096).await.is_empty());
}

#[tokio::test]
async fn query_data_available_reports_what_is_here_without_waiting() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    // "first", a 600 ms pause, then "second".
    let (_ses, req) = new_request(&c, origin.port(), "GET", "/slow-body?delay_ms=600").await;
    send_and_receive(&c, req).await;

    let started = Instant::now();
    let v = ok(&c, "WinHttpQueryDataAvailable", json!({"handle": req})).await;
    assert_eq!(v["bytesAvailable"], 5, "only \"first\" has arrived: {v}");
    assert!(
        started.elapsed() < Duration::from_millis(450),
        "QueryDataAvailable waited for more than what was there: {:?}",
        started.elapsed()
    );
    // A synchronous ReadData waits until its buffer is full (or the body ends).
    let body = bounded("reading the slow body", BODY_LIMIT, read_chunk(&c, req, 11)).await;
    assert_eq!(body, b"firstsecond");
    assert!(read_chunk(&c, req, 11).await.is_empty());
}

#[tokio::test]
async fn status_line_reason_and_version_come_from_the_wire() {
    let raw = RawServer::start(Script::Respond(
        b"HTTP/1.0 299 Custom Reason\r\nContent-Length: 2\r\nX-Raw: yes\r\n\r\nok".to_vec(),
    ))
    .await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, raw.port(), "GET", "/").await;
    send_and_receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 299);
    assert_eq!(
        query_text(&c, req, QUERY_STATUS_TEXT).await,
        "Custom Reason"
    );
    assert_eq!(query_text(&c, req, QUERY_VERSION).await, "HTTP/1.0");
    let raw_head = query_text(&c, req, QUERY_RAW_HEADERS_CRLF).await;
    assert!(
        raw_head.starts_with("HTTP/1.0 299 Custom Reason\r\n"),
        "{raw_head:?}"
    );
    assert_eq!(read_body(&c, req).await, b"ok");
}

#[tokio::test]
async fn interim_100_continue_is_swallowed() {
    let raw = RawServer::start(Script::Respond(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
    ))
    .await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, raw.port(), "GET", "/").await;
    send_and_receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    assert_eq!(read_body(&c, req).await, b"ok");
}

// ---------------------------------------------------------------------------------------
// 6. Keep-alive
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn keep_alive_connections_are_reused_within_a_session_only() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;

    let ses_a = open_session(&c, "sync-http-test/a").await;
    let con_a = connect(&c, ses_a, "127.0.0.1", origin.port()).await;
    for (path, len) in [("/hello", 11), ("/chunked?n=3&size=10", 30)] {
        let req = open_request(&c, con_a, "GET", path, 0).await;
        send_and_receive(&c, req).await;
        assert_eq!(read_body(&c, req).await.len(), len, "{path}");
        ok(&c, "WinHttpCloseHandle", json!({"handle": req})).await;
    }
    assert_eq!(origin.connections(), 1, "same session: one connection");

    let ses_b = open_session(&c, "sync-http-test/b").await;
    let con_b = connect(&c, ses_b, "127.0.0.1", origin.port()).await;
    let req = open_request(&c, con_b, "GET", "/hello", 0).await;
    send_and_receive(&c, req).await;
    assert_eq!(read_body(&c, req).await, b"hello world");
    assert_eq!(origin.connections(), 2, "pools are per session");

    // Session A still has its idle connection.
    let req = open_request(&c, con_a, "GET", "/hello", 0).await;
    send_and_receive(&c, req).await;
    assert_eq!(read_body(&c, req).await, b"hello world");
    assert_eq!(origin.connections(), 2);

    let conns: Vec<usize> = origin.requests().iter().map(|r| r.conn_id).collect();
    assert_eq!(conns, [0, 0, 1, 0]);
}

#[tokio::test]
async fn connections_the_server_closes_are_not_reused() {
    let origin = HttpServer::start().await;
    let raw = RawServer::start(Script::Respond(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
    ))
    .await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;

    // `Connection: close` from the server.
    let ses = open_session(&c, "sync-http-test/1.0").await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;
    for (path, body) in [("/close", &b"bye"[..]), ("/hello", b"hello world")] {
        let req = open_request(&c, con, "GET", path, 0).await;
        send_and_receive(&c, req).await;
        assert_eq!(read_body(&c, req).await, body, "{path}");
    }
    assert_eq!(origin.connections(), 2);

    // A keep-alive response, after which the server closes the idle connection.
    let con = connect(&c, ses, "127.0.0.1", raw.port()).await;
    for i in 0..2 {
        let req = open_request(&c, con, "GET", "/", 0).await;
        send_and_receive(&c, req).await;
        assert_eq!(read_body(&c, req).await, b"ok", "request {i}");
        // Let the server's FIN arrive before the next request.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(raw.connections(), 2);
}

#[tokio::test]
async fn unread_bodies_never_leak_into_the_next_response() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open_session(&c, "sync-http-test/1.0").await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;

    // Resend after reading only part of the body.
    let req = open_request(&c, con, "GET", "/hello", 0).await;
    send_and_receive(&c, req).await;
    assert_eq!(read_chunk(&c, req, 3).await, b"hel");
    send_and_receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    assert_eq!(read_body(&c, req).await, b"hello world");

    // Close a request in the middle of a large body, then use the session again.
    let big = open_request(&c, con, "GET", "/big?size=500000", 0).await;
    send_and_receive(&c, big).await;
    assert_eq!(read_chunk(&c, big, 1000).await, big_body(1000));
    ok(&c, "WinHttpCloseHandle", json!({"handle": big})).await;
    let req = open_request(&c, con, "GET", "/hello", 0).await;
    send_and_receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    assert_eq!(read_body(&c, req).await, b"hello world");
    assert_eq!(origin.requests().len(), 4);
}

// ---------------------------------------------------------------------------------------
// 7. Network errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn refused_connection_is_cannot_connect() {
    let port = closed_port();
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, port, "GET", "/").await;
    let e = fails(&c, "WinHttpSendRequest", json!({"handle": req})).await;
    assert_winhttp_error(
        &e,
        ERROR_WINHTTP_CANNOT_CONNECT,
        "ERROR_WINHTTP_CANNOT_CONNECT",
    );
    assert!(
        detail(&e).contains(&port.to_string()),
        "detail should name the address: {e}"
    );
    // A failed send leaves nothing to receive.
    let e = fails(&c, "WinHttpReceiveResponse", json!({"handle": req})).await;
    assert_eq!(e.code, ERROR_WINHTTP_INCORRECT_HANDLE_STATE, "{e}");
}

#[tokio::test]
async fn unresolvable_name_is_name_not_resolved() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open_session(&c, "sync-http-test/1.0").await;
    let con = connect(&c, ses, "nonexistent.invalid", 80).await;
    let req = open_request(&c, con, "GET", "/", 0).await;
    let e = bounded(
        "SendRequest to nonexistent.invalid",
        Duration::from_secs(8),
        fails(&c, "WinHttpSendRequest", json!({"handle": req})),
    )
    .await;
    assert_winhttp_error(
        &e,
        ERROR_WINHTTP_NAME_NOT_RESOLVED,
        "ERROR_WINHTTP_NAME_NOT_RESOLVED",
    );
    assert!(detail(&e).contains("nonexistent.invalid"), "{e}");
}

/// Sends on `req` and expects ReceiveResponse to time out after about 500 ms.
async fn expect_receive_timeout(c: &RpcConn, req: u64) {
    send(c, req, json!({})).await;
    let started = Instant::now();
    let e = fails(c, "WinHttpReceiveResponse", json!({"handle": req})).await;
    let took = started.elapsed();
    assert_winhttp_error(&e, ERROR_WINHTTP_TIMEOUT, "ERROR_WINHTTP_TIMEOUT");
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "receive timeout of 500 ms took {took:?}"
    );
}

#[tokio::test]
async fn stalled_servers_hit_the_receive_timeout() {
    let origin = HttpServer::start().await;
    let raw = RawServer::start(Script::StallAfterAccept).await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let timeouts = |h: u64| {
        json!({"handle": h, "resolveTimeout": 0, "connectTimeout": 5000,
               "sendTimeout": 5000, "receiveTimeout": 500})
    };

    // Set on the session: requests opened afterwards inherit it.
    let ses = open_session(&c, "sync-http-test/1.0").await;
    ok(&c, "WinHttpSetTimeouts", timeouts(ses)).await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;
    let req = open_request(&c, con, "GET", "/stall", 0).await;
    expect_receive_timeout(&c, req).await;
    let seen = origin.wait_for_requests(1, Duration::from_secs(2)).await;
    assert_eq!(seen.len(), 1, "the request reached the server");
    assert_eq!(seen[0].path, "/stall");

    // The same limit applies while reading the body.
    let req = open_request(&c, con, "GET", "/slow-body?delay_ms=3000", 0).await;
    send_and_receive(&c, req).await;
    let started = Instant::now();
    // The bytes that arrived before the timeout are returned, not lost...
    let first = ok(
        &c,
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": 11}),
    )
    .await;
    assert_eq!(unb64(first["data"].as_str().unwrap()), b"first");
    // ...and the next read, with nothing arriving, times out.
    let e = fails(
        &c,
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": 6}),
    )
    .await;
    assert_winhttp_error(&e, ERROR_WINHTTP_TIMEOUT, "ERROR_WINHTTP_TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Set on the request itself.
    let (_ses, req) = new_request(&c, raw.port(), "GET", "/").await;
    ok(&c, "WinHttpSetTimeouts", timeouts(req)).await;
    expect_receive_timeout(&c, req).await;
    assert_eq!(
        raw.wait_for_requests(1, Duration::from_secs(2)).await.len(),
        1,
        "the request reached the stalled server"
    );
}

#[tokio::test]
async fn connection_reset_mid_body_is_connection_error() {
    let raw = RawServer::start(Script::ResetAfter(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial body".to_vec(),
    ))
    .await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, raw.port(), "GET", "/").await;
    send(&c, req, json!({})).await;

    let e = bounded("the reset to surface", BODY_LIMIT, async {
        if let Err(e) = try_call(&c, "WinHttpReceiveResponse", json!({"handle": req})).await {
            return e;
        }
        let mut got = 0usize;
        loop {
            match try_call(
                &c,
                "WinHttpReadData",
                json!({"handle": req, "bytesToRead": 4096}),
            )
            .await
            {
                Err(e) => return e,
                Ok(r) => {
                    let n = r["bytesRead"].as_u64().expect("bytesRead") as usize;
                    assert!(
                        n > 0,
                        "ReadData reported a clean end after {got} of 100 bytes: \
                         a truncated body must be an error"
                    );
                    got += n;
                    assert!(got <= 100);
                }
            }
        }
    })
    .await;
    assert_winhttp_error(
        &e,
        ERROR_WINHTTP_CONNECTION_ERROR,
        "ERROR_WINHTTP_CONNECTION_ERROR",
    );
    // A failed body keeps failing: the next read is never a clean end of body.
    for (call, params) in [
        (
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 4096}),
        ),
        ("WinHttpQueryDataAvailable", json!({"handle": req})),
    ] {
        let again = fails(&c, call, params).await;
        assert_winhttp_error(
            &again,
            ERROR_WINHTTP_CONNECTION_ERROR,
            "ERROR_WINHTTP_CONNECTION_ERROR",
        );
    }
}

#[tokio::test]
async fn request_headers_after_send_show_what_was_sent() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, origin.port(), "POST", "/upload").await;
    send(&c, req, json!({"optional": b64(b"12345")})).await;
    let cl = ok(
        &c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": 0x8000_0000u32 | 5 | 0x2000_0000}),
    )
    .await;
    assert_eq!(cl["value"], 5, "Content-Length as sent");
}

#[tokio::test]
async fn garbage_status_line_is_invalid_server_response() {
    let raw = RawServer::start(Script::Respond(b"garbage\r\n\r\n".to_vec())).await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, raw.port(), "GET", "/").await;
    send(&c, req, json!({})).await;
    let e = fails(&c, "WinHttpReceiveResponse", json!({"handle": req})).await;
    assert_winhttp_error(
        &e,
        ERROR_WINHTTP_INVALID_SERVER_RESPONSE,
        "ERROR_WINHTTP_INVALID_SERVER_RESPONSE",
    );
    let e = fails(
        &c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": QUERY_STATUS_CODE}),
    )
    .await;
    assert_eq!(e.code, ERROR_WINHTTP_INCORRECT_HANDLE_STATE, "{e}");
}

// ---------------------------------------------------------------------------------------
// 8. HTTPS
// ---------------------------------------------------------------------------------------

/// A SECURE request for /hello on `host`:`port` under a new session.
async fn secure_request(c: &RpcConn, host: &str, port: u16) -> u64 {
    let ses = open_session(c, "sync-http-test/tls").await;
    let con = connect(c, ses, host, port).await;
    open_request(c, con, "GET", "/hello", REQUEST_FLAG_SECURE).await
}

async fn set_security_flags(c: &RpcConn, req: u64, flags: u64) {
    ok(
        c,
        "WinHttpSetOption",
        json!({"handle": req, "option": OPTION_SECURITY_FLAGS, "value": flags}),
    )
    .await;
}

/// Sends and expects 12175 whose detail mentions `problem` (case-insensitive).
async fn expect_secure_failure(c: &RpcConn, req: u64, problem: &str) {
    let e = fails(c, "WinHttpSendRequest", json!({"handle": req})).await;
    assert_winhttp_error(
        &e,
        ERROR_WINHTTP_SECURE_FAILURE,
        "ERROR_WINHTTP_SECURE_FAILURE",
    );
    assert!(
        detail(&e).to_ascii_lowercase().contains(problem),
        "detail should mention {problem:?}: {e}"
    );
}

/// Sends, receives and reads `hello world`.
async fn expect_hello(c: &RpcConn, req: u64) {
    send_and_receive(c, req).await;
    assert_eq!(status_code(c, req).await, 200);
    assert_eq!(read_body(c, req).await, b"hello world");
}

#[tokio::test]
async fn https_with_a_trusted_ca_file() {
    let cert = TestCert::localhost();
    let origin = HttpServer::start_tls(&cert).await;
    let ca = cert.ca_file.to_str().expect("utf-8 path");
    let daemon = Daemon::spawn(HINETD, &["--ca-file", ca]);
    let c = daemon.connect().await;

    for host in ["localhost", "127.0.0.1"] {
        let req = secure_request(&c, host, origin.port()).await;
        expect_hello(&c, req).await;
        let flags = query_option(&c, req, OPTION_SECURITY_FLAGS).await;
        let flags = flags.as_u64().expect("SECURITY_FLAGS is a number");
        assert_ne!(flags & SECURITY_FLAG_SECURE, 0, "{host}: {flags:#x}");
        assert_eq!(
            query_option(&c, req, OPTION_URL).await,
            json!(format!("https://{host}:{}/hello", origin.port()))
        );
    }
    let seen = origin.requests();
    assert_eq!(seen.len(), 2);
    let host = format!("localhost:{}", origin.port());
    assert_eq!(seen[0].header("host"), Some(host.as_str()));
    assert_eq!(origin.tls_failures(), 0);
}

#[tokio::test]
async fn https_unknown_ca_fails_unless_ignored() {
    let cert = TestCert::localhost();
    let origin = HttpServer::start_tls(&cert).await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;

    let req = secure_request(&c, "localhost", origin.port()).await;
    expect_secure_failure(&c, req, "issuer").await;
    assert_eq!(origin.requests().len(), 0);
    // Forgiving another problem does not forgive this one.
    set_security_flags(&c, req, IGNORE_CERT_CN_INVALID).await;
    expect_secure_failure(&c, req, "issuer").await;

    // The application relaxes the check and sends again on the same handle.
    set_security_flags(&c, req, IGNORE_UNKNOWN_CA).await;
    expect_hello(&c, req).await;
    let flags = query_option(&c, req, OPTION_SECURITY_FLAGS).await;
    let flags = flags.as_u64().expect("SECURITY_FLAGS is a number");
    assert_eq!(
        flags & (SECURITY_FLAG_SECURE | IGNORE_UNKNOWN_CA),
        SECURITY_FLAG_SECURE | IGNORE_UNKNOWN_CA,
        "{flags:#x}"
    );

    // A fresh request without the flag still fails: the relaxed connection is not shared.
    let strict = secure_request(&c, "localhost", origin.port()).await;
    expect_secure_failure(&c, strict, "issuer").await;
    assert_eq!(origin.requests().len(), 1);
}

#[tokio::test]
async fn https_name_mismatch_fails_unless_ignored() {
    let cert = TestCert::for_names(&["wrong.example"]);
    let origin = HttpServer::start_tls(&cert).await;
    let ca = cert.ca_file.to_str().expect("utf-8 path");

    // Trusted CA, wrong name.
    let daemon = Daemon::spawn(HINETD, &["--ca-file", ca]);
    let c = daemon.connect().await;
    let req = secure_request(&c, "localhost", origin.port()).await;
    expect_secure_failure(&c, req, "name").await;
    // Forgiving another problem does not forgive this one.
    set_security_flags(&c, req, IGNORE_UNKNOWN_CA).await;
    expect_secure_failure(&c, req, "name").await;
    set_security_flags(&c, req, IGNORE_CERT_CN_INVALID).await;
    expect_hello(&c, req).await;

    // Unknown CA and wrong name: forgiving only the CA is not enough.
    let untrusting = Daemon::spawn(HINETD, &[]);
    let c = untrusting.connect().await;
    let req = secure_request(&c, "localhost", origin.port()).await;
    set_security_flags(&c, req, IGNORE_UNKNOWN_CA).await;
    expect_secure_failure(&c, req, "name").await;
    set_security_flags(&c, req, IGNORE_UNKNOWN_CA | IGNORE_CERT_CN_INVALID).await;
    expect_hello(&c, req).await;
    assert_eq!(origin.requests().len(), 2);
}

// ---------------------------------------------------------------------------------------
// 9. Resend on the same handle
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn resend_on_the_same_handle_gets_a_second_full_response() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_ses, req) = new_request(&c, origin.port(), "GET", "/echo").await;

    send(&c, req, json!({"headers": "X-Extra: first"})).await;
    receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    let first = read_json(&c, req).await;
    assert_eq!(first["path"], "/echo");

    // Headers added now go with the next send.
    ok(
        &c,
        "WinHttpAddRequestHeaders",
        json!({"handle": req, "headers": "X-Attempt: 2"}),
    )
    .await;
    // SendRequest's headers merge with ADD|REPLACE (reference §2.1): the resend carries
    // the new value only.
    send(&c, req, json!({"headers": "X-Extra: second"})).await;
    receive(&c, req).await;
    assert_eq!(status_code(&c, req).await, 200);
    let second = read_json(&c, req).await;
    assert_eq!(second["path"], "/echo");
    let has_attempt = |v: &Value| {
        v["headers"]
            .as_array()
            .expect("headers")
            .contains(&json!(["x-attempt", "2"]))
    };
    assert!(!has_attempt(&first), "{first}");
    assert!(has_attempt(&second), "{second}");

    let seen = origin.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header_all("x-extra"), ["first"]);
    assert_eq!(seen[1].header_all("x-extra"), ["second"]);
    assert_eq!(origin.connections(), 1, "the resend reuses the connection");
}

// ---------------------------------------------------------------------------------------
// 10. The URL option and the request headers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn url_option_and_raw_request_headers_before_and_after_send() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let ses = open_session(&c, "sync-http-raw/3").await;
    let con = connect(&c, ses, "127.0.0.1", origin.port()).await;
    let req = open_request(&c, con, "GET", "/echo?x=1", 0).await;
    ok(
        &c,
        "WinHttpAddRequestHeaders",
        json!({"handle": req, "headers": "X-Custom: yes"}),
    )
    .await;

    let url = format!("http://127.0.0.1:{}/echo?x=1", origin.port());
    let host = format!("127.0.0.1:{}", origin.port());
    let check_request_head = |raw: &str, when: &str| {
        assert!(
            raw.starts_with("GET /echo?x=1 HTTP/1.1\r\n"),
            "{when}: {raw:?}"
        );
        for line in [
            "X-Custom: yes".to_owned(),
            "User-Agent: sync-http-raw/3".to_owned(),
            format!("Host: {host}"),
        ] {
            assert!(
                raw.contains(&format!("\r\n{line}\r\n")),
                "{when}: {line:?} missing in {raw:?}"
            );
        }
        assert!(raw.ends_with("\r\n\r\n"), "{when}: {raw:?}");
    };

    assert_eq!(query_option(&c, req, OPTION_URL).await, json!(url));
    let before = query_text(&c, req, FLAG_REQUEST_HEADERS | QUERY_RAW_HEADERS_CRLF).await;
    check_request_head(&before, "before send");
    assert_eq!(
        query_text(&c, req, FLAG_REQUEST_HEADERS | QUERY_USER_AGENT).await,
        "sync-http-raw/3"
    );
    assert_eq!(
        query_text(&c, req, FLAG_REQUEST_HEADERS | QUERY_HOST).await,
        host
    );

    send_and_receive(&c, req).await;
    assert_eq!(query_option(&c, req, OPTION_URL).await, json!(url));
    let after = query_text(&c, req, FLAG_REQUEST_HEADERS | QUERY_RAW_HEADERS_CRLF).await;
    check_request_head(&after, "after send");
    assert!(
        after.contains("\r\nConnection: Keep-Alive\r\n"),
        "the sent head includes WinHTTP's own headers: {after:?}"
    );

    let response = query_text(&c, req, QUERY_RAW_HEADERS_CRLF).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response:?}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("\r\ncontent-type: application/json\r\n"),
        "{response:?}"
    );
    assert!(response.ends_with("\r\n\r\n"), "{response:?}");

    // What QueryHeaders reported is what the server got.
    let echo = read_json(&c, req).await;
    assert_eq!(echo["path"], "/echo?x=1");
    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("x-custom"), Some("yes"));
    assert_eq!(seen[0].header("user-agent"), Some("sync-http-raw/3"));
}
