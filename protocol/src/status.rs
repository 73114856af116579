//! WinHTTP status-callback values (`WINHTTP_CALLBACK_STATUS_*`) and notification masks.

macro_rules! statuses {
    ($($name:ident = $value:expr),* $(,)?) => {
        $(pub const $name: u32 = $value;)*

        /// The status name as sent in `statusName`: the constant without its
        /// `WINHTTP_CALLBACK_STATUS_` prefix, e.g. `"HANDLE_CREATED"`.
        pub fn status_name(status: u32) -> &'static str {
            match status {
                $($value => stringify!($name),)*
                _ => "UNKNOWN",
            }
        }
    };
}

statuses! {
    RESOLVING_NAME = 0x0000_0001,
    NAME_RESOLVED = 0x0000_0002,
    CONNECTING_TO_SERVER = 0x0000_0004,
    CONNECTED_TO_SERVER = 0x0000_0008,
    SENDING_REQUEST = 0x0000_0010,
    REQUEST_SENT = 0x0000_0020,
    RECEIVING_RESPONSE = 0x0000_0040,
    RESPONSE_RECEIVED = 0x0000_0080,
    CLOSING_CONNECTION = 0x0000_0100,
    CONNECTION_CLOSED = 0x0000_0200,
    HANDLE_CREATED = 0x0000_0400,
    HANDLE_CLOSING = 0x0000_0800,
    DETECTING_PROXY = 0x0000_1000,
    REDIRECT = 0x0000_4000,
    INTERMEDIATE_RESPONSE = 0x0000_8000,
    SECURE_FAILURE = 0x0001_0000,
    HEADERS_AVAILABLE = 0x0002_0000,
    DATA_AVAILABLE = 0x0004_0000,
    READ_COMPLETE = 0x0008_0000,
    WRITE_COMPLETE = 0x0010_0000,
    REQUEST_ERROR = 0x0020_0000,
    SENDREQUEST_COMPLETE = 0x0040_0000,
}

/// `WINHTTP_CALLBACK_FLAG_*` notification masks.
pub mod flag {
    pub const RESOLVE_NAME: u32 = 0x3;
    pub const CONNECT_TO_SERVER: u32 = 0xC;
    pub const SEND_REQUEST: u32 = 0x30;
    pub const RECEIVE_RESPONSE: u32 = 0xC0;
    pub const CLOSE_CONNECTION: u32 = 0x300;
    pub const HANDLES: u32 = 0xC00;
    pub const REDIRECT: u32 = super::REDIRECT;
    pub const INTERMEDIATE_RESPONSE: u32 = super::INTERMEDIATE_RESPONSE;
    pub const SECURE_FAILURE: u32 = super::SECURE_FAILURE;
    pub const ALL_COMPLETIONS: u32 = 0x017E_0000;
    pub const ALL_NOTIFICATIONS: u32 = 0xFFFF_FFFF;
}

/// `WINHTTP_CALLBACK_STATUS_FLAG_*` bits of a SECURE_FAILURE notification.
pub mod secure_failure {
    pub const CERT_REV_FAILED: u32 = 0x1;
    pub const INVALID_CERT: u32 = 0x2;
    pub const CERT_REVOKED: u32 = 0x4;
    pub const INVALID_CA: u32 = 0x8;
    pub const CERT_CN_INVALID: u32 = 0x10;
    pub const CERT_DATE_INVALID: u32 = 0x20;
    pub const CERT_WRONG_USAGE: u32 = 0x40;
    pub const SECURITY_CHANNEL_ERROR: u32 = 0x8000_0000;
}

/// `dwResult` of REQUEST_ERROR: which API call failed.
pub mod api {
    pub const RECEIVE_RESPONSE: u32 = 1;
    pub const QUERY_DATA_AVAILABLE: u32 = 2;
    pub const READ_DATA: u32 = 3;
    pub const WRITE_DATA: u32 = 4;
    pub const SEND_REQUEST: u32 = 5;
}

/// True when a completion status (sent only to async sessions).
pub fn is_completion(status: u32) -> bool {
    status & flag::ALL_COMPLETIONS != 0
}
