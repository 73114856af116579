//! The connection to the daemon: NDJSON JSON-RPC over its Unix socket.
//!
//! One writer task owns the socket's write half and takes lines from a bounded channel;
//! one reader task matches answers to waiting calls by id and hands status callbacks to
//! their subscription's [`Route`]. Closes requested by `Drop` (which cannot await) go into
//! a list the writer drains before its next line: that list holds at most one entry per
//! live handle or subscription, so it is bounded by what the program holds.

use crate::error::{Error, Result};
use crate::route::{Notifications, Route, lock};
use hinet_protocol::callback::{
    SET_STATUS_CALLBACK, STATUS_CALLBACK, SetStatusCallbackParams, StatusCallbackParams,
    UNSET_STATUS_CALLBACK, UnsetStatusCallbackParams,
};
use hinet_protocol::{CloseHandleParams, HinetStatus, Method, StatusParams, StatusResult};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Lines waiting for the writer; a caller beyond this waits for room.
const OUTBOUND_LINES: usize = 64;
/// The longest line accepted from the daemon (its answers stay below 33 MiB).
const MAX_LINE: u64 = 64 * 1024 * 1024;

/// A connection to hinetd. Cheap to clone: clones share the connection.
///
/// Handles belong to the connection that created them: when the last clone of the client
/// and every handle object are dropped, the socket closes and the daemon closes whatever
/// was left open.
///
/// ```no_run
/// # async fn demo() -> hinet_client::Result<()> {
/// let client = hinet_client::Client::connect_default().await?;
/// let status = client.status().await?;
/// println!("{} client connections", status.connections);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    socket: PathBuf,
    tx: mpsc::Sender<Vec<u8>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
    reader: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The writer ends by itself when `tx` goes; the reader would wait for the daemon.
        self.reader.abort();
    }
}

/// State the reader and writer tasks share with the client.
pub(crate) struct Shared {
    state: Mutex<State>,
    deferred: Mutex<Vec<Deferred>>,
    wake: Notify,
}

#[derive(Default)]
struct State {
    pending: HashMap<u64, Pending>,
    /// By subscription id.
    routes: HashMap<u64, Arc<Route>>,
    /// Why the connection ended, once it has.
    closed: Option<String>,
}

enum Pending {
    Call(oneshot::Sender<Result<Value>>),
    /// A WinHttpSetStatusCallback: the reader installs the route as it reads the answer,
    /// before the next line, so no notification of the new subscription can miss it.
    Subscribe(Arc<Route>, oneshot::Sender<Result<Value>>),
}

/// Messages sent without waiting for an answer, on behalf of `Drop`.
pub(crate) enum Deferred {
    Close(u64),
    Unset(u64),
}

impl Shared {
    pub(crate) fn defer(&self, d: Deferred) {
        lock(&self.deferred).push(d);
        self.wake.notify_one();
    }

    /// Fails every waiting call and ends every subscription.
    fn shut_down(&self, reason: String) {
        let (pending, routes) = {
            let mut st = lock(&self.state);
            st.closed.get_or_insert(reason.clone());
            (
                std::mem::take(&mut st.pending),
                std::mem::take(&mut st.routes),
            )
        };
        for p in pending.into_values() {
            let tx = match p {
                Pending::Call(tx) | Pending::Subscribe(_, tx) => tx,
            };
            let _ = tx.send(Err(Error::Disconnected {
                reason: reason.clone(),
            }));
        }
        for route in routes.into_values() {
            route.end();
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("socket", &self.inner.socket)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the daemon listening on `socket`.
    pub async fn connect(socket: impl AsRef<Path>) -> Result<Client> {
        let path = socket.as_ref().to_path_buf();
        let stream = UnixStream::connect(&path)
            .await
            .map_err(|source| Error::Connect {
                path: path.clone(),
                source,
            })?;
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            deferred: Mutex::new(Vec::new()),
            wake: Notify::new(),
        });
        let (tx, rx) = mpsc::channel(OUTBOUND_LINES);
        tokio::spawn(writer(rx, write, shared.clone()));
        let reader = tokio::spawn(reader(read, shared.clone()));
        Ok(Client {
            inner: Arc::new(Inner {
                socket: path,
                tx,
                shared,
                next_id: AtomicU64::new(1),
                reader,
            }),
        })
    }

    /// Connects to the daemon on its default socket ([`crate::socket_path`]).
    pub async fn connect_default() -> Result<Client> {
        Client::connect(crate::socket_path()).await
    }

    /// The socket this client is connected to.
    pub fn socket(&self) -> &Path {
        &self.inner.socket
    }

    /// Calls one method with its typed params and result.
    ///
    /// ```no_run
    /// use hinet_client::protocol::{CrackUrlParams, WinHttpCrackUrl};
    /// # async fn demo(client: hinet_client::Client) -> hinet_client::Result<()> {
    /// let parts = client
    ///     .call::<WinHttpCrackUrl>(&CrackUrlParams {
    ///         url: "https://example.com:8443/a?b".into(),
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// assert_eq!(parts.port, 8443);
    /// # Ok(()) }
    /// ```
    pub async fn call<M: Method>(&self, params: &M::Params) -> Result<M::Result> {
        let result = self.call_accepted::<M>(params).await?;
        serde_json::from_value(result).map_err(|e| Error::Unexpected {
            method: M::NAME.to_owned(),
            detail: e.to_string(),
        })
    }

    /// Calls a method with typed params and returns its untyped answer: an async session's
    /// operations answer `{}` rather than their result type.
    pub(crate) async fn call_accepted<M: Method>(&self, params: &M::Params) -> Result<Value> {
        let params = serde_json::to_value(params).map_err(|e| Error::Unexpected {
            method: M::NAME.to_owned(),
            detail: format!("cannot encode the params: {e}"),
        })?;
        self.call_json(M::NAME, params).await
    }

    /// Calls any method with untyped JSON params (`Value::Null` sends none) and returns
    /// the untyped result.
    pub async fn call_json(&self, method: &str, params: Value) -> Result<Value> {
        self.request(method, params, None).await
    }

    /// The daemon's counters (`HinetStatus`).
    pub async fn status(&self) -> Result<StatusResult> {
        self.call::<HinetStatus>(&StatusParams {}).await
    }

    /// Installs a status callback on any handle of this client (`WinHttpSetStatusCallback`)
    /// and returns its notifications. The callback replaces the handle's previous one;
    /// dropping the stream removes it again (`WinHttpUnsetStatusCallback`).
    ///
    /// In an async session, use [`crate::Session::notifications`] instead: the session's
    /// own callback carries the completions its operations wait for.
    pub async fn subscribe(&self, handle: u64, mask: u32) -> Result<Notifications> {
        let route = Route::new(handle);
        let sub = self.install(handle, mask, route.clone()).await?;
        let mut stream = route.tap(u32::MAX);
        let shared = Arc::downgrade(&self.inner.shared);
        stream.on_drop = Some(Box::new(move || {
            if let Some(shared) = shared.upgrade() {
                shared.defer(Deferred::Unset(sub));
            }
        }));
        Ok(stream)
    }

    /// WinHttpSetStatusCallback with `route` receiving its notifications; the subscription id.
    pub(crate) async fn install(&self, handle: u64, mask: u32, route: Arc<Route>) -> Result<u64> {
        let params = serde_json::to_value(SetStatusCallbackParams {
            handle,
            notification_flags: mask,
        })
        .unwrap_or(Value::Null);
        let id = self
            .request(SET_STATUS_CALLBACK, params, Some(route))
            .await?;
        id.as_u64().ok_or_else(|| Error::Unexpected {
            method: SET_STATUS_CALLBACK.to_owned(),
            detail: format!("subscription id {id} is not an integer"),
        })
    }

    /// Closes `handle` (and its subtree) and waits for the answer.
    pub(crate) async fn close_handle(&self, handle: u64) -> Result<()> {
        self.call::<hinet_protocol::WinHttpCloseHandle>(&CloseHandleParams { handle })
            .await
            .map(|_| ())
    }

    /// Queues a message for the writer without waiting (for `Drop`).
    pub(crate) fn defer(&self, d: Deferred) {
        self.inner.shared.defer(d);
    }

    async fn request(
        &self,
        method: &str,
        params: Value,
        route: Option<Arc<Route>>,
    ) -> Result<Value> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut st = lock(&self.inner.shared.state);
            if let Some(reason) = &st.closed {
                return Err(Error::Disconnected {
                    reason: reason.clone(),
                });
            }
            let entry = match route {
                Some(r) => Pending::Subscribe(r, tx),
                None => Pending::Call(tx),
            };
            st.pending.insert(id, entry);
        }
        let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            msg["params"] = params;
        }
        let mut line = msg.to_string().into_bytes();
        line.push(b'\n');
        if self.inner.tx.send(line).await.is_err() {
            lock(&self.inner.shared.state).pending.remove(&id);
            return Err(self.disconnected());
        }
        // If this future is dropped here, the reader still removes the entry when the
        // answer comes.
        rx.await.unwrap_or_else(|_| Err(self.disconnected()))
    }

    /// Why the connection ended, if it has.
    pub(crate) fn closed_reason(&self) -> Option<String> {
        lock(&self.inner.shared.state).closed.clone()
    }

    fn disconnected(&self) -> Error {
        let reason = lock(&self.inner.shared.state)
            .closed
            .clone()
            .unwrap_or_else(|| "the connection closed".to_owned());
        Error::Disconnected { reason }
    }
}

async fn writer(mut rx: mpsc::Receiver<Vec<u8>>, mut w: OwnedWriteHalf, shared: Arc<Shared>) {
    loop {
        // Deferred closes first: a handle dropped before a later call was made is closed
        // before that call is sent.
        let deferred = std::mem::take(&mut *lock(&shared.deferred));
        for d in deferred {
            // Notifications (no id): the daemon runs them and sends no answer.
            let msg = match d {
                Deferred::Close(handle) => json!({"jsonrpc": "2.0",
                    "method": hinet_protocol::WinHttpCloseHandle::NAME,
                    "params": CloseHandleParams { handle }}),
                Deferred::Unset(subscription) => json!({"jsonrpc": "2.0",
                    "method": UNSET_STATUS_CALLBACK,
                    "params": UnsetStatusCallbackParams { subscription }}),
            };
            let mut line = msg.to_string().into_bytes();
            line.push(b'\n');
            if let Err(e) = w.write_all(&line).await {
                shared.shut_down(format!("writing to hinetd failed: {e}"));
                return;
            }
        }
        tokio::select! {
            biased;
            _ = shared.wake.notified() => {}
            line = rx.recv() => match line {
                Some(line) => {
                    if let Err(e) = w.write_all(&line).await {
                        shared.shut_down(format!("writing to hinetd failed: {e}"));
                        return;
                    }
                }
                // Every clone of the client is gone: close our side.
                None => return,
            },
        }
    }
}

async fn reader(read: OwnedReadHalf, shared: Arc<Shared>) {
    let mut lines = BufReader::new(read);
    let mut buf = Vec::new();
    let reason = loop {
        buf.clear();
        match (&mut lines)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) => break "hinetd closed the connection".to_owned(),
            Ok(_) if buf.last() != Some(&b'\n') => {
                break if buf.len() as u64 >= MAX_LINE {
                    format!("hinetd sent a line longer than {MAX_LINE} bytes")
                } else {
                    "hinetd closed the connection in the middle of a message".to_owned()
                };
            }
            Ok(_) => dispatch(&shared, &buf),
            Err(e) => break format!("reading from hinetd failed: {e}"),
        }
    };
    shared.shut_down(reason);
}

/// Routes one line from the daemon. Lines this client cannot use are skipped: the daemon
/// only sends answers and status callbacks.
fn dispatch(shared: &Shared, line: &[u8]) {
    let Ok(mut msg) = serde_json::from_slice::<Value>(line) else {
        return;
    };
    if msg.get("method").and_then(Value::as_str) == Some(STATUS_CALLBACK) {
        let Some(params) = msg.get_mut("params").map(Value::take) else {
            return;
        };
        let Ok(p) = serde_json::from_value::<StatusCallbackParams>(params) else {
            return;
        };
        let route = lock(&shared.state).routes.get(&p.subscription).cloned();
        if let Some(route) = route
            && route.deliver(p.result)
        {
            lock(&shared.state).routes.remove(&p.subscription);
        }
        return;
    }
    let Some(id) = msg.get("id").and_then(Value::as_u64) else {
        return;
    };
    let reply = match msg.get("error") {
        Some(err) => Err(Error::from_rpc(err)),
        None => Ok(msg.get_mut("result").map(Value::take).unwrap_or_default()),
    };
    let mut st = lock(&shared.state);
    match st.pending.remove(&id) {
        Some(Pending::Call(tx)) => {
            drop(st);
            let _ = tx.send(reply);
        }
        Some(Pending::Subscribe(route, tx)) => {
            if let Ok(sub) = &reply
                && let Some(sub) = sub.as_u64()
            {
                st.routes.insert(sub, route);
            }
            drop(st);
            let _ = tx.send(reply);
        }
        None => {}
    }
}
