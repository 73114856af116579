//! Shutting down: SIGTERM/SIGINT cancel in-flight work, deliver what subscribers are owed,
//! remove the socket and exit 0 within the configured bound.

use hinet_tests::{Daemon, HttpServer};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const ASYNC: u32 = 0x1000_0000;
const WAIT: Duration = Duration::from_secs(10);

fn handle(v: Value) -> u64 {
    v["handle"].as_u64().expect("a handle")
}

fn ev(n: &Value) -> &Value {
    &n["params"]["result"]
}

fn signal(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// An async session with a callback, and a request stalled in ReceiveResponse.
async fn stalled_request(daemon: &Daemon, origin: &HttpServer) -> (hinet_tests::RpcConn, u64) {
    let c = daemon.connect().await;
    let session = handle(
        c.call("WinHttpOpen", json!({"flags": ASYNC}))
            .await
            .unwrap(),
    );
    c.call(
        "WinHttpSetStatusCallback",
        json!({"handle": session, "notificationFlags": 0xFFFF_FFFFu32}),
    )
    .await
    .unwrap();
    let connect = handle(
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
            json!({"handle": connect, "objectName": "/stall"}),
        )
        .await
        .unwrap(),
    );
    c.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    c.wait_for_notification(WAIT, |n| {
        ev(n)["handle"] == req && ev(n)["statusName"] == "SENDREQUEST_COMPLETE"
    })
    .await
    .expect("SENDREQUEST_COMPLETE");
    c.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    // The server has the request and will never answer: the operation is in flight.
    origin.wait_for_requests(1, WAIT).await;
    (c, req)
}

#[tokio::test]
async fn sigterm_cancels_in_flight_work_and_exits_cleanly() {
    let origin = HttpServer::start().await;
    let mut daemon = Daemon::spawn(HINETD, &["--shutdown-timeout-ms", "3000"]);
    let (c, req) = stalled_request(&daemon, &origin).await;
    c.drain_notifications().await;
    let socket = daemon.socket_path().to_owned();

    let asked = Instant::now();
    signal(daemon.pid(), "TERM");

    // Everything owed is delivered before the connection closes.
    let mut seen = Vec::new();
    while let Some(n) = c.next_notification(WAIT).await {
        seen.push(ev(&n).clone());
    }
    assert!(
        c.wait_closed(WAIT).await,
        "the daemon closes the connection"
    );
    // Informational statuses (RECEIVING_RESPONSE…) may still arrive; what matters is the
    // completion and the close.
    let of_req: Vec<&Value> = seen
        .iter()
        .filter(|e| e["handle"] == req)
        .filter(|e| !matches!(e["statusName"].as_str(), Some("RECEIVING_RESPONSE")))
        .collect();
    let names: Vec<&str> = of_req
        .iter()
        .map(|e| e["statusName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["REQUEST_ERROR", "HANDLE_CLOSING"], "{seen:?}");
    assert_eq!(of_req[0]["info"]["error"], 12017);
    // The whole tree closes, children first: request, connect, session.
    let closing: Vec<&str> = seen
        .iter()
        .filter(|e| e["statusName"] == "HANDLE_CLOSING")
        .map(|_| "HANDLE_CLOSING")
        .collect();
    assert_eq!(closing.len(), 3, "{seen:?}");

    let status = daemon.wait_exit(Duration::from_secs(5)).await;
    let status = status.expect("hinetd exits within the bound");
    assert!(status.success(), "exit status {status}");
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert!(!socket.exists(), "the socket file is removed");
    let log = daemon.stderr_log();
    assert!(log.contains("shutting down"), "{log}");
}

#[tokio::test]
async fn sigint_with_an_idle_client_exits_at_once() {
    let mut daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    c.call("WinHttpOpen", json!({})).await.unwrap();
    let socket = daemon.socket_path().to_owned();
    let asked = Instant::now();
    signal(daemon.pid(), "INT");
    assert!(c.wait_closed(WAIT).await);
    let status = daemon
        .wait_exit(Duration::from_secs(5))
        .await
        .expect("exits");
    assert!(status.success(), "exit status {status}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    assert!(!socket.exists());
}

#[tokio::test]
async fn a_client_that_reads_nothing_cannot_hold_shutdown_up() {
    let origin = HttpServer::start().await;
    let mut daemon = Daemon::spawn(HINETD, &["--shutdown-timeout-ms", "500"]);
    // A raw client that sends calls and never reads: its replies pile up in the socket.
    let mut raw = tokio::net::UnixStream::connect(daemon.socket_path())
        .await
        .unwrap();
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"WinHttpCrackUrl\",\"params\":{{\"url\":\"{}\"}}}}\n",
        origin.url(&format!("/{}", "x".repeat(4000)))
    );
    use tokio::io::AsyncWriteExt;
    for _ in 0..200 {
        if tokio::time::timeout(Duration::from_millis(200), raw.write_all(line.as_bytes()))
            .await
            .is_err()
        {
            break;
        }
    }
    let asked = Instant::now();
    signal(daemon.pid(), "TERM");
    let status = daemon
        .wait_exit(Duration::from_secs(5))
        .await
        .expect("exits");
    assert!(status.success(), "exit status {status}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    drop(raw);
}
