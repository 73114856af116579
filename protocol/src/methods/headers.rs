use super::{Empty, method};
use serde::{Deserialize, Serialize};

/// `WinHttpAddRequestHeaders`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddRequestHeadersParams {
    pub handle: u64,
    /// One or more `Name: value` lines separated by CRLF (lone CR or LF tolerated).
    /// Missing or empty → 87.
    #[serde(default)]
    pub headers: Option<String>,
    /// `addreq::FLAG_*`; 0 behaves like FLAG_ADD.
    #[serde(default)]
    pub modifiers: u32,
}

method!(
    /// Adds, replaces or merges request headers.
    WinHttpAddRequestHeaders, "WinHttpAddRequestHeaders", AddRequestHeadersParams, Empty
);

/// `WinHttpQueryHeaders`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryHeadersParams {
    pub handle: u64,
    /// `query::*` level ORed with `query::FLAG_*` modifiers.
    pub info_level: u32,
    /// The header name, with `query::CUSTOM` only.
    #[serde(default)]
    pub name: Option<String>,
    /// Which instance of a repeated header (0-based). Absent = the first.
    #[serde(default)]
    pub index: Option<u32>,
    /// The caller's buffer size in bytes, as in WinHTTP. When given and too small for the
    /// answer (UTF-16 text with its terminator, or 4 bytes for FLAG_NUMBER) the call fails
    /// with 122 and `data.required`. Absent = large enough.
    #[serde(default)]
    pub buffer_length: Option<u32>,
}

/// A header value: a number with `query::FLAG_NUMBER`, else text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum HeaderValue {
    Number(u64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryHeadersResult {
    pub value: HeaderValue,
    /// The index to pass next for the following instance of the same header.
    pub index: u32,
}

method!(
    /// Reads response (or request) headers.
    WinHttpQueryHeaders, "WinHttpQueryHeaders", QueryHeadersParams, QueryHeadersResult
);
