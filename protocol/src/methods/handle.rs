use super::{Empty, method};
use serde::{Deserialize, Serialize};

/// `WinHttpCloseHandle`: closes a handle and, with it, its whole subtree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusParams {}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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
}

method!(
    /// Reports the daemon's counters.
    HinetStatus,
    "HinetStatus",
    StatusParams,
    StatusResult
);
