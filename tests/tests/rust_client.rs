//! The Rust client library (`hinet-client`) against the real daemon and real local servers.
//!
//! A test target of the client package; `hinetd` is found next to the `hinet` binary, where
//! `cargo test --workspace` builds it (see `hinetd()`).

use futures::StreamExt;
use hinet_client::protocol::consts::open_flag;
use hinet_client::protocol::status;
use hinet_client::{Client, Error, OpenParams, Session, StatusInfo};
use hinet_tests::{Daemon, HttpServer, big_body, closed_port};
use std::path::PathBuf;
use std::time::Duration;

/// The daemon binary: built into the same directory as `hinet` by `cargo test --workspace`
/// (or `cargo build -p hinetd`). Building it from here would contend for Cargo's lock.
fn hinetd() -> String {
    let path: PathBuf = std::path::Path::new(env!("CARGO_BIN_EXE_hinet")).with_file_name("hinetd");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace` (or `cargo build -p hinetd` first)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

async fn start() -> (Daemon, Client) {
    let daemon = Daemon::spawn(&hinetd(), &[]);
    let client = Client::connect(daemon.socket_path())
        .await
        .expect("connect to the daemon");
    (daemon, client)
}

fn sync_params() -> OpenParams {
    OpenParams {
        user_agent: Some("rust-client-test/1".into()),
        ..Default::default()
    }
}

fn async_params() -> OpenParams {
    OpenParams {
        flags: open_flag::ASYNC,
        ..sync_params()
    }
}

#[tokio::test]
async fn sync_get_streams_the_body() {
    let origin = HttpServer::start().await;
    let (_daemon, client) = start().await;
    let session = Session::open(&client, sync_params()).await.unwrap();
    let connection = session.connect("127.0.0.1", origin.port()).await.unwrap();
    let mut request = connection
        .open_request("GET", "/big?size=150000", 0)
        .await
        .unwrap();
    request.send(None, &[], 0).await.unwrap();
    request.receive_response().await.unwrap();
    assert_eq!(request.status_code().await.unwrap(), 200);
    assert_eq!(request.content_length().await.unwrap(), Some(150_000));
    assert_eq!(
        request.header("content-length").await.unwrap().as_deref(),
        Some("150000")
    );
    assert_eq!(request.header("x-not-there").await.unwrap(), None);
    let chunks: Vec<Vec<u8>> = request.body().map(|c| c.unwrap()).collect().await;
    assert!(chunks.len() >= 3, "64 KiB pieces, got {}", chunks.len());
    assert_eq!(chunks.concat(), big_body(150_000));
    session.close().await.unwrap();
    assert_eq!(client.status().await.unwrap().own_handles, 0);
    assert_eq!(
        origin.requests()[0].header("user-agent"),
        Some("rust-client-test/1")
    );
}

#[tokio::test]
async fn post_with_write_data_in_both_modes() {
    let origin = HttpServer::start().await;
    let (_daemon, client) = start().await;
    for params in [sync_params(), async_params()] {
        origin.clear_requests();
        let session = Session::open(&client, params).await.unwrap();
        let connection = session.connect("127.0.0.1", origin.port()).await.unwrap();
        let mut request = connection.open_request("POST", "/upload", 0).await.unwrap();
        request
            .send(Some("Content-Type: text/plain"), b"hello ", 11)
            .await
            .unwrap();
        assert_eq!(request.write(b"world").await.unwrap(), 5);
        request.receive_response().await.unwrap();
        assert_eq!(request.status_code().await.unwrap(), 200);
        let body = request.read_to_end().await.unwrap();
        let echo: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(echo["len"], 11, "async={}", session.is_async());
        let seen = origin.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "POST");
        assert_eq!(seen[0].body, b"hello world");
        assert_eq!(seen[0].header("content-type"), Some("text/plain"));
    }
}

#[tokio::test]
async fn refused_port_is_a_typed_winhttp_error_in_both_modes() {
    let port = closed_port();
    let (_daemon, client) = start().await;
    for params in [sync_params(), async_params()] {
        let session = Session::open(&client, params).await.unwrap();
        let connection = session.connect("127.0.0.1", port).await.unwrap();
        let mut request = connection.open_request("GET", "/", 0).await.unwrap();
        let err = request.send(None, &[], 0).await.unwrap_err();
        assert!(
            matches!(&err, Error::WinHttp { code: 12029, name, .. } if name == "ERROR_WINHTTP_CANNOT_CONNECT"),
            "async={}: {err:?}",
            session.is_async()
        );
        assert_eq!(err.code(), Some(12029));
    }
    // Errors of the call itself (here a closed handle) are typed the same way.
    let session = Session::open(&client, sync_params()).await.unwrap();
    let connection = session.connect("127.0.0.1", port).await.unwrap();
    let mut request = connection.open_request("GET", "/", 0).await.unwrap();
    client
        .call_json(
            "WinHttpCloseHandle",
            serde_json::json!({"handle": request.handle()}),
        )
        .await
        .unwrap();
    let err = request.receive_response().await.unwrap_err();
    assert_eq!(err.name(), Some("ERROR_INVALID_HANDLE"));
}

#[tokio::test]
async fn async_session_notifications_stream() {
    let origin = HttpServer::start().await;
    let (_daemon, client) = start().await;
    let session = Session::open(&client, async_params()).await.unwrap();
    let mut trace = session.notifications(u32::MAX).await.unwrap();
    let mut closing_only = session.notifications(status::HANDLE_CLOSING).await.unwrap();
    let connection = session.connect("127.0.0.1", origin.port()).await.unwrap();
    let mut request = connection.open_request("GET", "/hello", 0).await.unwrap();
    let (s, c, r) = (session.handle(), connection.handle(), request.handle());
    request.send(None, &[], 0).await.unwrap();
    request.receive_response().await.unwrap();
    assert_eq!(request.query_data_available().await.unwrap(), 11);
    assert_eq!(request.read_to_end().await.unwrap(), b"hello world");
    // One close for the tree: deepest first, all before the answer.
    session.close().await.unwrap();
    drop((request, connection));

    // The session's HANDLE_CLOSING ends the streams.
    let all: Vec<_> = tokio::time::timeout(Duration::from_secs(10), trace.by_ref().collect())
        .await
        .expect("the stream ends after the session closes");
    let names: Vec<(u64, &str)> = all
        .iter()
        .map(|n| (n.handle, n.status_name.as_str()))
        .collect();
    let pos = |h: u64, name: &str| {
        names
            .iter()
            .position(|&(nh, nn)| nh == h && nn == name)
            .unwrap_or_else(|| panic!("no {name} for handle {h} in {names:?}"))
    };
    let order = [
        pos(c, "HANDLE_CREATED"),
        pos(r, "HANDLE_CREATED"),
        pos(r, "RESOLVING_NAME"),
        pos(r, "CONNECTED_TO_SERVER"),
        pos(r, "SENDREQUEST_COMPLETE"),
        pos(r, "HEADERS_AVAILABLE"),
        pos(r, "DATA_AVAILABLE"),
        pos(r, "READ_COMPLETE"),
        pos(r, "HANDLE_CLOSING"),
        pos(c, "HANDLE_CLOSING"),
        pos(s, "HANDLE_CLOSING"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    assert_eq!(names.last(), Some(&(s, "HANDLE_CLOSING")));
    let first_read = all
        .iter()
        .find(|n| n.status == status::READ_COMPLETE)
        .unwrap();
    assert!(
        matches!(&first_read.info, StatusInfo::ReadComplete { data, bytes_read: 11 } if data.0 == b"hello world"),
        "{first_read:?}"
    );
    let closing: Vec<u64> = closing_only.by_ref().map(|n| n.handle).collect().await;
    assert_eq!(closing, [r, c, s]);
    assert_eq!(trace.missed(), 0);
}

#[tokio::test]
async fn dropping_handles_closes_them() {
    let origin = HttpServer::start().await;
    let (_daemon, client) = start().await;
    let session = Session::open(&client, sync_params()).await.unwrap();
    let connection = session.connect("127.0.0.1", origin.port()).await.unwrap();
    let request = connection.open_request("GET", "/hello", 0).await.unwrap();
    assert_eq!(client.status().await.unwrap().own_handles, 3);

    // The session outlives its children's Rust values only as long as they need it.
    drop(session);
    drop(connection);
    assert_eq!(
        client.status().await.unwrap().own_handles,
        3,
        "the request still holds its parents"
    );
    drop(request);
    // The closes go out without an answer; the daemon runs each line as its own task.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let st = client.status().await.unwrap();
        if st.own_handles == 0 {
            assert_eq!((st.sessions, st.connects, st.requests), (0, 0, 0));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "handles left open: {st:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn get_url_in_one_call() {
    let origin = HttpServer::start().await;
    let (_daemon, client) = start().await;
    let page = client.get(&origin.url("/hello?x=1#frag")).await.unwrap();
    assert_eq!(page.status, 200);
    assert_eq!(page.text(), "hello world");
    assert_eq!(page.header("Content-Length"), Some("11"));
    assert_eq!(origin.requests()[0].path, "/hello?x=1");
    let missing = client.get(&origin.url("/nope")).await.unwrap();
    assert_eq!(missing.status, 404);
    assert_eq!(client.status().await.unwrap().own_handles, 0);
}

/// `hinet_client::get` finds the daemon through `HINETD_SOCKET`. The variable is set for a
/// child copy of this test binary (see `get_child`), not in this multi-threaded process.
#[tokio::test]
async fn free_get_uses_the_default_socket() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(&hinetd(), &[]);
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "get_child", "--nocapture", "--test-threads=1"])
        .env("HINETD_SOCKET", daemon.socket_path())
        .env("HINET_TEST_GET_URL", origin.url("/hello"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("GOT 200 hello world"), "{stdout}");
    assert_eq!(origin.requests().len(), 1);
}

/// Runs only inside `free_get_uses_the_default_socket`.
#[tokio::test]
async fn get_child() {
    let Ok(url) = std::env::var("HINET_TEST_GET_URL") else {
        return;
    };
    let page = hinet_client::get(&url).await.unwrap();
    println!("GOT {} {}", page.status, page.text());
}

#[tokio::test]
async fn a_dead_daemon_fails_calls_cleanly() {
    let (mut daemon, client) = start().await;
    let session = Session::open(&client, sync_params()).await.unwrap();
    daemon.kill();
    let err = session.connect("127.0.0.1", 80).await.unwrap_err();
    assert!(matches!(err, Error::Disconnected { .. }), "{err:?}");
    let missing = std::env::temp_dir().join("hinet-no-such-dir/hinetd.sock");
    let err = Client::connect(&missing).await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
}
