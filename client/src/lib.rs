//! A Rust client for hinetd: WinHTTP's programming model, async and typed.
//!
//! The types mirror WinHTTP's handles — [`Session`] (`WinHttpOpen`), [`Connection`]
//! (`WinHttpConnect`), [`Request`] (`WinHttpOpenRequest`) — and their methods the
//! functions that act on them. Params and results are the wire types of
//! [`hinet_protocol`] (re-exported as [`protocol`]); failures are [`Error`]s that keep
//! WinHTTP's error number and name. Status callbacks arrive as a [`Notifications`] stream
//! of typed [`StatusNotification`]s. Handles close when their values drop.
//!
//! For the simple case there is [`get`]:
//!
//! ```no_run
//! # async fn demo() -> hinet_client::Result<()> {
//! let page = hinet_client::get("http://127.0.0.1:8000/").await?;
//! assert_eq!(page.status, 200);
//! # Ok(()) }
//! ```
//!
//! The WinHTTP way, with the status-callback trace of an async session:
//!
//! ```no_run
//! use futures::StreamExt;
//! use hinet_client::protocol::consts::open_flag;
//! use hinet_client::{Client, OpenParams, Session};
//!
//! # async fn demo() -> hinet_client::Result<()> {
//! let client = Client::connect_default().await?;
//! let session = Session::open(&client, OpenParams {
//!     flags: open_flag::ASYNC,
//!     ..Default::default()
//! })
//! .await?;
//! let mut trace = session.notifications(u32::MAX).await?;
//! let connection = session.connect("127.0.0.1", 8000).await?;
//! let mut request = connection.open_request("GET", "/", 0).await?;
//! request.send(None, &[], 0).await?; // returns at SENDREQUEST_COMPLETE
//! request.receive_response().await?; // at HEADERS_AVAILABLE
//! let body = request.read_to_end().await?;
//! session.close().await?; // closes the connection and request too
//! drop((request, connection));
//! while let Some(n) = trace.next().await {
//!     println!("h={} {}", n.handle, n.status_name); // ... HANDLE_CLOSING
//! }
//! # let _ = body;
//! # Ok(()) }
//! ```
//!
//! All of it needs a Tokio runtime; a [`Client`] runs two small tasks (reader and writer)
//! on it.

mod client;
mod error;
mod handle;
mod request;
mod route;
mod session;
mod simple;
mod socket;

pub use client::Client;
pub use error::{Error, Result};
pub use hinet_protocol as protocol;
pub use hinet_protocol::callback::{StatusInfo, StatusNotification};
pub use hinet_protocol::{OpenParams, OpenRequestParams, OptionValue};
pub use request::{READ_CHUNK, Request};
pub use route::{Notifications, TAP_CAPACITY};
pub use session::{Connection, Session};
pub use simple::{Response, Target, get};
pub use socket::{SOCKET_ENV, socket_path};
