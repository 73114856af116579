use super::{Empty, method};
use serde::{Deserialize, Serialize};

/// `WinHttpSetTimeouts`: milliseconds; 0 or -1 mean "no limit", below -1 → 87.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetTimeoutsParams {
    pub handle: u64,
    pub resolve_timeout: i32,
    pub connect_timeout: i32,
    pub send_timeout: i32,
    pub receive_timeout: i32,
}

method!(
    /// Sets the four timeouts of a session or request.
    WinHttpSetTimeouts, "WinHttpSetTimeouts", SetTimeoutsParams, Empty
);

/// An option value: a number for DWORD, DWORD_PTR and handle options, text for string
/// options, null for options that take no buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OptionValue {
    #[default]
    Null,
    Number(u64),
    Text(String),
}

/// `WinHttpSetOption`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetOptionParams {
    pub handle: u64,
    pub option: u32,
    #[serde(default)]
    pub value: OptionValue,
    /// WinHTTP's `dwBufferLength` (bytes; characters for string options). Absent = the
    /// natural size of `value`. A DWORD option with a length other than 4 fails with 122.
    #[serde(default)]
    pub buffer_length: Option<u32>,
}

method!(
    /// Sets an option on a handle.
    WinHttpSetOption, "WinHttpSetOption", SetOptionParams, Empty
);

/// `WinHttpQueryOption`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryOptionParams {
    pub handle: u64,
    pub option: u32,
    /// The caller's buffer size in bytes; too small → 122 with `data.required`.
    #[serde(default)]
    pub buffer_length: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryOptionResult {
    pub value: OptionValue,
}

method!(
    /// Reads an option of a handle.
    WinHttpQueryOption, "WinHttpQueryOption", QueryOptionParams, QueryOptionResult
);
