//! HTTP and WebSocket framing on the same socket as NDJSON.
//!
//! A connection whose first byte is an ASCII capital letter (`GET `, `POST `) speaks HTTP/1.1;
//! no JSON text starts with one, so NDJSON clients are never mistaken for it. On such a
//! connection jsonrpsee's own server pieces serve the same [`Methods`]:
//!
//! - `GET` with `Upgrade: websocket`: JSON-RPC over WebSocket, one JSON text per message,
//!   calls, batches and status-callback subscriptions alike.
//! - `POST` of a JSON-RPC call or batch (any content type: `curl -d` labels its body as a
//!   form): calls only, as plain HTTP cannot carry notifications.
//!
//! The whole Unix connection is one client, like an NDJSON connection: one handle namespace
//! shared by every HTTP request and WebSocket session on it, all of it closed when the
//! connection ends. Handles created by a one-shot `curl` therefore die with its connection.
//!
//! jsonrpsee's `serve*` helpers would close a connection that sends no request within 30 s;
//! hyper's connection is driven here directly, so an idle connection stays open, as an idle
//! NDJSON connection does.

use super::flow::Paced;
use super::transport::{MAX_BATCH, MAX_SUBSCRIPTIONS};
use super::{ConnectionInfo, UNSUBSCRIBE_INTERNAL};
use crate::quota::Account;
use crate::state::{Daemon, Limits};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use jsonrpsee::core::middleware::{
    Batch, BatchEntry, Notification, RpcServiceBuilder, RpcServiceT,
};
use jsonrpsee::core::server::{MethodCallback, MethodResponse, Methods};
use jsonrpsee::server::{
    BatchRequestConfig, ConnectionGuard, ConnectionState, HttpResponse, ServerConfig, StopHandle,
    http, stop_channel, ws,
};
use jsonrpsee::types::error::ErrorCode;
use jsonrpsee::types::{ErrorObject, Id, Request, TwoPointZero};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use tokio::io::Interest;
use tokio::net::UnixStream;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Whether a new connection speaks HTTP: its first byte, peeked without consuming it, is
/// an ASCII capital letter. False on end of stream, an error or shutdown; the NDJSON path
/// then sees the same end.
pub async fn is_http(stream: &UnixStream, shutdown: &CancellationToken) -> bool {
    loop {
        let ready = tokio::select! {
            _ = shutdown.cancelled() => return false,
            r = stream.readable() => r,
        };
        if ready.is_err() {
            return false;
        }
        match stream.try_io(Interest::READABLE, || crate::sys::peek_byte(stream)) {
            Ok(Some(first)) => return first.is_ascii_uppercase(),
            Ok(None) => return false,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return false,
        }
    }
}

/// What every request on one connection shares.
#[derive(Clone)]
struct Shared {
    methods: Methods,
    config: ServerConfig,
    info: ConnectionInfo,
    conn_id: u32,
    stop: StopHandle,
    /// One permit per HTTP request or WebSocket session running at once.
    guard: ConnectionGuard,
    /// One permit per call running at once, over every request and session.
    calls: Arc<Semaphore>,
    max_response: usize,
    /// Held by every WebSocket session; the connection ends when all are dropped.
    sessions: mpsc::Sender<()>,
}

/// Serves one HTTP connection until it and every WebSocket session on it end, then
/// closes every handle its client left open.
pub async fn serve_connection(
    stream: UnixStream,
    methods: Methods,
    daemon: Arc<Daemon>,
    account: Arc<Account>,
    shutdown: CancellationToken,
) {
    let client = account.client;
    daemon.handles.register(account);
    // Cancelled when the client is hopelessly behind on its notifications: ends everything
    // at once, like the NDJSON transport's kill.
    let kill = CancellationToken::new();
    // Kept here until the end: dropping the ServerHandle would read as "stopped" to every
    // session at once.
    let (stop, server_handle) = stop_channel();
    let (sessions, mut sessions_done) = mpsc::channel::<()>(1);
    let limits = &daemon.limits;
    let max_response = limits.max_read * 2 + 64 * 1024;
    let shared = Shared {
        methods,
        config: server_config(limits, max_response),
        info: ConnectionInfo {
            client,
            kill: kill.clone(),
            // jsonrpsee writes WebSocket frames itself; its own bounded buffer paces them.
            meters_bytes: false,
        },
        // jsonrpsee's connection ids are 32-bit; they only scope its own unsubscribe, which
        // no client reaches, so wrapping after 2^32 connections is harmless.
        conn_id: client.0 as u32,
        stop,
        guard: ConnectionGuard::new(limits.calls_in_flight),
        calls: Arc::new(Semaphore::new(limits.calls_in_flight)),
        max_response,
        sessions,
    };
    let service = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle_request(req, shared).await) }
    });
    // Boxed so it can be dropped once done: it holds the `sessions` sender.
    let mut conn = Box::pin(
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(Paced::new(stream)), service)
            .with_upgrades(),
    );
    // On shutdown the client's handles close first, as on NDJSON: work in flight is
    // cancelled and the answers waiting for it come at once.
    let close_handles = || {
        daemon.handles.unregister(client);
        daemon.handles.close_all(client);
    };
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(client = client.0, error = %e, "HTTP connection ended");
            }
        }
        _ = kill.cancelled() => {}
        _ = shutdown.cancelled() => {
            close_handles();
            conn.as_mut().graceful_shutdown();
            let _ = conn.as_mut().await;
        }
    }
    drop(conn);
    // An upgraded connection lives on in its WebSocket session (which also ends on a kill).
    tokio::select! {
        _ = sessions_done.recv() => {}
        _ = shutdown.cancelled() => {
            close_handles();
            let _ = server_handle.stop();
            let _ = sessions_done.recv().await;
        }
    }
    close_handles();
    kill.cancel();
    drop(server_handle);
    tracing::debug!(client = client.0, "HTTP connection closed");
}

fn server_config(limits: &Limits, max_response: usize) -> ServerConfig {
    ServerConfig::builder()
        .max_request_body_size(u32::try_from(limits.max_message).unwrap_or(u32::MAX))
        .max_response_body_size(u32::try_from(max_response).unwrap_or(u32::MAX))
        .max_subscriptions_per_connection(MAX_SUBSCRIPTIONS)
        .set_message_buffer_capacity(u32::try_from(limits.outbound_queue).unwrap_or(u32::MAX))
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH as u32))
        .build()
}

async fn handle_request(mut req: hyper::Request<Incoming>, shared: Shared) -> HttpResponse {
    let Some(permit) = shared.guard.try_acquire() else {
        return http::response::too_many_requests();
    };
    let conn = ConnectionState::new(shared.stop.clone(), shared.conn_id, permit);
    if ws::is_upgrade_request(&req) {
        let rpc = RpcServiceBuilder::new().layer_fn(gate(&shared, false));
        match ws::connect(
            req,
            shared.config.clone(),
            shared.methods.clone(),
            conn,
            rpc,
        )
        .await
        {
            Ok((response, session)) => {
                let (done, kill) = (shared.sessions.clone(), shared.info.kill.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = session => {}
                        // Dropping the session closes the WebSocket.
                        _ = kill.cancelled() => {}
                    }
                    drop(done);
                });
                response
            }
            Err(response) => response,
        }
    } else {
        // Every POST on this socket is JSON-RPC, whatever its label says.
        req.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        let rpc = RpcServiceBuilder::new().layer_fn(gate(&shared, true));
        http::call_with_service_builder(
            req,
            shared.config.clone(),
            conn,
            shared.methods.clone(),
            rpc,
        )
        .await
    }
}

/// The [`Gate`] around jsonrpsee's RPC service, as a layer function.
fn gate<S>(shared: &Shared, calls_only: bool) -> impl Fn(S) -> Gate<S> + Clone + use<S> {
    let (info, methods, calls, max_response) = (
        shared.info.clone(),
        shared.methods.clone(),
        shared.calls.clone(),
        shared.max_response,
    );
    move |inner| Gate {
        inner,
        info: info.clone(),
        methods: methods.clone(),
        calls: calls.clone(),
        calls_only,
        max_response,
    }
}

/// The RPC middleware that makes jsonrpsee's transports behave like the NDJSON one: every
/// call carries its connection's [`ConnectionInfo`], calls in flight are bounded, the
/// internal unsubscribe name is hidden, and notifications run for their effect.
#[derive(Clone)]
struct Gate<S> {
    inner: S,
    info: ConnectionInfo,
    methods: Methods,
    calls: Arc<Semaphore>,
    calls_only: bool,
    max_response: usize,
}

impl<S> Gate<S> {
    /// The answer to a call this transport refuses before running it.
    fn refuse(&self, req: &Request<'_>) -> Option<ErrorObject<'static>> {
        if req.method == UNSUBSCRIBE_INTERNAL {
            return Some(ErrorObject::from(ErrorCode::MethodNotFound));
        }
        if self.calls_only
            && matches!(
                self.methods.method(&req.method),
                Some(MethodCallback::Subscription(_))
            )
        {
            return Some(ErrorObject::owned(
                ErrorCode::InvalidRequest.code(),
                "status callbacks need a WebSocket or NDJSON connection; plain HTTP carries calls only",
                None::<()>,
            ));
        }
        None
    }
}

type Response = MethodResponse;

impl<S> RpcServiceT for Gate<S>
where
    S: RpcServiceT<
            MethodResponse = Response,
            BatchResponse = Response,
            NotificationResponse = Response,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = Response;
    type NotificationResponse = Response;
    type BatchResponse = Response;

    fn call<'a>(&self, mut req: Request<'a>) -> impl Future<Output = Response> + Send + 'a {
        let this = self.clone();
        async move {
            if let Some(e) = this.refuse(&req) {
                return MethodResponse::error(req.id, e);
            }
            // jsonrpsee reads on while calls run; refuse beyond the limit rather than let
            // tasks pile up.
            let Ok(_permit) = this.calls.clone().try_acquire_owned() else {
                return MethodResponse::error(req.id, ErrorObject::from(ErrorCode::ServerIsBusy));
            };
            // Absent params are an empty named-params object, as on NDJSON.
            if req.params.is_none()
                && let Ok(empty) = RawValue::from_string("{}".to_owned())
            {
                req.params = Some(Cow::Owned(empty));
            }
            req.extensions_mut().insert(this.info.clone());
            this.inner.call(req).await
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Response> + Send + 'a {
        // jsonrpsee's own batch would call the inner service directly, past this gate.
        let this = self.clone();
        async move {
            let mut answers = super::BatchAnswers::new(this.max_response);
            for entry in batch {
                let rp = match entry {
                    Ok(BatchEntry::Call(req)) => this.call(req).await,
                    Ok(BatchEntry::Notification(n)) => {
                        this.notification(n).await;
                        continue;
                    }
                    Err(e) => {
                        let (e, id) = e.into_parts();
                        MethodResponse::error(id, e)
                    }
                };
                if let Err(too_big) = answers.add(rp) {
                    return too_big;
                }
            }
            answers.finish()
        }
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = Response> + Send + 'a {
        let this = self.clone();
        async move {
            // Subscriptions need an id to answer with, so as notifications they do nothing.
            if !matches!(
                this.methods.method(&n.method),
                Some(MethodCallback::Subscription(_))
            ) {
                let req = Request {
                    jsonrpc: TwoPointZero,
                    id: Id::Null,
                    method: n.method,
                    params: n.params,
                    extensions: n.extensions,
                };
                let _ = this.call(req).await;
            }
            MethodResponse::notification()
        }
    }
}
