//! The failures of WinHTTP calls, as values with context.
//!
//! Every variant maps to one Win32/WinHTTP error number ([`ApiError::code`]); its `Display`
//! is the detail a client sees after the symbolic name. Only the RPC layer turns these into
//! JSON-RPC errors.

use crate::handles::{HandleKind, RequestState};
use hinet_protocol::error as code;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("handle {0} is not open on this connection")]
    InvalidHandle(u64),
    #[error("handle {handle} is a {actual} handle; this call needs a {expected} handle")]
    IncorrectHandleType {
        handle: u64,
        expected: &'static str,
        actual: HandleKind,
    },
    #[error("{call} is not allowed while the request is {state}")]
    IncorrectHandleState {
        call: &'static str,
        state: RequestState,
    },
    #[error("{0}")]
    InvalidParameter(String),
    #[error(
        "another asynchronous operation is outstanding on this request; {call} must wait for its completion"
    )]
    OperationPending { call: &'static str },
    #[error(
        "a buffer of {given} is too small; {required} needed (WinHTTP units: bytes, or characters for URLs)"
    )]
    InsufficientBuffer { given: u32, required: u32 },
    #[error("option {0} is not supported by hinetd")]
    InvalidOption(u32),
    #[error("option {0} cannot be set")]
    OptionNotSettable(u32),
    #[error("header {0} not found")]
    HeaderNotFound(String),
    #[error("header {0} already exists")]
    HeaderAlreadyExists(String),
    #[error("invalid header line {0:?}")]
    InvalidHeader(String),
    #[error("{0}")]
    InvalidUrl(String),
    #[error("scheme {0:?} is not http or https")]
    UnrecognizedScheme(String),
    #[error("could not resolve {host}: {reason}")]
    NameNotResolved { host: String, reason: String },
    #[error("could not connect to {target}: {reason}")]
    CannotConnect { target: String, reason: String },
    #[error("{phase} timed out after {after:?}")]
    Timeout {
        phase: &'static str,
        after: Duration,
    },
    #[error("connection to {peer} failed: {reason}")]
    ConnectionError { peer: String, reason: String },
    #[error("invalid response from {peer}: {reason}")]
    InvalidServerResponse { peer: String, reason: String },
    #[error("response head from {peer} is too large: {reason}")]
    HeaderSizeOverflow { peer: String, reason: String },
    #[error("TLS with {peer} failed: {reason}")]
    SecureFailure {
        peer: String,
        reason: String,
        /// `WINHTTP_CALLBACK_STATUS_FLAG_*` bits describing the certificate problem.
        flags: u32,
    },
    #[error(
        "{peer} asks for a client certificate and none is set; set HINET_OPTION_CLIENT_CERT_PEM, or set it to null to go on without one"
    )]
    ClientAuthCertNeeded { peer: String },
    #[error("the operation was cancelled because its handle was closed")]
    OperationCancelled,
    #[error("{0}")]
    RedirectFailed(String),
    #[error("{0}")]
    NotSupported(String),
    /// ERROR_INVALID_OPERATION: e.g. QueryAuthSchemes without a challenge.
    #[error("{0}")]
    InvalidOperation(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A per-connection quota of the daemon's configuration.
    #[error("too many {what}: the limit is {limit} ({key})")]
    QuotaExceeded {
        what: &'static str,
        key: &'static str,
        limit: usize,
    },
    /// The egress policy refuses the destination; the detail names the rule.
    #[error("{0}")]
    AccessDenied(String),
}

impl ApiError {
    /// The Win32/WinHTTP error number.
    pub fn code(&self) -> u32 {
        match self {
            ApiError::InvalidHandle(_) => code::ERROR_INVALID_HANDLE,
            ApiError::IncorrectHandleType { .. } => code::ERROR_WINHTTP_INCORRECT_HANDLE_TYPE,
            ApiError::IncorrectHandleState { .. } | ApiError::OperationPending { .. } => {
                code::ERROR_WINHTTP_INCORRECT_HANDLE_STATE
            }
            ApiError::InvalidParameter(_) => code::ERROR_INVALID_PARAMETER,
            ApiError::InsufficientBuffer { .. } => code::ERROR_INSUFFICIENT_BUFFER,
            ApiError::InvalidOption(_) => code::ERROR_WINHTTP_INVALID_OPTION,
            ApiError::OptionNotSettable(_) => code::ERROR_WINHTTP_OPTION_NOT_SETTABLE,
            ApiError::HeaderNotFound(_) => code::ERROR_WINHTTP_HEADER_NOT_FOUND,
            ApiError::HeaderAlreadyExists(_) => code::ERROR_WINHTTP_HEADER_ALREADY_EXISTS,
            ApiError::InvalidHeader(_) => code::ERROR_WINHTTP_INVALID_HEADER,
            ApiError::InvalidUrl(_) => code::ERROR_WINHTTP_INVALID_URL,
            ApiError::UnrecognizedScheme(_) => code::ERROR_WINHTTP_UNRECOGNIZED_SCHEME,
            ApiError::NameNotResolved { .. } => code::ERROR_WINHTTP_NAME_NOT_RESOLVED,
            ApiError::CannotConnect { .. } => code::ERROR_WINHTTP_CANNOT_CONNECT,
            ApiError::Timeout { .. } => code::ERROR_WINHTTP_TIMEOUT,
            ApiError::ConnectionError { .. } => code::ERROR_WINHTTP_CONNECTION_ERROR,
            ApiError::InvalidServerResponse { .. } => code::ERROR_WINHTTP_INVALID_SERVER_RESPONSE,
            ApiError::HeaderSizeOverflow { .. } => code::ERROR_WINHTTP_HEADER_SIZE_OVERFLOW,
            ApiError::SecureFailure { .. } => code::ERROR_WINHTTP_SECURE_FAILURE,
            ApiError::ClientAuthCertNeeded { .. } => code::ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED,
            ApiError::OperationCancelled => code::ERROR_WINHTTP_OPERATION_CANCELLED,
            ApiError::RedirectFailed(_) => code::ERROR_WINHTTP_REDIRECT_FAILED,
            ApiError::NotSupported(_) => code::ERROR_NOT_SUPPORTED,
            ApiError::InvalidOperation(_) => code::ERROR_INVALID_OPERATION,
            ApiError::Internal(_) => code::ERROR_WINHTTP_INTERNAL_ERROR,
            ApiError::QuotaExceeded { .. } => code::ERROR_NOT_ENOUGH_MEMORY,
            ApiError::AccessDenied(_) => code::ERROR_ACCESS_DENIED,
        }
    }

    /// The size a too-small caller buffer must have, for `ERROR_INSUFFICIENT_BUFFER`.
    pub fn required_size(&self) -> Option<u32> {
        match self {
            ApiError::InsufficientBuffer { required, .. } => Some(*required),
            _ => None,
        }
    }

    pub fn invalid_parameter(detail: impl Into<String>) -> Self {
        ApiError::InvalidParameter(detail.into())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
