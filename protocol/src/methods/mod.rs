//! One type per WinHTTP function: its method name, params and result.
//!
//! Params are named objects whose members are the WinHTTP parameter names without their
//! Hungarian prefix, in camelCase. The handle argument is always `handle`. Members that are
//! optional in WinHTTP may be omitted and take WinHTTP's defaults. Unknown members are
//! rejected (-32602), so a misspelt name is an error rather than a silent default.

mod auth;
mod data;
mod handle;
mod headers;
mod options;
mod request;
mod session;
mod url;

pub use auth::*;
pub use data::*;
pub use handle::*;
pub use headers::*;
pub use options::*;
pub use request::*;
pub use session::*;
pub use url::*;

use serde::{Deserialize, Serialize};

/// The result of the calls that create a handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HandleResult {
    pub handle: u64,
}

/// The result of the calls that return only a WinHTTP `BOOL`: `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Empty {}

/// Declares a method marker type implementing [`crate::Method`].
macro_rules! method {
    ($(#[doc = $doc:literal])* $ty:ident, $name:literal, $params:ty, $result:ty) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $ty;
        impl $crate::Method for $ty {
            const NAME: &'static str = $name;
            const SUMMARY: &'static str = concat!($($doc),*);
            type Params = $params;
            type Result = $result;
        }
    };
}
pub(crate) use method;

/// Every method name, in the order of the reference.
pub const ALL_METHODS: &[&str] = &[
    "WinHttpOpen",
    "WinHttpConnect",
    "WinHttpOpenRequest",
    "WinHttpAddRequestHeaders",
    "WinHttpSetCredentials",
    "WinHttpSendRequest",
    "WinHttpWriteData",
    "WinHttpReceiveResponse",
    "WinHttpQueryHeaders",
    "WinHttpQueryAuthSchemes",
    "WinHttpQueryDataAvailable",
    "WinHttpReadData",
    "WinHttpCloseHandle",
    "WinHttpSetTimeouts",
    "WinHttpSetOption",
    "WinHttpQueryOption",
    "WinHttpCrackUrl",
    "WinHttpCreateUrl",
];
