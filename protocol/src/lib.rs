//! Wire types of the hinetd protocol.
//!
//! hinetd serves the WinHTTP programming model over JSON-RPC 2.0. This crate is the one
//! description of that wire shared by the daemon and by the Rust client: for every WinHTTP
//! function there is one type implementing [`Method`], naming the JSON-RPC method and its
//! params and result. The numeric constants (errors, flags, options, info levels, callback
//! statuses) keep WinHTTP's values, so a program ported from WinHTTP keeps its numbers.
//!
//! There is no I/O here: the daemon and clients decide how the bytes travel.

pub mod bytes;
pub mod callback;
pub mod consts;
pub mod error;
pub mod methods;
#[cfg(feature = "schema")]
pub mod openrpc;
pub mod status;

pub use bytes::Base64Bytes;
pub use error::{ErrorData, error_name};
pub use methods::*;

/// A WinHTTP function exposed over JSON-RPC: its method name and its wire types.
pub trait Method {
    /// The JSON-RPC method name: the WinHTTP function name verbatim.
    const NAME: &'static str;
    /// What the method does, in a line (its marker type's doc comment).
    const SUMMARY: &'static str = "";
    /// The named-object params.
    type Params: serde::Serialize + serde::de::DeserializeOwned + Send + 'static;
    /// The result object.
    type Result: serde::Serialize + serde::de::DeserializeOwned + Send + 'static;
}
