//! Async sessions and status callbacks: the delivery guarantees WinHTTP programs rely on.
//!
//! Every test drives the real daemon over its socket against servers on 127.0.0.1, and
//! reads the `WinHttpStatusCallback` notifications the daemon pushes.

use hinet_tests::{Daemon, HttpServer, RawServer, RpcConn, Script, closed_port, unb64};
use serde_json::{Value, json};
use std::time::Duration;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const ASYNC: u32 = 0x1000_0000;
const ALL: u32 = 0xFFFF_FFFF;
const QUIET: Duration = Duration::from_millis(300);
const WAIT: Duration = Duration::from_secs(10);

fn handle(v: Value) -> u64 {
    v["handle"].as_u64().expect("a handle")
}

/// The `result` of a notification: `{handle, context, status, statusName, info}`.
fn ev(n: &Value) -> &Value {
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

struct Fixture {
    _daemon: Daemon,
    c: RpcConn,
    session: u64,
    connect: u64,
}

/// An async (or sync) session with a callback of `mask` set before Connect.
async fn fixture(daemon: Daemon, port: u16, flags: u32, mask: u32) -> Fixture {
    let c = daemon.connect().await;
    let session = handle(
        c.call(
            "WinHttpOpen",
            json!({"userAgent": "async-test", "flags": flags}),
        )
        .await
        .unwrap(),
    );
    let sub = c
        .call(
            "WinHttpSetStatusCallback",
            json!({"handle": session, "notificationFlags": mask}),
        )
        .await
        .unwrap();
    assert!(
        sub.is_u64() || sub.is_string(),
        "the result is the subscription id: {sub}"
    );
    let connect = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": session, "serverName": "127.0.0.1", "serverPort": port}),
        )
        .await
        .unwrap(),
    );
    Fixture {
        _daemon: daemon,
        c,
        session,
        connect,
    }
}

impl Fixture {
    async fn open(&self, path: &str) -> u64 {
        self.open_verb("GET", path).await
    }

    async fn open_verb(&self, verb: &str, path: &str) -> u64 {
        handle(
            self.c
                .call(
                    "WinHttpOpenRequest",
                    json!({"handle": self.connect, "verb": verb, "objectName": path}),
                )
                .await
                .unwrap(),
        )
    }

    /// Waits for the next completion of `h`, returning it and the events of `h` before it.
    async fn completion(&self, h: u64) -> (Value, Vec<String>) {
        let mut before = Vec::new();
        loop {
            let n = self
                .c
                .wait_for_notification(WAIT, |n| ev(n)["handle"] == h)
                .await
                .unwrap_or_else(|| panic!("no notification for handle {h}; saw {before:?}"));
            let e = ev(&n).clone();
            let name = e["statusName"].as_str().unwrap().to_owned();
            if is_completion(&name) {
                return (e, before);
            }
            before.push(name);
        }
    }

    async fn expect_completion(&self, h: u64, name: &str) -> (Value, Vec<String>) {
        let (e, before) = self.completion(h).await;
        assert_eq!(e["statusName"], name, "completion {e}, after {before:?}");
        (e, before)
    }

    /// Every notification until the socket has been quiet for a while.
    async fn quiet(&self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(n) = self.c.next_notification(QUIET).await {
            out.push(ev(&n).clone());
        }
        out
    }
}

fn names(events: &[Value]) -> Vec<(String, u64)> {
    events
        .iter()
        .map(|e| {
            (
                e["statusName"].as_str().unwrap().to_owned(),
                e["handle"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn async_get_runs_on_notifications_in_winhttp_order() {
    let origin = HttpServer::start().await;
    let f = fixture(Daemon::spawn(HINETD, &[]), origin.port(), ASYNC, ALL).await;
    let created = f.c.next_notification(WAIT).await.unwrap();
    assert_eq!(ev(&created)["statusName"], "HANDLE_CREATED");
    assert_eq!(
        ev(&created)["handle"],
        f.connect,
        "the connect's HANDLE_CREATED goes through the session's callback"
    );
    assert_eq!(ev(&created)["info"]["handle"], f.connect);

    let req = f.open("/hello").await;
    let r =
        f.c.call("WinHttpSendRequest", json!({"handle": req}))
            .await
            .unwrap();
    assert_eq!(r, json!({}), "async calls return {{}} at once");
    let (_, before) = f.expect_completion(req, "SENDREQUEST_COMPLETE").await;
    assert_eq!(
        before,
        [
            "HANDLE_CREATED",
            "RESOLVING_NAME",
            "NAME_RESOLVED",
            "CONNECTING_TO_SERVER",
            "CONNECTED_TO_SERVER",
            "SENDING_REQUEST",
            "REQUEST_SENT"
        ]
    );
    f.c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    let (_, before) = f.expect_completion(req, "HEADERS_AVAILABLE").await;
    assert_eq!(before, ["RECEIVING_RESPONSE", "RESPONSE_RECEIVED"]);
    let status =
        f.c.call(
            "WinHttpQueryHeaders",
            json!({"handle": req, "infoLevel": 19 | 0x2000_0000}),
        )
        .await
        .unwrap();
    assert_eq!(status["value"], 200);

    f.c.call("WinHttpQueryDataAvailable", json!({"handle": req}))
        .await
        .unwrap();
    let (avail, _) = f.expect_completion(req, "DATA_AVAILABLE").await;
    assert_eq!(avail["info"]["bytesAvailable"], 11);
    f.c.call(
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": 100}),
    )
    .await
    .unwrap();
    let (read, _) = f.expect_completion(req, "READ_COMPLETE").await;
    assert_eq!(read["info"]["bytesRead"], 11);
    assert_eq!(
        unb64(read["info"]["data"].as_str().unwrap()),
        b"hello world"
    );
    f.c.call(
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": 100}),
    )
    .await
    .unwrap();
    let (end, _) = f.expect_completion(req, "READ_COMPLETE").await;
    assert_eq!(
        end["info"]["bytesRead"], 0,
        "READ_COMPLETE with 0 bytes ends the body"
    );

    // A second request reuses the pooled connection: no resolve/connect pair.
    let req2 = f.open("/hello").await;
    f.c.call("WinHttpSendRequest", json!({"handle": req2}))
        .await
        .unwrap();
    let (_, before) = f.expect_completion(req2, "SENDREQUEST_COMPLETE").await;
    assert_eq!(
        before,
        ["HANDLE_CREATED", "SENDING_REQUEST", "REQUEST_SENT"]
    );
    assert_eq!(origin.connections(), 1);
}

#[tokio::test]
async fn post_with_write_data_completes_each_write() {
    let origin = HttpServer::start().await;
    let f = fixture(Daemon::spawn(HINETD, &[]), origin.port(), ASYNC, ALL).await;
    let req = f.open_verb("POST", "/upload").await;
    f.c.call(
        "WinHttpSendRequest",
        json!({"handle": req, "totalLength": 10, "optional": hinet_tests::b64(b"0123")}),
    )
    .await
    .unwrap();
    f.expect_completion(req, "SENDREQUEST_COMPLETE").await;
    for piece in [&b"456"[..], b"789"] {
        f.c.call(
            "WinHttpWriteData",
            json!({"handle": req, "data": hinet_tests::b64(piece)}),
        )
        .await
        .unwrap();
        let (w, _) = f.expect_completion(req, "WRITE_COMPLETE").await;
        assert_eq!(w["info"]["bytesWritten"], 3);
    }
    // Writing past the announced total is an argument error: the RPC itself fails.
    let err =
        f.c.call(
            "WinHttpWriteData",
            json!({"handle": req, "data": hinet_tests::b64(b"xx")}),
        )
        .await;
    // The total is 10 and 10 were written: the extra bytes are refused (87) when the write runs.
    match err {
        Err(e) => assert_eq!(e.code, 87),
        Ok(_) => {
            let (e, _) = f.expect_completion(req, "REQUEST_ERROR").await;
            assert_eq!(e["info"]["error"], 87);
            assert_eq!(e["info"]["result"], 4, "API_WRITE_DATA");
        }
    }
    f.c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    f.expect_completion(req, "HEADERS_AVAILABLE").await;
    f.c.call(
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": 1000}),
    )
    .await
    .unwrap();
    let (read, _) = f.expect_completion(req, "READ_COMPLETE").await;
    let body: Value =
        serde_json::from_slice(&unb64(read["info"]["data"].as_str().unwrap())).unwrap();
    assert_eq!(body["len"], 10);
    assert_eq!(unb64(body["body_b64"].as_str().unwrap()), b"0123456789");
}

/// Sends `req`, waits for SENDREQUEST_COMPLETE, then starts ReceiveResponse.
async fn send_then_receive(c: &RpcConn, req: u64) {
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    c.wait_for_notification(WAIT, |n| {
        ev(n)["handle"] == req && ev(n)["statusName"] == "SENDREQUEST_COMPLETE"
    })
    .await
    .unwrap();
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
}

#[tokio::test]
async fn failures_arrive_as_request_error_with_the_api_id() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let session = handle(
        c.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    c.call(
        "WinHttpSetStatusCallback",
        json!({"handle": session, "notificationFlags": ALL}),
    )
    .await
    .unwrap();

    async fn request_to(c: &RpcConn, session: u64, host: &str, port: u16, path: &str) -> u64 {
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
                json!({"handle": con, "objectName": path}),
            )
            .await
            .unwrap(),
        )
    }
    async fn error_of(c: &RpcConn, h: u64) -> (Value, Vec<String>) {
        let mut before = Vec::new();
        loop {
            let n = c
                .wait_for_notification(WAIT, |n| ev(n)["handle"] == h)
                .await
                .expect("a notification");
            let e = ev(&n).clone();
            let name = e["statusName"].as_str().unwrap().to_owned();
            if is_completion(&name) {
                assert_eq!(name, "REQUEST_ERROR", "{e} after {before:?}");
                return (e, before);
            }
            before.push(name);
        }
    }

    // DNS failure: RESOLVING_NAME, then REQUEST_ERROR{API_SEND_REQUEST, 12007}.
    let req = request_to(&c, session, "nonexistent.invalid", 80, "/").await;
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    let (e, before) = error_of(&c, req).await;
    assert_eq!(
        (e["info"]["result"].clone(), e["info"]["error"].clone()),
        (json!(5), json!(12007))
    );
    assert_eq!(e["info"]["errorName"], "ERROR_WINHTTP_NAME_NOT_RESOLVED");
    assert_eq!(before.last().map(String::as_str), Some("RESOLVING_NAME"));

    // Refused: ... CONNECTING_TO_SERVER, REQUEST_ERROR{5, 12029}.
    let req = request_to(&c, session, "127.0.0.1", closed_port(), "/").await;
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    let (e, before) = error_of(&c, req).await;
    assert_eq!(
        (e["info"]["result"].clone(), e["info"]["error"].clone()),
        (json!(5), json!(12029))
    );
    assert_eq!(
        before.last().map(String::as_str),
        Some("CONNECTING_TO_SERVER")
    );
    // After a failed send, ReceiveResponse is in the wrong state: {} then REQUEST_ERROR 12019.
    assert_eq!(
        c.call("WinHttpReceiveResponse", json!({"handle": req}))
            .await
            .unwrap(),
        json!({})
    );
    let (e, _) = error_of(&c, req).await;
    assert_eq!(
        (e["info"]["result"].clone(), e["info"]["error"].clone()),
        (json!(1), json!(12019))
    );

    // Response timeout: REQUEST_ERROR{API_RECEIVE_RESPONSE, 12002}.
    let req = request_to(&c, session, "127.0.0.1", origin.port(), "/stall").await;
    c.call("WinHttpSetTimeouts", json!({"handle": req, "resolveTimeout": 0, "connectTimeout": 0, "sendTimeout": 0, "receiveTimeout": 300}))
        .await
        .unwrap();
    send_then_receive(&c, req).await;
    let (e, before) = error_of(&c, req).await;
    assert_eq!(
        (e["info"]["result"].clone(), e["info"]["error"].clone()),
        (json!(1), json!(12002))
    );
    assert_eq!(
        before.last().map(String::as_str),
        Some("RECEIVING_RESPONSE")
    );

    // Bad status line: REQUEST_ERROR{1, 12152}.
    let garbage = RawServer::start(Script::Respond(b"garbage\r\n\r\n".to_vec())).await;
    let req = request_to(&c, session, "127.0.0.1", garbage.port(), "/").await;
    send_then_receive(&c, req).await;
    let (e, _) = error_of(&c, req).await;
    assert_eq!(
        (e["info"]["result"].clone(), e["info"]["error"].clone()),
        (json!(1), json!(12152))
    );

    // Reset mid-body: REQUEST_ERROR{API_READ_DATA, 12030}.
    let reset = RawServer::start(Script::ResetAfter(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial".to_vec(),
    ))
    .await;
    let req = request_to(&c, session, "127.0.0.1", reset.port(), "/").await;
    send_then_receive(&c, req).await;
    c.wait_for_notification(WAIT, |n| {
        ev(n)["handle"] == req && ev(n)["statusName"] == "HEADERS_AVAILABLE"
    })
    .await
    .unwrap();
    let mut got = Vec::new();
    let e = loop {
        c.call(
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 4096}),
        )
        .await
        .unwrap();
        let n = c
            .wait_for_notification(WAIT, |n| {
                ev(n)["handle"] == req && is_completion(ev(n)["statusName"].as_str().unwrap())
            })
            .await
            .unwrap();
        let e = ev(&n).clone();
        if e["statusName"] == "READ_COMPLETE" {
            assert_ne!(
                e["info"]["bytesRead"], 0,
                "a truncated body must not end cleanly"
            );
            got.extend(unb64(e["info"]["data"].as_str().unwrap()));
            continue;
        }
        break e;
    };
    assert_eq!(
        (e["info"]["result"].clone(), e["info"]["error"].clone()),
        (json!(3), json!(12030))
    );
}

#[tokio::test]
async fn argument_errors_still_fail_the_rpc_in_async_mode() {
    let origin = HttpServer::start().await;
    let f = fixture(Daemon::spawn(HINETD, &[]), origin.port(), ASYNC, ALL).await;
    let err =
        f.c.call("WinHttpSendRequest", json!({"handle": f.session}))
            .await
            .unwrap_err();
    assert_eq!(err.code, 12018);
    let err =
        f.c.call("WinHttpReadData", json!({"handle": 999_999}))
            .await
            .unwrap_err();
    assert_eq!(
        err.code, -32602,
        "missing bytesToRead is an invalid-params error"
    );
    let err =
        f.c.call(
            "WinHttpReadData",
            json!({"handle": 999_999, "bytesToRead": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 6);
    // None of these produced a completion.
    let stray: Vec<_> = f
        .quiet()
        .await
        .into_iter()
        .filter(|e| is_completion(e["statusName"].as_str().unwrap()))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[tokio::test]
async fn one_outstanding_operation_and_cancel_on_close() {
    let origin = HttpServer::start().await;
    let f = fixture(Daemon::spawn(HINETD, &[]), origin.port(), ASYNC, ALL).await;
    let req = f.open("/stall").await;
    f.c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    f.expect_completion(req, "SENDREQUEST_COMPLETE").await;
    f.c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    // A second async call while ReceiveResponse is outstanding: {} then REQUEST_ERROR 12019.
    f.c.call("WinHttpQueryDataAvailable", json!({"handle": req}))
        .await
        .unwrap();
    let (e, _) = f.expect_completion(req, "REQUEST_ERROR").await;
    assert_eq!(
        (e["info"]["result"].clone(), e["info"]["error"].clone()),
        (json!(2), json!(12019))
    );
    // Closing delivers the pending call's REQUEST_ERROR 12017 first, then HANDLE_CLOSING.
    f.c.call("WinHttpCloseHandle", json!({"handle": req}))
        .await
        .unwrap();
    let after = f.quiet().await;
    let seq: Vec<_> = names(&after)
        .into_iter()
        .filter(|(_, h)| *h == req)
        .map(|(n, _)| n)
        .collect();
    assert_eq!(seq, ["REQUEST_ERROR", "HANDLE_CLOSING"], "{after:?}");
    let cancelled = after
        .iter()
        .find(|e| e["statusName"] == "REQUEST_ERROR")
        .unwrap();
    assert_eq!(
        (
            cancelled["info"]["result"].clone(),
            cancelled["info"]["error"].clone()
        ),
        (json!(1), json!(12017))
    );
}

#[tokio::test]
async fn closing_a_session_closes_requests_then_connects_then_the_session() {
    let origin = HttpServer::start().await;
    let f = fixture(Daemon::spawn(HINETD, &[]), origin.port(), ASYNC, ALL).await;
    let a = f.open("/stall").await;
    let b = f.open("/hello").await;
    f.c.call("WinHttpSendRequest", json!({"handle": a}))
        .await
        .unwrap();
    f.expect_completion(a, "SENDREQUEST_COMPLETE").await;
    f.c.call("WinHttpReceiveResponse", json!({"handle": a}))
        .await
        .unwrap();
    f.quiet().await;
    f.c.call("WinHttpCloseHandle", json!({"handle": f.session}))
        .await
        .unwrap();
    let closing = names(&f.quiet().await);
    let mut requests: Vec<_> = closing[..3].to_vec();
    requests.sort();
    assert_eq!(
        requests,
        [
            ("HANDLE_CLOSING".into(), a),
            ("HANDLE_CLOSING".into(), b),
            ("REQUEST_ERROR".into(), a)
        ]
    );
    assert!(
        closing
            .iter()
            .position(|x| *x == ("REQUEST_ERROR".into(), a))
            < closing
                .iter()
                .position(|x| *x == ("HANDLE_CLOSING".into(), a))
    );
    assert_eq!(
        closing[3..],
        [
            ("HANDLE_CLOSING".into(), f.connect),
            ("HANDLE_CLOSING".into(), f.session)
        ]
    );
    assert!(f.quiet().await.is_empty(), "nothing follows HANDLE_CLOSING");
}

#[tokio::test]
async fn masks_filter_and_children_copy_callback_and_context() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let session = handle(
        c.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    c.call(
        "WinHttpSetOption",
        json!({"handle": session, "option": 45, "value": 5}),
    )
    .await
    .unwrap();
    // HANDLES (0xC00) and all completions only: no resolve/connect/send/receive events.
    c.call(
        "WinHttpSetStatusCallback",
        json!({"handle": session, "notificationFlags": 0xC00 | 0x017E_0000}),
    )
    .await
    .unwrap();
    let con = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": session, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap(),
    );
    let req = handle(
        c.call(
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": "/hello"}),
        )
        .await
        .unwrap(),
    );
    c.call("WinHttpSendRequest", json!({"handle": req, "context": 9}))
        .await
        .unwrap();
    c.wait_for_notification(WAIT, |n| ev(n)["statusName"] == "SENDREQUEST_COMPLETE")
        .await
        .unwrap();
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    c.wait_for_notification(WAIT, |n| ev(n)["statusName"] == "HEADERS_AVAILABLE")
        .await
        .unwrap();
    let _ = c.drain_notifications().await;

    // What arrived, in order, was filtered by the mask; contexts: connect 5, request 5 then 9.
    c.call("WinHttpCloseHandle", json!({"handle": session}))
        .await
        .unwrap();
    let mut all = Vec::new();
    while let Some(n) = c.next_notification(QUIET).await {
        all.push(ev(&n).clone());
    }
    assert_eq!(
        names(&all),
        [
            ("HANDLE_CLOSING".into(), req),
            ("HANDLE_CLOSING".into(), con),
            ("HANDLE_CLOSING".into(), session)
        ]
    );
    assert_eq!(
        all[0]["context"], 9,
        "SendRequest's context replaces the request's"
    );
    assert_eq!(
        all[1]["context"], 5,
        "the connect copied the session's context"
    );

    // A fresh run checking that informational events were masked out.
    let session = handle(
        c.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    c.call(
        "WinHttpSetStatusCallback",
        json!({"handle": session, "notificationFlags": 0x017E_0000}),
    )
    .await
    .unwrap();
    let con = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": session, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap(),
    );
    // Changing the session's callback later does not reach the existing connect handle.
    c.call(
        "WinHttpSetStatusCallback",
        json!({"handle": session, "notificationFlags": ALL}),
    )
    .await
    .unwrap();
    let req = handle(
        c.call(
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": "/hello"}),
        )
        .await
        .unwrap(),
    );
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    let done = c
        .wait_for_notification(WAIT, |n| ev(n)["handle"] == req)
        .await
        .unwrap();
    assert_eq!(
        ev(&done)["statusName"],
        "SENDREQUEST_COMPLETE",
        "only completions pass the mask"
    );
}

#[tokio::test]
async fn sync_sessions_get_informational_notifications_only() {
    let origin = HttpServer::start().await;
    let f = fixture(Daemon::spawn(HINETD, &[]), origin.port(), 0, ALL).await;
    let req = f.open("/hello").await;
    f.c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    f.c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    let read =
        f.c.call(
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 100}),
        )
        .await
        .unwrap();
    assert_eq!(read["bytesRead"], 11, "sync calls return their results");
    f.c.call("WinHttpCloseHandle", json!({"handle": req}))
        .await
        .unwrap();
    let seen = names(&f.quiet().await);
    assert!(seen.iter().all(|(n, _)| !is_completion(n)), "{seen:?}");
    assert!(seen.contains(&("SENDING_REQUEST".into(), req)), "{seen:?}");
    assert_eq!(seen.last(), Some(&("HANDLE_CLOSING".into(), req)));
}

#[tokio::test]
async fn unset_status_callback_stops_notifications() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let session = handle(
        c.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    let sub = c
        .call(
            "WinHttpSetStatusCallback",
            json!({"handle": session, "notificationFlags": ALL}),
        )
        .await
        .unwrap();
    let con = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": session, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap(),
    );
    assert!(
        c.next_notification(WAIT).await.is_some(),
        "HANDLE_CREATED for the connect"
    );
    c.call("WinHttpUnsetStatusCallback", json!({"subscription": sub}))
        .await
        .unwrap();
    c.call("WinHttpOpenRequest", json!({"handle": con}))
        .await
        .unwrap();
    c.call("WinHttpCloseHandle", json!({"handle": session}))
        .await
        .unwrap();
    assert!(c.next_notification(QUIET).await.is_none());
    let err = c
        .call("WinHttpUnsetStatusCallback", json!({"subscription": sub}))
        .await
        .unwrap_err();
    assert_eq!(err.code, 87);
    // Subscribing to another client's handle is refused as if it did not exist.
    let other = daemon.connect().await;
    let mine = handle(c.call("WinHttpOpen", json!({})).await.unwrap());
    let err = other
        .call(
            "WinHttpSetStatusCallback",
            json!({"handle": mine, "notificationFlags": ALL}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, 6);
}

/// Closes requests while their reads complete, many times over: every accepted call gets
/// exactly one completion, HANDLE_CLOSING comes once and last.
#[tokio::test]
async fn close_races_keep_exactly_once_and_closing_last() {
    let origin = HttpServer::start().await;
    let f = fixture(Daemon::spawn(HINETD, &[]), origin.port(), ASYNC, ALL).await;
    let mut handles = Vec::new();
    for i in 0..150u64 {
        let req = f.open("/chunked?n=50&size=100").await;
        f.c.call("WinHttpSendRequest", json!({"handle": req}))
            .await
            .unwrap();
        f.expect_completion(req, "SENDREQUEST_COMPLETE").await;
        f.c.call("WinHttpReceiveResponse", json!({"handle": req}))
            .await
            .unwrap();
        f.expect_completion(req, "HEADERS_AVAILABLE").await;
        // Start a read and close at once, racing the completion against the close.
        f.c.call(
            "WinHttpReadData",
            json!({"handle": req, "bytesToRead": 1 + i * 37}),
        )
        .await
        .unwrap();
        if i % 3 == 0 {
            tokio::task::yield_now().await;
        }
        f.c.call("WinHttpCloseHandle", json!({"handle": req}))
            .await
            .unwrap();
        handles.push(req);
    }
    let events = f.quiet().await;
    for req in handles {
        let seq: Vec<_> = events
            .iter()
            .filter(|e| e["handle"] == req)
            .map(|e| {
                (
                    e["statusName"].as_str().unwrap().to_owned(),
                    e["info"].clone(),
                )
            })
            .collect();
        let completions: Vec<_> = seq.iter().filter(|(n, _)| is_completion(n)).collect();
        assert_eq!(
            completions.len(),
            1,
            "exactly one completion for the read on {req}: {seq:?}"
        );
        let (name, info) = completions[0];
        assert!(
            name == "READ_COMPLETE"
                || (name == "REQUEST_ERROR" && info["error"] == 12017 && info["result"] == 3),
            "{seq:?}"
        );
        assert_eq!(
            seq.last().map(|(n, _)| n.as_str()),
            Some("HANDLE_CLOSING"),
            "{seq:?}"
        );
        assert_eq!(seq.iter().filter(|(n, _)| n == "HANDLE_CLOSING").count(), 1);
    }
    let status = f.c.call("HinetStatus", json!({})).await.unwrap();
    assert_eq!(status["requests"], 0, "no request handle leaked: {status}");
}

#[tokio::test]
async fn a_client_that_never_reads_is_cut_off_without_hurting_others() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &["--max-queued-messages", "64"]);
    let slow = daemon.connect().await;
    let session = handle(
        slow.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    slow.call(
        "WinHttpSetStatusCallback",
        json!({"handle": session, "notificationFlags": ALL}),
    )
    .await
    .unwrap();
    let con = handle(
        slow.call(
            "WinHttpConnect",
            json!({"handle": session, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap(),
    );
    // Stop reading; ask for far more notifications than the queue holds.
    let mut line = String::new();
    for i in 0..3000u64 {
        line.push_str(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"WinHttpOpenRequest\",\"params\":{{\"handle\":{con}}}}}\n",
            2_000_000_000 + i
        ));
    }
    let _ = slow.try_send_raw(line.as_bytes()).await;

    // Another client is served normally meanwhile.
    let other = daemon.connect().await;
    let s2 = handle(other.call("WinHttpOpen", json!({})).await.unwrap());
    let c2 = handle(
        other
            .call(
                "WinHttpConnect",
                json!({"handle": s2, "serverName": "127.0.0.1", "serverPort": origin.port()}),
            )
            .await
            .unwrap(),
    );
    let r2 = handle(
        other
            .call(
                "WinHttpOpenRequest",
                json!({"handle": c2, "objectName": "/hello"}),
            )
            .await
            .unwrap(),
    );
    other
        .call("WinHttpSendRequest", json!({"handle": r2}))
        .await
        .unwrap();
    other
        .call("WinHttpReceiveResponse", json!({"handle": r2}))
        .await
        .unwrap();

    // The slow client was disconnected and its handles closed.
    let mut status = json!(null);
    for _ in 0..100 {
        status = other.call("HinetStatus", json!({})).await.unwrap();
        if status["sessions"] == 1 && status["connections"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        status["sessions"], 1,
        "only the other client's session is left: {status}"
    );
    assert_eq!(status["connections"], 1, "{status}");
    assert!(
        daemon
            .stderr_log()
            .contains("not reading its notifications")
    );
}

#[tokio::test]
async fn python_stdlib_client_drives_async_mode() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/python/async_polyglot.py"
    );
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg("--daemon")
        .arg(HINETD)
        .output()
        .await
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "polyglot test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The subscription id goes out only once the callback is in place: a Connect sent the
/// moment the id arrives always reports its HANDLE_CREATED.
#[tokio::test]
async fn callback_is_live_before_its_subscription_id_arrives() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    for _ in 0..100 {
        let session = handle(
            c.call("WinHttpOpen", json!({"flags": ASYNC}))
                .await
                .unwrap(),
        );
        c.call(
            "WinHttpSetStatusCallback",
            json!({"handle": session, "notificationFlags": ALL}),
        )
        .await
        .unwrap();
        let con = handle(
            c.call(
                "WinHttpConnect",
                json!({"handle": session, "serverName": "127.0.0.1", "serverPort": 9}),
            )
            .await
            .unwrap(),
        );
        let created = c
            .wait_for_notification(WAIT, |n| ev(n)["handle"] == con)
            .await
            .expect("HANDLE_CREATED for the connect");
        assert_eq!(ev(&created)["statusName"], "HANDLE_CREATED");
        c.call("WinHttpCloseHandle", json!({"handle": session}))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn subscriptions_in_batches_and_as_notifications() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let session = handle(
        c.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    // In a batch, the subscription is answered once, on its own line; the batch holds the rest.
    let batch = json!([
        {"jsonrpc": "2.0", "id": "s1", "method": "WinHttpSetStatusCallback", "params": {"handle": session, "notificationFlags": ALL}},
        {"jsonrpc": "2.0", "id": "q1", "method": "WinHttpQueryOption", "params": {"handle": session, "option": 9}}
    ]);
    c.send_raw(format!("{batch}\n").as_bytes()).await;
    let mut answers = Vec::new();
    while let Some(r) = c.next_raw_response(QUIET).await {
        answers.push(r);
    }
    let text = serde_json::to_string(&answers).unwrap();
    assert_eq!(text.matches("\"s1\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"q1\"").count(), 1, "{text}");
    // Without an id a subscription cannot be answered: it does nothing.
    let other = handle(
        c.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    c.send_raw(
        format!("{}\n", json!({"jsonrpc": "2.0", "method": "WinHttpSetStatusCallback", "params": {"handle": other, "notificationFlags": ALL}}))
            .as_bytes(),
    )
    .await;
    c.call(
        "WinHttpConnect",
        json!({"handle": other, "serverName": "127.0.0.1"}),
    )
    .await
    .unwrap();
    assert!(c.next_notification(QUIET).await.is_none());
    assert!(c.next_raw_response(QUIET).await.is_none());
    // jsonrpsee's internal unsubscribe is not part of the protocol.
    let err = c
        .call("hinet_unsubscribeStatusCallback", json!([1]))
        .await
        .unwrap_err();
    assert_eq!(err.code, -32601);
}
