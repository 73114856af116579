//! Integration-test harness for `hinetd`.
//!
//! The integration tests (`tests/tests/*.rs`, compiled as `[[test]]` targets
//! of the daemon package so that `env!("CARGO_BIN_EXE_hinetd")` is available)
//! exercise the real daemon binary end to end:
//!
//! ```text
//!   test ──JSON-RPC/NDJSON──▶ hinetd (child process) ──HTTP(S)──▶ local server
//!        [rpc::RpcConn]        [daemon::Daemon]             [HttpServer / RawServer]
//! ```
//!
//! * [`Daemon`] spawns the binary with a private socket and waits until it
//!   accepts connections; it is killed on drop.
//! * [`RpcConn`] is a JSON-RPC 2.0 client that matches out-of-order responses,
//!   queues notifications (WinHTTP callbacks) and supports raw malformed input.
//! * [`HttpServer`] is a conforming hyper origin (plain, TLS, optionally h2)
//!   that records every request and counts TCP connections.
//! * [`RawServer`] is a scripted TCP server for byte-level misbehaviour
//!   (close-delimited bodies, garbage, resets, stalls); [`closed_port`] gives a
//!   port with nothing listening.
//! * [`TestCert`] generates throw-away certificates (and a CA file for the
//!   daemon to trust).
//!
//! Everything listens on `127.0.0.1` only, uses ephemeral ports and private
//! temp directories, and cleans up on drop, so tests can run in parallel.
//! The crate deliberately depends on no workspace member: it must build while
//! the daemon and protocol crates are in flux.
//!
//! ```no_run
//! use hinet_tests::{Daemon, HttpServer};
//! use serde_json::json;
//!
//! # async fn example() {
//! let origin = HttpServer::start().await;
//! let daemon = Daemon::spawn(env!("CARGO_PKG_NAME"), &[]); // in real tests: env!("CARGO_BIN_EXE_hinetd")
//! let conn = daemon.connect().await;
//! let _ = conn.call("WinHttpOpen", json!({})).await;
//! assert_eq!(origin.connections(), 0);
//! # }
//! ```

pub mod calls;
pub mod daemon;
pub mod fault_server;
pub mod feature_routes;
pub mod http_server;
pub mod proxy;
pub mod raw_server;
pub mod rpc;
pub mod tempdir;
pub mod tls;

pub use daemon::Daemon;
pub use fault_server::{Fault, FaultServer, oversized_head};
pub use http_server::{HttpServer, Recorded, big_body, parse_query, percent_encode};
pub use proxy::{Socks5Server, SocksTarget, Tinyproxy};
pub use raw_server::{RawServer, Script, closed_port};
pub use rpc::{RpcConn, RpcError, b64, unb64};
pub use tempdir::TempDir;
pub use tls::{TestCa, TestCert};

/// Hook for harness-side logging. Currently a no-op: the daemon's own logs
/// are captured per test (see [`Daemon::stderr_log`]) and the JSON-RPC
/// traffic can be traced with `HINET_TESTS_TRACE=1`. Safe to call any number
/// of times.
pub fn init_tracing() {}
