//! HTTP/2: the handshake, and the form a request needs on an HTTP/2 stream.
//!
//! Requests are built once, in HTTP/1.1 form (origin-form path, Host header, the
//! connection headers WinHTTP adds). An HTTP/2 stream carries the target as `:scheme` and
//! `:authority` instead, and forbids connection-specific header fields (RFC 9113 §8.2.2),
//! so [`prepare`] rewrites the request when its connection turned out to be HTTP/2.

use super::pool::ReqBody;
use super::{Limits, Target, map_hyper_error, within};
use crate::error::ApiResult;
use http::header::{self, HeaderName};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncWrite};

/// Header fields that belong to one HTTP/1 connection and have no place in HTTP/2.
const CONNECTION_SPECIFIC: [HeaderName; 5] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Runs the HTTP/2 handshake over an established TLS stream and starts the connection's
/// task. The returned sender is cheap to clone; every clone multiplexes onto the same
/// connection.
pub async fn handshake<S>(
    io: S,
    peer: SocketAddr,
    limits: &Limits,
) -> ApiResult<http2::SendRequest<ReqBody>>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = within("HTTP/2 handshake", limits.send, async {
        http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| map_hyper_error(&peer.to_string(), &e))
    })
    .await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(%peer, error = %e, "HTTP/2 connection ended");
        }
    });
    Ok(sender)
}

/// Turns an HTTP/1.1-form request into its HTTP/2 form: absolute URI (the Host header, or
/// the target, becomes the authority) and no connection-specific header fields.
pub fn prepare(req: &mut http::Request<ReqBody>, target: &Target) {
    let headers = req.headers_mut();
    // Fields the Connection header names are connection-specific too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in CONNECTION_SPECIFIC.iter().chain(&named) {
        headers.remove(name);
    }
    if headers
        .get(header::TE)
        .is_some_and(|te| !te.as_bytes().eq_ignore_ascii_case(b"trailers"))
    {
        headers.remove(header::TE);
    }
    let host = headers
        .remove(header::HOST)
        .and_then(|h| h.to_str().ok().map(str::to_owned))
        .filter(|h| h.parse::<http::uri::Authority>().is_ok())
        .unwrap_or_else(|| target.authority());
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let scheme = if target.secure { "https" } else { "http" };
    if let Ok(uri) = http::Uri::builder()
        .scheme(scheme)
        .authority(host)
        .path_and_query(path)
        .build()
    {
        *req.uri_mut() = uri;
    }
    *req.version_mut() = http::Version::HTTP_2;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::body::empty_body;

    #[test]
    fn requests_lose_connection_fields_and_gain_an_authority() {
        let mut req = http::Request::builder()
            .uri("/a?b=1")
            .header("Host", "example.com:8443")
            .header("Connection", "Keep-Alive, X-Hop")
            .header("Keep-Alive", "timeout=5")
            .header("X-Hop", "1")
            .header("TE", "gzip")
            .header("Transfer-Encoding", "chunked")
            .header("X-Kept", "yes")
            .body(empty_body())
            .unwrap();
        let target = Target {
            secure: true,
            host: "127.0.0.1".into(),
            port: 8443,
        };
        prepare(&mut req, &target);
        assert_eq!(req.uri(), "https://example.com:8443/a?b=1");
        assert_eq!(req.version(), http::Version::HTTP_2);
        let names: Vec<&str> = req.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["x-kept"]);
    }
}
