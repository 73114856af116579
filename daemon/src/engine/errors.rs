//! Mapping of I/O, TLS and hyper failures onto WinHTTP error numbers, with the detail a
//! person needs: which peer, which certificate problem.

use crate::error::ApiError;
use std::error::Error as StdError;
use std::io;

/// Maps an I/O failure on an established connection.
pub fn map_io_error(peer: &str, e: &io::Error) -> ApiError {
    if let Some(tls) = find_rustls(e) {
        return ApiError::SecureFailure {
            peer: peer.to_owned(),
            reason: tls.to_string(),
            flags: super::tls::secure_failure_flags(tls),
        };
    }
    ApiError::ConnectionError {
        peer: peer.to_owned(),
        reason: e.to_string(),
    }
}

/// Maps a hyper failure while sending a request or receiving a response.
pub fn map_hyper_error(peer: &str, e: &hyper::Error) -> ApiError {
    // hyper reports both too many header lines and a head beyond its buffer as "too
    // large"; WinHTTP's answer to an oversized response head is HEADER_SIZE_OVERFLOW.
    if e.is_parse_too_large() {
        return ApiError::HeaderSizeOverflow {
            peer: peer.to_owned(),
            reason: e.to_string(),
        };
    }
    if e.is_parse() || e.is_parse_status() {
        return ApiError::InvalidServerResponse {
            peer: peer.to_owned(),
            reason: e.to_string(),
        };
    }
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            return map_io_error(peer, io);
        }
        source = s.source();
    }
    ApiError::ConnectionError {
        peer: peer.to_owned(),
        reason: e.to_string(),
    }
}

fn find_rustls(e: &io::Error) -> Option<&rustls::Error> {
    let inner = e.get_ref()?;
    if let Some(t) = inner.downcast_ref::<rustls::Error>() {
        return Some(t);
    }
    let mut source = inner.source();
    while let Some(s) = source {
        if let Some(t) = s.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        source = s.source();
    }
    None
}
