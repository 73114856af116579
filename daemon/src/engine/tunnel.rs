//! Reaching a server through a proxy: HTTP CONNECT tunnels and SOCKS5.
//!
//! CONNECT is sent with hyper's own HTTP/1.1 client, so a proxy that refuses the tunnel
//! (407 wanting credentials, 403, 502) answers with an ordinary response, headers and body,
//! which the request then reports to the application as its response, as WinHTTP does.

use super::body::empty_body;
use super::pool::ReqBody;
use super::proxy::ProxyServer;
use super::{Target, map_hyper_error};
use crate::error::{ApiError, ApiResult};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::client::legacy::connect::proxy::SocksV5;
use hyper_util::rt::TokioIo;
use std::future::Ready;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite};
use tower_service::Service;

/// A byte stream to the server, whatever carries it (TCP, a CONNECT tunnel, SOCKS).
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}
pub type BoxIo = Box<dyn Io>;

pub enum Tunnel {
    Open(BoxIo),
    /// The proxy's answer was not 2xx. `sender` keeps its connection alive while the
    /// response body is read.
    Refused {
        response: http::Response<Incoming>,
        sender: http1::SendRequest<ReqBody>,
    },
}

/// Asks the HTTP proxy at the other end of `io` for a tunnel to `target`.
pub async fn connect_tunnel(
    io: BoxIo,
    target: &Target,
    authorization: Option<&str>,
    peer: &str,
) -> ApiResult<Tunnel> {
    let (mut sender, conn) = http1::Builder::new()
        .title_case_headers(true)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| map_hyper_error(peer, &e))?;
    let log_peer = peer.to_owned();
    tokio::spawn(async move {
        // With upgrades, the task ends by handing the stream to `hyper::upgrade::on`.
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(peer = %log_peer, error = %e, "proxy connection ended");
        }
    });
    let authority = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut req = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(authority.as_str())
        .header(http::header::HOST, authority.as_str());
    if let Some(a) = authorization {
        req = req.header(http::header::PROXY_AUTHORIZATION, a);
    }
    let req = req
        .body(empty_body())
        .map_err(|e| ApiError::invalid_parameter(format!("CONNECT request: {e}")))?;
    let response = sender
        .send_request(req)
        .await
        .map_err(|e| map_hyper_error(peer, &e))?;
    if !response.status().is_success() {
        tracing::debug!(%peer, status = %response.status(), "proxy refused the tunnel");
        return Ok(Tunnel::Refused { response, sender });
    }
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| ApiError::ConnectionError {
            peer: peer.to_owned(),
            reason: format!("CONNECT tunnel: {e}"),
        })?;
    Ok(Tunnel::Open(Box::new(TokioIo::new(upgraded))))
}

/// Runs the SOCKS5 handshake over `io` (already connected to the proxy) for `target`.
/// `resolved` is the target's address when the host name was resolved here (`socks5://`);
/// None sends the name for the proxy to resolve (`socks5h://`).
pub async fn socks5(
    io: BoxIo,
    proxy: &ProxyServer,
    target: &Target,
    resolved: Option<SocketAddr>,
) -> ApiResult<BoxIo> {
    let dst = match resolved {
        Some(addr) => format!("http://{addr}"),
        None if target.host.contains(':') => format!("http://[{}]:{}", target.host, target.port),
        None => format!("http://{}:{}", target.host, target.port),
    };
    let dst: http::Uri = dst
        .parse()
        .map_err(|e| ApiError::InvalidUrl(format!("SOCKS destination {dst:?}: {e}")))?;
    // The proxy URI only names the proxy to the inner connector, which is already
    // connected; it is not dialled again.
    let proxy_uri = http::Uri::from_static("http://socks.invalid");
    let mut socks = SocksV5::new(proxy_uri, Connected(Some(TokioIo::new(io))));
    if let Some((user, password)) = &proxy.credentials {
        socks = socks.with_auth(user.clone(), password.clone());
    }
    let io = socks.call(dst).await.map_err(|e| ApiError::CannotConnect {
        target: target.authority(),
        reason: format!("SOCKS5 proxy {proxy}: {e}"),
    })?;
    Ok(Box::new(io.into_inner()))
}

/// A connector that hands out the one stream it was given: hyper-util's SOCKS handshake
/// takes a connector, and the daemon connects itself (with its own timeouts, progress
/// notifications and egress checks).
struct Connected(Option<TokioIo<BoxIo>>);

impl Service<http::Uri> for Connected {
    type Response = TokioIo<BoxIo>;
    type Error = std::io::Error;
    type Future = Ready<Result<TokioIo<BoxIo>, std::io::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _proxy: http::Uri) -> Self::Future {
        std::future::ready(
            self.0
                .take()
                .ok_or_else(|| std::io::Error::other("the proxy connection was already used")),
        )
    }
}
