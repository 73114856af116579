//! The daemon's shared state, handed to every RPC.

use crate::engine::tls::Tls;
use crate::handles::HandleTable;

/// Limits that protect the daemon from any one client.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The longest JSON text (one line) a client may send.
    pub max_message: usize,
    /// The largest ReadData a client may ask for; larger requests are served in part, as
    /// WinHTTP itself may return fewer bytes than asked.
    pub max_read: usize,
    /// Messages (responses and notifications) that may wait for one slow client before the
    /// daemon gives up on it.
    pub outbound_queue: usize,
    /// Calls one connection may have running at once; reading its socket pauses beyond.
    pub calls_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 16 * 1024 * 1024,
            max_read: 16 * 1024 * 1024,
            outbound_queue: 4096,
            calls_in_flight: 256,
        }
    }
}

/// Everything the RPC methods share. There is no global mutable state beyond this: the
/// handle table is concurrent, TLS configurations are immutable once built.
pub struct Daemon {
    pub handles: HandleTable,
    /// Client connections open now.
    pub connections: std::sync::atomic::AtomicU64,
    pub tls: Tls,
    pub limits: Limits,
}
