//! Status callbacks: who hears about a handle, and the delivery rules that WinHTTP programs
//! depend on.
//!
//! Each handle has one [`CallbackSlot`]. All of a handle's notifications pass through its
//! slot's mutex, and the queue behind a sink is FIFO, so per-handle order is the order of
//! emission. The slot also remembers the one outstanding async operation of a request, so
//! that exactly one completion is delivered for it: either the operation's own, or the
//! REQUEST_ERROR(12017) that closing the handle delivers first. Once HANDLE_CLOSING has gone
//! out the slot is sealed and delivers nothing more.
//!
//! The mutex is a std one: delivery is `try_send` into a bounded queue and never awaits.
//! Backpressure happens earlier, in [`CallbackSlot::ready`], which operations await before
//! pulling more data from the network.

use crate::error::ApiError;
use crate::handles::lock;
use hinet_protocol::callback::{StatusInfo, StatusNotification};
use hinet_protocol::error::ERROR_WINHTTP_OPERATION_CANCELLED;
use hinet_protocol::error_name;
use hinet_protocol::status;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// Where a handle's notifications go: the RPC layer implements this for its subscriptions.
pub trait NotificationSink: Send + Sync {
    /// Queues one notification without waiting. A full queue means the client is hopelessly
    /// behind; the sink then ends the client's connection itself, and with it its handles.
    fn deliver(&self, notification: StatusNotification);
    /// Resolves when the client's queue has room again.
    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// Identifies the subscription, so unsubscribing removes exactly this callback.
    fn subscription(&self) -> &str;
}

/// A registered callback: the sink and its notification mask.
#[derive(Clone)]
pub struct Callback {
    pub sink: Arc<dyn NotificationSink>,
    pub mask: u32,
}

#[derive(Default)]
struct SlotState {
    callback: Option<Callback>,
    /// The API id (`status::api::*`) of the outstanding async operation, if any.
    pending: Option<u32>,
    /// HANDLE_CLOSING was delivered: nothing follows it.
    sealed: bool,
}

#[derive(Default)]
pub struct CallbackSlot {
    state: Mutex<SlotState>,
}

/// A completion of an async operation: its status and payload, or its error.
pub type Completion = Result<(u32, StatusInfo), ApiError>;

impl CallbackSlot {
    /// A slot for a new child: a copy of this callback and mask (reference §1.6). Later
    /// changes to the parent do not propagate.
    pub fn inherit(&self) -> CallbackSlot {
        let callback = lock(&self.state).callback.clone();
        CallbackSlot {
            state: Mutex::new(SlotState {
                callback,
                ..SlotState::default()
            }),
        }
    }

    /// Replaces the callback (None removes it).
    pub fn set(&self, callback: Option<Callback>) {
        lock(&self.state).callback = callback;
    }

    /// Removes the callback if it is the one of `subscription`.
    pub fn unset(&self, subscription: &str) -> bool {
        let mut st = lock(&self.state);
        let matches = st
            .callback
            .as_ref()
            .is_some_and(|c| c.sink.subscription() == subscription);
        if matches {
            st.callback = None;
        }
        matches
    }

    /// Delivers an informational status, if the mask selects it.
    pub fn notify(&self, handle: u64, context: u64, status_value: u32, info: StatusInfo) {
        let st = lock(&self.state);
        if st.sealed {
            return;
        }
        deliver(&st, handle, context, status_value, info);
    }

    /// Marks an async operation outstanding. False if one already is (the caller then
    /// reports 12019 through [`Self::complete`] of its own, unregistered, failure).
    pub fn begin(&self, api: u32) -> bool {
        let mut st = lock(&self.state);
        if st.sealed || st.pending.is_some() {
            return false;
        }
        st.pending = Some(api);
        true
    }

    /// Delivers the completion of the outstanding operation `api`, unless closing the handle
    /// already completed it with 12017.
    pub fn complete(&self, handle: u64, context: u64, api: u32, completion: Completion) {
        let mut st = lock(&self.state);
        if st.sealed || st.pending != Some(api) {
            return;
        }
        st.pending = None;
        let (status_value, info) = match completion {
            Ok(ok) => ok,
            Err(e) => (status::REQUEST_ERROR, request_error(api, &e)),
        };
        deliver(&st, handle, context, status_value, info);
    }

    /// Delivers a REQUEST_ERROR for an async call that was refused before it started (wrong
    /// state, or another operation outstanding): it has its one completion, and does not
    /// disturb the outstanding one.
    pub fn reject(&self, handle: u64, context: u64, api: u32, error: &ApiError) {
        let st = lock(&self.state);
        if st.sealed {
            return;
        }
        deliver(
            &st,
            handle,
            context,
            status::REQUEST_ERROR,
            request_error(api, error),
        );
    }

    /// The handle is closing: cancel the outstanding operation's completion with 12017,
    /// then HANDLE_CLOSING, then silence.
    pub fn close(&self, handle: u64, context: u64) {
        let mut st = lock(&self.state);
        if st.sealed {
            return;
        }
        if let Some(api) = st.pending.take() {
            deliver(
                &st,
                handle,
                context,
                status::REQUEST_ERROR,
                request_error(api, &ApiError::OperationCancelled),
            );
        }
        deliver(
            &st,
            handle,
            context,
            status::HANDLE_CLOSING,
            StatusInfo::Handle { handle },
        );
        st.sealed = true;
        st.callback = None;
    }

    /// Waits until the callback's client can take more notifications.
    pub async fn ready(&self) {
        let callback = lock(&self.state).callback.clone();
        if let Some(cb) = callback {
            cb.sink.ready().await;
        }
    }
}

fn deliver(st: &SlotState, handle: u64, context: u64, status_value: u32, info: StatusInfo) {
    let Some(cb) = &st.callback else { return };
    if cb.mask & status_value == 0 {
        return;
    }
    cb.sink.deliver(StatusNotification {
        handle,
        context,
        status: status_value,
        status_name: status::status_name(status_value).to_owned(),
        info,
    });
}

fn request_error(api: u32, e: &ApiError) -> StatusInfo {
    let code = e.code();
    let detail = if code == ERROR_WINHTTP_OPERATION_CANCELLED {
        ApiError::OperationCancelled.to_string()
    } else {
        e.to_string()
    };
    StatusInfo::RequestError {
        result: api,
        error: code,
        error_name: error_name(code).to_owned(),
        detail,
    }
}
