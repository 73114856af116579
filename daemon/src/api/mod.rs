//! WinHTTP's functions, one module per family, each with one `apply` per function.
//!
//! These functions take typed params from `hinet_protocol` and return typed results or an
//! [`ApiError`]; they never see JSON. Request operations that complete through a callback in
//! async sessions go through [`run_request_op`], which awaits them for sync sessions and
//! spawns them for async ones.

pub mod auth;
pub mod callback;
pub mod connect;
mod cookies;
pub mod data;
pub mod features;
pub mod handle;
pub mod headers;
pub mod net;
mod option_table;
pub mod options;
mod redirect;
pub mod request;
pub mod session;
pub mod url;

use crate::callback::Completion;
use crate::error::{ApiError, ApiResult};
use crate::handles::{ClientId, Handle};
use crate::state::Daemon;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;

/// Who is calling: the daemon state and the client connection.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub daemon: &'a Arc<Daemon>,
    pub client: ClientId,
}

impl Ctx<'_> {
    pub fn handle(&self, id: u64) -> ApiResult<Arc<Handle>> {
        self.daemon.handles.get(self.client, id)
    }
}

/// The result of a call that may complete later through the status callback.
#[derive(Debug, Clone)]
pub enum Outcome<T> {
    /// Completed now (sync session): the result.
    Done(T),
    /// Accepted (async session): `{}` now, the completion follows as a notification.
    Pending,
}

impl<T: Serialize> Serialize for Outcome<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Outcome::Done(t) => t.serialize(s),
            Outcome::Pending => hinet_protocol::Empty {}.serialize(s),
        }
    }
}

/// Runs one request operation in the session's mode.
///
/// Sync: awaited here; its error is the RPC's error. Async: `check` runs first (argument
/// errors still fail the RPC), then the operation is registered as the request's one
/// outstanding operation and spawned; its result is delivered as exactly one completion.
/// A second operation while one is outstanding gets REQUEST_ERROR 12019, as on Windows.
pub async fn run_request_op<T, Fut>(
    handle: Arc<Handle>,
    api: u32,
    op: impl FnOnce(Arc<Handle>) -> Fut,
    completion: impl FnOnce(&T) -> (u32, hinet_protocol::callback::StatusInfo) + Send + 'static,
) -> ApiResult<Outcome<T>>
where
    T: Send + 'static,
    Fut: Future<Output = ApiResult<T>> + Send + 'static,
{
    // Counted until the operation ends, in either mode; over the quota the call fails at once.
    let in_flight = handle.account.begin_op()?;
    if !handle.session().is_async() {
        return cancellable(&handle, op(handle.clone()))
            .await
            .map(Outcome::Done);
    }
    if !handle.callback.begin(api) {
        let err = ApiError::OperationPending {
            call: api_name(api),
        };
        handle
            .callback
            .reject(handle.id, handle.context(), api, &err);
        return Ok(Outcome::Pending);
    }
    let fut = op(handle.clone());
    tokio::spawn(async move {
        let result: Completion = cancellable(&handle, fut).await.map(|t| completion(&t));
        drop(in_flight);
        if let Err(e) = &result {
            handle.account.stats.error(e.code());
        }
        handle
            .callback
            .complete(handle.id, handle.context(), api, result);
    });
    Ok(Outcome::Pending)
}

/// Runs `fut` until it ends or the handle (or an ancestor) closes.
pub async fn cancellable<T>(
    handle: &Handle,
    fut: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    tokio::select! {
        biased;
        _ = handle.cancel.cancelled() => Err(ApiError::OperationCancelled),
        r = fut => r,
    }
}

fn api_name(api: u32) -> &'static str {
    use hinet_protocol::status::api;
    match api {
        api::RECEIVE_RESPONSE => "WinHttpReceiveResponse",
        api::QUERY_DATA_AVAILABLE => "WinHttpQueryDataAvailable",
        api::READ_DATA => "WinHttpReadData",
        api::WRITE_DATA => "WinHttpWriteData",
        api::SEND_REQUEST => "WinHttpSendRequest",
        _ => "this call",
    }
}
