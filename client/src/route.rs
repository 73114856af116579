//! Where one subscription's status callbacks go: to the operation waiting for its
//! completion (async sessions), and to every [`Notifications`] stream tapping it.
//!
//! Delivery never waits: the connection has one reader, and a stream nobody polls must not
//! stall the answers of every other call. A stream that falls [`TAP_CAPACITY`]
//! notifications behind loses the excess and counts it ([`Notifications::missed`]);
//! completions go through one-shot slots and are never lost.

use futures::Stream;
use hinet_protocol::callback::{StatusInfo, StatusNotification};
use hinet_protocol::status;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::sync::{mpsc, oneshot};

/// How many notifications a stream may have unread before further ones are dropped.
pub const TAP_CAPACITY: usize = 1024;

/// One subscription as the client sees it.
pub(crate) struct Route {
    /// The handle the callback was set on: its HANDLE_CLOSING is the subscription's last
    /// notification (its children close before it).
    root: u64,
    inner: Mutex<RouteInner>,
}

#[derive(Default)]
struct RouteInner {
    /// By request handle: the operation outstanding on it (WinHTTP allows one at a time).
    waiters: HashMap<u64, Waiter>,
    taps: Vec<Tap>,
    ended: bool,
}

struct Waiter {
    /// The success status, e.g. READ_COMPLETE.
    expect: u32,
    /// The API id a REQUEST_ERROR for this operation carries in `result`.
    api: u32,
    tx: oneshot::Sender<StatusNotification>,
}

impl Waiter {
    /// A completion left over from an abandoned operation must not finish this one.
    fn matches(&self, n: &StatusNotification) -> bool {
        match &n.info {
            StatusInfo::RequestError { result, .. } if n.status == status::REQUEST_ERROR => {
                *result == self.api
            }
            _ => n.status == self.expect,
        }
    }
}

struct Tap {
    mask: u32,
    tx: mpsc::Sender<StatusNotification>,
    missed: Arc<AtomicU64>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps stay consistent at every step, so a panic elsewhere leaves them usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Route {
    pub(crate) fn new(root: u64) -> Arc<Route> {
        Arc::new(Route {
            root,
            inner: Mutex::new(RouteInner::default()),
        })
    }

    /// A new stream of this subscription's notifications whose status is in `mask`.
    pub(crate) fn tap(&self, mask: u32) -> Notifications {
        let (tx, rx) = mpsc::channel(TAP_CAPACITY);
        let missed = Arc::new(AtomicU64::new(0));
        let mut inner = lock(&self.inner);
        // An ended route gets no tap: dropping `tx` ends the stream at once.
        if !inner.ended {
            inner.taps.push(Tap {
                mask,
                tx,
                missed: missed.clone(),
            });
        }
        Notifications {
            rx,
            missed,
            on_drop: None,
        }
    }

    /// Registers the operation about to start on `handle`; the receiver gets its completion
    /// (`expect`, or REQUEST_ERROR for `api`), or is dropped if the handle closes first.
    pub(crate) fn expect(
        &self,
        handle: u64,
        expect: u32,
        api: u32,
    ) -> oneshot::Receiver<StatusNotification> {
        let (tx, rx) = oneshot::channel();
        let mut inner = lock(&self.inner);
        if !inner.ended {
            inner.waiters.insert(handle, Waiter { expect, api, tx });
        }
        rx
    }

    /// Forgets the waiter of an operation the daemon refused outright.
    pub(crate) fn forget(&self, handle: u64) {
        lock(&self.inner).waiters.remove(&handle);
    }

    /// Routes one notification; true when it was the subscription's last.
    pub(crate) fn deliver(&self, n: StatusNotification) -> bool {
        let mut inner = lock(&self.inner);
        if status::is_completion(n.status)
            && inner.waiters.get(&n.handle).is_some_and(|w| w.matches(&n))
            && let Some(w) = inner.waiters.remove(&n.handle)
        {
            let _ = w.tx.send(n.clone());
        }
        inner.taps.retain(|t| {
            if t.mask & n.status == 0 {
                return true;
            }
            match t.tx.try_send(n.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    t.missed.fetch_add(1, Ordering::Relaxed);
                    true
                }
                // The stream was dropped.
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        if n.status == status::HANDLE_CLOSING {
            // Nothing more comes for this handle: an operation still waiting was cancelled.
            inner.waiters.remove(&n.handle);
            if n.handle == self.root {
                drop(inner);
                self.end();
                return true;
            }
        }
        false
    }

    /// No more notifications will come: streams end, waiting operations fail.
    pub(crate) fn end(&self) {
        let mut inner = lock(&self.inner);
        inner.ended = true;
        inner.taps.clear();
        inner.waiters.clear();
    }
}

/// A stream of typed status callbacks ([`StatusNotification`]).
///
/// It ends after the HANDLE_CLOSING of the handle its callback was set on, when that handle
/// is closed through this client, or when the connection to the daemon ends.
/// Keep polling it: a stream more than [`TAP_CAPACITY`] notifications behind drops the
/// newer ones and counts them in [`missed`](Self::missed).
pub struct Notifications {
    rx: mpsc::Receiver<StatusNotification>,
    missed: Arc<AtomicU64>,
    /// Run when the stream is dropped (removes a subscription the stream owns).
    pub(crate) on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Notifications {
    /// How many notifications were dropped because this stream was not read fast enough.
    pub fn missed(&self) -> u64 {
        self.missed.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("missed", &self.missed())
            .finish_non_exhaustive()
    }
}

impl Stream for Notifications {
    type Item = StatusNotification;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn note(handle: u64, status: u32, info: StatusInfo) -> StatusNotification {
        StatusNotification {
            handle,
            context: 0,
            status,
            status_name: status::status_name(status).to_owned(),
            info,
        }
    }

    #[tokio::test]
    async fn completions_match_their_operation_and_taps_filter_by_mask() {
        let route = Route::new(1);
        let mut all = route.tap(u32::MAX);
        let mut closing = route.tap(status::HANDLE_CLOSING);
        let rx = route.expect(3, status::READ_COMPLETE, status::api::READ_DATA);
        // A stale completion of another operation is not taken for this one.
        route.deliver(note(3, status::SENDREQUEST_COMPLETE, StatusInfo::Empty {}));
        route.deliver(note(
            3,
            status::READ_COMPLETE,
            StatusInfo::ReadComplete {
                data: b"x".as_slice().into(),
                bytes_read: 1,
            },
        ));
        assert_eq!(rx.await.map(|n| n.status), Ok(status::READ_COMPLETE));
        assert!(!route.deliver(note(
            3,
            status::HANDLE_CLOSING,
            StatusInfo::Handle { handle: 3 }
        )));
        assert!(route.deliver(note(
            1,
            status::HANDLE_CLOSING,
            StatusInfo::Handle { handle: 1 }
        )));
        let seen: Vec<u32> = all.by_ref().map(|n| n.status).collect().await;
        assert_eq!(seen.len(), 4);
        let closed: Vec<u64> = closing.by_ref().map(|n| n.handle).collect().await;
        assert_eq!(closed, [3, 1]);
        // After the end, waiters fail at once.
        assert!(route.expect(3, status::READ_COMPLETE, 3).await.is_err());
    }

    #[tokio::test]
    async fn a_closing_handle_cancels_its_waiter_and_slow_streams_count_losses() {
        let route = Route::new(1);
        let slow = route.tap(u32::MAX);
        let rx = route.expect(5, status::HEADERS_AVAILABLE, status::api::RECEIVE_RESPONSE);
        for _ in 0..TAP_CAPACITY + 3 {
            route.deliver(note(5, status::SENDING_REQUEST, StatusInfo::Empty {}));
        }
        route.deliver(note(
            5,
            status::HANDLE_CLOSING,
            StatusInfo::Handle { handle: 5 },
        ));
        assert!(rx.await.is_err());
        assert_eq!(slow.missed(), 4);
    }
}
