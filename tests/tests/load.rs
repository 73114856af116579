//! Load: many clients at once, each running many complete exchanges, with zero errors.
//!
//! Fifty client connections (half in synchronous sessions, half in asynchronous ones) each
//! run twenty GETs over keep-alive, checking every status and every body byte, inside a
//! fixed time budget. Afterwards no handle is left and the origin saw its connections reused.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hinet_tests::{Daemon, HttpServer, RpcConn, big_body, unb64};
use serde_json::{Value, json};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

const ASYNC: u32 = 0x1000_0000;
const ALL_NOTIFICATIONS: u32 = 0xFFFF_FFFF;
const CLIENTS: usize = 50;
const REQUESTS_PER_CLIENT: usize = 20;
/// The whole run must finish within this (it takes a few seconds on two cores).
const BUDGET: Duration = Duration::from_secs(60);
const CALL_LIMIT: Duration = Duration::from_secs(20);
const BIG: usize = 100_000;

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

/// Runs one operation; in async sessions waits for its completion and returns its info.
async fn op(c: &RpcConn, is_async: bool, method: &str, params: Value) -> Value {
    let req = params["handle"].clone();
    let r = ok(c, method, params).await;
    if !is_async {
        return r;
    }
    let n = c
        .wait_for_notification(CALL_LIMIT, |n| {
            let e = &n["params"]["result"];
            e["handle"] == req
                && matches!(
                    e["statusName"].as_str(),
                    Some(
                        "SENDREQUEST_COMPLETE"
                            | "HEADERS_AVAILABLE"
                            | "READ_COMPLETE"
                            | "REQUEST_ERROR"
                    )
                )
        })
        .await
        .unwrap_or_else(|| panic!("no completion for {method}"));
    let e = &n["params"]["result"];
    assert_ne!(e["statusName"], "REQUEST_ERROR", "{method}: {e}");
    e["info"].clone()
}

async fn client(c: RpcConn, port: u16, id: usize) {
    let is_async = id % 2 == 1;
    let flags = if is_async { ASYNC } else { 0 };
    let ses = handle(
        &ok(
            &c,
            "WinHttpOpen",
            json!({"userAgent": "load/1", "flags": flags}),
        )
        .await,
    );
    if is_async {
        // Only completions: the informational statuses would just be discarded.
        ok(
            &c,
            "WinHttpSetStatusCallback",
            json!({"handle": ses, "notificationFlags": ALL_NOTIFICATIONS & !0xFFFF}),
        )
        .await;
    }
    let con = handle(
        &ok(
            &c,
            "WinHttpConnect",
            json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": port}),
        )
        .await,
    );
    for i in 0..REQUESTS_PER_CLIENT {
        let big = (i + id).is_multiple_of(5);
        let path = if big {
            format!("/big?size={BIG}")
        } else {
            "/hello".to_owned()
        };
        let req = handle(
            &ok(
                &c,
                "WinHttpOpenRequest",
                json!({"handle": con, "objectName": path}),
            )
            .await,
        );
        op(&c, is_async, "WinHttpSendRequest", json!({"handle": req})).await;
        op(
            &c,
            is_async,
            "WinHttpReceiveResponse",
            json!({"handle": req}),
        )
        .await;
        let status = ok(
            &c,
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": 19 | 0x2000_0000}),
        )
        .await;
        assert_eq!(status["value"], 200);
        let mut body = Vec::new();
        loop {
            let r = op(
                &c,
                is_async,
                "WinHttpReadData",
                json!({"handle": req, "bytesToRead": 65536}),
            )
            .await;
            if r["bytesRead"] == 0 {
                break;
            }
            body.extend(unb64(r["data"].as_str().expect("data")));
        }
        if big {
            assert!(
                body == big_body(BIG),
                "client {id} request {i}: body differs"
            );
        } else {
            assert_eq!(body, b"hello world", "client {id} request {i}");
        }
        ok(&c, "WinHttpCloseHandle", json!({"handle": req})).await;
    }
    ok(&c, "WinHttpCloseHandle", json!({"handle": ses})).await;
    assert!(
        c.protocol_violations().is_empty(),
        "{:?}",
        c.protocol_violations()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_twenty_gets_each_without_an_error() {
    let origin = Arc::new(HttpServer::start().await);
    let daemon = Daemon::spawn(HINETD, &[]);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for id in 0..CLIENTS {
        let c = daemon.connect().await;
        let port = origin.port();
        tasks.push(tokio::spawn(client(c, port, id)));
    }
    tokio::time::timeout(BUDGET, async {
        for t in tasks {
            t.await.expect("a client failed");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{CLIENTS} clients did not finish within {BUDGET:?}"));
    let took = started.elapsed();
    let total = CLIENTS * REQUESTS_PER_CLIENT;
    eprintln!(
        "load: {total} GETs from {CLIENTS} clients in {took:?}, {} origin connections",
        origin.connections()
    );
    assert_eq!(origin.requests().len(), total);
    // Keep-alive works under load: far fewer connections than requests.
    assert!(
        origin.connections() <= total / 4,
        "{} connections for {total} requests",
        origin.connections()
    );

    let c = daemon.connect().await;
    let s = ok(&c, "HinetStatus", json!({})).await;
    assert_eq!(
        (&s["sessions"], &s["connects"], &s["requests"]),
        (&json!(0), &json!(0), &json!(0)),
        "{s}"
    );
}
