//! The handle model over the wire: error rules (6 / 12018 / 87), the handle tree and its
//! cascading close, cancellation of blocked calls, per-connection ownership, options
//! (reference §5), request and response headers (reference §6) and CrackUrl / CreateUrl.
//!
//! Every session here is synchronous: a blocked WinHTTP call is a blocked JSON-RPC call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hinet_tests::{Daemon, HttpServer, RpcConn, RpcError, unb64};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

// Error numbers (protocol/src/error.rs).
const ERROR_INVALID_HANDLE: i64 = 6;
const ERROR_INVALID_PARAMETER: i64 = 87;
const ERROR_INSUFFICIENT_BUFFER: i64 = 122;
const ERROR_WINHTTP_INVALID_URL: i64 = 12005;
const ERROR_WINHTTP_UNRECOGNIZED_SCHEME: i64 = 12006;
const ERROR_WINHTTP_INVALID_OPTION: i64 = 12009;
const ERROR_WINHTTP_OPTION_NOT_SETTABLE: i64 = 12011;
const ERROR_WINHTTP_OPERATION_CANCELLED: i64 = 12017;
const ERROR_WINHTTP_INCORRECT_HANDLE_TYPE: i64 = 12018;
const ERROR_WINHTTP_INCORRECT_HANDLE_STATE: i64 = 12019;
const ERROR_WINHTTP_HEADER_NOT_FOUND: i64 = 12150;
const ERROR_WINHTTP_INVALID_HEADER: i64 = 12153;
const ERROR_WINHTTP_HEADER_ALREADY_EXISTS: i64 = 12155;

// Options (WINHTTP_OPTION_*).
const OPT_RESOLVE_TIMEOUT: u32 = 2;
const OPT_CONNECT_TIMEOUT: u32 = 3;
const OPT_SEND_TIMEOUT: u32 = 5;
const OPT_RECEIVE_TIMEOUT: u32 = 6;
const OPT_HANDLE_TYPE: u32 = 9;
const OPT_PARENT_HANDLE: u32 = 21;
const OPT_URL: u32 = 34;
const OPT_USER_AGENT: u32 = 41;
const OPT_CONTEXT_VALUE: u32 = 45;

// AddRequestHeaders modifiers.
const ADDREQ_ADD: u32 = 0x2000_0000;
const ADDREQ_ADD_IF_NEW: u32 = 0x1000_0000;
const ADDREQ_COALESCE_WITH_COMMA: u32 = 0x4000_0000;
const ADDREQ_COALESCE_WITH_SEMICOLON: u32 = 0x0100_0000;
const ADDREQ_REPLACE: u32 = 0x8000_0000;

// QueryHeaders levels and modifiers.
const QUERY_CONTENT_LENGTH: u32 = 5;
const QUERY_STATUS_CODE: u32 = 19;
const QUERY_RAW_HEADERS_CRLF: u32 = 22;
const QUERY_LOCATION: u32 = 33;
const QUERY_SET_COOKIE: u32 = 43;
const QUERY_CUSTOM: u32 = 65535;
const QUERY_FLAG_REQUEST_HEADERS: u32 = 0x8000_0000;
const QUERY_FLAG_NUMBER: u32 = 0x2000_0000;

/// A bound on anything that should be quick; a hang fails the test instead of stalling it.
const QUICK: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// helpers

/// Asserts a WinHTTP failure: JSON-RPC `code` is the error number, `message` starts with the
/// symbolic name, `data = {name, detail[, required]}`. Returns the error for more checks.
#[track_caller]
fn win_err(r: Result<Value, RpcError>, code: i64, name: &str) -> RpcError {
    let e = match r {
        Ok(v) => panic!("expected {name} ({code}), got success: {v}"),
        Err(e) => e,
    };
    assert_eq!(e.code, code, "expected {name} ({code}), got {e}");
    assert!(
        e.message.starts_with(&format!("{name}: ")),
        "message must start with `{name}: `: {e}"
    );
    let data = e.data.as_ref().unwrap_or_else(|| panic!("no data in {e}"));
    assert_eq!(data["name"], name, "data.name in {e}");
    assert!(data["detail"].is_string(), "data.detail in {e}");
    e
}

#[track_caller]
fn invalid_handle(r: Result<Value, RpcError>) {
    win_err(r, ERROR_INVALID_HANDLE, "ERROR_INVALID_HANDLE");
}

#[track_caller]
fn wrong_type(r: Result<Value, RpcError>) {
    win_err(
        r,
        ERROR_WINHTTP_INCORRECT_HANDLE_TYPE,
        "ERROR_WINHTTP_INCORRECT_HANDLE_TYPE",
    );
}

#[track_caller]
fn invalid_parameter(r: Result<Value, RpcError>) {
    win_err(r, ERROR_INVALID_PARAMETER, "ERROR_INVALID_PARAMETER");
}

#[track_caller]
fn header_not_found(r: Result<Value, RpcError>) {
    win_err(
        r,
        ERROR_WINHTTP_HEADER_NOT_FOUND,
        "ERROR_WINHTTP_HEADER_NOT_FOUND",
    );
}

/// 122 with `data.required`; returns `required`.
#[track_caller]
fn insufficient_buffer(r: Result<Value, RpcError>) -> u64 {
    let e = win_err(r, ERROR_INSUFFICIENT_BUFFER, "ERROR_INSUFFICIENT_BUFFER");
    e.data
        .as_ref()
        .and_then(|d| d["required"].as_u64())
        .unwrap_or_else(|| panic!("ERROR_INSUFFICIENT_BUFFER without a numeric data.required: {e}"))
}

fn handle_of(v: Value) -> u64 {
    v["handle"]
        .as_u64()
        .unwrap_or_else(|| panic!("no handle number in {v}"))
}

async fn open(c: &RpcConn, agent: &str) -> u64 {
    handle_of(
        c.call("WinHttpOpen", json!({"userAgent": agent}))
            .await
            .expect("WinHttpOpen"),
    )
}

async fn connect(c: &RpcConn, session: u64, port: u16) -> u64 {
    handle_of(
        c.call(
            "WinHttpConnect",
            json!({"handle": session, "serverName": "127.0.0.1", "serverPort": port}),
        )
        .await
        .expect("WinHttpConnect"),
    )
}

async fn open_request(c: &RpcConn, con: u64, path: &str) -> u64 {
    handle_of(
        c.call(
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": path}),
        )
        .await
        .expect("WinHttpOpenRequest"),
    )
}

/// session → connect → request for `path` on `port`.
async fn tree(c: &RpcConn, port: u16, path: &str) -> (u64, u64, u64) {
    let s = open(c, "hinet-handles/1.0").await;
    let k = connect(c, s, port).await;
    let r = open_request(c, k, path).await;
    (s, k, r)
}

async fn query_option(c: &RpcConn, h: u64, option: u32) -> Result<Value, RpcError> {
    c.call("WinHttpQueryOption", json!({"handle": h, "option": option}))
        .await
}

/// The value of a numeric option.
async fn option_number(c: &RpcConn, h: u64, option: u32) -> u64 {
    let v = query_option(c, h, option)
        .await
        .unwrap_or_else(|e| panic!("QueryOption({h}, {option}): {e}"));
    v["value"]
        .as_u64()
        .unwrap_or_else(|| panic!("QueryOption({h}, {option}) is not a number: {v}"))
}

async fn handle_type(c: &RpcConn, h: u64) -> Result<Value, RpcError> {
    query_option(c, h, OPT_HANDLE_TYPE).await
}

async fn close(c: &RpcConn, h: u64) -> Result<Value, RpcError> {
    c.call("WinHttpCloseHandle", json!({"handle": h})).await
}

async fn send_and_receive(c: &RpcConn, r: u64) {
    c.call("WinHttpSendRequest", json!({"handle": r}))
        .await
        .expect("WinHttpSendRequest");
    c.call("WinHttpReceiveResponse", json!({"handle": r}))
        .await
        .expect("WinHttpReceiveResponse");
}

/// Reads the whole body with ReadData.
async fn read_all(c: &RpcConn, r: u64) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let v = c
            .call(
                "WinHttpReadData",
                json!({"handle": r, "bytesToRead": 65536}),
            )
            .await
            .expect("WinHttpReadData");
        let n = v["bytesRead"].as_u64().expect("bytesRead");
        if n == 0 {
            return body;
        }
        let chunk = unb64(v["data"].as_str().expect("data"));
        assert_eq!(chunk.len() as u64, n, "bytesRead matches data");
        body.extend(chunk);
    }
}

async fn status_code(c: &RpcConn, r: u64) -> u64 {
    c.call(
        "WinHttpQueryHeaders",
        json!({"handle": r, "infoLevel": QUERY_STATUS_CODE | QUERY_FLAG_NUMBER}),
    )
    .await
    .expect("status code")["value"]
        .as_u64()
        .expect("numeric status")
}

/// A full GET of /hello on an existing request handle.
async fn get_hello(c: &RpcConn, r: u64) {
    send_and_receive(c, r).await;
    assert_eq!(status_code(c, r).await, 200);
    assert_eq!(read_all(c, r).await, b"hello world");
}

// ---------------------------------------------------------------------------------------
// 1. error rules

#[tokio::test]
async fn unknown_closed_and_null_handles_are_invalid() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;

    for bogus in [0u64, 999_999, 1 << 40] {
        invalid_handle(handle_type(&c, bogus).await);
        invalid_handle(close(&c, bogus).await);
        invalid_handle(
            c.call(
                "WinHttpConnect",
                json!({"handle": bogus, "serverName": "127.0.0.1"}),
            )
            .await,
        );
        invalid_handle(c.call("WinHttpOpenRequest", json!({"handle": bogus})).await);
        invalid_handle(c.call("WinHttpSendRequest", json!({"handle": bogus})).await);
        invalid_handle(
            c.call(
                "WinHttpReadData",
                json!({"handle": bogus, "bytesToRead": 10}),
            )
            .await,
        );
    }

    let (s, k, r) = tree(&c, origin.port(), "/hello").await;
    close(&c, r).await.expect("close request");
    invalid_handle(handle_type(&c, r).await);
    invalid_handle(c.call("WinHttpSendRequest", json!({"handle": r})).await);
    // Double close.
    invalid_handle(close(&c, r).await);
    close(&c, k).await.expect("close connect");
    invalid_handle(close(&c, k).await);
    close(&c, s).await.expect("close session");
    invalid_handle(close(&c, s).await);
    invalid_handle(handle_type(&c, s).await);
    // Nothing reached the origin.
    assert!(origin.requests().is_empty());
}

#[tokio::test]
async fn wrong_handle_types_give_12018() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (s, k, r) = tree(&c, origin.port(), "/hello").await;

    // WinHttpConnect on a connect handle and on a request handle.
    for h in [k, r] {
        wrong_type(
            c.call(
                "WinHttpConnect",
                json!({"handle": h, "serverName": "127.0.0.1"}),
            )
            .await,
        );
    }
    // WinHttpOpenRequest on a session and on a request.
    for h in [s, r] {
        wrong_type(
            c.call(
                "WinHttpOpenRequest",
                json!({"handle": h, "objectName": "/x"}),
            )
            .await,
        );
    }
    // Request-only calls on a session and on a connect handle.
    for h in [s, k] {
        wrong_type(c.call("WinHttpSendRequest", json!({"handle": h})).await);
        wrong_type(c.call("WinHttpReceiveResponse", json!({"handle": h})).await);
        wrong_type(
            c.call("WinHttpReadData", json!({"handle": h, "bytesToRead": 16}))
                .await,
        );
        wrong_type(
            c.call(
                "WinHttpAddRequestHeaders",
                json!({"handle": h, "headers": "X-A: 1"}),
            )
            .await,
        );
        wrong_type(
            c.call(
                "WinHttpQueryHeaders",
                json!({"handle": h, "infoLevel": QUERY_STATUS_CODE}),
            )
            .await,
        );
    }
    // SetTimeouts on a connect handle.
    wrong_type(
        c.call(
            "WinHttpSetTimeouts",
            json!({"handle": k, "resolveTimeout": 0, "connectTimeout": 1000,
                   "sendTimeout": 1000, "receiveTimeout": 1000}),
        )
        .await,
    );
    // The failures changed nothing: the tree still works end to end.
    get_hello(&c, r).await;
    close(&c, s).await.expect("close");
}

#[tokio::test]
async fn argument_checks_come_before_the_handle_lookup() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (s, k, _r) = tree(&c, origin.port(), "/hello").await;

    // Connect without (or with an empty) serverName: 87 even with a bogus or wrong handle.
    for h in [0u64, 424_242, s, k] {
        invalid_parameter(c.call("WinHttpConnect", json!({"handle": h})).await);
        invalid_parameter(
            c.call("WinHttpConnect", json!({"handle": h, "serverName": ""}))
                .await,
        );
    }
    // SetTimeouts with a value below -1: 87, also on a connect handle or a bogus one.
    for h in [s, k, 0, 424_242] {
        for field in [
            "resolveTimeout",
            "connectTimeout",
            "sendTimeout",
            "receiveTimeout",
        ] {
            let mut p = json!({"handle": h, "resolveTimeout": 0, "connectTimeout": 0,
                               "sendTimeout": 0, "receiveTimeout": 0});
            p[field] = json!(-2);
            invalid_parameter(c.call("WinHttpSetTimeouts", p).await);
        }
    }
    // -1 and 0 are legal ("no limit").
    c.call(
        "WinHttpSetTimeouts",
        json!({"handle": s, "resolveTimeout": -1, "connectTimeout": 0,
               "sendTimeout": -1, "receiveTimeout": 0}),
    )
    .await
    .expect("-1 and 0 are valid timeouts");
}

// ---------------------------------------------------------------------------------------
// 2. cascading close and cancellation

#[tokio::test]
async fn closing_a_session_closes_its_subtree() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (s, k, r1) = tree(&c, origin.port(), "/hello").await;
    let r2 = open_request(&c, k, "/hello").await;
    // A second, unrelated tree must survive.
    let (other_s, other_k, other_r) = tree(&c, origin.port(), "/hello").await;

    for (h, t) in [(s, 1), (k, 2), (r1, 3), (r2, 3)] {
        assert_eq!(option_number(&c, h, OPT_HANDLE_TYPE).await, t);
    }
    close(&c, s).await.expect("close session");
    for h in [s, k, r1, r2] {
        invalid_handle(handle_type(&c, h).await);
        invalid_handle(query_option(&c, h, OPT_CONTEXT_VALUE).await);
    }
    // The descendants are gone, not just unreachable: closing them is an error too.
    invalid_handle(close(&c, r2).await);
    invalid_handle(close(&c, k).await);
    invalid_handle(c.call("WinHttpSendRequest", json!({"handle": r1})).await);

    assert_eq!(option_number(&c, other_s, OPT_HANDLE_TYPE).await, 1);
    assert_eq!(option_number(&c, other_k, OPT_HANDLE_TYPE).await, 2);
    get_hello(&c, other_r).await;
}

#[tokio::test]
async fn closing_a_connect_invalidates_its_requests_but_not_the_session() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (s, k, r1) = tree(&c, origin.port(), "/hello").await;
    let r2 = open_request(&c, k, "/hello").await;
    let k2 = connect(&c, s, origin.port()).await;
    let r3 = open_request(&c, k2, "/hello").await;

    close(&c, k).await.expect("close connect");
    for h in [k, r1, r2] {
        invalid_handle(handle_type(&c, h).await);
    }
    // The session and its other branch live on.
    assert_eq!(option_number(&c, s, OPT_HANDLE_TYPE).await, 1);
    assert_eq!(option_number(&c, k2, OPT_HANDLE_TYPE).await, 2);
    assert_eq!(option_number(&c, r3, OPT_PARENT_HANDLE).await, k2);
    // ... and can grow new children that work.
    let k3 = connect(&c, s, origin.port()).await;
    let r4 = open_request(&c, k3, "/hello").await;
    get_hello(&c, r4).await;
    get_hello(&c, r3).await;
}

/// Runs `method` on `req` in its own task; returns the task and the start instant.
fn spawn_call(
    c: &Arc<RpcConn>,
    method: &'static str,
    params: Value,
) -> tokio::task::JoinHandle<Result<Value, RpcError>> {
    let c = c.clone();
    tokio::spawn(async move { c.call(method, params).await })
}

#[tokio::test]
async fn closing_a_request_cancels_a_blocked_receive_response() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = Arc::new(daemon.connect().await);
    let (s, _k, r) = tree(&c, origin.port(), "/stall").await;
    c.call("WinHttpSendRequest", json!({"handle": r}))
        .await
        .expect("send /stall");

    let blocked = spawn_call(&c, "WinHttpReceiveResponse", json!({"handle": r}));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !blocked.is_finished(),
        "ReceiveResponse on /stall must block"
    );
    let closed_at = Instant::now();
    tokio::time::timeout(QUICK, close(&c, r))
        .await
        .expect("CloseHandle must not block")
        .expect("close the request");
    let result = tokio::time::timeout(Duration::from_secs(5), blocked)
        .await
        .expect("the blocked ReceiveResponse must return after its handle closed")
        .expect("join");
    assert!(
        closed_at.elapsed() < Duration::from_secs(3),
        "cancellation took {:?}",
        closed_at.elapsed()
    );
    win_err(
        result,
        ERROR_WINHTTP_OPERATION_CANCELLED,
        "ERROR_WINHTTP_OPERATION_CANCELLED",
    );
    invalid_handle(handle_type(&c, r).await);
    // The session is unaffected.
    assert_eq!(option_number(&c, s, OPT_HANDLE_TYPE).await, 1);
}

#[tokio::test]
async fn closing_the_session_cancels_a_blocked_read() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = Arc::new(daemon.connect().await);
    let (s, k, r) = tree(&c, origin.port(), "/slow-body?delay_ms=5000").await;
    send_and_receive(&c, r).await;

    // A sync read of 4096 bytes waits for the whole body; "second" comes after 5 s.
    let blocked = spawn_call(
        &c,
        "WinHttpReadData",
        json!({"handle": r, "bytesToRead": 4096}),
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!blocked.is_finished(), "ReadData must wait for the body");
    let closed_at = Instant::now();
    tokio::time::timeout(QUICK, close(&c, s))
        .await
        .expect("CloseHandle must not block")
        .expect("close the session");
    let result = tokio::time::timeout(Duration::from_secs(3), blocked)
        .await
        .expect("the blocked ReadData must return well before the 5 s stall")
        .expect("join");
    assert!(closed_at.elapsed() < Duration::from_secs(2));
    win_err(
        result,
        ERROR_WINHTTP_OPERATION_CANCELLED,
        "ERROR_WINHTTP_OPERATION_CANCELLED",
    );
    for h in [s, k, r] {
        invalid_handle(handle_type(&c, h).await);
    }
    // The connection keeps serving.
    let (_, _, r2) = tree(&c, origin.port(), "/hello").await;
    get_hello(&c, r2).await;
}

#[tokio::test]
async fn closing_the_connect_cancels_a_blocked_receive_response() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = Arc::new(daemon.connect().await);
    let (s, k, r) = tree(&c, origin.port(), "/stall").await;
    c.call("WinHttpSendRequest", json!({"handle": r}))
        .await
        .expect("send /stall");
    let blocked = spawn_call(&c, "WinHttpReceiveResponse", json!({"handle": r}));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!blocked.is_finished());
    close(&c, k).await.expect("close connect");
    let result = tokio::time::timeout(Duration::from_secs(3), blocked)
        .await
        .expect("ReceiveResponse must return after its connect closed")
        .expect("join");
    win_err(
        result,
        ERROR_WINHTTP_OPERATION_CANCELLED,
        "ERROR_WINHTTP_OPERATION_CANCELLED",
    );
    assert_eq!(option_number(&c, s, OPT_HANDLE_TYPE).await, 1);
}

// ---------------------------------------------------------------------------------------
// 3. handles belong to their connection

#[tokio::test]
async fn another_connection_cannot_see_or_touch_handles() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let a = daemon.connect().await;
    let b = daemon.connect().await;
    let (s, k, r) = tree(&a, origin.port(), "/hello").await;

    for h in [s, k, r] {
        invalid_handle(handle_type(&b, h).await);
        invalid_handle(close(&b, h).await);
        invalid_handle(
            b.call(
                "WinHttpSetOption",
                json!({"handle": h, "option": OPT_CONTEXT_VALUE, "value": 7}),
            )
            .await,
        );
    }
    invalid_handle(b.call("WinHttpSendRequest", json!({"handle": r})).await);
    invalid_handle(
        b.call(
            "WinHttpAddRequestHeaders",
            json!({"handle": r, "headers": "X-Evil: 1"}),
        )
        .await,
    );
    invalid_handle(
        b.call(
            "WinHttpConnect",
            json!({"handle": s, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await,
    );
    invalid_handle(b.call("WinHttpOpenRequest", json!({"handle": k})).await);
    assert!(
        origin.requests().is_empty(),
        "B must not have sent anything"
    );

    // A's handles are intact and usable; B's context write did not land.
    assert_eq!(option_number(&a, r, OPT_CONTEXT_VALUE).await, 0);
    get_hello(&a, r).await;
    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("x-evil"), None);

    // And B's own handles are equally invisible to A.
    let bs = open(&b, "b").await;
    invalid_handle(handle_type(&a, bs).await);
    assert_eq!(option_number(&b, bs, OPT_HANDLE_TYPE).await, 1);
}

// ---------------------------------------------------------------------------------------
// 4. a disconnect closes everything

/// A one-shot origin that accepts a single connection, reports when the request head has
/// arrived, then never answers and reports when the client closes the socket.
async fn stalling_origin() -> (
    u16,
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Receiver<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (got_tx, got_rx) = tokio::sync::oneshot::channel();
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        let mut got_tx = Some(got_tx);
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n")
                        && let Some(tx) = got_tx.take()
                    {
                        let _ = tx.send(());
                    }
                }
            }
        }
        let _ = sock.shutdown().await;
        let _ = closed_tx.send(());
    });
    (port, got_rx, closed_rx)
}

#[tokio::test]
async fn disconnect_closes_every_handle_and_the_origin_connection() {
    let (stall_port, got_request, origin_closed) = stalling_origin().await;
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);

    let a = daemon.connect().await;
    let (s, k, r) = tree(&a, stall_port, "/never").await;
    let s2 = open(&a, "second").await;
    a.call("WinHttpSendRequest", json!({"handle": r}))
        .await
        .expect("send");
    tokio::time::timeout(QUICK, got_request)
        .await
        .expect("the origin must receive the request")
        .expect("origin task alive");
    // A is blocked in ReceiveResponse when it goes away.
    let pending = a
        .call_timeout(
            "WinHttpReceiveResponse",
            json!({"handle": r}),
            Duration::from_millis(300),
        )
        .await;
    assert!(pending.is_none(), "ReceiveResponse must still be blocked");
    drop(a);

    // The daemon closes A's handles, which cancels the exchange and drops its socket.
    tokio::time::timeout(QUICK, origin_closed)
        .await
        .expect("the origin connection must be closed after the client disconnected")
        .expect("origin task alive");

    // Another client: A's numbers mean nothing, and the daemon serves it normally.
    let b = daemon.connect().await;
    for h in [s, k, r, s2] {
        invalid_handle(handle_type(&b, h).await);
        invalid_handle(close(&b, h).await);
    }
    let (bs, bk, br) = tree(&b, origin.port(), "/hello").await;
    get_hello(&b, br).await;
    // Numbers are never reused: all of B's are above all of A's.
    let a_max = [s, k, r, s2].into_iter().max().unwrap();
    for h in [bs, bk, br] {
        assert!(
            h > a_max,
            "handle {h} reuses or precedes A's numbers (max {a_max})"
        );
    }
}

#[tokio::test]
async fn handle_numbers_are_never_reused() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let mut seen: Vec<u64> = Vec::new();
    for round in 0..5 {
        let (s, k, r) = tree(&c, 80, "/").await;
        let max_before = seen.iter().copied().max().unwrap_or(0);
        for h in [s, k, r] {
            assert!(
                h > max_before,
                "round {round}: handle {h} is not above every earlier number ({max_before})"
            );
            assert!(h < (1u64 << 53), "handle {h} must stay JSON-safe");
        }
        assert!(s < k && k < r);
        seen.extend([s, k, r]);
        close(&c, s).await.expect("close");
    }
    // Also across connections.
    let c2 = daemon.connect().await;
    let s = open(&c2, "x").await;
    assert!(s > seen.into_iter().max().unwrap());
}

// ---------------------------------------------------------------------------------------
// 5. options

#[tokio::test]
async fn handle_type_and_parent_handle() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (s, k, r) = tree(&c, 8080, "/x").await;
    assert_eq!(option_number(&c, s, OPT_HANDLE_TYPE).await, 1);
    assert_eq!(option_number(&c, k, OPT_HANDLE_TYPE).await, 2);
    assert_eq!(option_number(&c, r, OPT_HANDLE_TYPE).await, 3);
    assert_eq!(option_number(&c, k, OPT_PARENT_HANDLE).await, s);
    assert_eq!(option_number(&c, r, OPT_PARENT_HANDLE).await, k);
}

#[tokio::test]
async fn context_value_is_copied_to_children_at_creation() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let set_ctx = |h: u64, v: u64| {
        c.call(
            "WinHttpSetOption",
            json!({"handle": h, "option": OPT_CONTEXT_VALUE, "value": v}),
        )
    };

    let s = open(&c, "ctx").await;
    assert_eq!(option_number(&c, s, OPT_CONTEXT_VALUE).await, 0);
    set_ctx(s, 0x1234).await.expect("set session context");
    assert_eq!(option_number(&c, s, OPT_CONTEXT_VALUE).await, 0x1234);

    let k = connect(&c, s, 80).await;
    assert_eq!(option_number(&c, k, OPT_CONTEXT_VALUE).await, 0x1234);
    // A DWORD_PTR: 64-bit values survive.
    set_ctx(k, 0xdead_beef_cafe)
        .await
        .expect("set connect context");
    let r = open_request(&c, k, "/").await;
    assert_eq!(
        option_number(&c, r, OPT_CONTEXT_VALUE).await,
        0xdead_beef_cafe
    );

    // Later parent changes do not reach existing children.
    set_ctx(s, 99).await.expect("set session context again");
    assert_eq!(
        option_number(&c, k, OPT_CONTEXT_VALUE).await,
        0xdead_beef_cafe
    );
    set_ctx(k, 7).await.expect("set connect context again");
    assert_eq!(
        option_number(&c, r, OPT_CONTEXT_VALUE).await,
        0xdead_beef_cafe
    );
    // ... and children's changes do not reach parents.
    set_ctx(r, 5).await.expect("set request context");
    assert_eq!(option_number(&c, k, OPT_CONTEXT_VALUE).await, 7);
    assert_eq!(option_number(&c, s, OPT_CONTEXT_VALUE).await, 99);
    // New children copy the current value.
    let r2 = open_request(&c, k, "/").await;
    assert_eq!(option_number(&c, r2, OPT_CONTEXT_VALUE).await, 7);
}

#[tokio::test]
async fn timeouts_live_on_connect_snapshot_on_request() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, "t").await;
    let k = connect(&c, s, 80).await;
    let old_r = open_request(&c, k, "/").await;
    let timeouts = |h: u64| {
        let c = &c;
        async move {
            [
                option_number(c, h, OPT_RESOLVE_TIMEOUT).await,
                option_number(c, h, OPT_CONNECT_TIMEOUT).await,
                option_number(c, h, OPT_SEND_TIMEOUT).await,
                option_number(c, h, OPT_RECEIVE_TIMEOUT).await,
            ]
        }
    };
    let defaults = timeouts(s).await;
    assert_eq!(defaults, [0, 60_000, 30_000, 30_000], "WinHTTP's defaults");
    assert_eq!(timeouts(k).await, defaults);
    assert_eq!(timeouts(old_r).await, defaults);

    c.call(
        "WinHttpSetTimeouts",
        json!({"handle": s, "resolveTimeout": 1111, "connectTimeout": 2222,
               "sendTimeout": 3333, "receiveTimeout": 4444}),
    )
    .await
    .expect("SetTimeouts on the session");
    let new = [1111, 2222, 3333, 4444];
    assert_eq!(timeouts(s).await, new);
    // The connect handle is a live view of its session.
    assert_eq!(timeouts(k).await, new);
    // The request took a snapshot when it was opened.
    assert_eq!(timeouts(old_r).await, defaults);
    let new_r = open_request(&c, k, "/").await;
    assert_eq!(timeouts(new_r).await, new);

    // Request changes stay on the request.
    c.call(
        "WinHttpSetTimeouts",
        json!({"handle": new_r, "resolveTimeout": 1, "connectTimeout": 2,
               "sendTimeout": 3, "receiveTimeout": 4}),
    )
    .await
    .expect("SetTimeouts on a request");
    assert_eq!(timeouts(new_r).await, [1, 2, 3, 4]);
    assert_eq!(timeouts(s).await, new);

    // SetOption of one timeout on the session shows through the connect handle too.
    c.call(
        "WinHttpSetOption",
        json!({"handle": s, "option": OPT_CONNECT_TIMEOUT, "value": 5555}),
    )
    .await
    .expect("SetOption CONNECT_TIMEOUT on the session");
    assert_eq!(option_number(&c, k, OPT_CONNECT_TIMEOUT).await, 5555);
    assert_eq!(option_number(&c, old_r, OPT_CONNECT_TIMEOUT).await, 60_000);

    // A connect handle cannot set timeouts.
    wrong_type(
        c.call(
            "WinHttpSetOption",
            json!({"handle": k, "option": OPT_CONNECT_TIMEOUT, "value": 1000}),
        )
        .await,
    );
    assert_eq!(option_number(&c, k, OPT_CONNECT_TIMEOUT).await, 5555);
}

#[tokio::test]
async fn option_error_rules() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (s, k, r) = tree(&c, 80, "/").await;

    for h in [s, k, r] {
        // Unknown option: 12009 to set, 87 to query.
        win_err(
            c.call(
                "WinHttpSetOption",
                json!({"handle": h, "option": 9999, "value": 1}),
            )
            .await,
            ERROR_WINHTTP_INVALID_OPTION,
            "ERROR_WINHTTP_INVALID_OPTION",
        );
        invalid_parameter(query_option(&c, h, 9999).await);
        // Query-only option set: 12011.
        win_err(
            c.call(
                "WinHttpSetOption",
                json!({"handle": h, "option": OPT_HANDLE_TYPE, "value": 1}),
            )
            .await,
            ERROR_WINHTTP_OPTION_NOT_SETTABLE,
            "ERROR_WINHTTP_OPTION_NOT_SETTABLE",
        );
        // CONTEXT_VALUE (a DWORD_PTR) with a 4-byte buffer: 122.
        win_err(
            c.call(
                "WinHttpSetOption",
                json!({"handle": h, "option": OPT_CONTEXT_VALUE, "value": 1, "bufferLength": 4}),
            )
            .await,
            ERROR_INSUFFICIENT_BUFFER,
            "ERROR_INSUFFICIENT_BUFFER",
        );
        // A HANDLE_TYPE query into 2 bytes: 122, 4 required.
        let required = insufficient_buffer(
            c.call(
                "WinHttpQueryOption",
                json!({"handle": h, "option": OPT_HANDLE_TYPE, "bufferLength": 2}),
            )
            .await,
        );
        assert_eq!(required, 4);
        // Exactly 4 is fine.
        c.call(
            "WinHttpQueryOption",
            json!({"handle": h, "option": OPT_HANDLE_TYPE, "bufferLength": 4}),
        )
        .await
        .expect("4-byte HANDLE_TYPE query");
    }
    // A DWORD option set with a 2-byte (or 8-byte) buffer: 122; with 4 it works.
    for len in [2, 8] {
        win_err(
            c.call(
                "WinHttpSetOption",
                json!({"handle": s, "option": OPT_CONNECT_TIMEOUT, "value": 1234, "bufferLength": len}),
            )
            .await,
            ERROR_INSUFFICIENT_BUFFER,
            "ERROR_INSUFFICIENT_BUFFER",
        );
    }
    assert_eq!(option_number(&c, s, OPT_CONNECT_TIMEOUT).await, 60_000);
    c.call(
        "WinHttpSetOption",
        json!({"handle": s, "option": OPT_CONNECT_TIMEOUT, "value": 1234, "bufferLength": 4}),
    )
    .await
    .expect("4-byte DWORD set");
    assert_eq!(option_number(&c, s, OPT_CONNECT_TIMEOUT).await, 1234);
}

#[tokio::test]
async fn user_agent_and_url_options() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let s = open(&c, "agent/1.0").await;
    let k = connect(&c, s, origin.port()).await;
    let r = open_request(&c, k, "/hello?a=1").await;

    let ua = query_option(&c, s, OPT_USER_AGENT)
        .await
        .expect("USER_AGENT");
    assert_eq!(ua["value"], "agent/1.0");
    // "agent/1.0" is 9 UTF-16 units: 20 bytes with the terminator.
    let required = insufficient_buffer(
        c.call(
            "WinHttpQueryOption",
            json!({"handle": s, "option": OPT_USER_AGENT, "bufferLength": 10}),
        )
        .await,
    );
    assert_eq!(required, 20);
    c.call(
        "WinHttpQueryOption",
        json!({"handle": s, "option": OPT_USER_AGENT, "bufferLength": 20}),
    )
    .await
    .expect("exactly large enough");
    // USER_AGENT is a session option.
    wrong_type(query_option(&c, r, OPT_USER_AGENT).await);

    let url = query_option(&c, r, OPT_URL).await.expect("URL");
    assert_eq!(
        url["value"],
        format!("http://127.0.0.1:{}/hello?a=1", origin.port())
    );
    // URL is a request option.
    wrong_type(query_option(&c, s, OPT_URL).await);

    // A new user agent is used live by the session's requests.
    c.call(
        "WinHttpSetOption",
        json!({"handle": s, "option": OPT_USER_AGENT, "value": "agent/2.0"}),
    )
    .await
    .expect("set USER_AGENT");
    assert_eq!(
        query_option(&c, s, OPT_USER_AGENT).await.unwrap()["value"],
        "agent/2.0"
    );
    get_hello(&c, r).await;
    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("user-agent"), Some("agent/2.0"));
    assert_eq!(seen[0].path, "/hello?a=1");
}

// ---------------------------------------------------------------------------------------
// 6. headers

async fn add_headers(
    c: &RpcConn,
    r: u64,
    headers: &str,
    modifiers: u32,
) -> Result<Value, RpcError> {
    c.call(
        "WinHttpAddRequestHeaders",
        json!({"handle": r, "headers": headers, "modifiers": modifiers}),
    )
    .await
}

/// The `index`-th request header `name` as hinetd would send it.
async fn request_header(c: &RpcConn, r: u64, name: &str, index: u32) -> Result<Value, RpcError> {
    c.call(
        "WinHttpQueryHeaders",
        json!({"handle": r, "infoLevel": QUERY_FLAG_REQUEST_HEADERS | QUERY_CUSTOM,
               "name": name, "index": index}),
    )
    .await
}

#[tokio::test]
async fn add_request_headers_modifiers() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_s, _k, r) = tree(&c, origin.port(), "/hello").await;

    // ADD: two instances, in order.
    add_headers(&c, r, "X-Add: 1", ADDREQ_ADD)
        .await
        .expect("ADD 1");
    add_headers(&c, r, "X-Add: 2", ADDREQ_ADD)
        .await
        .expect("ADD 2");
    let first = request_header(&c, r, "x-add", 0).await.expect("X-Add #0");
    assert_eq!(first["value"], "1");
    assert_eq!(first["index"], 1);
    assert_eq!(
        request_header(&c, r, "X-ADD", 1).await.unwrap()["value"],
        "2"
    );
    header_not_found(request_header(&c, r, "X-Add", 2).await);

    // ADD_IF_NEW: only once.
    add_headers(&c, r, "X-New: a", ADDREQ_ADD_IF_NEW)
        .await
        .expect("ADD_IF_NEW");
    win_err(
        add_headers(&c, r, "x-new: b", ADDREQ_ADD_IF_NEW).await,
        ERROR_WINHTTP_HEADER_ALREADY_EXISTS,
        "ERROR_WINHTTP_HEADER_ALREADY_EXISTS",
    );
    assert_eq!(
        request_header(&c, r, "X-New", 0).await.unwrap()["value"],
        "a"
    );

    // REPLACE: absent → 12150; present → new value; empty value deletes.
    header_not_found(add_headers(&c, r, "X-Absent: v", ADDREQ_REPLACE).await);
    header_not_found(request_header(&c, r, "X-Absent", 0).await);
    add_headers(&c, r, "X-Rep: old", ADDREQ_ADD)
        .await
        .expect("add X-Rep");
    add_headers(&c, r, "X-Rep: new", ADDREQ_REPLACE)
        .await
        .expect("REPLACE");
    assert_eq!(
        request_header(&c, r, "X-Rep", 0).await.unwrap()["value"],
        "new"
    );
    header_not_found(request_header(&c, r, "X-Rep", 1).await);
    add_headers(&c, r, "X-Del: doomed", ADDREQ_ADD)
        .await
        .expect("add X-Del");
    add_headers(&c, r, "X-Del:", ADDREQ_REPLACE)
        .await
        .expect("REPLACE with empty value");
    header_not_found(request_header(&c, r, "X-Del", 0).await);
    // REPLACE | ADD adds when absent.
    add_headers(&c, r, "X-RA: v", ADDREQ_REPLACE | ADDREQ_ADD)
        .await
        .expect("REPLACE|ADD");
    assert_eq!(
        request_header(&c, r, "X-RA", 0).await.unwrap()["value"],
        "v"
    );

    // COALESCE_WITH_COMMA / SEMICOLON merge into the first instance.
    add_headers(&c, r, "X-Comma: a", ADDREQ_ADD).await.unwrap();
    add_headers(&c, r, "X-Comma: b", ADDREQ_COALESCE_WITH_COMMA)
        .await
        .unwrap();
    assert_eq!(
        request_header(&c, r, "X-Comma", 0).await.unwrap()["value"],
        "a, b"
    );
    header_not_found(request_header(&c, r, "X-Comma", 1).await);
    add_headers(&c, r, "X-Semi: a", ADDREQ_ADD).await.unwrap();
    add_headers(&c, r, "X-Semi: b", ADDREQ_COALESCE_WITH_SEMICOLON)
        .await
        .unwrap();
    assert_eq!(
        request_header(&c, r, "X-Semi", 0).await.unwrap()["value"],
        "a; b"
    );
    // Coalescing an absent header adds it.
    add_headers(&c, r, "X-Fresh: z", ADDREQ_COALESCE_WITH_COMMA)
        .await
        .unwrap();
    assert_eq!(
        request_header(&c, r, "X-Fresh", 0).await.unwrap()["value"],
        "z"
    );

    // Malformed lines and empty input.
    for bad in ["no colon here", ": empty name", "Bad Name: x", " e :f"] {
        win_err(
            add_headers(&c, r, bad, ADDREQ_ADD).await,
            ERROR_WINHTTP_INVALID_HEADER,
            "ERROR_WINHTTP_INVALID_HEADER",
        );
    }
    invalid_parameter(add_headers(&c, r, "", ADDREQ_ADD).await);
    invalid_parameter(
        c.call("WinHttpAddRequestHeaders", json!({"handle": r}))
            .await,
    );

    // What the origin received matches what QueryHeaders said.
    get_hello(&c, r).await;
    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    let got = &seen[0];
    assert_eq!(got.header_all("x-add"), ["1", "2"]);
    assert_eq!(got.header_all("x-new"), ["a"]);
    assert_eq!(got.header_all("x-rep"), ["new"]);
    assert_eq!(got.header_all("x-ra"), ["v"]);
    assert_eq!(got.header_all("x-comma"), ["a, b"]);
    assert_eq!(got.header_all("x-semi"), ["a; b"]);
    assert_eq!(got.header_all("x-fresh"), ["z"]);
    for absent in ["x-del", "x-absent", "bad name", "no colon here"] {
        assert_eq!(got.header(absent), None, "{absent} must not be sent");
    }
}

#[tokio::test]
async fn request_header_block_with_several_lines() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_s, _k, r) = tree(&c, origin.port(), "/hello").await;
    add_headers(&c, r, "X-One: 1\r\nX-Two: 2\r\n", ADDREQ_ADD)
        .await
        .expect("two lines");
    assert_eq!(
        request_header(&c, r, "X-One", 0).await.unwrap()["value"],
        "1"
    );
    assert_eq!(
        request_header(&c, r, "X-Two", 0).await.unwrap()["value"],
        "2"
    );
    // A block with one bad line is rejected.
    win_err(
        add_headers(&c, r, "X-Three: 3\r\nbroken\r\n", ADDREQ_ADD).await,
        ERROR_WINHTTP_INVALID_HEADER,
        "ERROR_WINHTTP_INVALID_HEADER",
    );
    // Request headers can be read before the request is sent, as raw text too.
    let raw = c
        .call(
            "WinHttpQueryHeaders",
            json!({"handle": r, "infoLevel": QUERY_FLAG_REQUEST_HEADERS | QUERY_RAW_HEADERS_CRLF}),
        )
        .await
        .expect("raw request headers");
    let raw = raw["value"].as_str().expect("text");
    assert!(raw.starts_with("GET /hello HTTP/1.1\r\n"), "{raw:?}");
    assert!(raw.contains("\r\nX-One: 1\r\n"), "{raw:?}");
    assert!(raw.ends_with("\r\n\r\n"), "{raw:?}");
    get_hello(&c, r).await;
    let seen = origin.requests();
    assert_eq!(seen[0].header("x-one"), Some("1"));
    assert_eq!(seen[0].header("x-two"), Some("2"));
}

async fn response_query(c: &RpcConn, r: u64, level: u32, extra: Value) -> Result<Value, RpcError> {
    let mut p = json!({"handle": r, "infoLevel": level});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            p[k] = v;
        }
    }
    c.call("WinHttpQueryHeaders", p).await
}

#[tokio::test]
async fn response_headers_from_multi() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let (_s, _k, r) = tree(&c, origin.port(), "/multi").await;

    // Before the response: 12019 (also right after SendRequest).
    let state_err = |r| {
        win_err(
            r,
            ERROR_WINHTTP_INCORRECT_HANDLE_STATE,
            "ERROR_WINHTTP_INCORRECT_HANDLE_STATE",
        )
    };
    state_err(response_query(&c, r, QUERY_STATUS_CODE, json!({})).await);
    c.call("WinHttpSendRequest", json!({"handle": r}))
        .await
        .expect("send");
    state_err(response_query(&c, r, QUERY_CUSTOM, json!({"name": "X-Repeat"})).await);
    c.call("WinHttpReceiveResponse", json!({"handle": r}))
        .await
        .expect("receive");

    // CUSTOM with an index walks the instances.
    let one = response_query(&c, r, QUERY_CUSTOM, json!({"name": "X-Repeat", "index": 0}))
        .await
        .expect("X-Repeat #0");
    assert_eq!(one["value"], "one");
    assert_eq!(one["index"], 1);
    let two = response_query(&c, r, QUERY_CUSTOM, json!({"name": "x-repeat", "index": 1}))
        .await
        .expect("X-Repeat #1");
    assert_eq!(two["value"], "two");
    assert_eq!(two["index"], 2);
    header_not_found(
        response_query(&c, r, QUERY_CUSTOM, json!({"name": "X-Repeat", "index": 2})).await,
    );
    // No index = the first.
    assert_eq!(
        response_query(&c, r, QUERY_CUSTOM, json!({"name": "X-Repeat"}))
            .await
            .unwrap()["value"],
        "one"
    );

    // Two Set-Cookie lines are two instances.
    let c0 = response_query(&c, r, QUERY_SET_COOKIE, json!({"index": 0}))
        .await
        .expect("Set-Cookie #0");
    let c1 = response_query(&c, r, QUERY_SET_COOKIE, json!({"index": 1}))
        .await
        .expect("Set-Cookie #1");
    assert_eq!(
        (c0["value"].clone(), c1["value"].clone()),
        (json!("a=1"), json!("b=2"))
    );
    header_not_found(response_query(&c, r, QUERY_SET_COOKIE, json!({"index": 2})).await);

    // FLAG_NUMBER.
    let n = response_query(
        &c,
        r,
        QUERY_CUSTOM | QUERY_FLAG_NUMBER,
        json!({"name": "X-Number"}),
    )
    .await
    .expect("X-Number");
    assert_eq!(n["value"], 42);
    let len = response_query(&c, r, QUERY_CONTENT_LENGTH | QUERY_FLAG_NUMBER, json!({}))
        .await
        .expect("Content-Length");
    assert_eq!(len["value"], 5);
    let len_text = response_query(&c, r, QUERY_CONTENT_LENGTH, json!({}))
        .await
        .expect("Content-Length as text");
    assert_eq!(len_text["value"], "5");
    // FLAG_NUMBER needs 4 bytes.
    assert_eq!(
        insufficient_buffer(
            response_query(
                &c,
                r,
                QUERY_CONTENT_LENGTH | QUERY_FLAG_NUMBER,
                json!({"bufferLength": 2})
            )
            .await
        ),
        4
    );

    // Missing headers and bad levels.
    header_not_found(response_query(&c, r, QUERY_LOCATION, json!({})).await);
    header_not_found(response_query(&c, r, QUERY_CUSTOM, json!({"name": "X-Missing"})).await);
    invalid_parameter(response_query(&c, r, 100, json!({})).await);

    // Buffer too small: (UTF-16 units + 1) * 2 required; exactly that is enough.
    let required = insufficient_buffer(
        response_query(
            &c,
            r,
            QUERY_CUSTOM,
            json!({"name": "X-Repeat", "bufferLength": 7}),
        )
        .await,
    );
    assert_eq!(required, (3 + 1) * 2);
    let fits = response_query(
        &c,
        r,
        QUERY_CUSTOM,
        json!({"name": "X-Repeat", "bufferLength": 8}),
    )
    .await
    .expect("exactly large enough");
    assert_eq!(fits["value"], "one");

    // RAW_HEADERS_CRLF: status line first, blank line last.
    let raw = response_query(&c, r, QUERY_RAW_HEADERS_CRLF, json!({}))
        .await
        .expect("raw headers");
    let raw = raw["value"].as_str().expect("text").to_owned();
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw:?}");
    assert!(raw.ends_with("\r\n\r\n"), "{raw:?}");
    assert!(
        raw.to_ascii_lowercase().contains("\r\nx-number: 42\r\n"),
        "{raw:?}"
    );
    let required = insufficient_buffer(
        response_query(&c, r, QUERY_RAW_HEADERS_CRLF, json!({"bufferLength": 4})).await,
    );
    assert_eq!(required, (raw.encode_utf16().count() as u64 + 1) * 2);

    assert_eq!(read_all(&c, r).await, b"multi");
    // Response headers stay readable at the end of the body.
    assert_eq!(
        response_query(&c, r, QUERY_CUSTOM, json!({"name": "X-Repeat", "index": 1}))
            .await
            .unwrap()["value"],
        "two"
    );
}

// ---------------------------------------------------------------------------------------
// 7. CrackUrl / CreateUrl over the wire

#[tokio::test]
async fn crack_and_create_url() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;

    let parts = c
        .call(
            "WinHttpCrackUrl",
            json!({"url": "https://user:pw@example.com:8443/a/b?x=1#f"}),
        )
        .await
        .expect("CrackUrl");
    assert_eq!(parts["scheme"], "https");
    assert_eq!(parts["schemeId"], 2);
    assert_eq!(parts["hostName"], "example.com");
    assert_eq!(parts["port"], 8443);
    assert_eq!(parts["userName"], "user");
    assert_eq!(parts["password"], "pw");
    assert_eq!(parts["urlPath"], "/a/b");
    assert_eq!(parts["extraInfo"], "?x=1#f");

    // A scheme other than http(s), or no scheme at all (no ':'), is 12006, as on Windows.
    for url in ["ftp://x/", "nota url"] {
        win_err(
            c.call("WinHttpCrackUrl", json!({"url": url})).await,
            ERROR_WINHTTP_UNRECOGNIZED_SCHEME,
            "ERROR_WINHTTP_UNRECOGNIZED_SCHEME",
        );
    }
    // An http URL that is malformed is 12005.
    for url in ["http:nota url", "http://", "http://h:99999/"] {
        win_err(
            c.call("WinHttpCrackUrl", json!({"url": url})).await,
            ERROR_WINHTTP_INVALID_URL,
            "ERROR_WINHTTP_INVALID_URL",
        );
    }

    // CreateUrl rebuilds the same URL from the cracked components.
    let made = c
        .call("WinHttpCreateUrl", json!({"components": parts.clone()}))
        .await
        .expect("CreateUrl");
    let url = "https://user:pw@example.com:8443/a/b?x=1#f";
    assert_eq!(made["url"], url);
    assert_eq!(made["length"], url.len());

    // From a minimal description: default port omitted.
    let made = c
        .call(
            "WinHttpCreateUrl",
            json!({"components": {"schemeId": 1, "hostName": "h.example", "port": 80,
                                  "urlPath": "/p", "extraInfo": "?q"}}),
        )
        .await
        .expect("CreateUrl minimal");
    assert_eq!(made["url"], "http://h.example/p?q");

    // A 5-character buffer is too small: 122 with length + 1 required.
    let required = insufficient_buffer(
        c.call(
            "WinHttpCreateUrl",
            json!({"components": parts, "bufferLength": 5}),
        )
        .await,
    );
    assert_eq!(required, url.len() as u64 + 1);
    // No host name: 87.
    invalid_parameter(
        c.call(
            "WinHttpCreateUrl",
            json!({"components": {"schemeId": 1, "urlPath": "/"}}),
        )
        .await,
    );
}
