use super::{Empty, method};
use serde::{Deserialize, Serialize};

/// `WinHttpCloseHandle`: closes a handle and, with it, its whole subtree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseHandleParams {
    pub handle: u64,
}

method!(
    /// Closes a handle.
    WinHttpCloseHandle, "WinHttpCloseHandle", CloseHandleParams, Empty
);

/// `HinetStatus` (hinetd's own, not WinHTTP's): the daemon's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusParams {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusResult {
    /// Client connections open now.
    pub connections: u64,
    /// Live handles of all clients, by type.
    pub sessions: u64,
    pub connects: u64,
    pub requests: u64,
    /// Live handles of the calling connection.
    pub own_handles: u64,
    /// HTTP operations (send, receive, read, write) running now, all clients together.
    #[serde(default)]
    pub requests_in_flight: u64,
    /// Bytes read from and written to client sockets since the daemon started.
    #[serde(default)]
    pub bytes_in: u64,
    #[serde(default)]
    pub bytes_out: u64,
    /// Connections accepted since start, and of those refused (peer not allowed, or over
    /// the per-uid quota).
    #[serde(default)]
    pub connections_total: u64,
    #[serde(default)]
    pub connections_refused: u64,
    /// WinHTTP errors returned to clients since start (call errors and REQUEST_ERROR
    /// completions), by code, ascending.
    #[serde(default)]
    pub errors: Vec<ErrorCount>,
    /// Seconds since the daemon started.
    #[serde(default)]
    pub uptime_secs: u64,
}

/// How often one error code was returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorCount {
    pub code: u32,
    pub name: String,
    pub count: u64,
}

method!(
    /// Reports the daemon's counters.
    HinetStatus,
    "HinetStatus",
    StatusParams,
    StatusResult
);
