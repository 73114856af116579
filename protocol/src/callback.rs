//! Status-callback subscriptions: WinHTTP's `WinHttpSetStatusCallback` as a JSON-RPC
//! subscription, and the notification it delivers.

use crate::Base64Bytes;
use serde::{Deserialize, Serialize};

pub const SET_STATUS_CALLBACK: &str = "WinHttpSetStatusCallback";
pub const UNSET_STATUS_CALLBACK: &str = "WinHttpUnsetStatusCallback";
/// The method name of the notifications.
pub const STATUS_CALLBACK: &str = "WinHttpStatusCallback";

/// `WinHttpSetStatusCallback`; the result is the subscription id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetStatusCallbackParams {
    pub handle: u64,
    /// `status::flag::*` mask; a status is delivered only when `mask & status != 0`.
    pub notification_flags: u32,
}

/// `WinHttpUnsetStatusCallback`; the result is `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnsetStatusCallbackParams {
    /// The id WinHttpSetStatusCallback answered, as the same JSON integer.
    pub subscription: u64,
}

/// The `params` of a `WinHttpStatusCallback` notification: which subscription, and the
/// callback itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusCallbackParams {
    pub subscription: u64,
    pub result: StatusNotification,
}

/// One status callback, the `result` of a `WinHttpStatusCallback` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusNotification {
    pub handle: u64,
    pub context: u64,
    pub status: u32,
    pub status_name: String,
    pub info: StatusInfo,
}

/// The status-specific payload (`lpvStatusInformation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum StatusInfo {
    Name {
        name: String,
    },
    Address {
        address: String,
    },
    Bytes {
        bytes: u64,
    },
    Handle {
        handle: u64,
    },
    Url {
        url: String,
    },
    #[serde(rename_all = "camelCase")]
    StatusCode {
        status_code: u16,
    },
    Flags {
        flags: u32,
    },
    #[serde(rename_all = "camelCase")]
    DataAvailable {
        bytes_available: u64,
    },
    #[serde(rename_all = "camelCase")]
    ReadComplete {
        data: Base64Bytes,
        bytes_read: u64,
    },
    #[serde(rename_all = "camelCase")]
    WriteComplete {
        bytes_written: u64,
    },
    #[serde(rename_all = "camelCase")]
    RequestError {
        result: u32,
        error: u32,
        error_name: String,
        detail: String,
    },
    Empty {},
}
