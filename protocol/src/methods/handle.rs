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
