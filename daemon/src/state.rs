//! The daemon's shared state, handed to every RPC.

use crate::engine::tls::Tls;
use crate::handles::HandleTable;

/// Limits that protect the daemon from any one client: the `[limits]` section of the
/// configuration. The per-connection quotas answer ERROR_NOT_ENOUGH_MEMORY (8) naming the
/// limit; they never fail the daemon as a whole.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The longest JSON text (one line) a client may send.
    pub max_message: usize,
    /// The largest ReadData a client may ask for; larger requests are served in part, as
    /// WinHTTP itself may return fewer bytes than asked.
    pub max_read: usize,
    /// Messages (responses and notifications) that may wait for one slow client before the
    /// daemon gives up on it.
    #[serde(rename = "max_queued_messages")]
    pub outbound_queue: usize,
    /// Calls one connection may have running at once; reading its socket pauses beyond.
    pub calls_in_flight: usize,
    /// Open handles (of all types) per connection.
    pub max_handles: usize,
    /// HTTP operations (send, receive, read, write) running at once per connection.
    pub max_requests_in_flight: usize,
    /// Connections open at once per peer uid.
    pub max_connections_per_uid: usize,
    /// Bytes of responses and notifications that may wait for one client. Body reads pause
    /// while half of it is used; a client whose notifications overflow it is disconnected.
    pub max_buffered_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 16 * 1024 * 1024,
            max_read: 16 * 1024 * 1024,
            outbound_queue: 4096,
            calls_in_flight: 256,
            max_handles: 4096,
            max_requests_in_flight: 256,
            max_connections_per_uid: 128,
            max_buffered_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Checks the values serde cannot; the error starts with the key's name.
    pub fn check(&self) -> Result<(), String> {
        let at_least = |name: &str, v: usize, min: usize| {
            if v < min {
                Err(format!("{name} must be at least {min} (is {v})"))
            } else {
                Ok(())
            }
        };
        at_least("max_message", self.max_message, 1024)?;
        at_least("max_read", self.max_read, 1)?;
        at_least("max_queued_messages", self.outbound_queue, 16)?;
        at_least("calls_in_flight", self.calls_in_flight, 1)?;
        at_least("max_handles", self.max_handles, 1)?;
        at_least("max_requests_in_flight", self.max_requests_in_flight, 1)?;
        at_least("max_buffered_bytes", self.max_buffered_bytes, 64 * 1024)?;
        at_least("max_connections_per_uid", self.max_connections_per_uid, 1)?;
        if self.max_message > u32::MAX as usize || self.max_read > (u32::MAX as usize) / 4 {
            return Err("max_message and max_read must fit JSON-RPC's 32-bit size limits".into());
        }
        Ok(())
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
    pub stats: std::sync::Arc<crate::stats::Stats>,
    pub policy: std::sync::Arc<crate::policy::Policy>,
}
