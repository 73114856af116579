//! The HTTP engine: connections, TLS and hyper, with WinHTTP's per-phase timeouts and
//! progress events. It knows nothing of handles, JSON or JSON-RPC: callers describe the
//! target and receive connections, responses and [`Progress`] events.

pub mod body;
pub mod certinfo;
pub mod decode;
mod errors;
mod h2;
pub mod pool;
pub mod proxy;
pub mod tls;
mod tunnel;

pub use errors::{map_hyper_error, map_io_error};
pub use pool::{Connection, Pool};

use crate::error::{ApiError, ApiResult};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// What the engine reports while it works; the API layer turns these into WinHTTP's
/// informational status callbacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    ResolvingName(String),
    NameResolved(SocketAddr),
    ConnectingToServer(SocketAddr),
    ConnectedToServer(SocketAddr),
    SecureFailure(u32),
}

/// Receives [`Progress`] events, in order, from the task doing the work.
pub trait ProgressSink: Send + Sync {
    fn progress(&self, event: Progress);

    /// Asked after name resolution, before any connection: may the work go on to
    /// `target` at these addresses? The caller's egress policy answers.
    fn admit(&self, target: &Target, addrs: &[SocketAddr]) -> ApiResult<()> {
        let _ = (target, addrs);
        Ok(())
    }

    /// Whether an egress policy restricts where the work may go. When it does, a request
    /// sent through a proxy has its real target judged too, not only the proxy.
    fn restricts_egress(&self) -> bool {
        false
    }
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub secure: bool,
    /// Host name or IP literal, without brackets.
    pub host: String,
    pub port: u16,
}

impl Target {
    /// `host[:port]` as sent in the Host header: the port only when not the default.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        let scheme = if self.secure { "https" } else { "http" };
        format!("{scheme}://{}{path_and_query}", self.authority())
    }
}

/// WinHTTP's per-phase time limits; None = no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub resolve: Option<Duration>,
    pub connect: Option<Duration>,
    pub send: Option<Duration>,
    pub receive: Option<Duration>,
}

/// Runs `fut` under `limit`, failing with 12002 naming `phase`.
pub async fn within<T>(
    phase: &'static str,
    limit: Option<Duration>,
    fut: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    match limit {
        None => fut.await,
        Some(after) => tokio::time::timeout(after, fut)
            .await
            .map_err(|_| ApiError::Timeout { phase, after })?,
    }
}
