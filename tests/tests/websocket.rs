//! JSON-RPC over WebSocket and plain HTTP on the daemon's one socket, next to NDJSON.
//!
//! The WebSocket client is jsonrpsee's own, speaking over a `UnixStream`; HTTP calls are
//! written by hand (and with curl when it is installed). Every test checks the property a
//! client relies on: same methods, same subscriptions, same per-connection handles.

use hinet_tests::{Daemon, HttpServer, unb64};
use jsonrpsee_core::client::{ClientT, Error as ClientError, Subscription, SubscriptionClientT};
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const WAIT: Duration = Duration::from_secs(10);
const QUERY_STATUS_CODE: u32 = 19 | 0x2000_0000;

async fn ws(daemon: &Daemon) -> WsClient {
    let stream = UnixStream::connect(daemon.socket_path())
        .await
        .expect("connect to the daemon");
    WsClientBuilder::default()
        .build_with_stream("ws://localhost", stream)
        .await
        .expect("WebSocket handshake over the Unix socket")
}

fn params(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("params must be an object: {other}"),
    }
}

async fn call(c: &WsClient, method: &str, p: Value) -> Result<Value, ClientError> {
    c.request::<Value, _>(method, params(p)).await
}

async fn handle(c: &WsClient, method: &str, p: Value) -> u64 {
    let r = call(c, method, p)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    r["handle"]
        .as_u64()
        .unwrap_or_else(|| panic!("{method}: no handle in {r}"))
}

fn code(e: &ClientError) -> i32 {
    match e {
        ClientError::Call(obj) => obj.code(),
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

/// Session, connect and request handles for `path` on `origin`.
async fn open_request(c: &WsClient, origin: &HttpServer, flags: u32, path: &str) -> (u64, u64) {
    let ses = handle(
        c,
        "WinHttpOpen",
        json!({"userAgent": "ws/1", "flags": flags}),
    )
    .await;
    let con = handle(
        c,
        "WinHttpConnect",
        json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": origin.port()}),
    )
    .await;
    let req = handle(
        c,
        "WinHttpOpenRequest",
        json!({"handle": con, "objectName": path}),
    )
    .await;
    (ses, req)
}

async fn next_event(sub: &mut Subscription<Value>) -> Value {
    match tokio::time::timeout(WAIT, sub.next()).await {
        Ok(Some(Ok(v))) => v,
        other => panic!("no status callback within {WAIT:?}: {other:?}"),
    }
}

#[tokio::test]
async fn a_full_get_over_websocket() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = ws(&daemon).await;

    let (ses, req) = open_request(&c, &origin, 0, "/hello").await;
    call(&c, "WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    call(&c, "WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    let status = call(
        &c,
        "WinHttpQueryHeaders",
        json!({"handle": req, "infoLevel": QUERY_STATUS_CODE}),
    )
    .await
    .unwrap();
    assert_eq!(status["value"], 200);
    let read = call(
        &c,
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": 4096}),
    )
    .await
    .unwrap();
    assert_eq!(unb64(read["data"].as_str().unwrap()), b"hello world");
    call(&c, "WinHttpCloseHandle", json!({"handle": ses}))
        .await
        .unwrap();

    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("user-agent"), Some("ws/1"));
    // NDJSON still works on the same socket.
    let n = daemon.connect().await;
    assert!(n.call("HinetStatus", json!({})).await.is_ok());
}

#[tokio::test]
async fn status_callbacks_arrive_as_subscription_notifications() {
    const ASYNC: u32 = 0x1000_0000;
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = ws(&daemon).await;

    let ses = handle(&c, "WinHttpOpen", json!({"flags": ASYNC})).await;
    let mut sub: Subscription<Value> = c
        .subscribe(
            "WinHttpSetStatusCallback",
            params(json!({"handle": ses, "notificationFlags": 0xFFFF_FFFFu32})),
            "WinHttpUnsetStatusCallback",
        )
        .await
        .expect("subscribe over WebSocket");
    let con = handle(
        &c,
        "WinHttpConnect",
        json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": origin.port()}),
    )
    .await;
    let created = next_event(&mut sub).await;
    assert_eq!(created["statusName"], "HANDLE_CREATED");
    assert_eq!(created["info"]["handle"], con);

    let req = handle(
        &c,
        "WinHttpOpenRequest",
        json!({"handle": con, "objectName": "/hello"}),
    )
    .await;
    call(&c, "WinHttpSendRequest", json!({"handle": req}))
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let e = next_event(&mut sub).await;
        let name = e["statusName"].as_str().unwrap_or_default().to_owned();
        seen.push(name.clone());
        if name == "SENDREQUEST_COMPLETE" {
            break;
        }
        assert_ne!(name, "REQUEST_ERROR", "{e}");
    }
    for expected in ["HANDLE_CREATED", "CONNECTED_TO_SERVER", "REQUEST_SENT"] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} missing from {seen:?}"
        );
    }
    call(&c, "WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .unwrap();
    loop {
        let e = next_event(&mut sub).await;
        if e["statusName"] == "HEADERS_AVAILABLE" {
            break;
        }
        assert_ne!(e["statusName"], "REQUEST_ERROR", "{e}");
    }
    call(
        &c,
        "WinHttpReadData",
        json!({"handle": req, "bytesToRead": 4096}),
    )
    .await
    .unwrap();
    let read = loop {
        let e = next_event(&mut sub).await;
        if e["statusName"] == "READ_COMPLETE" {
            break e;
        }
    };
    assert_eq!(
        unb64(read["info"]["data"].as_str().unwrap()),
        b"hello world"
    );

    call(&c, "WinHttpCloseHandle", json!({"handle": ses}))
        .await
        .unwrap();
    let mut closing = Vec::new();
    while closing.len() < 3 {
        let e = next_event(&mut sub).await;
        if e["statusName"] == "HANDLE_CLOSING" {
            closing.push(e["handle"].as_u64().unwrap());
        }
    }
    assert_eq!(
        closing,
        vec![req, con, ses],
        "children close before parents"
    );
}

#[tokio::test]
async fn handles_are_private_to_their_connection() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let w = ws(&daemon).await;
    let n = daemon.connect().await;

    let ws_session = handle(&w, "WinHttpOpen", json!({})).await;
    let nd_session = n.call("WinHttpOpen", json!({})).await.unwrap()["handle"]
        .as_u64()
        .unwrap();

    let e = n
        .call(
            "WinHttpQueryOption",
            json!({"handle": ws_session, "option": 45}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.code, 6,
        "the NDJSON client must not see the WebSocket's handle"
    );
    let e = call(&w, "WinHttpCloseHandle", json!({"handle": nd_session}))
        .await
        .unwrap_err();
    assert_eq!(
        code(&e),
        6,
        "the WebSocket client must not see the NDJSON handle"
    );

    let own = call(&w, "HinetStatus", json!({})).await.unwrap();
    assert_eq!(own["ownHandles"], 1);
    // Both survived the other's attempts.
    call(&w, "WinHttpCloseHandle", json!({"handle": ws_session}))
        .await
        .unwrap();
    n.call("WinHttpCloseHandle", json!({"handle": nd_session}))
        .await
        .unwrap();
}

#[tokio::test]
async fn closing_the_websocket_closes_its_handles() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let n = daemon.connect().await;
    let w = ws(&daemon).await;
    let _ = open_request(&w, &origin, 0, "/hello").await;

    let before = n.call("HinetStatus", json!({})).await.unwrap();
    assert_eq!(before["connections"], 2);
    assert_eq!(
        (
            &before["sessions"],
            &before["connects"],
            &before["requests"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
    drop(w);

    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = n.call("HinetStatus", json!({})).await.unwrap();
        if s["connections"] == 1 && s["sessions"] == 0 && s["connects"] == 0 && s["requests"] == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "handles outlived their WebSocket: {s}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_internal_unsubscribe_name_is_hidden() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let w = ws(&daemon).await;
    let e = call(&w, "hinet_unsubscribeStatusCallback", json!({}))
        .await
        .unwrap_err();
    assert_eq!(code(&e), -32601);
}

/// One HTTP/1.1 exchange on a fresh connection: the status code and the body.
async fn http(daemon: &Daemon, request: &str) -> (u16, String) {
    let mut s = UnixStream::connect(daemon.socket_path()).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut out))
        .await
        .expect("the daemon answers and closes")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn post(body: &str) -> String {
    // No content type, as `curl -d` would send a form type: the socket takes JSON anyway.
    format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn plain_http_posts_carry_calls_but_not_subscriptions() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let crack = r#"{"jsonrpc":"2.0","id":1,"method":"WinHttpCrackUrl","params":{"url":"http://example.com:8080/a?b"}}"#;
    let (status, body) = http(&daemon, &post(crack)).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["result"]["hostName"], "example.com");
    assert_eq!(v["result"]["port"], 8080);

    // A batch, and a handle that lives only as long as its HTTP connection.
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"WinHttpOpen","params":{}},{"jsonrpc":"2.0","id":2,"method":"HinetStatus"}]"#;
    let (_, body) = http(&daemon, &post(batch)).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let status = v
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == 2))
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(status["result"]["ownHandles"], 1);

    let sub = r#"{"jsonrpc":"2.0","id":3,"method":"WinHttpSetStatusCallback","params":{"handle":1,"notificationFlags":1}}"#;
    let (_, body) = http(&daemon, &post(sub)).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32600, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WebSocket")
    );

    let n = daemon.connect().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = n.call("HinetStatus", json!({})).await.unwrap();
        if s["sessions"] == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the HTTP client's session leaked: {s}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn curl_can_call_the_daemon() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("curl is not installed; skipped");
        return;
    }
    let daemon = Daemon::spawn(HINETD, &[]);
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--max-time", "10", "--unix-socket"])
        .arg(daemon.socket_path())
        .args([
            "-d",
            r#"{"jsonrpc":"2.0","id":1,"method":"WinHttpCrackUrl","params":{"url":"https://h.example/p"}}"#,
            "http://localhost/",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"]["scheme"], "https");
    assert_eq!(v["result"]["hostName"], "h.example");
}

#[tokio::test]
async fn notifications_run_for_their_effect() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let w = ws(&daemon).await;
    let ses = handle(&w, "WinHttpOpen", json!({})).await;
    w.notification("WinHttpCloseHandle", params(json!({"handle": ses})))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while call(&w, "HinetStatus", json!({})).await.unwrap()["ownHandles"] != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the notification did not run"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_daemon_stops_promptly_with_a_websocket_open() {
    let origin = HttpServer::start().await;
    let mut daemon = Daemon::spawn(HINETD, &[]);
    let w = ws(&daemon).await;
    let _ = open_request(&w, &origin, 0, "/hello").await;
    daemon.terminate();
    let status = daemon.wait_exit(WAIT).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

#[tokio::test]
async fn python_websockets_client_drives_async_mode() {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import websockets"])
        .output()
        .await;
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("python3 with the websockets package is not installed; skipped");
        return;
    }
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(HINETD, &[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/python/ws_client.py");
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("python3")
            .arg(script)
            .arg(daemon.socket_path())
            .arg(origin.port().to_string())
            .output(),
    )
    .await
    .expect("the Python client finishes")
    .expect("python3 runs");
    assert!(
        out.status.success() && out.stdout.starts_with(b"ok"),
        "Python WebSocket client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(origin.requests().len(), 1);
}

/// A WebSocket text frame as a client sends it: masked, here with a zero key.
fn frame(text: &[u8]) -> Vec<u8> {
    let mut f = vec![0x81];
    match u8::try_from(text.len()) {
        Ok(n) if n < 126 => f.push(0x80 | n),
        _ => {
            f.push(0x80 | 126);
            f.extend_from_slice(&u16::try_from(text.len()).unwrap().to_be_bytes());
        }
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(text);
    f
}

/// A raw WebSocket on the daemon's socket, past the handshake.
async fn raw_ws(daemon: &Daemon) -> UnixStream {
    let mut s = UnixStream::connect(daemon.socket_path()).await.unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

#[tokio::test]
async fn a_client_that_reads_nothing_is_not_read_either() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let mut s = raw_ws(&daemon).await;
    let one = frame(br#"{"jsonrpc":"2.0","id":1,"method":"HinetStatus"}"#);
    // Far more than the socket buffers and the outbound queue hold; only the daemon reading
    // without limit would take it all.
    let flood = one.repeat((16 << 20) / one.len());
    let mut taken = 0usize;
    for chunk in flood.chunks(64 * 1024) {
        match tokio::time::timeout(Duration::from_secs(2), s.write_all(chunk)).await {
            Ok(Ok(())) => taken += chunk.len(),
            Ok(Err(e)) => panic!("the daemon dropped the connection: {e}"),
            Err(_) => break,
        }
    }
    assert!(
        taken < flood.len() / 2,
        "the daemon read {taken} bytes from a client that reads nothing"
    );
    eprintln!("the daemon stopped reading after {taken} bytes");

    drop(s);
    let n = daemon.connect().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while n.call("HinetStatus", json!({})).await.unwrap()["connections"] != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stalled WebSocket was not cleaned up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
