//! The client's error type: WinHTTP failures keep their number and name; everything else
//! says which side of the socket went wrong.

use hinet_protocol::ErrorData;
use hinet_protocol::error::{ERROR_WINHTTP_OPERATION_CANCELLED, error_name};
use serde_json::{Value, json};
use std::path::PathBuf;

/// What a call through hinetd can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The daemon's socket could not be reached (nothing listening, no such file, no
    /// permission).
    #[error("cannot connect to hinetd at {}: {source}", path.display())]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A WinHTTP function failed: `code` is WinHTTP's number (12029, 6, …), `name` its
    /// symbolic name. Async completions that fail (REQUEST_ERROR) arrive here too.
    #[error("{name} ({code}): {detail}")]
    WinHttp {
        code: u32,
        name: String,
        detail: String,
        /// With ERROR_INSUFFICIENT_BUFFER (122): the buffer size the call needed.
        required: Option<u32>,
    },
    /// The daemon rejected the message itself (a JSON-RPC protocol error: unknown method,
    /// invalid params, …).
    #[error("JSON-RPC error {code}: {message}")]
    Rpc {
        code: i64,
        message: String,
        data: Option<Value>,
    },
    /// The connection to the daemon ended while a call was waiting, or before it was sent.
    #[error("the connection to hinetd was lost: {reason}")]
    Disconnected { reason: String },
    /// The daemon answered something this client cannot read (a version mismatch).
    #[error("unexpected answer to {method}: {detail}")]
    Unexpected { method: String, detail: String },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The WinHTTP/Win32 error number, for [`Error::WinHttp`].
    pub fn code(&self) -> Option<u32> {
        match self {
            Error::WinHttp { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The symbolic WinHTTP name (`"ERROR_WINHTTP_CANNOT_CONNECT"`), for [`Error::WinHttp`].
    pub fn name(&self) -> Option<&str> {
        match self {
            Error::WinHttp { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The JSON-RPC `error` object this error came from (rebuilt the way the daemon sends
    /// it), for errors the daemon returned; `None` for local failures.
    pub fn rpc_object(&self) -> Option<Value> {
        match self {
            Error::WinHttp {
                code,
                name,
                detail,
                required,
            } => {
                let mut data = json!({"name": name, "detail": detail});
                if let Some(r) = required {
                    data["required"] = json!(r);
                }
                Some(json!({"code": code, "message": format!("{name}: {detail}"), "data": data}))
            }
            Error::Rpc {
                code,
                message,
                data,
            } => {
                let mut obj = json!({"code": code, "message": message});
                if let Some(d) = data {
                    obj["data"] = d.clone();
                }
                Some(obj)
            }
            _ => None,
        }
    }

    /// A WinHTTP error from its number and detail.
    pub(crate) fn winhttp(code: u32, detail: impl Into<String>) -> Error {
        Error::WinHttp {
            code,
            name: error_name(code).to_owned(),
            detail: detail.into(),
            required: None,
        }
    }

    /// An operation whose handle closed before its completion arrived.
    pub(crate) fn cancelled() -> Error {
        Error::winhttp(
            ERROR_WINHTTP_OPERATION_CANCELLED,
            "the handle was closed before the operation completed",
        )
    }

    /// Reads a JSON-RPC `error` object: positive codes are WinHTTP errors, negative ones
    /// protocol errors.
    pub(crate) fn from_rpc(obj: &Value) -> Error {
        let code = obj.get("code").and_then(Value::as_i64).unwrap_or(0);
        let message = obj
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let data = obj.get("data").cloned();
        match u32::try_from(code) {
            Ok(code) if code > 0 => {
                let parsed = data
                    .and_then(|d| serde_json::from_value::<ErrorData>(d).ok())
                    .unwrap_or_else(|| ErrorData {
                        name: error_name(code).to_owned(),
                        // Without `data`, the message is "NAME: detail" or just text.
                        detail: message
                            .split_once(": ")
                            .map(|(_, d)| d.to_owned())
                            .unwrap_or(message),
                        required: None,
                    });
                Error::WinHttp {
                    code,
                    name: parsed.name,
                    detail: parsed.detail,
                    required: parsed.required,
                }
            }
            _ => Error::Rpc {
                code,
                message,
                data,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winhttp_errors_keep_number_name_and_detail() {
        let obj = json!({"code": 12029, "message": "ERROR_WINHTTP_CANNOT_CONNECT: refused",
            "data": {"name": "ERROR_WINHTTP_CANNOT_CONNECT", "detail": "refused"}});
        let e = Error::from_rpc(&obj);
        assert_eq!(e.code(), Some(12029));
        assert_eq!(e.name(), Some("ERROR_WINHTTP_CANNOT_CONNECT"));
        assert_eq!(
            e.to_string(),
            "ERROR_WINHTTP_CANNOT_CONNECT (12029): refused"
        );
        assert_eq!(e.rpc_object(), Some(obj));
    }

    #[test]
    fn protocol_errors_stay_protocol_errors() {
        let obj = json!({"code": -32601, "message": "Method not found"});
        let e = Error::from_rpc(&obj);
        assert!(matches!(e, Error::Rpc { code: -32601, .. }));
        assert_eq!(e.code(), None);
        assert_eq!(e.rpc_object(), Some(obj));
    }

    #[test]
    fn missing_data_falls_back_to_the_name_table() {
        let e = Error::from_rpc(&json!({"code": 6, "message": "ERROR_INVALID_HANDLE: gone"}));
        assert_eq!(e.name(), Some("ERROR_INVALID_HANDLE"));
        assert!(e.to_string().ends_with(": gone"), "{e}");
    }
}
