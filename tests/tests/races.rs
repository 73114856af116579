//! Races: closing a request while another task sends, receives or reads on it, and clients
//! vanishing in every request state.
//!
//! The close lands at a different point of the operation on every iteration (a varying
//! delay), in synchronous and asynchronous sessions, from several client connections at
//! once. Whatever the interleaving, every closed handle gets exactly one HANDLE_CLOSING and
//! nothing after it, every async operation at most one completion, the daemon answers every
//! call with a result or an expected error, and HinetStatus returns to zero afterwards.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hinet_tests::{Daemon, HttpServer, RpcConn, b64};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

const ASYNC: u32 = 0x1000_0000;
const ALL_NOTIFICATIONS: u32 = 0xFFFF_FFFF;
const INVALID_HANDLE: i64 = 6;
const OPERATION_CANCELLED: i64 = 12017;

/// Connections racing at once per session mode.
const WORKERS: usize = 3;
/// Bounds per worker: whichever is reached first.
const MAX_ITERATIONS: usize = 90;
const MAX_RUN: Duration = Duration::from_secs(3);
const CALL_LIMIT: Duration = Duration::from_secs(10);
/// Silence on the socket after which all notifications are taken to have arrived.
const QUIET: Duration = Duration::from_millis(400);

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

fn event(n: &Value) -> &Value {
    &n["params"]["result"]
}

fn is_completion(name: &str) -> bool {
    matches!(
        name,
        "SENDREQUEST_COMPLETE"
            | "HEADERS_AVAILABLE"
            | "DATA_AVAILABLE"
            | "READ_COMPLETE"
            | "WRITE_COMPLETE"
            | "REQUEST_ERROR"
    )
}

/// Session (with a callback for everything) and a connect handle to `port`.
async fn session(c: &RpcConn, port: u16, is_async: bool) -> (u64, u64) {
    let flags = if is_async { ASYNC } else { 0 };
    let ses = handle(
        &ok(
            c,
            "WinHttpOpen",
            json!({"userAgent": "races/1", "flags": flags}),
        )
        .await,
    );
    ok(
        c,
        "WinHttpSetStatusCallback",
        json!({"handle": ses, "notificationFlags": ALL_NOTIFICATIONS}),
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
    (ses, con)
}

/// Waits for the completion of the operation just started on `req` (async sessions). The
/// other notifications stay queued, in order, for the final check.
async fn completion(c: &RpcConn, req: u64) -> Value {
    let n = c
        .wait_for_notification(CALL_LIMIT, |n| {
            event(n)["handle"] == req
                && is_completion(event(n)["statusName"].as_str().unwrap_or(""))
        })
        .await
        .unwrap_or_else(|| panic!("no completion for request {req}"));
    assert_ne!(
        event(&n)["statusName"],
        "REQUEST_ERROR",
        "preparing request {req}: {n}"
    );
    event(&n).clone()
}

/// Runs an operation to completion while preparing a request for the race.
async fn prepare(c: &RpcConn, is_async: bool, method: &str, req: u64) {
    ok(c, method, json!({"handle": req})).await;
    if is_async {
        completion(c, req).await;
    }
}

/// Which operation the close races with.
#[derive(Debug, Clone, Copy)]
enum Target {
    Send,
    Receive,
    Read,
}

/// Lets the operation get a varying head start: on even iterations a number of scheduler
/// yields (sub-millisecond: the close lands while the call is being written, parsed or
/// started), on odd ones 1–4 ms (the close lands mid-operation or after it finished).
async fn head_start(i: usize) {
    if i.is_multiple_of(2) {
        for _ in 0..(i * 7919) % 41 {
            tokio::task::yield_now().await;
        }
    } else {
        tokio::time::sleep(Duration::from_millis(1 + (i % 4) as u64)).await;
    }
}

struct Worker {
    c: Arc<RpcConn>,
    is_async: bool,
    con: u64,
    /// Request handles that were closed.
    closed: Vec<u64>,
    /// Async operations accepted per request handle (0 or 1 in this suite).
    accepted: HashMap<u64, usize>,
}

impl Worker {
    async fn iteration(&mut self, i: usize) {
        let target = [Target::Send, Target::Receive, Target::Read][i % 3];
        let path = match target {
            Target::Send => "/hello",
            // A response that is already there, or one that never comes.
            Target::Receive if (i / 3).is_multiple_of(2) => "/hello",
            Target::Receive => "/stall",
            Target::Read => "/slow-body?delay_ms=20",
        };
        let req = handle(
            &ok(
                &self.c,
                "WinHttpOpenRequest",
                json!({"handle": self.con, "objectName": path}),
            )
            .await,
        );
        let (method, params) = match target {
            Target::Send => ("WinHttpSendRequest", json!({"handle": req})),
            Target::Receive => {
                prepare(&self.c, self.is_async, "WinHttpSendRequest", req).await;
                ("WinHttpReceiveResponse", json!({"handle": req}))
            }
            Target::Read => {
                prepare(&self.c, self.is_async, "WinHttpSendRequest", req).await;
                prepare(&self.c, self.is_async, "WinHttpReceiveResponse", req).await;
                ("WinHttpReadData", json!({"handle": req, "bytesToRead": 11}))
            }
        };
        let c = self.c.clone();
        let op = tokio::spawn(async move { c.call_timeout(method, params, CALL_LIMIT).await });
        head_start(i).await;
        ok(&self.c, "WinHttpCloseHandle", json!({"handle": req})).await;
        self.closed.push(req);

        let answer = tokio::time::timeout(CALL_LIMIT, op)
            .await
            .unwrap_or_else(|_| panic!("{method} on {req} never answered after the close"))
            .expect("operation task")
            .unwrap_or_else(|| panic!("{method} on {req} did not answer"));
        match answer {
            // Finished before the close, or (async) accepted.
            Ok(_) => {
                if self.is_async {
                    *self.accepted.entry(req).or_default() += 1;
                }
            }
            // Cancelled by the close (sync), or the close came first.
            Err(e) if e.code == OPERATION_CANCELLED && !self.is_async => {}
            Err(e) if e.code == INVALID_HANDLE => {}
            Err(e) => panic!("{method} racing a close answered {e}"),
        }
    }

    /// Every notification of the run, checked per closed request handle.
    async fn check(&self) {
        let mut events: HashMap<u64, Vec<Value>> = HashMap::new();
        for n in self.c.drain_notifications().await {
            let e = event(&n).clone();
            events
                .entry(e["handle"].as_u64().unwrap_or(0))
                .or_default()
                .push(e);
        }
        while let Some(n) = self.c.next_notification(QUIET).await {
            let e = event(&n).clone();
            events
                .entry(e["handle"].as_u64().unwrap_or(0))
                .or_default()
                .push(e);
        }
        for req in &self.closed {
            let evs = events.get(req).map(Vec::as_slice).unwrap_or(&[]);
            let names: Vec<&str> = evs
                .iter()
                .map(|e| e["statusName"].as_str().unwrap_or("?"))
                .collect();
            let closings = names.iter().filter(|n| **n == "HANDLE_CLOSING").count();
            assert_eq!(closings, 1, "request {req}: {names:?}");
            assert_eq!(
                names.last(),
                Some(&"HANDLE_CLOSING"),
                "request {req}: {names:?}"
            );
            if self.is_async {
                // The preparing operations' completions were taken already: what is left
                // belongs to the racing operation, which gets at most one (none when the
                // close overtook it).
                let raced: Vec<&Value> = evs
                    .iter()
                    .filter(|e| is_completion(e["statusName"].as_str().unwrap_or("")))
                    .collect();
                let accepted = self.accepted.get(req).copied().unwrap_or(0);
                assert!(
                    raced.len() <= accepted,
                    "request {req}: {} completions for {accepted} operations: {names:?}",
                    raced.len()
                );
                for e in raced {
                    if e["statusName"] == "REQUEST_ERROR" {
                        assert_eq!(
                            e["info"]["error"], OPERATION_CANCELLED,
                            "request {req}: {e}"
                        );
                    }
                }
            }
        }
    }
}

async fn close_races(is_async: bool) {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let c = Arc::new(daemon.connect().await);
        let port = origin.port();
        workers.push(tokio::spawn(async move {
            let (ses, con) = session(&c, port, is_async).await;
            let mut worker = Worker {
                c,
                is_async,
                con,
                closed: Vec::new(),
                accepted: HashMap::new(),
            };
            let started = Instant::now();
            let mut i = w;
            while i < MAX_ITERATIONS + w && started.elapsed() < MAX_RUN {
                worker.iteration(i).await;
                i += 1;
            }
            ok(&worker.c, "WinHttpCloseHandle", json!({"handle": ses})).await;
            worker.check().await;
            worker.closed.len()
        }));
    }
    let mut total = 0;
    for w in workers {
        total += w.await.expect("worker");
    }
    assert!(total >= WORKERS * 10, "only {total} iterations ran");
    let c = daemon.connect().await;
    assert_idle(&c).await;
}

/// HinetStatus until only the calling connection remains and no handle is live.
async fn assert_idle(c: &RpcConn) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = ok(c, "HinetStatus", json!({})).await;
        if s["connections"] == 1 && s["sessions"] == 0 && s["connects"] == 0 && s["requests"] == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "not back to idle: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn close_races_send_receive_and_read_sync() {
    close_races(false).await;
}

#[tokio::test]
async fn close_races_send_receive_and_read_async() {
    close_races(true).await;
}

// ---------------------------------------------------------------------------------------
// Client disconnect in every request state
// ---------------------------------------------------------------------------------------

/// The request states a client can leave a request in when it disconnects.
#[derive(Debug, Clone, Copy)]
enum State {
    Open,
    /// A streaming upload announced and half written.
    Sent,
    /// WriteData in flight (sync: blocked on a server that does not read).
    Sending,
    /// ReceiveResponse in flight against a server that never answers.
    Receiving,
    /// Headers in, body unread.
    Response,
    /// ReadData in flight on a slow body.
    BodyPending,
    /// Body read to the end.
    Eof,
    /// SendRequest failed.
    Failed,
}

/// Drives a fresh request into `state`; returns the tasks of the calls left in flight.
async fn leave_in_state(
    c: &Arc<RpcConn>,
    port: u16,
    is_async: bool,
    state: State,
) -> Vec<JoinHandle<()>> {
    let (ses, con) = session(c, port, is_async).await;
    let mut in_flight = Vec::new();
    let (verb, path) = match state {
        State::Receiving => ("GET", "/stall"),
        State::Sent | State::Sending => ("POST", "/upload"),
        State::Response | State::BodyPending => ("GET", "/slow-body?delay_ms=5000"),
        _ => ("GET", "/hello"),
    };
    let req = handle(
        &ok(
            c,
            "WinHttpOpenRequest",
            json!({"handle": con, "verb": verb, "objectName": path}),
        )
        .await,
    );
    let call = |method: &'static str, params: Value| {
        let c = c.clone();
        tokio::spawn(async move {
            // The answer does not matter: the client is about to vanish.
            let _ = c.call_timeout(method, params, CALL_LIMIT).await;
        })
    };
    match state {
        State::Open => {}
        State::Sent | State::Sending => {
            ok(
                c,
                "WinHttpSendRequest",
                json!({"handle": req, "totalLength": 1u64 << 30}),
            )
            .await;
            if is_async {
                completion(c, req).await;
            }
            let chunk = b64(&vec![b'u'; 64 * 1024]);
            if matches!(state, State::Sent) {
                ok(c, "WinHttpWriteData", json!({"handle": req, "data": chunk})).await;
            } else {
                // Enough in flight that some WriteData is still running at the disconnect.
                for _ in 0..8 {
                    in_flight.push(call(
                        "WinHttpWriteData",
                        json!({"handle": req, "data": chunk}),
                    ));
                }
            }
        }
        State::Failed => {
            // Port 1 on loopback: refused at once.
            let bad = handle(
                &ok(
                    c,
                    "WinHttpConnect",
                    json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": 1}),
                )
                .await,
            );
            let r = handle(&ok(c, "WinHttpOpenRequest", json!({"handle": bad})).await);
            let answer = c
                .call_timeout("WinHttpSendRequest", json!({"handle": r}), CALL_LIMIT)
                .await;
            assert!(answer.is_some());
        }
        State::Receiving => {
            prepare(c, is_async, "WinHttpSendRequest", req).await;
            in_flight.push(call("WinHttpReceiveResponse", json!({"handle": req})));
        }
        State::Response | State::BodyPending | State::Eof => {
            prepare(c, is_async, "WinHttpSendRequest", req).await;
            prepare(c, is_async, "WinHttpReceiveResponse", req).await;
            match state {
                State::BodyPending => {
                    in_flight.push(call(
                        "WinHttpReadData",
                        json!({"handle": req, "bytesToRead": 11}),
                    ));
                }
                State::Eof => {
                    ok(
                        c,
                        "WinHttpReadData",
                        json!({"handle": req, "bytesToRead": 100}),
                    )
                    .await;
                }
                _ => {}
            }
        }
    }
    // Let the in-flight calls reach the daemon.
    tokio::time::sleep(Duration::from_millis(50)).await;
    in_flight
}

#[tokio::test]
async fn disconnect_in_every_request_state_leaves_nothing() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let observer = daemon.connect().await;
    let states = [
        State::Open,
        State::Sent,
        State::Sending,
        State::Receiving,
        State::Response,
        State::BodyPending,
        State::Eof,
        State::Failed,
    ];
    let mut clients = Vec::new();
    let mut in_flight = Vec::new();
    for is_async in [false, true] {
        for state in states {
            let c = Arc::new(daemon.connect().await);
            in_flight.extend(leave_in_state(&c, origin.port(), is_async, state).await);
            clients.push(c);
        }
    }
    let s = ok(&observer, "HinetStatus", json!({})).await;
    assert_eq!(s["connections"], 1 + clients.len(), "{s}");
    assert!(
        s["requests"].as_u64().unwrap_or(0) >= clients.len() as u64,
        "{s}"
    );
    // Every client vanishes at once, with calls in flight: the tasks waiting for answers
    // hold the last references to the connections.
    for t in &in_flight {
        t.abort();
    }
    clients.clear();
    assert_idle(&observer).await;

    // And the daemon still serves.
    let (_, con) = session(&observer, origin.port(), false).await;
    let req = handle(
        &ok(
            &observer,
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": "/hello"}),
        )
        .await,
    );
    ok(&observer, "WinHttpSendRequest", json!({"handle": req})).await;
    ok(&observer, "WinHttpReceiveResponse", json!({"handle": req})).await;
    let r = ok(
        &observer,
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": 100}),
    )
    .await;
    assert_eq!(r["bytesRead"], 11);
}
