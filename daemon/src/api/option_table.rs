//! Every WinHTTP option hinetd knows (reference §5.2): its value shape, the handle kinds
//! that may set and query it, and — for options hinetd only keeps — the default and the
//! check of a new value. An option missing here is unknown: 12009 to set, 87 to query.
//!
//! The handle-kind sets decide WinHTTP's errors: an option that can never be set (empty
//! `set`) is read-only (12011), one that can never be queried answers 87, and a handle of
//! a kind not in the set gets 12018. Options that exist only on the NULL handle
//! (process-wide) or on websocket handles, which hinetd does not have, are 12018 on every
//! handle.

use crate::handles::HandleKind;
use hinet_protocol::consts::{autologon, decompression, enable_feature, hinet_option, option};

/// Handle kinds, as bits.
pub const S: u8 = 1;
pub const C: u8 = 2;
pub const R: u8 = 4;
/// The NULL handle (process-wide options).
pub const N: u8 = 8;
/// Websocket handles.
pub const W: u8 = 16;

pub fn kind_bit(kind: HandleKind) -> u8 {
    match kind {
        HandleKind::Session => S,
        HandleKind::Connect => C,
        HandleKind::Request => R,
    }
}

/// The handle kinds of a set, in words, for 12018's detail.
pub fn kinds_text(kinds: u8) -> &'static str {
    match kinds & (S | C | R) {
        0 if kinds & W != 0 => "websocket (hinetd has none)",
        0 => "NULL (process-wide; hinetd has no NULL handle)",
        S => "session",
        R => "request",
        x if x == S | R => "session or request",
        x if x == C | R => "connect or request",
        _ => "session, connect or request",
    }
}

/// The kinds of value an option holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// DWORD (and BOOL): 4 bytes.
    Dword,
    /// DWORD_PTR and handles: 8 bytes.
    Pointer,
    Text,
    /// A structure, as a JSON object (PROXY, SERVER_CERT_CONTEXT): no size rule.
    Object,
}

impl Shape {
    pub fn size(self) -> u32 {
        match self {
            Shape::Dword => 4,
            Shape::Pointer => 8,
            Shape::Text | Shape::Object => 0,
        }
    }
}

/// Checks a value to set for a handle kind: the value to keep, or why it is refused (87).
pub type Check = fn(HandleKind, u64) -> Result<u64, String>;

/// How an option's value is kept.
#[derive(Clone, Copy)]
pub enum Keep {
    /// By code in `options.rs` (or a module it delegates to).
    Custom,
    /// A number kept in the handle's option store; requests start from their session's
    /// values (a snapshot at WinHttpOpenRequest). It changes nothing else.
    Stored { default: u64, check: Check },
}

pub struct Spec {
    pub option: u32,
    pub name: &'static str,
    pub shape: Shape,
    /// Handle kinds that may set it; 0 = read-only.
    pub set: u8,
    /// Handle kinds that may query it; 0 = set-only.
    pub query: u8,
    pub keep: Keep,
}

pub fn spec(opt: u32) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.option == opt)
}

fn any(_: HandleKind, v: u64) -> Result<u64, String> {
    Ok(v)
}

fn boolean(_: HandleKind, v: u64) -> Result<u64, String> {
    Ok(u64::from(v != 0))
}

fn max_conns(_: HandleKind, v: u64) -> Result<u64, String> {
    // WinHTTP: "When this option is set to zero, WinHTTP sets the limit to 2."
    Ok(if v == 0 { 2 } else { v })
}

fn autologon_level(_: HandleKind, v: u64) -> Result<u64, String> {
    if v <= u64::from(autologon::PROXY_ONLY) {
        Ok(v)
    } else {
        Err(format!(
            "autologon policy {v} (0 MEDIUM, 1 LOW, 2 HIGH, 3 PROXY_ONLY)"
        ))
    }
}

fn decompression_flags(_: HandleKind, v: u64) -> Result<u64, String> {
    if v & !u64::from(decompression::ALL) == 0 {
        Ok(v)
    } else {
        Err(format!(
            "decompression flags {v:#x} (GZIP 1, DEFLATE 2, ALL 3)"
        ))
    }
}

fn enable_features(kind: HandleKind, v: u64) -> Result<u64, String> {
    let allowed = match kind {
        HandleKind::Session => enable_feature::SSL_REVERT_IMPERSONATION,
        _ => enable_feature::SSL_REVOCATION,
    };
    if v & !u64::from(allowed) == 0 {
        Ok(v)
    } else {
        Err(format!(
            "ENABLE_FEATURE {v:#x} on a {kind} handle (SSL_REVOCATION 1 on requests, \
             SSL_REVERT_IMPERSONATION 2 on sessions)"
        ))
    }
}

fn spn(_: HandleKind, v: u64) -> Result<u64, String> {
    if v <= 1 {
        Ok(v)
    } else {
        Err(format!(
            "SPN {v} (0 DISABLE_SPN_SERVER_PORT, 1 ENABLE_SPN_SERVER_PORT)"
        ))
    }
}

const fn custom(option: u32, name: &'static str, shape: Shape, set: u8, query: u8) -> Spec {
    Spec {
        option,
        name,
        shape,
        set,
        query,
        keep: Keep::Custom,
    }
}

const fn stored(
    option: u32,
    name: &'static str,
    set: u8,
    query: u8,
    default: u64,
    check: Check,
) -> Spec {
    Spec {
        option,
        name,
        shape: Shape::Dword,
        set,
        query,
        keep: Keep::Stored { default, check },
    }
}

const UNLIMITED: u64 = 0xFFFF_FFFF;

#[rustfmt::skip]
pub const TABLE: &[Spec] = &[
    // Timeouts: connect handles show their session's values.
    custom(option::RESOLVE_TIMEOUT, "RESOLVE_TIMEOUT", Shape::Dword, S | R, S | C | R),
    custom(option::CONNECT_TIMEOUT, "CONNECT_TIMEOUT", Shape::Dword, S | R, S | C | R),
    custom(option::SEND_TIMEOUT, "SEND_TIMEOUT", Shape::Dword, S | R, S | C | R),
    custom(option::RECEIVE_TIMEOUT, "RECEIVE_TIMEOUT", Shape::Dword, S | R, S | C | R),
    custom(option::RECEIVE_RESPONSE_TIMEOUT, "RECEIVE_RESPONSE_TIMEOUT", Shape::Dword, S | R, S | C | R),
    // The handle itself.
    custom(option::HANDLE_TYPE, "HANDLE_TYPE", Shape::Dword, 0, S | C | R),
    custom(option::PARENT_HANDLE, "PARENT_HANDLE", Shape::Pointer, 0, C | R),
    custom(option::CONTEXT_VALUE, "CONTEXT_VALUE", Shape::Pointer, S | C | R, S | C | R),
    custom(option::EXTENDED_ERROR, "EXTENDED_ERROR", Shape::Dword, 0, S | C | R | N),
    custom(option::WORKER_THREAD_COUNT, "WORKER_THREAD_COUNT", Shape::Dword, N, S | C | R | N),
    // Requests and their sessions.
    custom(option::URL, "URL", Shape::Text, 0, R),
    custom(option::USER_AGENT, "USER_AGENT", Shape::Text, S, S),
    custom(option::SECURITY_FLAGS, "SECURITY_FLAGS", Shape::Dword, R, R),
    custom(option::DISABLE_FEATURE, "DISABLE_FEATURE", Shape::Dword, R, 0),
    custom(option::REDIRECT_POLICY, "REDIRECT_POLICY", Shape::Dword, S | R, S | R),
    custom(option::MAX_HTTP_AUTOMATIC_REDIRECTS, "MAX_HTTP_AUTOMATIC_REDIRECTS", Shape::Dword, S | R, S | R),
    // Credentials (SetCredentials wins over them).
    custom(option::USERNAME, "USERNAME", Shape::Text, R, R),
    custom(option::PASSWORD, "PASSWORD", Shape::Text, R, R),
    custom(option::PROXY_USERNAME, "PROXY_USERNAME", Shape::Text, R, R),
    custom(option::PROXY_PASSWORD, "PROXY_PASSWORD", Shape::Text, R, R),
    // Proxies, TLS and HTTP/2 (answered by `net.rs`).
    custom(option::PROXY, "PROXY", Shape::Object, S | R, S | R),
    custom(option::SECURE_PROTOCOLS, "SECURE_PROTOCOLS", Shape::Dword, S, S),
    custom(option::ENABLE_HTTP_PROTOCOL, "ENABLE_HTTP_PROTOCOL", Shape::Dword, S | R, 0),
    custom(option::HTTP_PROTOCOL_USED, "HTTP_PROTOCOL_USED", Shape::Dword, 0, R),
    custom(option::SERVER_CERT_CONTEXT, "SERVER_CERT_CONTEXT", Shape::Object, 0, R),
    custom(option::CLIENT_CERT_CONTEXT, "CLIENT_CERT_CONTEXT", Shape::Object, R, 0),
    custom(hinet_option::CLIENT_CERT_PEM, "HINET_OPTION_CLIENT_CERT_PEM", Shape::Object, S | R, 0),
    // Kept, and used: the Accept-Encoding and decoding of responses.
    stored(option::DECOMPRESSION, "DECOMPRESSION", S | R, 0, 0, decompression_flags),
    // Kept and reported, with no effect in hinetd.
    stored(option::CONNECT_RETRIES, "CONNECT_RETRIES", S | R, S | R, 5, any),
    stored(option::READ_BUFFER_SIZE, "READ_BUFFER_SIZE", R, R, 8192, any),
    stored(option::WRITE_BUFFER_SIZE, "WRITE_BUFFER_SIZE", R, R, 8192, any),
    stored(option::REQUEST_PRIORITY, "REQUEST_PRIORITY", R, R, 0, any),
    stored(option::CODEPAGE, "CODEPAGE", S, 0, 65001, any),
    stored(option::MAX_CONNS_PER_SERVER, "MAX_CONNS_PER_SERVER", S, S, UNLIMITED, max_conns),
    stored(option::MAX_CONNS_PER_1_0_SERVER, "MAX_CONNS_PER_1_0_SERVER", S, S, UNLIMITED, any),
    stored(option::AUTOLOGON_POLICY, "AUTOLOGON_POLICY", R, 0, 0, autologon_level),
    stored(option::ENABLE_FEATURE, "ENABLE_FEATURE", S | R, 0, 0, enable_features),
    stored(option::MAX_HTTP_STATUS_CONTINUE, "MAX_HTTP_STATUS_CONTINUE", S | R, S | R, 10, any),
    stored(option::MAX_RESPONSE_HEADER_SIZE, "MAX_RESPONSE_HEADER_SIZE", S | R, S | R, 64 * 1024, any),
    stored(option::MAX_RESPONSE_DRAIN_SIZE, "MAX_RESPONSE_DRAIN_SIZE", S | R, S | R, 1024 * 1024, any),
    stored(option::SPN, "SPN", R, 0, 0, spn),
    stored(option::REJECT_USERPWD_IN_URL, "REJECT_USERPWD_IN_URL", R, 0, 0, boolean),
    stored(option::USE_GLOBAL_SERVER_CREDENTIALS, "USE_GLOBAL_SERVER_CREDENTIALS", S, 0, 0, boolean),
    stored(option::ASSURED_NON_BLOCKING_CALLBACKS, "ASSURED_NON_BLOCKING_CALLBACKS", S, 0, 0, boolean),
    stored(option::WEB_SOCKET_RECEIVE_BUFFER_SIZE, "WEB_SOCKET_RECEIVE_BUFFER_SIZE", S | R, S | R, 32768, any),
    stored(option::WEB_SOCKET_SEND_BUFFER_SIZE, "WEB_SOCKET_SEND_BUFFER_SIZE", S | R, S | R, 32768, any),
    // Only on handles hinetd does not have: 12018 everywhere.
    custom(option::HTTP_VERSION, "HTTP_VERSION", Shape::Object, N, N),
    custom(option::ENABLETRACING, "ENABLETRACING", Shape::Dword, N, N),
    custom(option::GLOBAL_PROXY_CREDS, "GLOBAL_PROXY_CREDS", Shape::Object, N, 0),
    custom(option::GLOBAL_SERVER_CREDS, "GLOBAL_SERVER_CREDS", Shape::Object, N, 0),
    custom(option::WEB_SOCKET_CLOSE_TIMEOUT, "WEB_SOCKET_CLOSE_TIMEOUT", Shape::Dword, W, W),
    custom(option::WEB_SOCKET_KEEPALIVE_INTERVAL, "WEB_SOCKET_KEEPALIVE_INTERVAL", Shape::Dword, W, 0),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_option() {
        for (i, a) in TABLE.iter().enumerate() {
            assert!(
                TABLE[i + 1..].iter().all(|b| b.option != a.option),
                "option {} ({}) is listed twice",
                a.option,
                a.name
            );
            assert!(
                a.set | a.query != 0,
                "{} can be neither set nor queried",
                a.name
            );
        }
    }
}
