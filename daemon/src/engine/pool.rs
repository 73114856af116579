//! Establishing connections (resolve, TCP, proxy, TLS, the HTTP/1.1 or HTTP/2 handshake)
//! and keeping them for reuse.
//!
//! One pool per WinHTTP session: sessions share nothing (a client's connections never carry
//! another client's requests). The key holds everything that makes two connections differ
//! (the target, the proxy and its tunnel credentials, relaxed certificate checks, TLS
//! versions, HTTP/2, the client certificate), so a connection accepted under
//! IGNORE_UNKNOWN_CA never serves a strict request, and one made through a proxy never
//! serves a direct request.
//!
//! Connections are driven by hyper's connection tasks; a [`Connection`] is the sending half.
//! An HTTP/1.1 connection goes back to the pool only when its response body was read to the
//! end. An HTTP/2 connection is shared: the pool keeps one sender per key and every request
//! gets a clone, its own stream on the same TCP connection.

use super::proxy::{ProxyKind, ProxyServer};
use super::tls::{Tls, TlsSettings};
use super::tunnel::{self, BoxIo, Tunnel};
use super::{Limits, Progress, ProgressSink, Target, h2, within};
use crate::error::{ApiError, ApiResult};
use crate::handles::lock;
use bytes::Bytes;
use futures::future::Either;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use rustls::pki_types::CertificateDer;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
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
    /// TLS settings; all default for plain HTTP, where none of them applies.
    pub tls: TlsSettings,
    pub proxy: Option<ProxyServer>,
    /// The Proxy-Authorization a CONNECT tunnel was opened with: a tunnel is not reused
    /// under other proxy credentials.
    pub tunnel_auth: Option<String>,
}

impl PoolKey {
    /// The first hop: the proxy when there is one, else the server itself.
    fn hop(&self) -> Target {
        match &self.proxy {
            Some(p) => Target {
                secure: false,
                host: p.host.clone(),
                port: p.port,
            },
            None => self.target.clone(),
        }
    }

    fn may_be_http2(&self) -> bool {
        self.target.secure && self.tls.http2
    }
}

/// What a request can learn about the connection it used.
#[derive(Debug, Clone, Default)]
pub struct ConnInfo {
    /// HTTP/2 was negotiated.
    pub http2: bool,
    /// The server's end-entity certificate (TLS only).
    pub server_cert: Option<CertificateDer<'static>>,
}

enum Sender {
    H1(http1::SendRequest<ReqBody>),
    H2(http2::SendRequest<ReqBody>),
}

/// How requests travel on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Straight to the server (SOCKS included: once set up, it is a plain byte stream).
    Direct,
    /// To an HTTP proxy, in absolute form.
    Forward,
    /// Through an HTTP proxy's CONNECT tunnel.
    Tunnel,
}

pub struct Connection {
    sender: Sender,
    via: Via,
    /// The proxy's refusal of a CONNECT tunnel, answered as the response to the request.
    canned: Option<http::Response<Incoming>>,
    /// Set on a refused tunnel: such a connection is never reused.
    refused: bool,
    pub peer: SocketAddr,
    pub key: PoolKey,
    pub info: Arc<ConnInfo>,
}

impl Connection {
    /// Hands the request to the connection task, which writes it at once; the future
    /// resolves with the response head.
    pub fn send(
        &mut self,
        mut req: http::Request<ReqBody>,
    ) -> impl Future<Output = hyper::Result<http::Response<Incoming>>> + Send + 'static {
        if let Some(response) = self.canned.take() {
            return Either::Left(std::future::ready(Ok(response)));
        }
        self.prepare(&mut req);
        Either::Right(match &mut self.sender {
            Sender::H1(s) => Either::Left(s.send_request(req)),
            Sender::H2(s) => Either::Right(s.send_request(req)),
        })
    }

    /// Gives a request the form its connection needs.
    fn prepare(&self, req: &mut http::Request<ReqBody>) {
        let target = &self.key.target;
        match (&self.sender, self.via) {
            (Sender::H2(_), _) => h2::prepare(req, target),
            (Sender::H1(_), Via::Forward) => {
                let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
                if let Ok(uri) = target.url(path).parse() {
                    *req.uri_mut() = uri;
                }
                // Credentials from the proxy's URL, unless the application sent its own.
                if let Some(auth) = self
                    .key
                    .proxy
                    .as_ref()
                    .and_then(|p| p.basic_authorization())
                    && !req
                        .headers()
                        .contains_key(http::header::PROXY_AUTHORIZATION)
                    && let Ok(v) = http::HeaderValue::from_str(&auth)
                {
                    req.headers_mut()
                        .insert(http::header::PROXY_AUTHORIZATION, v);
                }
            }
            (Sender::H1(_), Via::Direct | Via::Tunnel) => {}
        }
        if self.via == Via::Tunnel {
            // Meant for the proxy, which had it with CONNECT; never for the server.
            req.headers_mut().remove(http::header::PROXY_AUTHORIZATION);
        }
    }

    pub fn peer_text(&self) -> String {
        self.peer.to_string()
    }

    pub fn is_http2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
    }
}

/// The HTTP/2 connection of a key, shared by all its requests.
struct Shared {
    sender: http2::SendRequest<ReqBody>,
    via: Via,
    peer: SocketAddr,
    info: Arc<ConnInfo>,
}

#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<Connection>>>,
    shared: Mutex<HashMap<PoolKey, Shared>>,
    /// One turn at a time to open a connection that may turn out to be HTTP/2, so that
    /// concurrent first requests end up sharing it rather than each opening their own.
    opening: Mutex<HashMap<PoolKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl Pool {
    /// A live connection for `key`: the shared HTTP/2 one, or an idle HTTP/1.1 one.
    async fn checkout(&self, key: &PoolKey) -> Option<Connection> {
        if let Some(conn) = self.shared_h2(key) {
            return Some(conn);
        }
        loop {
            let mut conn = lock(&self.idle).get_mut(key).and_then(|v| v.pop())?;
            let Sender::H1(sender) = &mut conn.sender else {
                continue;
            };
            if sender.is_closed() {
                continue;
            }
            match tokio::time::timeout(READY_GRACE, sender.ready()).await {
                Ok(Ok(())) => return Some(conn),
                _ => continue,
            }
        }
    }

    fn shared_h2(&self, key: &PoolKey) -> Option<Connection> {
        let mut shared = lock(&self.shared);
        let entry = shared.get(key)?;
        if entry.sender.is_closed() {
            shared.remove(key);
            return None;
        }
        Some(Connection {
            sender: Sender::H2(entry.sender.clone()),
            via: entry.via,
            canned: None,
            refused: false,
            peer: entry.peer,
            key: key.clone(),
            info: entry.info.clone(),
        })
    }

    /// Returns a connection whose last response was read to the end.
    pub fn checkin(&self, conn: Connection) {
        // An HTTP/2 connection stays shared in `shared`; a clone coming back adds nothing.
        let Sender::H1(sender) = &conn.sender else {
            return;
        };
        if conn.refused || sender.is_closed() {
            return;
        }
        let mut idle = lock(&self.idle);
        let list = idle.entry(conn.key.clone()).or_default();
        if list.len() < MAX_IDLE_PER_KEY {
            list.push(conn);
        }
    }

    /// A connection for `key`: a pooled one when `reuse` allows, else a new one.
    pub async fn get(
        &self,
        tls: &Tls,
        key: PoolKey,
        limits: &Limits,
        progress: &dyn ProgressSink,
        reuse: bool,
    ) -> ApiResult<Connection> {
        if !reuse {
            return connect(tls, key, limits, progress).await;
        }
        if let Some(conn) = self.checkout(&key).await {
            return Ok(conn);
        }
        if !key.may_be_http2() {
            return connect(tls, key, limits, progress).await;
        }
        let gate = lock(&self.opening).entry(key.clone()).or_default().clone();
        let result = {
            let _turn = gate.lock().await;
            match self.shared_h2(&key) {
                Some(conn) => Ok(conn),
                None => connect(tls, key.clone(), limits, progress)
                    .await
                    .inspect(|conn| self.share(conn)),
            }
        };
        let mut opening = lock(&self.opening);
        // Ours and the map's are the only references left: nobody waits for this key.
        if Arc::strong_count(&gate) == 2 {
            opening.remove(&key);
        }
        result
    }

    fn share(&self, conn: &Connection) {
        if let Sender::H2(sender) = &conn.sender {
            let shared = Shared {
                sender: sender.clone(),
                via: conn.via,
                peer: conn.peer,
                info: conn.info.clone(),
            };
            lock(&self.shared).insert(conn.key.clone(), shared);
        }
    }
}

/// What the proxy stage leaves: a stream to the server, or the proxy's refusal.
enum Hop {
    Stream(BoxIo, Via),
    Refused(http::Response<Incoming>, http1::SendRequest<ReqBody>),
}

async fn connect(
    tls: &Tls,
    key: PoolKey,
    limits: &Limits,
    progress: &dyn ProgressSink,
) -> ApiResult<Connection> {
    let target = &key.target;
    let hop = key.hop();
    progress.progress(Progress::ResolvingName(hop.host.clone()));
    let addrs = within("name resolution", limits.resolve, resolve(&hop)).await?;
    // The egress policy judges the addresses we will actually connect to.
    progress.admit(&hop, &addrs)?;
    if hop != *target && progress.restricts_egress() {
        // Through a proxy the target is never resolved here, yet the policy must judge
        // it, or any proxy would be a way around it. Resolve it locally for the check; a
        // name that does not resolve here is judged by name at the unspecified address,
        // which block_private refuses (fail closed).
        let target_addrs = match within("name resolution", limits.resolve, resolve(target)).await {
            Ok(a) => a,
            Err(_) => vec![SocketAddr::new(IpAddr::from([0, 0, 0, 0]), target.port)],
        };
        progress.admit(target, &target_addrs)?;
    }
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
                target: hop.authority(),
                reason: "no address to connect to".into(),
            }));
        }
    };
    // Small requests must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    progress.progress(Progress::ConnectedToServer(peer));
    let peer_text = peer.to_string();

    let (io, via) = match &key.proxy {
        None => (Box::new(stream) as BoxIo, Via::Direct),
        Some(proxy) => {
            match through_proxy(Box::new(stream), proxy, &key, limits, progress, &peer_text).await?
            {
                Hop::Stream(io, via) => (io, via),
                Hop::Refused(response, sender) => {
                    return Ok(Connection {
                        sender: Sender::H1(sender),
                        via: Via::Forward,
                        canned: Some(response),
                        refused: true,
                        peer,
                        key,
                        info: Arc::default(),
                    });
                }
            }
        }
    };
    if !target.secure {
        let sender = handshake(io, peer, limits).await?;
        return Ok(Connection {
            sender: Sender::H1(sender),
            via,
            canned: None,
            refused: false,
            peer,
            key,
            info: Arc::default(),
        });
    }
    let tls_result = within(
        "TLS handshake",
        limits.send,
        tls.handshake(io, &target.host, &key.tls, &peer_text),
    )
    .await;
    if let Err(ApiError::SecureFailure { flags, .. }) = &tls_result {
        progress.progress(Progress::SecureFailure(*flags));
    }
    let done = tls_result?;
    let info = Arc::new(ConnInfo {
        http2: done.http2,
        server_cert: done.server_cert,
    });
    let sender = if done.http2 {
        Sender::H2(h2::handshake(done.stream, peer, limits).await?)
    } else {
        Sender::H1(handshake(done.stream, peer, limits).await?)
    };
    Ok(Connection {
        sender,
        via,
        canned: None,
        refused: false,
        peer,
        key,
        info,
    })
}

/// Sets up the way through `proxy` to the key's target over `io`, a connection to the proxy.
async fn through_proxy(
    io: BoxIo,
    proxy: &ProxyServer,
    key: &PoolKey,
    limits: &Limits,
    progress: &dyn ProgressSink,
    peer: &str,
) -> ApiResult<Hop> {
    let target = &key.target;
    match proxy.kind {
        ProxyKind::Http if !target.secure => Ok(Hop::Stream(io, Via::Forward)),
        ProxyKind::Http => {
            let auth = key
                .tunnel_auth
                .clone()
                .or_else(|| proxy.basic_authorization());
            let tunnel = within(
                "proxy CONNECT",
                limits.send,
                tunnel::connect_tunnel(io, target, auth.as_deref(), peer),
            )
            .await?;
            Ok(match tunnel {
                Tunnel::Open(io) => Hop::Stream(io, Via::Tunnel),
                Tunnel::Refused { response, sender } => Hop::Refused(response, sender),
            })
        }
        ProxyKind::Socks5 | ProxyKind::Socks5h => {
            let resolved = match target.host.parse::<IpAddr>() {
                Ok(ip) => Some(SocketAddr::new(ip, target.port)),
                Err(_) if proxy.kind == ProxyKind::Socks5 => {
                    let addrs = within("name resolution", limits.resolve, resolve(target)).await?;
                    progress.admit(target, &addrs)?;
                    // One address goes to the proxy; IPv4 is the one a proxy can most
                    // surely reach.
                    Some(*addrs.iter().find(|a| a.is_ipv4()).unwrap_or(&addrs[0]))
                }
                Err(_) => None,
            };
            let io = within(
                "SOCKS5 handshake",
                limits.send,
                tunnel::socks5(io, proxy, target, resolved),
            )
            .await?;
            Ok(Hop::Stream(io, Via::Direct))
        }
    }
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

/// The HTTP/1.1 handshake; the connection's task runs until the connection closes.
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
