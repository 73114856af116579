use super::{Empty, HandleResult, method};
use crate::Base64Bytes;
use serde::{Deserialize, Serialize};

/// `WinHttpOpenRequest`: a request handle under a connect handle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenRequestParams {
    pub handle: u64,
    /// Defaults to GET (also when empty).
    #[serde(default)]
    pub verb: Option<String>,
    /// Path and query; defaults to "/", a missing leading "/" is added.
    #[serde(default)]
    pub object_name: Option<String>,
    /// Defaults to "HTTP/1.1".
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub referrer: Option<String>,
    /// Joined with ", " into one Accept header.
    #[serde(default)]
    pub accept_types: Option<Vec<String>>,
    /// `request_flag::*`, e.g. SECURE.
    #[serde(default)]
    pub flags: u32,
}

method!(
    /// Opens a request.
    WinHttpOpenRequest, "WinHttpOpenRequest", OpenRequestParams, HandleResult
);

/// `WinHttpSendRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequestParams {
    pub handle: u64,
    /// Extra header lines, CRLF-separated, added as with `FLAG_ADD`.
    #[serde(default)]
    pub headers: Option<String>,
    /// The first part (or all) of the body.
    #[serde(default)]
    pub optional: Option<Base64Bytes>,
    /// The whole body length. Larger than `optional` means the rest comes through
    /// WinHttpWriteData. 0 means "not announced" (`WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH`).
    #[serde(default)]
    pub total_length: u64,
    /// Non-zero replaces the handle's context value for good.
    #[serde(default)]
    pub context: u64,
}

method!(
    /// Sends the request line, headers and `optional` body.
    WinHttpSendRequest, "WinHttpSendRequest", SendRequestParams, Empty
);

/// `WinHttpReceiveResponse`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiveResponseParams {
    pub handle: u64,
}

method!(
    /// Waits for the response headers.
    WinHttpReceiveResponse, "WinHttpReceiveResponse", ReceiveResponseParams, Empty
);
