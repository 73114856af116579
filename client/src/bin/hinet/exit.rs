//! Exit codes: curl's numbers where curl has the same failure, one per WinHTTP failure
//! class (the table is in `args::EXIT_CODES` and docs/cli.md).

use hinet_client::Error;
use hinet_client::protocol::error as e;

pub const UNSUPPORTED_PROTOCOL: u8 = 1;
pub const USAGE: u8 = 2;
pub const BAD_URL: u8 = 3;
pub const NOT_SUPPORTED: u8 = 4;
pub const NOT_RESOLVED: u8 = 6;
pub const CANNOT_CONNECT: u8 = 7;
pub const INVALID_RESPONSE: u8 = 8;
pub const HTTP_ERROR: u8 = 22;
pub const WRITE_ERROR: u8 = 23;
pub const READ_ERROR: u8 = 26;
pub const TIMEOUT: u8 = 28;
pub const TLS: u8 = 35;
pub const REFUSED_CALL: u8 = 43;
pub const TOO_MANY_REDIRECTS: u8 = 47;
pub const EMPTY_REPLY: u8 = 52;
pub const SEND_ERROR: u8 = 55;
pub const RECV_ERROR: u8 = 56;
pub const LOGIN_DENIED: u8 = 67;
pub const NO_DAEMON: u8 = 69;
pub const CACERT: u8 = 77;

/// Where a transfer was when it failed: a dropped connection means different things
/// before the request went out, before the response head, and in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Setup,
    Send,
    Receive,
    Body,
}

/// A failed command: the exit code and the one line that explains it.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A client error during `phase`, with its exit code.
    pub fn from_client(err: &Error, phase: Phase) -> Failure {
        Failure::new(code_for(err, phase), describe(err))
    }
}

/// The one line for a client error; a missing daemon names the command that starts it.
pub fn describe(err: &Error) -> String {
    match err {
        Error::Connect { path, source } => format!(
            "no hinetd answers on {} ({source}); start it with `hinetd --socket {}` \
             (from the source tree: `cargo run --release -p hinetd -- --socket {}`)",
            path.display(),
            path.display(),
            path.display()
        ),
        other => other.to_string(),
    }
}

pub fn code_for(err: &Error, phase: Phase) -> u8 {
    match err {
        Error::Connect { .. } | Error::Disconnected { .. } => NO_DAEMON,
        Error::Rpc { .. } | Error::Unexpected { .. } => REFUSED_CALL,
        Error::WinHttp { code, .. } => winhttp_code(*code, phase),
    }
}

fn winhttp_code(code: u32, phase: Phase) -> u8 {
    match code {
        e::ERROR_WINHTTP_UNRECOGNIZED_SCHEME => UNSUPPORTED_PROTOCOL,
        e::ERROR_WINHTTP_INVALID_URL => BAD_URL,
        e::ERROR_NOT_SUPPORTED | e::ERROR_WINHTTP_INVALID_OPTION => NOT_SUPPORTED,
        e::ERROR_WINHTTP_NAME_NOT_RESOLVED => NOT_RESOLVED,
        e::ERROR_WINHTTP_CANNOT_CONNECT => CANNOT_CONNECT,
        e::ERROR_WINHTTP_INVALID_SERVER_RESPONSE
        | e::ERROR_WINHTTP_INVALID_HEADER
        | e::ERROR_WINHTTP_HEADER_COUNT_EXCEEDED
        | e::ERROR_WINHTTP_HEADER_SIZE_OVERFLOW
        | e::ERROR_WINHTTP_CHUNKED_ENCODING_HEADER_SIZE_OVERFLOW => INVALID_RESPONSE,
        e::ERROR_WINHTTP_TIMEOUT => TIMEOUT,
        e::ERROR_WINHTTP_SECURE_FAILURE
        | e::ERROR_WINHTTP_SECURE_CHANNEL_ERROR
        | e::ERROR_WINHTTP_SECURE_INVALID_CA
        | e::ERROR_WINHTTP_SECURE_CERT_CN_INVALID
        | e::ERROR_WINHTTP_SECURE_CERT_DATE_INVALID
        | e::ERROR_WINHTTP_SECURE_INVALID_CERT
        | e::ERROR_WINHTTP_SECURE_CERT_REVOKED
        | e::ERROR_WINHTTP_SECURE_CERT_REV_FAILED
        | e::ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE
        | e::ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED => TLS,
        e::ERROR_WINHTTP_REDIRECT_FAILED => TOO_MANY_REDIRECTS,
        e::ERROR_WINHTTP_LOGIN_FAILURE => LOGIN_DENIED,
        e::ERROR_WINHTTP_CONNECTION_ERROR | e::ERROR_WINHTTP_RESPONSE_DRAIN_OVERFLOW => match phase
        {
            Phase::Setup | Phase::Send => SEND_ERROR,
            Phase::Receive => EMPTY_REPLY,
            Phase::Body => RECV_ERROR,
        },
        _ => REFUSED_CALL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn winhttp(code: u32) -> Error {
        Error::WinHttp {
            code,
            name: e::error_name(code).into(),
            detail: String::new(),
            required: None,
        }
    }

    #[test]
    fn failure_classes_map_to_curl_numbers() {
        let at = |code, phase| code_for(&winhttp(code), phase);
        assert_eq!(at(12007, Phase::Send), 6);
        assert_eq!(at(12029, Phase::Send), 7);
        assert_eq!(at(12002, Phase::Body), 28);
        assert_eq!(at(12175, Phase::Send), 35);
        assert_eq!(at(12030, Phase::Send), 55);
        assert_eq!(at(12030, Phase::Receive), 52);
        assert_eq!(at(12030, Phase::Body), 56);
        assert_eq!(at(50, Phase::Setup), 4);
        assert_eq!(at(6, Phase::Setup), 43);
        let gone = Error::Disconnected { reason: "x".into() };
        assert_eq!(code_for(&gone, Phase::Body), NO_DAEMON);
    }
}
