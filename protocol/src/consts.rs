//! WinHTTP flag, option and info-level numbers, with WinHTTP's values.

/// `WinHttpOpen` access types.
pub mod access_type {
    pub const DEFAULT_PROXY: u32 = 0;
    pub const NO_PROXY: u32 = 1;
    pub const NAMED_PROXY: u32 = 3;
    pub const AUTOMATIC_PROXY: u32 = 4;
}

/// `WinHttpOpen` flags.
pub mod open_flag {
    pub const ASYNC: u32 = 0x1000_0000;
    pub const SECURE_DEFAULTS: u32 = 0x3000_0000;
}

/// `WinHttpOpenRequest` flags.
pub mod request_flag {
    pub const ESCAPE_PERCENT: u32 = 0x4;
    pub const NULL_CODEPAGE: u32 = 0x8;
    pub const ESCAPE_DISABLE: u32 = 0x40;
    pub const ESCAPE_DISABLE_QUERY: u32 = 0x80;
    pub const REFRESH: u32 = 0x100;
    pub const AUTOMATIC_CHUNKING: u32 = 0x200;
    pub const SECURE: u32 = 0x0080_0000;
}

/// Default ports (`INTERNET_DEFAULT_*_PORT`).
pub mod port {
    pub const DEFAULT: u16 = 0;
    pub const HTTP: u16 = 80;
    pub const HTTPS: u16 = 443;
}

/// `INTERNET_SCHEME_*`.
pub mod scheme {
    pub const HTTP: u32 = 1;
    pub const HTTPS: u32 = 2;
}

/// Handle types (`WINHTTP_HANDLE_TYPE_*`), as returned by the HANDLE_TYPE option.
pub mod handle_type {
    pub const SESSION: u32 = 1;
    pub const CONNECT: u32 = 2;
    pub const REQUEST: u32 = 3;
}

/// `WinHttpAddRequestHeaders` modifiers.
pub mod addreq {
    pub const FLAG_ADD: u32 = 0x2000_0000;
    pub const FLAG_ADD_IF_NEW: u32 = 0x1000_0000;
    pub const FLAG_COALESCE: u32 = 0x4000_0000;
    pub const FLAG_COALESCE_WITH_COMMA: u32 = 0x4000_0000;
    pub const FLAG_COALESCE_WITH_SEMICOLON: u32 = 0x0100_0000;
    pub const FLAG_REPLACE: u32 = 0x8000_0000;
    pub const FLAGS_MASK: u32 = 0xFFFF_0000;
    pub const INDEX_MASK: u32 = 0x0000_FFFF;
}

/// `WinHttpQueryHeaders` info levels (low 16 bits) and modifiers (high bits).
pub mod query {
    pub const MIME_VERSION: u32 = 0;
    pub const CONTENT_TYPE: u32 = 1;
    pub const CONTENT_TRANSFER_ENCODING: u32 = 2;
    pub const CONTENT_ID: u32 = 3;
    pub const CONTENT_DESCRIPTION: u32 = 4;
    pub const CONTENT_LENGTH: u32 = 5;
    pub const CONTENT_LANGUAGE: u32 = 6;
    pub const ALLOW: u32 = 7;
    pub const PUBLIC: u32 = 8;
    pub const DATE: u32 = 9;
    pub const EXPIRES: u32 = 10;
    pub const LAST_MODIFIED: u32 = 11;
    pub const MESSAGE_ID: u32 = 12;
    pub const URI: u32 = 13;
    pub const DERIVED_FROM: u32 = 14;
    pub const COST: u32 = 15;
    pub const LINK: u32 = 16;
    pub const PRAGMA: u32 = 17;
    pub const VERSION: u32 = 18;
    pub const STATUS_CODE: u32 = 19;
    pub const STATUS_TEXT: u32 = 20;
    pub const RAW_HEADERS: u32 = 21;
    pub const RAW_HEADERS_CRLF: u32 = 22;
    pub const CONNECTION: u32 = 23;
    pub const ACCEPT: u32 = 24;
    pub const ACCEPT_CHARSET: u32 = 25;
    pub const ACCEPT_ENCODING: u32 = 26;
    pub const ACCEPT_LANGUAGE: u32 = 27;
    pub const AUTHORIZATION: u32 = 28;
    pub const CONTENT_ENCODING: u32 = 29;
    pub const FORWARDED: u32 = 30;
    pub const FROM: u32 = 31;
    pub const IF_MODIFIED_SINCE: u32 = 32;
    pub const LOCATION: u32 = 33;
    pub const ORIG_URI: u32 = 34;
    pub const REFERER: u32 = 35;
    pub const RETRY_AFTER: u32 = 36;
    pub const SERVER: u32 = 37;
    pub const TITLE: u32 = 38;
    pub const USER_AGENT: u32 = 39;
    pub const WWW_AUTHENTICATE: u32 = 40;
    pub const PROXY_AUTHENTICATE: u32 = 41;
    pub const ACCEPT_RANGES: u32 = 42;
    pub const SET_COOKIE: u32 = 43;
    pub const COOKIE: u32 = 44;
    pub const REQUEST_METHOD: u32 = 45;
    pub const REFRESH: u32 = 46;
    pub const CONTENT_DISPOSITION: u32 = 47;
    pub const AGE: u32 = 48;
    pub const CACHE_CONTROL: u32 = 49;
    pub const CONTENT_BASE: u32 = 50;
    pub const CONTENT_LOCATION: u32 = 51;
    pub const CONTENT_MD5: u32 = 52;
    pub const CONTENT_RANGE: u32 = 53;
    pub const ETAG: u32 = 54;
    pub const HOST: u32 = 55;
    pub const IF_MATCH: u32 = 56;
    pub const IF_NONE_MATCH: u32 = 57;
    pub const IF_RANGE: u32 = 58;
    pub const IF_UNMODIFIED_SINCE: u32 = 59;
    pub const MAX_FORWARDS: u32 = 60;
    pub const PROXY_AUTHORIZATION: u32 = 61;
    pub const RANGE: u32 = 62;
    pub const TRANSFER_ENCODING: u32 = 63;
    pub const UPGRADE: u32 = 64;
    pub const VARY: u32 = 65;
    pub const VIA: u32 = 66;
    pub const WARNING: u32 = 67;
    pub const EXPECT: u32 = 68;
    pub const PROXY_CONNECTION: u32 = 69;
    pub const UNLESS_MODIFIED_SINCE: u32 = 70;
    pub const PROXY_SUPPORT: u32 = 75;
    pub const AUTHENTICATION_INFO: u32 = 76;
    pub const PASSPORT_URLS: u32 = 77;
    pub const PASSPORT_CONFIG: u32 = 78;
    /// The highest numbered level; anything above (but CUSTOM) is invalid.
    pub const MAX: u32 = 78;
    pub const CUSTOM: u32 = 65535;

    pub const FLAG_REQUEST_HEADERS: u32 = 0x8000_0000;
    pub const FLAG_SYSTEMTIME: u32 = 0x4000_0000;
    pub const FLAG_NUMBER: u32 = 0x2000_0000;
    pub const FLAG_NUMBER64: u32 = 0x0800_0000;
    pub const FLAG_TRAILERS: u32 = 0x0200_0000;
    pub const MODIFIER_MASK: u32 = 0xFFFF_0000;
    pub const LEVEL_MASK: u32 = 0x0000_FFFF;
}

/// `WINHTTP_OPTION_*` numbers.
pub mod option {
    pub const CALLBACK: u32 = 1;
    pub const RESOLVE_TIMEOUT: u32 = 2;
    pub const CONNECT_TIMEOUT: u32 = 3;
    pub const CONNECT_RETRIES: u32 = 4;
    pub const SEND_TIMEOUT: u32 = 5;
    pub const RECEIVE_TIMEOUT: u32 = 6;
    pub const RECEIVE_RESPONSE_TIMEOUT: u32 = 7;
    pub const HANDLE_TYPE: u32 = 9;
    pub const READ_BUFFER_SIZE: u32 = 12;
    pub const WRITE_BUFFER_SIZE: u32 = 13;
    pub const PARENT_HANDLE: u32 = 21;
    pub const EXTENDED_ERROR: u32 = 24;
    pub const SECURITY_FLAGS: u32 = 31;
    pub const URL: u32 = 34;
    pub const SECURITY_KEY_BITNESS: u32 = 36;
    pub const PROXY: u32 = 38;
    pub const USER_AGENT: u32 = 41;
    pub const CONTEXT_VALUE: u32 = 45;
    pub const CLIENT_CERT_CONTEXT: u32 = 47;
    pub const REQUEST_PRIORITY: u32 = 58;
    pub const HTTP_VERSION: u32 = 59;
    pub const DISABLE_FEATURE: u32 = 63;
    pub const CODEPAGE: u32 = 68;
    pub const MAX_CONNS_PER_SERVER: u32 = 73;
    pub const MAX_CONNS_PER_1_0_SERVER: u32 = 74;
    pub const AUTOLOGON_POLICY: u32 = 77;
    pub const SERVER_CERT_CONTEXT: u32 = 78;
    pub const ENABLE_FEATURE: u32 = 79;
    pub const WORKER_THREAD_COUNT: u32 = 80;
    pub const SECURE_PROTOCOLS: u32 = 84;
    pub const ENABLETRACING: u32 = 85;
    pub const REDIRECT_POLICY: u32 = 88;
    pub const MAX_HTTP_AUTOMATIC_REDIRECTS: u32 = 89;
    pub const MAX_HTTP_STATUS_CONTINUE: u32 = 90;
    pub const MAX_RESPONSE_HEADER_SIZE: u32 = 91;
    pub const MAX_RESPONSE_DRAIN_SIZE: u32 = 92;
    pub const SPN: u32 = 96;
    pub const GLOBAL_PROXY_CREDS: u32 = 97;
    pub const GLOBAL_SERVER_CREDS: u32 = 98;
    pub const REJECT_USERPWD_IN_URL: u32 = 100;
    pub const USE_GLOBAL_SERVER_CREDENTIALS: u32 = 101;
    pub const ASSURED_NON_BLOCKING_CALLBACKS: u32 = 111;
    pub const WEB_SOCKET_CLOSE_TIMEOUT: u32 = 115;
    pub const WEB_SOCKET_KEEPALIVE_INTERVAL: u32 = 116;
    pub const DECOMPRESSION: u32 = 118;
    pub const WEB_SOCKET_RECEIVE_BUFFER_SIZE: u32 = 122;
    pub const WEB_SOCKET_SEND_BUFFER_SIZE: u32 = 123;
    pub const ENABLE_HTTP_PROTOCOL: u32 = 133;
    pub const HTTP_PROTOCOL_USED: u32 = 134;
    pub const USERNAME: u32 = 0x1000;
    pub const PASSWORD: u32 = 0x1001;
    pub const PROXY_USERNAME: u32 = 0x1002;
    pub const PROXY_PASSWORD: u32 = 0x1003;
}

/// hinetd's own options. They live at 0x10000 and above, a range WinHTTP does not use, so
/// they can never collide with a WinHTTP option number.
pub mod hinet_option {
    /// A client certificate and key as PEM (`HINET_OPTION_CLIENT_CERT_PEM`): session or
    /// request, set only. Stands in for WINHTTP_OPTION_CLIENT_CERT_CONTEXT.
    pub const CLIENT_CERT_PEM: u32 = 0x1_0000;
}

/// `WINHTTP_FLAG_SECURE_PROTOCOL_*` bits of the SECURE_PROTOCOLS option.
pub mod secure_protocol {
    pub const SSL2: u32 = 0x8;
    pub const SSL3: u32 = 0x20;
    pub const TLS1: u32 = 0x80;
    pub const TLS1_1: u32 = 0x200;
    pub const TLS1_2: u32 = 0x800;
    pub const TLS1_3: u32 = 0x2000;
    /// WinHTTP's "ALL" is SSL2|SSL3|TLS1 only.
    pub const ALL: u32 = SSL2 | SSL3 | TLS1;
}

/// `WINHTTP_PROTOCOL_FLAG_*` bits of the ENABLE_HTTP_PROTOCOL option.
pub mod http_protocol {
    pub const HTTP2: u32 = 0x1;
    pub const HTTP3: u32 = 0x2;
}

/// `SECURITY_FLAG_*` bits of the SECURITY_FLAGS option.
pub mod security_flag {
    pub const SECURE: u32 = 0x1;
    pub const IGNORE_UNKNOWN_CA: u32 = 0x100;
    pub const IGNORE_CERT_WRONG_USAGE: u32 = 0x200;
    pub const IGNORE_CERT_CN_INVALID: u32 = 0x1000;
    pub const IGNORE_CERT_DATE_INVALID: u32 = 0x2000;
    pub const IGNORE_ALL_CERT_ERRORS: u32 = 0x3300;
    pub const STRENGTH_WEAK: u32 = 0x1000_0000;
    pub const STRENGTH_MEDIUM: u32 = 0x4000_0000;
    pub const STRENGTH_STRONG: u32 = 0x2000_0000;
    /// The bits SetOption accepts.
    pub const SETTABLE: u32 = IGNORE_ALL_CERT_ERRORS;
}

/// `WINHTTP_DISABLE_*` bits of the DISABLE_FEATURE option.
pub mod disable {
    pub const COOKIES: u32 = 0x1;
    pub const REDIRECTS: u32 = 0x2;
    pub const AUTHENTICATION: u32 = 0x4;
    pub const KEEP_ALIVE: u32 = 0x8;
}

/// `WINHTTP_AUTH_SCHEME_*`: WinHttpQueryAuthSchemes and WinHttpSetCredentials.
pub mod auth_scheme {
    pub const BASIC: u32 = 0x1;
    pub const NTLM: u32 = 0x2;
    pub const PASSPORT: u32 = 0x4;
    pub const DIGEST: u32 = 0x8;
    pub const NEGOTIATE: u32 = 0x10;
}

/// `WINHTTP_AUTH_TARGET_*`.
pub mod auth_target {
    pub const SERVER: u32 = 0;
    pub const PROXY: u32 = 1;
}

/// `WINHTTP_DECOMPRESSION_FLAG_*` bits of the DECOMPRESSION option.
pub mod decompression {
    pub const GZIP: u32 = 0x1;
    pub const DEFLATE: u32 = 0x2;
    /// Every coding hinetd decodes: gzip and deflate, and beyond WinHTTP br and zstd.
    pub const ALL: u32 = GZIP | DEFLATE;
}

/// `WINHTTP_AUTOLOGON_SECURITY_LEVEL_*` values of the AUTOLOGON_POLICY option.
pub mod autologon {
    pub const MEDIUM: u32 = 0;
    pub const LOW: u32 = 1;
    pub const HIGH: u32 = 2;
    pub const PROXY_ONLY: u32 = 3;
}

/// `WINHTTP_ENABLE_*` bits of the ENABLE_FEATURE option.
pub mod enable_feature {
    /// Request handles only.
    pub const SSL_REVOCATION: u32 = 0x1;
    /// Session handles only.
    pub const SSL_REVERT_IMPERSONATION: u32 = 0x2;
}

/// `WINHTTP_OPTION_REDIRECT_POLICY_*`.
pub mod redirect_policy {
    pub const NEVER: u32 = 0;
    pub const DISALLOW_HTTPS_TO_HTTP: u32 = 1;
    pub const ALWAYS: u32 = 2;
}

/// `ICU_*` flags of CrackUrl and CreateUrl.
pub mod icu {
    pub const ESCAPE: u32 = 0x8000_0000;
    pub const DECODE: u32 = 0x1000_0000;
    pub const REJECT_USERPWD: u32 = 0x4000;
}

/// `WINHTTP_IGNORE_REQUEST_TOTAL_LENGTH`: SendRequest's "no total length announced".
pub const IGNORE_REQUEST_TOTAL_LENGTH: u64 = 0;
