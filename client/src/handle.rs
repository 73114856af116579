//! What every handle object shares: its number, its client, closing on drop, options.

use crate::client::{Client, Deferred};
use crate::error::{Error, Result};
use crate::route::Route;
use hinet_protocol::{
    OptionValue, QueryOptionParams, SetOptionParams, WinHttpQueryOption, WinHttpSetOption,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One daemon handle. Children hold their parent, so a parent is closed on drop only after
/// every child object is gone (the daemon would close the children with it).
pub(crate) struct HandleInner {
    pub(crate) id: u64,
    pub(crate) client: Client,
    /// In async sessions: the session's callback, which carries the completions this
    /// handle's operations wait for (children inherit it, as in the daemon).
    pub(crate) route: Option<Arc<Route>>,
    /// The status callback set on this handle by this library (sessions only): ended when
    /// the handle is closed, so its streams end even if HANDLE_CLOSING was masked out.
    pub(crate) own_route: tokio::sync::OnceCell<Arc<Route>>,
    closed: AtomicBool,
    parent: Option<Arc<HandleInner>>,
}

impl HandleInner {
    pub(crate) fn new(
        id: u64,
        client: Client,
        route: Option<Arc<Route>>,
        parent: Option<Arc<HandleInner>>,
    ) -> Arc<HandleInner> {
        Arc::new(HandleInner {
            id,
            client,
            route,
            own_route: tokio::sync::OnceCell::new(),
            closed: AtomicBool::new(false),
            parent,
        })
    }

    /// WinHttpCloseHandle, awaited. Later drops of this or other references send nothing.
    pub(crate) async fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = self.client.close_handle(self.id).await;
        if let Some(route) = self.own_route.get() {
            route.end();
        }
        result
    }

    pub(crate) async fn set_option(&self, option: u32, value: OptionValue) -> Result<()> {
        self.client
            .call::<WinHttpSetOption>(&SetOptionParams {
                handle: self.id,
                option,
                value,
                buffer_length: None,
            })
            .await
            .map(|_| ())
    }

    pub(crate) async fn query_option(&self, option: u32) -> Result<OptionValue> {
        self.client
            .call::<WinHttpQueryOption>(&QueryOptionParams {
                handle: self.id,
                option,
                buffer_length: None,
            })
            .await
            .map(|r| r.value)
    }

    fn ancestor_closed(&self) -> bool {
        let mut up = self.parent.as_deref();
        while let Some(h) = up {
            if h.closed.load(Ordering::Acquire) {
                return true;
            }
            up = h.parent.as_deref();
        }
        false
    }

    /// The error for an operation whose completion will never come.
    pub(crate) fn lost_completion(&self) -> Error {
        match self.client.closed_reason() {
            Some(reason) => Error::Disconnected { reason },
            None => Error::cancelled(),
        }
    }
}

impl Drop for HandleInner {
    fn drop(&mut self) {
        // Drop cannot await: the writer sends the close as a notification (no answer).
        // A handle whose parent was closed explicitly went with it in the daemon.
        if !self.closed.load(Ordering::Acquire) && !self.ancestor_closed() {
            self.client.defer(Deferred::Close(self.id));
        }
    }
}

/// The methods every handle type has.
macro_rules! handle_methods {
    ($ty:ident) => {
        impl $ty {
            /// The daemon's handle number (valid on this client's connection only).
            pub fn handle(&self) -> u64 {
                self.h.id
            }

            /// The client this handle belongs to.
            pub fn client(&self) -> &$crate::Client {
                &self.h.client
            }

            /// `WinHttpSetOption` (`option` is a `protocol::consts::option` number).
            pub async fn set_option(
                &self,
                option: u32,
                value: hinet_protocol::OptionValue,
            ) -> $crate::Result<()> {
                self.h.set_option(option, value).await
            }

            /// `WinHttpQueryOption`.
            pub async fn query_option(
                &self,
                option: u32,
            ) -> $crate::Result<hinet_protocol::OptionValue> {
                self.h.query_option(option).await
            }

            /// `WinHttpCloseHandle`: closes this handle and everything under it, and waits
            /// for the daemon's answer. Dropping the value closes it too, without waiting.
            pub async fn close(self) -> $crate::Result<()> {
                self.h.close().await
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("handle", &self.h.id)
                    .finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use handle_methods;
