//! Fault injection: servers that reset, stall, lie or speak garbage, and what hinetd makes
//! of them.
//!
//! Every case runs twice, in a synchronous session (the failing call answers with the
//! error) and in an asynchronous one (the failing operation completes with REQUEST_ERROR),
//! and asserts three things: the exact WinHTTP error number, that the failing call returned
//! within its timeout plus some slack (no hang), and that once the session is closed the
//! daemon holds no handle and no connection to the server.

use std::time::{Duration, Instant};

use hinet_tests::{Daemon, Fault, FaultServer, RpcConn, RpcError, oversized_head};
use serde_json::{Value, json};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

const ASYNC: u32 = 0x1000_0000;
const ALL_NOTIFICATIONS: u32 = 0xFFFF_FFFF;
const REQUEST_FLAG_SECURE: u32 = 0x0080_0000;

const TIMEOUT: i64 = 12002;
const CONNECTION_ERROR: i64 = 12030;
const INVALID_SERVER_RESPONSE: i64 = 12152;
const SECURE_FAILURE: i64 = 12175;
const HEADER_SIZE_OVERFLOW: i64 = 12182;

/// The receive timeout every case runs under (also bounds each wait for body bytes).
const RECEIVE_MS: u64 = 600;
/// The send timeout (also bounds the TLS and HTTP handshakes).
const SEND_MS: u64 = 1000;
/// Generous allowance for a busy two-core machine on top of the relevant timeout.
const SLACK: Duration = Duration::from_secs(3);
/// Upper bound on any call that is expected to succeed.
const CALL_LIMIT: Duration = Duration::from_secs(10);

/// Where in the exchange a fault surfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Send,
    Receive,
    Read,
}

struct Case {
    fault: Fault,
    secure: bool,
    phase: Phase,
    code: i64,
    /// The timeout that bounds the failing call.
    bound: Duration,
    /// The failing call must take at least this long (stalls wait out their timeout).
    at_least: Duration,
}

impl Case {
    fn new(fault: Fault, phase: Phase, code: i64) -> Case {
        let bound = match phase {
            Phase::Send => Duration::from_millis(SEND_MS),
            Phase::Receive | Phase::Read => Duration::from_millis(RECEIVE_MS),
        };
        Case {
            fault,
            secure: false,
            phase,
            code,
            bound,
            at_least: Duration::ZERO,
        }
    }

    fn stall(mut self) -> Case {
        // Timers may fire a little early relative to our clock; 80% is a safe floor.
        self.at_least = self.bound * 4 / 5;
        self
    }

    fn secure(mut self) -> Case {
        self.secure = true;
        self
    }
}

fn head_with_length(len: usize, body: &[u8]) -> Vec<u8> {
    let mut v = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes();
    v.extend_from_slice(body);
    v
}

fn reset_mid_headers() -> Case {
    let partial = b"HTTP/1.1 200 OK\r\nContent-Type: text/pl".to_vec();
    Case::new(Fault::ResetAfter(partial), Phase::Receive, CONNECTION_ERROR)
}

fn reset_mid_body() -> Case {
    let fault = Fault::ResetAfter(head_with_length(100_000, b"partial body"));
    Case::new(fault, Phase::Read, CONNECTION_ERROR)
}

fn stall_before_headers() -> Case {
    Case::new(Fault::StallAfter(Vec::new()), Phase::Receive, TIMEOUT).stall()
}

fn stall_mid_body() -> Case {
    let fault = Fault::StallAfter(head_with_length(100, b"partial body"));
    Case::new(fault, Phase::Read, TIMEOUT).stall()
}

fn garbage_status_line() -> Case {
    let fault = Fault::CloseAfter(b"SPDY/9 banana\r\nContent-Length: 0\r\n\r\n".to_vec());
    Case::new(fault, Phase::Receive, INVALID_SERVER_RESPONSE)
}

/// 200 KiB of response headers (3,200 lines of 64 bytes): 12182, as WinHTTP answers a head
/// beyond its limit. (hinetd's limits are the HTTP library's: 100 header lines, about
/// 400 KiB of head; a single 200 KiB header line is still accepted.)
fn oversized_headers() -> Case {
    let fault = Fault::CloseAfter(oversized_head(3200, 64));
    Case::new(fault, Phase::Receive, HEADER_SIZE_OVERFLOW)
}

/// A head beyond the HTTP library's buffer rather than its line count: 500 KiB in 20 lines.
fn oversized_header_lines() -> Case {
    let fault = Fault::CloseAfter(oversized_head(20, 25 * 1024));
    Case::new(fault, Phase::Receive, HEADER_SIZE_OVERFLOW)
}

fn body_shorter_than_content_length() -> Case {
    let fault = Fault::CloseAfter(head_with_length(100, b"only 17 bytes ...."));
    Case::new(fault, Phase::Read, CONNECTION_ERROR)
}

/// A plain-text HTTP server on the port a SECURE request does its TLS handshake with.
fn tls_handshake_garbage() -> Case {
    let fault = Fault::GreetThenDrain(
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nnot tls 1.3".to_vec(),
    );
    Case::new(fault, Phase::Send, SECURE_FAILURE).secure()
}

/// Random-looking bytes that are not a TLS record at all.
fn tls_binary_garbage() -> Case {
    let junk: Vec<u8> = (0u32..512)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    Case::new(Fault::GreetThenDrain(junk), Phase::Send, SECURE_FAILURE).secure()
}

// ---------------------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------------------

async fn ok(c: &RpcConn, method: &str, params: Value) -> Value {
    match c.call_timeout(method, params.clone(), CALL_LIMIT).await {
        Some(Ok(v)) => v,
        Some(Err(e)) => panic!("{method}({params}) failed: {e}"),
        None => panic!("{method}({params}) did not answer within {CALL_LIMIT:?}"),
    }
}

fn handle(v: &Value) -> u64 {
    v["handle"]
        .as_u64()
        .unwrap_or_else(|| panic!("no handle in {v}"))
}

/// Session (with the suite's timeouts), connect and one GET; returns (session, request).
async fn open_request(c: &RpcConn, port: u16, flags: u32, secure: bool) -> (u64, u64) {
    let ses = handle(
        &ok(
            c,
            "WinHttpOpen",
            json!({"userAgent": "faults/1", "flags": flags}),
        )
        .await,
    );
    if flags & ASYNC != 0 {
        ok(
            c,
            "WinHttpSetStatusCallback",
            json!({"handle": ses, "notificationFlags": ALL_NOTIFICATIONS}),
        )
        .await;
    }
    ok(
        c,
        "WinHttpSetTimeouts",
        json!({"handle": ses, "resolveTimeout": 0, "connectTimeout": 2000,
               "sendTimeout": SEND_MS, "receiveTimeout": RECEIVE_MS}),
    )
    .await;
    let con = handle(
        &ok(
            c,
            "WinHttpConnect",
            json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": port}),
        )
        .await,
    );
    let req_flags = if secure { REQUEST_FLAG_SECURE } else { 0 };
    let req = handle(
        &ok(
            c,
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": "/fault", "flags": req_flags}),
        )
        .await,
    );
    (ses, req)
}

/// The outcome of one operation: Ok(result or completion info) or the WinHTTP error.
type Outcome = Result<Value, i64>;

/// Runs one operation and reports how long it took until its outcome was known.
async fn operation(c: &RpcConn, is_async: bool, method: &str, req: u64) -> (Outcome, Duration) {
    let params = if method == "WinHttpReadData" {
        json!({"handle": req, "bytesToRead": 65536})
    } else {
        json!({"handle": req})
    };
    let started = Instant::now();
    let answer = c
        .call_timeout(method, params, CALL_LIMIT)
        .await
        .unwrap_or_else(|| panic!("{method} did not answer within {CALL_LIMIT:?}"));
    if !is_async {
        return (answer.map_err(|e: RpcError| e.code), started.elapsed());
    }
    if let Err(e) = answer {
        panic!("async {method} must be accepted, got {e}");
    }
    let outcome = loop {
        let n = c
            .wait_for_notification(CALL_LIMIT, |n| n["params"]["result"]["handle"] == req)
            .await
            .unwrap_or_else(|| panic!("no completion for async {method}"));
        let ev = &n["params"]["result"];
        match ev["statusName"].as_str().unwrap_or("") {
            "REQUEST_ERROR" => break Err(ev["info"]["error"].as_i64().expect("error code")),
            "SENDREQUEST_COMPLETE" | "HEADERS_AVAILABLE" | "READ_COMPLETE" => {
                break Ok(ev["info"].clone());
            }
            _ => {}
        }
    };
    (outcome, started.elapsed())
}

/// Drives the case's request until the expected failure; returns how long the failing
/// call took.
async fn drive_to_failure(c: &RpcConn, case: &Case, is_async: bool, req: u64) -> Duration {
    for (phase, method) in [
        (Phase::Send, "WinHttpSendRequest"),
        (Phase::Receive, "WinHttpReceiveResponse"),
    ] {
        let (outcome, took) = operation(c, is_async, method, req).await;
        if phase == case.phase {
            assert_eq!(outcome.err(), Some(case.code), "{method}");
            return took;
        }
        if let Err(code) = outcome {
            panic!(
                "{method} failed with {code}; expected {} in {:?}",
                case.code, case.phase
            );
        }
    }
    // Phase::Read: the bytes that did arrive are delivered, then the failure.
    let mut got = 0u64;
    for _ in 0..64 {
        let (outcome, took) = operation(c, is_async, "WinHttpReadData", req).await;
        match outcome {
            Err(code) => {
                assert_eq!(code, case.code, "ReadData after {got} bytes");
                return took;
            }
            Ok(r) => {
                let n = r["bytesRead"].as_u64().expect("bytesRead");
                assert!(
                    n > 0,
                    "a clean end of body after {got} bytes: the fault was hidden"
                );
                got += n;
            }
        }
    }
    panic!("no failure after 64 reads ({got} bytes)");
}

/// HinetStatus until every handle of every client is gone (bounded wait).
async fn assert_no_handles(c: &RpcConn) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = ok(c, "HinetStatus", json!({})).await;
        let live = ["sessions", "connects", "requests"].map(|k| s[k].as_u64().unwrap_or(u64::MAX));
        if live == [0, 0, 0] {
            return;
        }
        assert!(Instant::now() < deadline, "handles leaked: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn run_case(case: Case, is_async: bool) {
    let server = FaultServer::start(case.fault.clone()).await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let flags = if is_async { ASYNC } else { 0 };
    let (ses, req) = open_request(&c, server.port(), flags, case.secure).await;

    let took = drive_to_failure(&c, &case, is_async, req).await;
    assert!(
        took < case.bound + SLACK,
        "the failing call took {took:?} under a timeout of {:?}",
        case.bound
    );
    assert!(
        took >= case.at_least,
        "gave up after {took:?}, before the {:?} timeout",
        case.bound
    );

    ok(&c, "WinHttpCloseHandle", json!({"handle": ses})).await;
    assert_no_handles(&c).await;
    assert_eq!(
        server.wait_all_closed(Duration::from_secs(5)).await,
        0,
        "the daemon kept a connection to the faulty server open"
    );
    assert!(
        c.protocol_violations().is_empty(),
        "{:?}",
        c.protocol_violations()
    );
}

macro_rules! fault_cases {
    ($($name:ident),* $(,)?) => {
        mod sync_session {
            $(#[tokio::test]
            async fn $name() {
                super::run_case(super::$name(), false).await;
            })*
        }
        mod async_session {
            $(#[tokio::test]
            async fn $name() {
                super::run_case(super::$name(), true).await;
            })*
        }
    };
}

fault_cases!(
    reset_mid_headers,
    reset_mid_body,
    stall_before_headers,
    stall_mid_body,
    garbage_status_line,
    oversized_headers,
    oversized_header_lines,
    body_shorter_than_content_length,
    tls_handshake_garbage,
    tls_binary_garbage,
);

// ---------------------------------------------------------------------------------------
// A body that never ends
// ---------------------------------------------------------------------------------------

/// Reading a bounded amount of an endless body, then closing, cancels the transfer: the
/// close answers at once, the server sees the connection go, and nothing is left open.
async fn endless_body(is_async: bool) {
    let server = FaultServer::start(Fault::EndlessBody {
        head: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
    })
    .await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let flags = if is_async { ASYNC } else { 0 };
    let (ses, req) = open_request(&c, server.port(), flags, false).await;
    for method in ["WinHttpSendRequest", "WinHttpReceiveResponse"] {
        let (outcome, _) = operation(&c, is_async, method, req).await;
        outcome.unwrap_or_else(|code| panic!("{method} failed with {code}"));
    }
    let mut got = 0u64;
    for _ in 0..32 {
        let (outcome, _) = operation(&c, is_async, "WinHttpReadData", req).await;
        let r = outcome.unwrap_or_else(|code| panic!("ReadData failed with {code}"));
        let n = r["bytesRead"].as_u64().expect("bytesRead");
        assert!(n > 0, "the endless body ended after {got} bytes");
        got += n;
    }

    let started = Instant::now();
    ok(&c, "WinHttpCloseHandle", json!({"handle": ses})).await;
    assert!(
        started.elapsed() < SLACK,
        "close took {:?}",
        started.elapsed()
    );
    assert_no_handles(&c).await;
    assert_eq!(
        server.wait_all_closed(Duration::from_secs(5)).await,
        0,
        "the endless transfer was not cancelled"
    );
    // The server stops streaming because the daemon stopped reading: the little it
    // wrote beyond what the client read is socket buffering, not an unbounded pull.
    let streamed = server.streamed() as u64;
    assert!(streamed >= got, "streamed {streamed}, read {got}");
}

#[tokio::test]
async fn endless_body_then_close_cancels_cleanly_sync() {
    endless_body(false).await;
}

#[tokio::test]
async fn endless_body_then_close_cancels_cleanly_async() {
    endless_body(true).await;
}
