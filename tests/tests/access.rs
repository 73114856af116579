//! Who may connect and how much each connection may hold: peer credentials, the allowed
//! uids and gids, per-connection quotas, and handles that other connections cannot reach.

use hinet_tests::{Daemon, HttpServer, RpcConn};
use serde_json::{Value, json};
use std::time::Duration;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const ASYNC: u32 = 0x1000_0000;
const WAIT: Duration = Duration::from_secs(10);

fn handle(v: Value) -> u64 {
    v["handle"].as_u64().expect("a handle")
}

/// Our effective uid and gid, from /proc/self/status.
fn own_ids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| -> u32 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("an id line")
    };
    (field("Uid:"), field("Gid:"))
}

/// The one line a refused client gets, and then the end of the connection.
async fn refusal(c: &RpcConn) -> Value {
    let line = c
        .next_raw_response(WAIT)
        .await
        .expect("a refusal line before the close");
    assert!(
        c.wait_closed(WAIT).await,
        "the daemon closes the connection"
    );
    line
}

#[tokio::test]
async fn a_peer_whose_uid_is_not_allowed_is_refused_before_any_json() {
    // Root is in the default list, not hard-coded: a list without our uid refuses us even
    // when the tests run as root.
    let daemon = Daemon::spawn(HINETD, &["--allow-uid", "4242"]);
    let c = daemon.connect().await;
    let line = refusal(&c).await;
    assert_eq!(line["error"]["code"], 5, "{line}");
    assert!(line["id"].is_null());
    let detail = line["error"]["data"]["detail"].as_str().unwrap();
    assert!(detail.contains("access.allowed_uids"), "{detail}");
    // Whatever it sends afterwards is never read.
    let log = daemon.stderr_log();
    let (uid, _) = own_ids();
    assert!(
        log.lines()
            .any(|l| l.contains("connection refused") && l.contains(&format!("uid={uid}"))),
        "{log}"
    );
    assert!(!log.contains("connection opened"), "{log}");
}

#[tokio::test]
async fn a_peer_in_an_allowed_group_may_connect() {
    let (_, gid) = own_ids();
    let daemon = Daemon::spawn(
        HINETD,
        &["--allow-uid", "4242", "--allow-gid", &gid.to_string()],
    );
    let c = daemon.connect().await;
    c.call("HinetStatus", json!({})).await.unwrap();
    let log = daemon.stderr_log();
    let (uid, _) = own_ids();
    assert!(
        log.lines()
            .any(|l| l.contains("connection opened") && l.contains(&format!("uid={uid}"))),
        "{log}"
    );
}

/// Waits until the daemon counts exactly `n` connections (the harness's readiness probe
/// may still be closing).
async fn settle(c: &RpcConn, n: u64) {
    for _ in 0..200 {
        let s = c.call("HinetStatus", json!({})).await.unwrap();
        if s["connections"] == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the daemon never settled at {n} connections");
}

#[tokio::test]
async fn connections_per_uid_are_limited() {
    let daemon = Daemon::spawn(HINETD, &["--set", "limits.max_connections_per_uid=2"]);
    let a = daemon.connect().await;
    settle(&a, 1).await;
    let b = daemon.connect().await;
    b.call("HinetStatus", json!({})).await.unwrap();
    let c = daemon.connect().await;
    let line = refusal(&c).await;
    assert_eq!(line["error"]["code"], 8, "{line}");
    let detail = line["error"]["data"]["detail"].as_str().unwrap();
    assert!(
        detail.contains("limits.max_connections_per_uid"),
        "{detail}"
    );
    // The others are unaffected, and a slot freed is a slot to use.
    a.call("HinetStatus", json!({})).await.unwrap();
    b.close().await;
    settle(&a, 1).await;
    let d = daemon.connect().await;
    d.call("HinetStatus", json!({})).await.unwrap();
    let s = a.call("HinetStatus", json!({})).await.unwrap();
    assert_eq!(s["connectionsRefused"], 1, "{s}");
}

#[tokio::test]
async fn open_handles_per_connection_are_limited() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &["--set", "limits.max_handles=3"]);
    let a = daemon.connect().await;
    let s = handle(a.call("WinHttpOpen", json!({})).await.unwrap());
    let k = handle(
        a.call(
            "WinHttpConnect",
            json!({"handle": s, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap(),
    );
    let r = handle(
        a.call("WinHttpOpenRequest", json!({"handle": k}))
            .await
            .unwrap(),
    );
    let e = a
        .call("WinHttpOpenRequest", json!({"handle": k}))
        .await
        .unwrap_err();
    assert_eq!(e.code, 8, "{e}");
    assert!(e.to_string().contains("limits.max_handles"), "{e}");
    let e = a.call("WinHttpOpen", json!({})).await.unwrap_err();
    assert_eq!(e.code, 8);
    // Another connection has its own quota.
    let b = daemon.connect().await;
    handle(b.call("WinHttpOpen", json!({})).await.unwrap());
    // Closing gives the slot back; the connection stays healthy.
    a.call("WinHttpCloseHandle", json!({"handle": r}))
        .await
        .unwrap();
    handle(
        a.call("WinHttpOpenRequest", json!({"handle": k}))
            .await
            .unwrap(),
    );
    a.call("WinHttpCloseHandle", json!({"handle": s}))
        .await
        .unwrap();
    for _ in 0..3 {
        handle(a.call("WinHttpOpen", json!({})).await.unwrap());
    }
}

#[tokio::test]
async fn requests_in_flight_per_connection_are_limited() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &["--set", "limits.max_requests_in_flight=1"]);
    let c = daemon.connect().await;
    let s = handle(
        c.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    c.call(
        "WinHttpSetStatusCallback",
        json!({"handle": s, "notificationFlags": 0xFFFF_FFFFu32}),
    )
    .await
    .unwrap();
    let k = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": s, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap(),
    );
    let open = |path: &'static str| {
        let c = &c;
        async move {
            handle(
                c.call(
                    "WinHttpOpenRequest",
                    json!({"handle": k, "objectName": path}),
                )
                .await
                .unwrap(),
            )
        }
    };
    let stalled = open("/stall").await;
    c.call("WinHttpSendRequest", json!({"handle": stalled}))
        .await
        .unwrap();
    c.wait_for_notification(WAIT, |n| {
        n["params"]["result"]["handle"] == stalled
            && n["params"]["result"]["statusName"] == "SENDREQUEST_COMPLETE"
    })
    .await
    .expect("the request goes out");
    c.call("WinHttpReceiveResponse", json!({"handle": stalled}))
        .await
        .unwrap();
    // While the first operation runs, a second one is refused at once, naming the limit.
    let other = open("/hello").await;
    let e = c
        .call("WinHttpSendRequest", json!({"handle": other}))
        .await
        .unwrap_err();
    assert_eq!(e.code, 8, "{e}");
    assert!(
        e.to_string().contains("limits.max_requests_in_flight"),
        "{e}"
    );
    let status = c.call("HinetStatus", json!({})).await.unwrap();
    assert_eq!(status["requestsInFlight"], 1, "{status}");
    // Once it is over (cancelled by closing), the slot is free again.
    c.call("WinHttpCloseHandle", json!({"handle": stalled}))
        .await
        .unwrap();
    c.call("WinHttpSendRequest", json!({"handle": other}))
        .await
        .unwrap();
    c.wait_for_notification(WAIT, |n| {
        n["params"]["result"]["handle"] == other
            && n["params"]["result"]["statusName"] == "SENDREQUEST_COMPLETE"
    })
    .await
    .expect("the second request goes out");
}

#[tokio::test]
async fn guessed_handle_numbers_of_another_connection_do_not_exist() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let a = daemon.connect().await;
    let b = daemon.connect().await;
    let s = handle(a.call("WinHttpOpen", json!({})).await.unwrap());
    let k = handle(
        a.call(
            "WinHttpConnect",
            json!({"handle": s, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap(),
    );
    // B walks every number near A's: none can be subscribed to, used or closed.
    for guess in 1..=k + 8 {
        let e = b
            .call(
                "WinHttpSetStatusCallback",
                json!({"handle": guess, "notificationFlags": 0xFFFF_FFFFu32}),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, 6, "subscribe to {guess}: {e}");
        let e = b
            .call("WinHttpOpenRequest", json!({"handle": guess}))
            .await
            .unwrap_err();
        assert_eq!(e.code, 6, "use {guess}: {e}");
        let e = b
            .call("WinHttpCloseHandle", json!({"handle": guess}))
            .await
            .unwrap_err();
        assert_eq!(e.code, 6, "close {guess}: {e}");
    }
    // A's handles are intact.
    handle(
        a.call("WinHttpOpenRequest", json!({"handle": k}))
            .await
            .unwrap(),
    );
    let st = a.call("HinetStatus", json!({})).await.unwrap();
    assert_eq!(st["ownHandles"], 3, "{st}");
}

#[tokio::test]
async fn status_reports_traffic_errors_and_uptime() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    for _ in 0..2 {
        let e = c
            .call("WinHttpCloseHandle", json!({"handle": 999_999}))
            .await
            .unwrap_err();
        assert_eq!(e.code, 6);
    }
    let s = c.call("HinetStatus", json!({})).await.unwrap();
    assert!(s["bytesIn"].as_u64().unwrap() > 100, "{s}");
    assert!(s["bytesOut"].as_u64().unwrap() > 100, "{s}");
    assert!(s["uptimeSecs"].is_u64(), "{s}");
    assert_eq!(s["requestsInFlight"], 0, "{s}");
    assert!(s["connectionsTotal"].as_u64().unwrap() >= 1, "{s}");
    let errors = s["errors"].as_array().expect("errors");
    let invalid = errors
        .iter()
        .find(|e| e["code"] == 6)
        .unwrap_or_else(|| panic!("no code 6 in {s}"));
    assert_eq!(invalid["count"], 2);
    assert_eq!(invalid["name"], "ERROR_INVALID_HANDLE");
}

/// With a small byte budget, reads pause while the client is not reading its answers, and
/// resume when it does: every byte arrives, in order, none lost.
#[tokio::test]
async fn a_client_not_reading_its_answers_pauses_its_reads_and_loses_nothing() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &["--set", "limits.max_buffered_bytes=262144"]);
    let c = daemon.connect().await;
    let s = handle(c.call("WinHttpOpen", json!({})).await.unwrap());
    let k = handle(
        c.call(
            "WinHttpConnect",
            json!({"handle": s, "serverName": "127.0.0.1", "serverPort": origin.port()}),
        )
        .await
        .unwrap(),
    );
    let size = 4 * 1024 * 1024;
    let r = handle(
        c.call(
            "WinHttpOpenRequest",
            json!({"handle": k, "objectName": format!("/big?size={size}")}),
        )
        .await
        .unwrap(),
    );
    c.call("WinHttpSendRequest", json!({"handle": r}))
        .await
        .unwrap();
    c.call("WinHttpReceiveResponse", json!({"handle": r}))
        .await
        .unwrap();
    // Sequential reads through raw pipelined lines: one per 64 KiB, all sent at once.
    let reads = size / 65536 + 1;
    let mut lines = String::new();
    for i in 0..reads {
        lines.push_str(&format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":\"r{i}\",\"method\":\"WinHttpReadData\",\"params\":{{\"handle\":{r},\"bytesToRead\":65536}}}}\n"
        ));
    }
    c.send_raw(lines.as_bytes()).await;
    let mut answers = Vec::new();
    while answers.len() < reads {
        let a = c
            .next_raw_response(WAIT)
            .await
            .expect("every read is answered");
        answers.push(a);
    }
    // Concurrent reads of one request either got bytes or found the body busy (12019).
    for a in &answers {
        if let Some(e) = a.get("error") {
            assert_eq!(e["code"], 12019, "{a}");
        }
    }
    // Then read the rest normally and check the whole body.
    let mut total: usize = answers
        .iter()
        .filter_map(|a| a["result"]["bytesRead"].as_u64())
        .map(|n| n as usize)
        .sum();
    loop {
        let rd = c
            .call(
                "WinHttpReadData",
                json!({"handle": r, "bytesToRead": 1_048_576}),
            )
            .await
            .unwrap();
        let n = rd["bytesRead"].as_u64().unwrap() as usize;
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, size, "every byte of the body arrived exactly once");
}
