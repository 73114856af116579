use super::method;
use crate::Base64Bytes;
use serde::{Deserialize, Serialize};

/// `WinHttpWriteData`: more request body after SendRequest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WriteDataParams {
    pub handle: u64,
    pub data: Base64Bytes,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WriteDataResult {
    pub bytes_written: u64,
}

method!(
    /// Writes request body bytes.
    WinHttpWriteData, "WinHttpWriteData", WriteDataParams, WriteDataResult
);

/// `WinHttpQueryDataAvailable`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryDataAvailableParams {
    pub handle: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryDataAvailableResult {
    /// Bytes readable now without waiting; 0 at the end of the body.
    pub bytes_available: u64,
}

method!(
    /// Waits until body bytes can be read and says how many.
    WinHttpQueryDataAvailable, "WinHttpQueryDataAvailable", QueryDataAvailableParams, QueryDataAvailableResult
);

/// `WinHttpReadData`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadDataParams {
    pub handle: u64,
    /// The caller's buffer size. 0 is valid and reads nothing.
    pub bytes_to_read: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadDataResult {
    pub data: Base64Bytes,
    /// `data`'s length; 0 means the end of the body.
    pub bytes_read: u64,
}

method!(
    /// Reads response body bytes.
    WinHttpReadData, "WinHttpReadData", ReadDataParams, ReadDataResult
);
