//! NDJSON framing on a Unix socket: one JSON text per line, both ways.
//!
//! jsonrpsee has no stream transport, so this module does what its WebSocket transport
//! does, on its public parts: parse, dispatch through [`Methods`], and write responses and
//! subscription notifications from one bounded queue per connection. Each message runs as
//! its own task, so a slow call never holds up a fast one; responses carry their ids and may
//! come out of order.
//!
//! Backpressure: the outbound queue is bounded, calls per connection are bounded (reading
//! the socket pauses beyond), and a line longer than the limit is answered with an error and
//! skipped without being buffered.

use super::ConnectionInfo;
use crate::quota::Account;
use crate::state::Daemon;
use crate::stats::Stats;
use bytes::BytesMut;
use jsonrpsee::core::server::helpers::prepare_error;
use jsonrpsee::core::server::{
    BoundedSubscriptions, MethodCallback, MethodResponse, MethodSink, Methods, SubscriptionState,
};
use jsonrpsee::server::RandomIntegerIdProvider;
use jsonrpsee::types::error::{ErrorCode, reject_too_big_batch_request, reject_too_big_request};
use jsonrpsee::types::{ErrorObject, Id, Notification, Params, Request};
use jsonrpsee::{ConnectionId, Extensions};
use serde_json::value::RawValue;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// The most entries one batch may hold.
pub(super) const MAX_BATCH: usize = 1024;
/// The most status-callback subscriptions one connection may hold.
pub(super) const MAX_SUBSCRIPTIONS: u32 = 4096;

/// What every task serving one connection shares.
struct Conn {
    methods: Methods,
    info: ConnectionInfo,
    sink: MethodSink,
    subscriptions: BoundedSubscriptions,
    id_provider: RandomIntegerIdProvider,
    max_response: usize,
}

/// Serves one client connection until it closes, then closes every handle it left open.
///
/// On `shutdown` it stops reading, closes the client's handles (their subscribers get
/// REQUEST_ERROR 12017 for cancelled operations, then HANDLE_CLOSING) and writes out
/// everything queued before closing the socket.
pub async fn serve_connection(
    stream: UnixStream,
    methods: Methods,
    daemon: Arc<Daemon>,
    account: Arc<Account>,
    shutdown: CancellationToken,
) {
    // The same socket also speaks HTTP and WebSocket (see `ws`); the first byte tells.
    if super::ws::is_http(&stream, &shutdown).await {
        return super::ws::serve_connection(stream, methods, daemon, account, shutdown).await;
    }
    let client = account.client;
    let limits = daemon.limits.clone();
    daemon.handles.register(account.clone());
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Box<RawValue>>(limits.outbound_queue);
    // Not a child of `shutdown`: a shutdown drains the queue, a kill abandons it.
    let kill = CancellationToken::new();
    let writer = tokio::spawn(write_loop(
        write,
        rx,
        kill.clone(),
        daemon.stats.clone(),
        account.clone(),
    ));
    let max_response = limits.max_read * 2 + 64 * 1024;
    let conn = Arc::new(Conn {
        methods,
        info: ConnectionInfo {
            client,
            kill: kill.clone(),
            meters_bytes: true,
        },
        sink: MethodSink::new_with_limit(tx.clone(), max_response as u32),
        subscriptions: BoundedSubscriptions::new(MAX_SUBSCRIPTIONS),
        id_provider: RandomIntegerIdProvider,
        max_response,
    });
    let calls = Arc::new(Semaphore::new(limits.calls_in_flight));
    let mut lines = LineReader::new(read, limits.max_message, daemon.stats.clone());
    loop {
        let line = tokio::select! {
            _ = kill.cancelled() => break,
            _ = shutdown.cancelled() => break,
            line = lines.next() => line,
        };
        let text = match line {
            Line::End => break,
            Line::TooLong => {
                let rp = MethodResponse::error(
                    Id::Null,
                    reject_too_big_request(limits.max_message as u32),
                );
                if tx.send(rp.into_json()).await.is_err() {
                    break;
                }
                continue;
            }
            Line::Text(t) => t,
        };
        let permit = tokio::select! {
            _ = kill.cancelled() => break,
            _ = shutdown.cancelled() => break,
            p = calls.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        if installs_callback(&text) {
            // Runs before the next line is read: once the client has the subscription id,
            // every later call of this client finds the callback live, and a HANDLE_CREATED
            // it raises precedes that call's answer.
            if let Some(rp) = handle_message(&conn, &text).await {
                account.queue_bytes(rp.get().len() + 1);
                let _ = tx.send(rp).await;
            }
            drop(permit);
            continue;
        }
        let conn = conn.clone();
        let tx = tx.clone();
        let account = account.clone();
        tokio::spawn(async move {
            if let Some(rp) = handle_message(&conn, &text).await {
                // Answers are counted but never refused: their number is bounded by the
                // calls in flight, and body reads pause while the budget is half used.
                account.queue_bytes(rp.get().len() + 1);
                let _ = tx.send(rp).await;
            }
            drop(permit);
        });
    }
    // The client is gone (or too slow, or the daemon stops): cancel its work and close its
    // handles, so nothing it opened outlives it. Unregistered first, so a call still running
    // cannot add a handle after the close.
    daemon.handles.unregister(client);
    daemon.handles.close_all(client);
    if !shutdown.is_cancelled() {
        kill.cancel();
    }
    drop(tx);
    drop(conn);
    let _ = writer.await;
    tracing::debug!(client = client.0, "connection closed");
}

/// Writes queued messages until every sender is gone (then everything queued is out) or
/// `kill` fires.
async fn write_loop(
    write: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Box<RawValue>>,
    kill: CancellationToken,
    stats: Arc<Stats>,
    account: Arc<Account>,
) {
    let mut out = BufWriter::with_capacity(64 * 1024, write);
    loop {
        let msg = tokio::select! {
            m = rx.recv() => m,
            _ = kill.cancelled() => None,
        };
        let Some(msg) = msg else { break };
        if write_one(&mut out, &msg, &stats).await.is_err() {
            break;
        }
        account.wrote_bytes(msg.get().len() + 1);
        // Batch what is already queued into one flush.
        while let Ok(more) = rx.try_recv() {
            if write_one(&mut out, &more, &stats).await.is_err() {
                kill.cancel();
                return;
            }
            account.wrote_bytes(more.get().len() + 1);
        }
        if out.flush().await.is_err() {
            break;
        }
    }
    kill.cancel();
    let _ = out.shutdown().await;
}

async fn write_one(
    out: &mut BufWriter<OwnedWriteHalf>,
    msg: &RawValue,
    stats: &Stats,
) -> std::io::Result<()> {
    out.write_all(msg.get().as_bytes()).await?;
    out.write_all(b"\n").await?;
    Stats::add(&stats.bytes_out, msg.get().len() as u64 + 1);
    Ok(())
}

/// Whether a line (call or batch) sets a status callback. A textual test, because it runs
/// on every line (a WriteData line can be megabytes): memchr's vectorised search, no parse.
/// A false positive only costs concurrency for that one line.
fn installs_callback(text: &[u8]) -> bool {
    memchr::memmem::find(
        text,
        hinet_protocol::callback::SET_STATUS_CALLBACK.as_bytes(),
    )
    .is_some()
}

/// Answers one line: a call, a notification or a batch. None when nothing is to be sent
/// (notifications, and subscriptions, which answer through the sink themselves).
async fn handle_message(conn: &Conn, text: &[u8]) -> Option<Box<RawValue>> {
    let Ok(text) = std::str::from_utf8(text) else {
        return Some(
            MethodResponse::error(Id::Null, ErrorObject::from(ErrorCode::ParseError)).into_json(),
        );
    };
    let trimmed = text.trim_start();
    let rp = if trimmed.starts_with('[') {
        batch(conn, trimmed).await
    } else {
        single(conn, trimmed).await?
    };
    (rp.is_method_call() || rp.is_batch()).then(|| rp.into_json())
}

fn extensions(conn: &Conn) -> Extensions {
    let mut ext = Extensions::new();
    ext.insert(conn.info.clone());
    ext
}

async fn single(conn: &Conn, text: &str) -> Option<MethodResponse> {
    if let Ok(req) = serde_json::from_str::<Request>(text) {
        return Some(call(conn, req).await);
    }
    if let Some(n) = as_notification(text) {
        notify(conn, n).await;
        return None;
    }
    Some(reject(text))
}

/// A notification is a call with no `id` member at all; a call whose id is not a string,
/// an unsigned integer or null is an invalid request, not a notification.
fn as_notification(text: &str) -> Option<Notification<'_, Option<&RawValue>>> {
    let n = serde_json::from_str::<Notification<Option<&RawValue>>>(text).ok()?;
    let members =
        serde_json::from_str::<std::collections::HashMap<String, serde::de::IgnoredAny>>(text)
            .ok()?;
    (!members.contains_key("id")).then_some(n)
}

/// The answer to a line that is neither a call nor a notification: -32600 (with its id when
/// one can be read) if it is JSON at all, such as `{"foo":1}` or `42`; -32700 if it is not.
fn reject(text: &str) -> MethodResponse {
    let (id, code) = prepare_error(text.as_bytes());
    let code = match code {
        ErrorCode::ParseError if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => {
            ErrorCode::InvalidRequest
        }
        code => code,
    };
    MethodResponse::error(id, ErrorObject::from(code))
}

async fn batch(conn: &Conn, text: &str) -> MethodResponse {
    let Ok(entries) = serde_json::from_str::<Vec<&RawValue>>(text) else {
        return MethodResponse::error(Id::Null, ErrorObject::from(ErrorCode::ParseError));
    };
    if entries.is_empty() {
        return MethodResponse::error(Id::Null, ErrorObject::from(ErrorCode::InvalidRequest));
    }
    if entries.len() > MAX_BATCH {
        return MethodResponse::error(Id::Null, reject_too_big_batch_request(MAX_BATCH));
    }
    let mut answers = super::BatchAnswers::new(conn.max_response);
    for entry in entries {
        let rp = if let Ok(req) = serde_json::from_str::<Request>(entry.get()) {
            call(conn, req).await
        } else if let Some(n) = as_notification(entry.get()) {
            notify(conn, n).await;
            continue;
        } else {
            let id = serde_json::from_str::<jsonrpsee::types::InvalidRequest>(entry.get())
                .map(|e| e.id.into_owned())
                .unwrap_or(Id::Null);
            MethodResponse::error(id, ErrorObject::from(ErrorCode::InvalidRequest))
        };
        if let Err(too_big) = answers.add(rp) {
            return too_big;
        }
    }
    answers.finish()
}

/// Runs a notification (a call without an id) for its effect; its answer is dropped.
/// Subscriptions need an id to be answered with, so as notifications they do nothing.
async fn notify(conn: &Conn, n: Notification<'_, Option<&RawValue>>) {
    if matches!(
        conn.methods.method_with_name(&n.method),
        Some((_, MethodCallback::Subscription(_)))
    ) {
        return;
    }
    let req = Request::owned(
        n.method.into_owned(),
        n.params.map(|p| p.to_owned()),
        Id::Null,
    );
    let _ = call(conn, req).await;
}

async fn call(conn: &Conn, req: Request<'_>) -> MethodResponse {
    let conn_id = ConnectionId(conn.info.client.0 as usize);
    let id = req.id.into_owned();
    // Absent params are an empty named-params object: every member takes its default, and
    // a method with a required member says which one is missing (-32602).
    let params = Params::new(Some(req.params.as_ref().map_or("{}", |p| p.get()))).into_owned();
    let ext = extensions(conn);
    if req.method == super::UNSUBSCRIBE_INTERNAL {
        // jsonrpsee needs an unsubscribe method; clients use WinHttpUnsetStatusCallback.
        return MethodResponse::error(id, ErrorObject::from(ErrorCode::MethodNotFound));
    }
    let Some((_, method)) = conn.methods.method_with_name(&req.method) else {
        return MethodResponse::error(id, ErrorObject::from(ErrorCode::MethodNotFound));
    };
    match method {
        MethodCallback::Async(cb) => cb(id, params, conn_id, conn.max_response, ext).await,
        MethodCallback::Sync(cb) => cb(id, params, conn.max_response, ext),
        MethodCallback::Subscription(cb) => match conn.subscriptions.acquire() {
            Some(permit) => {
                let state = SubscriptionState {
                    conn_id,
                    id_provider: &conn.id_provider,
                    subscription_permit: permit,
                };
                cb(id, params, conn.sink.clone(), state, ext).await
            }
            None => MethodResponse::error(
                id,
                jsonrpsee::types::error::reject_too_many_subscriptions(MAX_SUBSCRIPTIONS),
            ),
        },
        MethodCallback::Unsubscription(cb) => cb(id, params, conn_id, conn.max_response, ext),
    }
}

/// One framed input line.
enum Line {
    Text(Vec<u8>),
    /// A line over the limit was skipped.
    TooLong,
    End,
}

/// Splits the input at `\n` without ever holding more than `max` bytes of one line.
struct LineReader<R> {
    read: R,
    buf: BytesMut,
    /// Bytes of `buf` known to hold no newline.
    scanned: usize,
    max: usize,
    /// Inside an over-long line: drop input up to the next newline.
    discarding: bool,
    stats: Arc<Stats>,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(read: R, max: usize, stats: Arc<Stats>) -> Self {
        LineReader {
            read,
            buf: BytesMut::with_capacity(64 * 1024),
            scanned: 0,
            max,
            discarding: false,
            stats,
        }
    }

    async fn next(&mut self) -> Line {
        loop {
            if let Some(pos) = self.buf[self.scanned..].iter().position(|b| *b == b'\n') {
                let end = self.scanned + pos;
                let line = self.buf.split_to(end + 1);
                self.scanned = 0;
                if self.discarding {
                    self.discarding = false;
                    continue;
                }
                if end > self.max {
                    return Line::TooLong;
                }
                let line = &line[..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Line::Text(line.to_vec());
            }
            self.scanned = self.buf.len();
            if self.buf.len() > self.max {
                self.buf.clear();
                self.scanned = 0;
                if !self.discarding {
                    self.discarding = true;
                    return Line::TooLong;
                }
            }
            if self.discarding {
                self.buf.clear();
                self.scanned = 0;
            }
            self.buf.reserve(64 * 1024);
            match self.read.read_buf(&mut self.buf).await {
                Ok(0) | Err(_) => return Line::End,
                Ok(n) => Stats::add(&self.stats.bytes_in, n as u64),
            }
        }
    }
}
