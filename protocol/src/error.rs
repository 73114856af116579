//! Win32 and WinHTTP error numbers, and the `data` object of a WinHTTP error.
//!
//! A failed WinHTTP call is a JSON-RPC error whose `code` is one of these numbers and whose
//! `message` starts with the symbolic name. Protocol faults keep JSON-RPC's own negative codes.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($name:ident = $value:expr),* $(,)?) => {
        $(pub const $name: u32 = $value;)*

        /// The symbolic name of a Win32/WinHTTP error number (`"UNKNOWN_ERROR"` if not listed).
        pub fn error_name(code: u32) -> &'static str {
            match code {
                $($value => stringify!($name),)*
                _ => "UNKNOWN_ERROR",
            }
        }
    };
}

error_codes! {
    ERROR_SUCCESS = 0,
    ERROR_ACCESS_DENIED = 5,
    ERROR_INVALID_HANDLE = 6,
    ERROR_NOT_ENOUGH_MEMORY = 8,
    ERROR_NOT_SUPPORTED = 50,
    ERROR_INVALID_PARAMETER = 87,
    ERROR_INSUFFICIENT_BUFFER = 122,
    ERROR_IO_PENDING = 997,
    ERROR_INVALID_OPERATION = 4317,
    ERROR_WINHTTP_OUT_OF_HANDLES = 12001,
    ERROR_WINHTTP_TIMEOUT = 12002,
    ERROR_WINHTTP_INTERNAL_ERROR = 12004,
    ERROR_WINHTTP_INVALID_URL = 12005,
    ERROR_WINHTTP_UNRECOGNIZED_SCHEME = 12006,
    ERROR_WINHTTP_NAME_NOT_RESOLVED = 12007,
    ERROR_WINHTTP_INVALID_OPTION = 12009,
    ERROR_WINHTTP_OPTION_NOT_SETTABLE = 12011,
    ERROR_WINHTTP_SHUTDOWN = 12012,
    ERROR_WINHTTP_LOGIN_FAILURE = 12015,
    ERROR_WINHTTP_OPERATION_CANCELLED = 12017,
    ERROR_WINHTTP_INCORRECT_HANDLE_TYPE = 12018,
    ERROR_WINHTTP_INCORRECT_HANDLE_STATE = 12019,
    ERROR_WINHTTP_CANNOT_CONNECT = 12029,
    ERROR_WINHTTP_CONNECTION_ERROR = 12030,
    ERROR_WINHTTP_RESEND_REQUEST = 12032,
    ERROR_WINHTTP_SECURE_CERT_DATE_INVALID = 12037,
    ERROR_WINHTTP_SECURE_CERT_CN_INVALID = 12038,
    ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED = 12044,
    ERROR_WINHTTP_SECURE_INVALID_CA = 12045,
    ERROR_WINHTTP_SECURE_CERT_REV_FAILED = 12057,
    ERROR_WINHTTP_HEADER_NOT_FOUND = 12150,
    ERROR_WINHTTP_INVALID_SERVER_RESPONSE = 12152,
    ERROR_WINHTTP_INVALID_HEADER = 12153,
    ERROR_WINHTTP_INVALID_QUERY_REQUEST = 12154,
    ERROR_WINHTTP_HEADER_ALREADY_EXISTS = 12155,
    ERROR_WINHTTP_REDIRECT_FAILED = 12156,
    ERROR_WINHTTP_SECURE_CHANNEL_ERROR = 12157,
    ERROR_WINHTTP_SECURE_INVALID_CERT = 12169,
    ERROR_WINHTTP_SECURE_CERT_REVOKED = 12170,
    ERROR_WINHTTP_SECURE_FAILURE = 12175,
    ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE = 12179,
    ERROR_WINHTTP_HEADER_COUNT_EXCEEDED = 12181,
    ERROR_WINHTTP_HEADER_SIZE_OVERFLOW = 12182,
    ERROR_WINHTTP_CHUNKED_ENCODING_HEADER_SIZE_OVERFLOW = 12183,
    ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW = 12184,
}

/// JSON-RPC 2.0 protocol error codes, used for faults of the message rather than of the call.
pub mod jsonrpc {
    pub const PARSE_ERROR: i32 = -32700;
    pub const INVALID_REQUEST: i32 = -32600;
    pub const METHOD_NOT_FOUND: i32 = -32601;
    pub const INVALID_PARAMS: i32 = -32602;
    pub const INTERNAL_ERROR: i32 = -32603;
    /// A line longer than the daemon's message limit (hinetd's own code, in the server range).
    pub const MESSAGE_TOO_LARGE: i32 = -32007;
}

/// The `data` member of a WinHTTP error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorData {
    /// The symbolic name, e.g. `ERROR_WINHTTP_CANNOT_CONNECT`.
    pub name: String,
    /// What went wrong, in words: which address, which certificate problem, which argument.
    pub detail: String,
    /// With `ERROR_INSUFFICIENT_BUFFER`: the size the caller's buffer must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_numbers() {
        assert_eq!(error_name(12029), "ERROR_WINHTTP_CANNOT_CONNECT");
        assert_eq!(error_name(6), "ERROR_INVALID_HANDLE");
        assert_eq!(error_name(1), "UNKNOWN_ERROR");
    }
}
