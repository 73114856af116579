//! A JSON-RPC 2.0 client connection to `hinetd` over its Unix socket.
//!
//! Framing is NDJSON: every message is one JSON text terminated by `\n`, in
//! both directions. The daemon may send three kinds of messages on one
//! connection, interleaved arbitrarily:
//!
//! * responses to our [`RpcConn::call`]s — possibly out of order, because the
//!   daemon runs requests concurrently — matched to the waiting caller by id;
//! * notifications (`"method"` and no `"id"`), e.g. WinHTTP status callbacks,
//!   queued for [`RpcConn::next_notification`] and friends;
//! * responses nobody is waiting for: answers to lines written with
//!   [`RpcConn::send_raw`] (malformed-input tests), `"id": null` error
//!   responses, batch (array) responses, and late answers to a
//!   [`RpcConn::call_timeout`] that gave up. These go to the "raw" queue read by
//!   [`RpcConn::next_raw_response`].
//!
//! Routing is done by one background reader task, so `call`, raw sends and
//! notification reads can all be mixed freely, from several tasks at once
//! (every method takes `&self`; wrap the connection in an `Arc` to share it).
//!
//! Ids used by `call` are numbers counting up from 1. A raw line that reuses
//! one of those ids while that call is pending would steal its response, so
//! raw tests should use string ids or large numbers (≥ 1_000_000_000).
//!
//! Set `HINET_TESTS_TRACE=1` to print every line sent and received to stderr.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Mutex, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long [`RpcConn::call`] waits before declaring the daemon hung.
///
/// A test that hangs forever is much harder to diagnose than one that panics
/// with the name of the method that never returned.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A JSON-RPC error object returned by the daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// JSON-RPC error code (e.g. `-32602` invalid params, or a daemon-defined code).
    pub code: i64,
    /// Human-readable message.
    pub message: String,
    /// The optional `data` member (hinetd puts WinHTTP error details here).
    pub data: Option<Value>,
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)?;
        if let Some(data) = &self.data {
            write!(f, " (data: {data})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

impl RpcError {
    /// Parse a JSON-RPC `error` object; `None` if it lacks `code` or `message`.
    pub fn from_value(v: &Value) -> Option<RpcError> {
        Some(RpcError {
            code: v.get("code")?.as_i64()?,
            message: v.get("message")?.as_str()?.to_owned(),
            data: v.get("data").cloned(),
        })
    }
}

/// State shared between the connection handle and its reader task.
struct Shared {
    pending: StdMutex<Pending>,
    violations: StdMutex<Vec<String>>,
}

struct Pending {
    waiters: HashMap<u64, oneshot::Sender<Value>>,
    /// Set by the reader once the daemon's side is gone; new calls then fail
    /// fast instead of waiting out [`CALL_TIMEOUT`].
    closed: bool,
}

/// Notifications not yet consumed, plus ones skipped over by
/// [`RpcConn::wait_for_notification`] (kept, in order, for later reads).
struct NotifQueue {
    stash: VecDeque<Value>,
    rx: mpsc::UnboundedReceiver<Value>,
}

/// One client connection to the daemon. See the module docs.
pub struct RpcConn {
    writer: Mutex<OwnedWriteHalf>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    notifications: Mutex<NotifQueue>,
    raw: Mutex<mpsc::UnboundedReceiver<Value>>,
    closed: watch::Receiver<bool>,
    reader: Option<JoinHandle<()>>,
    trace: bool,
}

impl fmt::Debug for RpcConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcConn")
            .field("next_id", &self.next_id)
            .field("closed", &*self.closed.borrow())
            .finish_non_exhaustive()
    }
}

impl RpcConn {
    /// Connect to the daemon's socket.
    pub async fn connect(path: impl AsRef<Path>) -> std::io::Result<RpcConn> {
        let stream = UnixStream::connect(path.as_ref()).await?;
        Ok(RpcConn::from_stream(stream))
    }

    /// Wrap an already connected stream (spawns the reader task; needs a
    /// Tokio runtime).
    pub fn from_stream(stream: UnixStream) -> RpcConn {
        let trace = std::env::var_os("HINET_TESTS_TRACE").is_some();
        let (read_half, write_half) = stream.into_split();
        let shared = Arc::new(Shared {
            pending: StdMutex::new(Pending {
                waiters: HashMap::new(),
                closed: false,
            }),
            violations: StdMutex::new(Vec::new()),
        });
        let (notif_tx, notif_rx) = mpsc::unbounded_channel();
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let (closed_tx, closed_rx) = watch::channel(false);
        let reader = tokio::spawn(reader_task(
            read_half,
            shared.clone(),
            notif_tx,
            raw_tx,
            closed_tx,
            trace,
        ));
        RpcConn {
            writer: Mutex::new(write_half),
            shared,
            next_id: AtomicU64::new(1),
            notifications: Mutex::new(NotifQueue {
                stash: VecDeque::new(),
                rx: notif_rx,
            }),
            raw: Mutex::new(raw_rx),
            closed: closed_rx,
            reader: Some(reader),
            trace,
        }
    }

    /// Call `method` and wait for its response.
    ///
    /// `params` is sent as-is, except that `Value::Null` omits the `params`
    /// member (allowed by JSON-RPC for parameterless methods).
    ///
    /// Panics if the daemon does not answer within [`CALL_TIMEOUT`], if the
    /// connection closes first, or if the response is not a well-formed
    /// JSON-RPC 2.0 response — those are harness-level failures, not results.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        match self.call_timeout(method, params, CALL_TIMEOUT).await {
            Some(r) => r,
            None => panic!(
                "hinetd did not answer `{method}` within {} s (daemon hung or response lost)",
                CALL_TIMEOUT.as_secs()
            ),
        }
    }

    /// Like [`call`](Self::call) but gives up after `timeout`, returning `None`.
    ///
    /// Use it to assert that a call is (still) blocked. A response arriving
    /// after the timeout is routed to the raw queue.
    pub async fn call_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Option<Result<Value, RpcError>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut p = lock(&self.shared.pending);
            if p.closed {
                panic!("cannot call `{method}`: the daemon closed the connection");
            }
            p.waiters.insert(id, tx);
        }
        let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            msg["params"] = params;
        }
        let mut line = serde_json::to_vec(&msg).expect("serialize request");
        line.push(b'\n');
        if let Err(e) = self.try_send_raw(&line).await {
            lock(&self.shared.pending).waiters.remove(&id);
            panic!("writing request `{method}` (id {id}) to hinetd failed: {e}");
        }
        let response = match tokio::time::timeout(timeout, rx).await {
            Err(_elapsed) => {
                lock(&self.shared.pending).waiters.remove(&id);
                return None;
            }
            Ok(Err(_closed)) => panic!(
                "hinetd closed the connection while `{method}` (id {id}) was waiting for its response"
            ),
            Ok(Ok(v)) => v,
        };
        Some(parse_response(method, id, response))
    }

    /// Send a notification (a request without `id`; no response expected).
    pub async fn notify(&self, method: &str, params: Value) {
        let mut msg = json!({"jsonrpc": "2.0", "method": method});
        if !params.is_null() {
            msg["params"] = params;
        }
        let mut line = serde_json::to_vec(&msg).expect("serialize notification");
        line.push(b'\n');
        self.send_raw(&line).await;
    }

    /// Write `bytes` verbatim (no newline is added). Panics on I/O error.
    pub async fn send_raw(&self, bytes: &[u8]) {
        if let Err(e) = self.try_send_raw(bytes).await {
            panic!("writing raw bytes to hinetd failed: {e}");
        }
    }

    /// Write `bytes` verbatim, returning I/O errors (e.g. `EPIPE` after the
    /// daemon dropped the connection) instead of panicking.
    pub async fn try_send_raw(&self, bytes: &[u8]) -> std::io::Result<()> {
        if self.trace {
            eprintln!("[rpc ->] {}", String::from_utf8_lossy(bytes).trim_end());
        }
        // The lock is held only for the write itself.
        let mut w = self.writer.lock().await;
        w.write_all(bytes).await?;
        w.flush().await
    }

    /// The next message carrying an `"id"` that no `call` was waiting for
    /// (responses to raw lines, `id: null` errors, batch arrays, late
    /// responses), or `None` after `timeout` / once the connection is closed
    /// and the queue is empty.
    pub async fn next_raw_response(&self, timeout: Duration) -> Option<Value> {
        let mut rx = self.raw.lock().await;
        tokio::time::timeout(timeout, rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next notification, or `None` after `timeout` (or once the
    /// connection is closed and nothing is queued).
    pub async fn next_notification(&self, timeout: Duration) -> Option<Value> {
        let mut q = self.notifications.lock().await;
        if let Some(v) = q.stash.pop_front() {
            return Some(v);
        }
        tokio::time::timeout(timeout, q.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// The first notification (queued or arriving within `timeout`) for
    /// which `pred` holds. Non-matching notifications are kept, in order, for
    /// later `next_notification` / `drain_notifications` calls.
    pub async fn wait_for_notification(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        let mut q = self.notifications.lock().await;
        if let Some(pos) = q.stash.iter().position(&mut pred) {
            return q.stash.remove(pos);
        }
        loop {
            let v = tokio::time::timeout_at(deadline, q.rx.recv())
                .await
                .ok()
                .flatten()?;
            if pred(&v) {
                return Some(v);
            }
            q.stash.push_back(v);
        }
    }

    /// Shorthand: wait for a notification whose `"method"` equals `method`.
    pub async fn wait_for_method(&self, method: &str, timeout: Duration) -> Option<Value> {
        self.wait_for_notification(timeout, |v| {
            v.get("method").and_then(Value::as_str) == Some(method)
        })
        .await
    }

    /// Every notification received so far and not yet consumed, in order.
    pub async fn drain_notifications(&self) -> Vec<Value> {
        let mut q = self.notifications.lock().await;
        let mut out: Vec<Value> = q.stash.drain(..).collect();
        while let Ok(v) = q.rx.try_recv() {
            out.push(v);
        }
        out
    }

    /// Everything in the raw queue right now.
    pub async fn drain_raw_responses(&self) -> Vec<Value> {
        let mut rx = self.raw.lock().await;
        let mut out = Vec::new();
        while let Ok(v) = rx.try_recv() {
            out.push(v);
        }
        out
    }

    /// Whether the daemon's side of the connection has closed (EOF or error).
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Wait up to `timeout` for the daemon to close the connection; returns
    /// whether it did.
    pub async fn wait_closed(&self, timeout: Duration) -> bool {
        let mut rx = self.closed.clone();
        tokio::time::timeout(timeout, rx.wait_for(|c| *c))
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false)
            || self.is_closed()
    }

    /// Problems seen in the incoming stream: lines that are not JSON,
    /// messages without `"jsonrpc": "2.0"`, messages that are neither
    /// responses nor notifications, an unterminated final line. A healthy
    /// daemon produces none; tests can assert this list is empty.
    pub fn protocol_violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }

    /// Close the connection: shut down our write side (the daemon sees EOF)
    /// and stop the reader, so the socket is fully released on return.
    pub async fn close(mut self) {
        {
            let mut w = self.writer.lock().await;
            let _ = w.shutdown().await;
        }
        if let Some(h) = self.reader.take() {
            h.abort();
            let _ = h.await;
        }
    }
}

impl Drop for RpcConn {
    /// Dropping the connection aborts the reader task (which owns the read
    /// half); the write half is dropped with `self`, closing the socket.
    fn drop(&mut self) {
        if let Some(h) = self.reader.take() {
            h.abort();
        }
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic in another test task must not cascade into poison panics here.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Turn a response object into the `call` result, panicking on malformed
/// responses (a protocol bug the tests must notice).
fn parse_response(method: &str, id: u64, v: Value) -> Result<Value, RpcError> {
    if v.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        panic!("response to `{method}` (id {id}) lacks \"jsonrpc\": \"2.0\": {v}");
    }
    match (v.get("result"), v.get("error")) {
        (Some(result), None) => Ok(result.clone()),
        (None, Some(err)) => Err(RpcError::from_value(err).unwrap_or_else(|| {
            panic!("response to `{method}` (id {id}) has a malformed error object: {v}")
        })),
        _ => panic!("response to `{method}` (id {id}) must have exactly one of result/error: {v}"),
    }
}

/// Reads NDJSON lines until EOF and routes each message (see module docs).
async fn reader_task(
    read_half: OwnedReadHalf,
    shared: Arc<Shared>,
    notif_tx: mpsc::UnboundedSender<Value>,
    raw_tx: mpsc::UnboundedSender<Value>,
    closed_tx: watch::Sender<bool>,
    trace: bool,
) {
    let mut reader = BufReader::new(read_half);
    let mut buf = Vec::new();
    let violation = |s: String| {
        if trace {
            eprintln!("[rpc !!] {s}");
        }
        lock(&shared.violations).push(s);
    };
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                if trace {
                    eprintln!("[rpc !!] read error: {e}");
                }
                break;
            }
        }
        if trace {
            eprintln!("[rpc <-] {}", String::from_utf8_lossy(&buf).trim_end());
        }
        if buf.last() != Some(&b'\n') {
            violation(format!(
                "final line not terminated by \\n: {}",
                String::from_utf8_lossy(&buf)
            ));
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            violation("empty line".to_owned());
            continue;
        }
        let v: Value = match serde_json::from_slice(&buf) {
            Ok(v) => v,
            Err(e) => {
                violation(format!(
                    "line is not JSON ({e}): {}",
                    String::from_utf8_lossy(&buf).trim_end()
                ));
                continue;
            }
        };
        route(v, &shared, &notif_tx, &raw_tx, &violation);
    }
    // Mark closed and fail every pending call promptly by dropping its sender.
    let waiters = {
        let mut p = lock(&shared.pending);
        p.closed = true;
        std::mem::take(&mut p.waiters)
    };
    drop(waiters);
    let _ = closed_tx.send(true);
}

fn route(
    v: Value,
    shared: &Shared,
    notif_tx: &mpsc::UnboundedSender<Value>,
    raw_tx: &mpsc::UnboundedSender<Value>,
    violation: &dyn Fn(String),
) {
    let Some(obj) = v.as_object() else {
        if !v.is_array() {
            violation(format!("message is neither an object nor a batch: {v}"));
        }
        // Batch responses (arrays) can only answer raw lines.
        let _ = raw_tx.send(v);
        return;
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        violation(format!("message lacks \"jsonrpc\": \"2.0\": {v}"));
    }
    if obj.contains_key("method") {
        // A notification — or, if it has an id, a server-to-client request,
        // which the tests also want to see in order with notifications.
        let _ = notif_tx.send(v);
        return;
    }
    let Some(id) = obj.get("id") else {
        violation(format!("message has neither method nor id: {v}"));
        let _ = raw_tx.send(v);
        return;
    };
    let waiter = id
        .as_u64()
        .and_then(|id| lock(&shared.pending).waiters.remove(&id));
    match waiter {
        Some(tx) => {
            // If the caller gave up in the meantime, keep the message visible.
            if let Err(v) = tx.send(v) {
                let _ = raw_tx.send(v);
            }
        }
        None => {
            let _ = raw_tx.send(v);
        }
    }
}

/// Standard base64 (with padding), as used for bodies in the protocol.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decode standard base64; panics with the offending input if invalid.
pub fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("invalid base64 {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A tiny in-process fake daemon: answers every request after a delay
    /// that makes responses come back out of order, and emits a
    /// notification before each answer.
    async fn fake_pair() -> (RpcConn, JoinHandle<()>) {
        let (a, b) = UnixStream::pair().expect("socketpair");
        let server = tokio::spawn(async move {
            let (r, w) = b.into_split();
            let w = Arc::new(Mutex::new(w));
            let mut lines = BufReader::new(r).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let w = w.clone();
                tokio::spawn(async move {
                    let reply = match serde_json::from_str::<Value>(&line) {
                        Err(_) => json!({"jsonrpc":"2.0","id":null,
                            "error":{"code":-32700,"message":"Parse error"}})
                        .to_string(),
                        Ok(req) => {
                            let delay = req["params"]["delay_ms"].as_u64().unwrap_or(0);
                            tokio::time::sleep(Duration::from_millis(delay)).await;
                            let note = json!({"jsonrpc":"2.0","method":"note",
                                "params":{"for":req["id"]}});
                            let body = if req["method"] == "fail" {
                                json!({"jsonrpc":"2.0","id":req["id"],
                                    "error":{"code":-1,"message":"boom","data":{"x":1}}})
                            } else {
                                json!({"jsonrpc":"2.0","id":req["id"],"result":req["params"]})
                            };
                            format!("{note}\n{body}")
                        }
                    };
                    let mut w = w.lock().await;
                    let _ = w.write_all(format!("{reply}\n").as_bytes()).await;
                });
            }
        });
        (RpcConn::from_stream(a), server)
    }

    #[tokio::test]
    async fn out_of_order_calls_and_notifications() {
        let (conn, _server) = fake_pair().await;
        let conn = Arc::new(conn);
        let slow = {
            let c = conn.clone();
            tokio::spawn(async move { c.call("echo", json!({"delay_ms": 300, "n": 1})).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let fast = conn.call("echo", json!({"delay_ms": 0, "n": 2})).await;
        assert_eq!(fast.expect("fast")["n"], 2);
        assert!(!slow.is_finished());
        assert_eq!(slow.await.expect("join").expect("slow")["n"], 1);

        let err = conn.call("fail", json!({})).await.expect_err("fail");
        assert_eq!(err.code, -1);
        assert_eq!(err.data, Some(json!({"x": 1})));
        assert!(err.to_string().contains("boom"));

        let first = conn
            .next_notification(Duration::from_secs(1))
            .await
            .expect("note");
        assert_eq!(first["method"], "note");
        assert_eq!(conn.drain_notifications().await.len(), 2);
        assert!(
            conn.next_notification(Duration::from_millis(20))
                .await
                .is_none()
        );
        assert!(conn.protocol_violations().is_empty());
    }

    #[tokio::test]
    async fn raw_lines_mixed_with_calls() {
        let (conn, _server) = fake_pair().await;
        conn.send_raw(b"{not json\n").await;
        let r = conn
            .next_raw_response(Duration::from_secs(2))
            .await
            .expect("parse error");
        assert_eq!(r["error"]["code"], -32700);
        assert!(r["id"].is_null());

        conn.send_raw(br#"{"jsonrpc":"2.0","id":"raw-1","method":"echo","params":{"k":1}}"#)
            .await;
        conn.send_raw(b"\n").await;
        let ok = conn.call("echo", json!({"k": 2})).await.expect("call");
        assert_eq!(ok["k"], 2);
        let r = conn
            .next_raw_response(Duration::from_secs(2))
            .await
            .expect("raw");
        assert_eq!(r["id"], "raw-1");

        // wait_for_notification keeps skipped notifications.
        let n = conn
            .wait_for_notification(Duration::from_secs(1), |v| v["params"]["for"] == "raw-1")
            .await
            .expect("note for raw-1");
        assert_eq!(n["method"], "note");
        assert_eq!(conn.drain_notifications().await.len(), 1);
    }

    #[tokio::test]
    async fn timeout_then_late_response_goes_raw() {
        let (conn, _server) = fake_pair().await;
        let r = conn
            .call_timeout("echo", json!({"delay_ms": 200}), Duration::from_millis(20))
            .await;
        assert!(r.is_none());
        let late = conn
            .next_raw_response(Duration::from_secs(2))
            .await
            .expect("late");
        assert_eq!(late["result"]["delay_ms"], 200);
    }

    #[tokio::test]
    async fn peer_close_is_observed_and_violations_recorded() {
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        let conn = RpcConn::from_stream(a);
        b.write_all(b"garbage\n{\"id\":5,\"result\":1}\n")
            .await
            .expect("write");
        drop(b);
        assert!(conn.wait_closed(Duration::from_secs(2)).await);
        let v = conn.protocol_violations();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(
            conn.next_raw_response(Duration::from_secs(1))
                .await
                .expect("raw")["id"],
            5
        );
    }

    #[tokio::test]
    async fn close_sends_eof() {
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        let conn = RpcConn::from_stream(a);
        conn.notify("hello", Value::Null).await;
        conn.close().await;
        let mut s = String::new();
        b.read_to_string(&mut s).await.expect("read");
        assert_eq!(s, "{\"jsonrpc\":\"2.0\",\"method\":\"hello\"}\n");
    }

    #[test]
    fn base64_roundtrip() {
        assert_eq!(b64(b"hi\x00\xff"), "aGkA/w==");
        assert_eq!(unb64("aGkA/w=="), b"hi\x00\xff");
    }
}
