//! Establishing HTTP/1.1 connections (resolve, TCP, TLS, handshake) and keeping idle ones
//! for reuse.
//!
//! One pool per WinHTTP session: sessions share nothing (a client's connections never carry
//! another client's requests). The key holds the relaxed-certificate bits too, so a
//! connection accepted under IGNORE_UNKNOWN_CA never serves a strict request.
//!
//! Connections are driven by hyper's connection task; a [`Connection`] is the sending half.
//! It goes back to the pool only when its response body was read to the end.

use super::tls::Tls;
use super::{Limits, Progress, ProgressSink, Target, map_io_error, within};
use crate::error::{ApiError, ApiResult};
use crate::handles::lock;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The request body type of every connection.
pub type ReqBody = BoxBody<Bytes, BoxError>;

/// Idle connections kept per key; more are closed when they come back.
const MAX_IDLE_PER_KEY: usize = 8;
/// How long a returned connection may take to become ready for the next request.
const READY_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub target: Target,
    pub ignore_flags: u32,
}

pub struct Connection {
    sender: http1::SendRequest<ReqBody>,
    pub peer: SocketAddr,
    pub key: PoolKey,
}

impl Connection {
    /// Hands the request to the connection task, which writes it at once; the future
    /// resolves with the response head.
    pub fn send(
        &mut self,
        req: http::Request<ReqBody>,
    ) -> impl Future<Output = hyper::Result<http::Response<hyper::body::Incoming>>> + Send + 'static
    {
        self.sender.send_request(req)
    }

    pub fn peer_text(&self) -> String {
        self.peer.to_string()
    }
}

#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<Connection>>>,
}

impl Pool {
    /// A live idle connection for `key`, if one is ready.
    pub async fn checkout(&self, key: &PoolKey) -> Option<Connection> {
        loop {
            let mut conn = lock(&self.idle).get_mut(key).and_then(|v| v.pop())?;
            if conn.sender.is_closed() {
                continue;
            }
            match tokio::time::timeout(READY_GRACE, conn.sender.ready()).await {
                Ok(Ok(())) => return Some(conn),
                _ => continue,
            }
        }
    }

    /// Returns a connection whose last response was read to the end.
    pub fn checkin(&self, conn: Connection) {
        if conn.sender.is_closed() {
            return;
        }
        let mut idle = lock(&self.idle);
        let list = idle.entry(conn.key.clone()).or_default();
        if list.len() < MAX_IDLE_PER_KEY {
            list.push(conn);
        }
    }

    /// A connection to `target`: an idle one when possible, else a new one.
    /// `fresh` is true when a new connection was made.
    pub async fn get(
        &self,
        tls: &Tls,
        target: &Target,
        security_flags: u32,
        limits: &Limits,
        progress: &dyn ProgressSink,
        reuse: bool,
    ) -> ApiResult<Connection> {
        let key = PoolKey {
            target: target.clone(),
            ignore_flags: if target.secure {
                security_flags & hinet_protocol::consts::security_flag::IGNORE_ALL_CERT_ERRORS
            } else {
                0
            },
        };
        if reuse && let Some(conn) = self.checkout(&key).await {
            return Ok(conn);
        }
        connect(tls, key, limits, progress).await
    }
}

async fn connect(
    tls: &Tls,
    key: PoolKey,
    limits: &Limits,
    progress: &dyn ProgressSink,
) -> ApiResult<Connection> {
    let target = &key.target;
    progress.progress(Progress::ResolvingName(target.host.clone()));
    let addrs = within("name resolution", limits.resolve, resolve(target)).await?;
    progress.progress(Progress::NameResolved(addrs[0]));

    let mut last_error = None;
    let mut stream = None;
    for addr in &addrs {
        progress.progress(Progress::ConnectingToServer(*addr));
        let attempt = within("connect", limits.connect, async {
            TcpStream::connect(addr)
                .await
                .map_err(|e| ApiError::CannotConnect {
                    target: addr.to_string(),
                    reason: e.to_string(),
                })
        })
        .await;
        match attempt {
            Ok(s) => {
                stream = Some((s, *addr));
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let (stream, peer) = match stream {
        Some(s) => s,
        None => {
            return Err(last_error.unwrap_or_else(|| ApiError::CannotConnect {
                target: target.authority(),
                reason: "no address to connect to".into(),
            }));
        }
    };
    // Small requests must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    progress.progress(Progress::ConnectedToServer(peer));

    let sender = if target.secure {
        let config = tls
            .config(key.ignore_flags)
            .map_err(|e| ApiError::Internal(format!("TLS configuration: {e}")))?;
        let name = ServerName::try_from(target.host.clone()).map_err(|_| {
            ApiError::InvalidUrl(format!("{:?} is not a valid TLS server name", target.host))
        })?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let tls_stream = within("TLS handshake", limits.send, async {
            connector.connect(name, stream).await.map_err(|e| {
                let err = map_io_error(&peer.to_string(), &e);
                if let ApiError::SecureFailure { flags, .. } = &err {
                    progress.progress(Progress::SecureFailure(*flags));
                }
                err
            })
        })
        .await?;
        handshake(tls_stream, peer, limits).await?
    } else {
        handshake(stream, peer, limits).await?
    };
    Ok(Connection { sender, peer, key })
}

async fn resolve(target: &Target) -> ApiResult<Vec<SocketAddr>> {
    let host = target.host.clone();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), target.port))
        .await
        .map_err(|e| ApiError::NameNotResolved {
            host: host.clone(),
            reason: e.to_string(),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ApiError::NameNotResolved {
            host,
            reason: "no addresses".into(),
        });
    }
    Ok(addrs)
}

async fn handshake<S>(
    io: S,
    peer: SocketAddr,
    limits: &Limits,
) -> ApiResult<http1::SendRequest<ReqBody>>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = within("HTTP handshake", limits.send, async {
        http1::Builder::new()
            .title_case_headers(true)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| super::map_hyper_error(&peer.to_string(), &e))
    })
    .await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(%peer, error = %e, "connection ended");
        }
    });
    Ok(sender)
}
