//! A real HTTP(S) origin server on `127.0.0.1:<ephemeral>` for the daemon to
//! talk to.
//!
//! It is built on hyper 1 (`hyper_util::server::conn::auto`, so HTTP/1.1 with
//! keep-alive, and HTTP/2 when a TLS client negotiates `h2`), because the
//! daemon should be tested against a conforming server; byte-level misbehaviour
//! lives in [`crate::raw_server`] instead.
//!
//! Every accepted TCP connection is counted ([`HttpServer::connections`]; this
//! is how tests observe connection reuse) and every request is recorded
//! ([`HttpServer::requests`]) with its connection number, so tests can assert
//! exactly what hinetd put on the wire. Header names are recorded lower-case
//! (hyper normalises them); use `RawServer` to check header case.
//!
//! Routes (all answer any method unless noted; `HEAD` gets headers only):
//!
//! | route | response |
//! |---|---|
//! | `/hello` | 200 `text/plain`, `hello world`, Content-Length |
//! | `/echo` | 200 JSON `{"method","path","version","headers":[[n,v]..],"body_b64"}` |
//! | `/status/{code}` | that status, body `status {code}` (none for 204/304) |
//! | `/chunked?n=N&size=S[&delay_ms=D]` | N frames of S bytes `a`, chunked encoding (defaults 4×16) |
//! | `/big?size=S` | Content-Length S, byte i = `i % 251` ([`big_body`]), 64 KiB frames (default 1 MiB) |
//! | `/multi` | two `Set-Cookie`, `X-Number: 42`, two `X-Repeat`, body `multi` |
//! | `/slow-body?delay_ms=D` | Content-Length 11: `first`, D ms pause (default 500), `second` |
//! | `/stall` | never answers (other connections are unaffected) |
//! | `/redirect?to=URL[&code=302]` | that status with `Location: URL` (URL percent-decoded; see [`percent_encode`]) |
//! | `/upload` | reads the whole body, 200 JSON `{"len": n, "body_b64": ..}` |
//! | `/close` | 200 `bye` with `Connection: close` (server closes afterwards) |
//! | `/response-headers?k=v&..` | 200 `ok`, each query pair appended as a response header |
//! | `/basic-auth?user=U&pass=P` | 401 + `WWW-Authenticate: Basic realm="hinet-test"` unless the request carries matching Basic credentials, then 200 `authenticated` |
//! | `/digest-auth`, `/respond`, `/compressed` | see [`crate::feature_routes`] |
//! | anything else | 404 `not found` |

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::conn::auto;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::rpc::b64;
use crate::tls::TestCert;

/// Response body type used by all routes.
pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// 0-based number of the TCP connection it arrived on (accept order).
    pub conn_id: usize,
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Path plus query string, e.g. `/echo?x=1`.
    pub path: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub version: String,
    /// Headers (lower-case names) in the order hyper reports them
    /// (first-appearance order of names, values of one name together).
    pub headers: Vec<(String, String)>,
    /// The complete request body.
    pub body: Vec<u8>,
    /// Set if reading the body failed (client aborted mid-upload); `body` is
    /// then empty.
    pub body_error: Option<String>,
}

impl Recorded {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

struct State {
    connections: AtomicUsize,
    tls_failures: AtomicUsize,
    requests: StdMutex<Vec<Recorded>>,
    shutdown: watch::Receiver<bool>,
}

/// A local hyper server with the routes listed in the module docs.
/// Dropping it stops the listener and every connection.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    tls: bool,
    state: Arc<State>,
    accept_task: JoinHandle<()>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

impl HttpServer {
    /// Plain HTTP server.
    pub async fn start() -> HttpServer {
        HttpServer::start_inner(None).await
    }

    /// HTTPS server presenting `cert`, ALPN `http/1.1` only.
    pub async fn start_tls(cert: &TestCert) -> HttpServer {
        HttpServer::start_inner(Some(cert.server_config())).await
    }

    /// HTTPS server presenting `cert` and offering exactly `alpn`, e.g.
    /// `&[b"h2", b"http/1.1"]` to allow HTTP/2.
    pub async fn start_tls_with_alpn(cert: &TestCert, alpn: &[&[u8]]) -> HttpServer {
        HttpServer::start_inner(Some(cert.server_config_with_alpn(alpn))).await
    }

    /// HTTPS server with a TLS configuration of the test's own making (TLS versions,
    /// client certificates: see [`TestCert::server_config_with`]).
    pub async fn start_tls_with_config(config: Arc<rustls::ServerConfig>) -> HttpServer {
        HttpServer::start_inner(Some(config)).await
    }

    async fn start_inner(tls: Option<Arc<rustls::ServerConfig>>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let (shutdown, shutdown_rx) = watch::channel(false);
        let state = Arc::new(State {
            connections: AtomicUsize::new(0),
            tls_failures: AtomicUsize::new(0),
            requests: StdMutex::new(Vec::new()),
            shutdown: shutdown_rx,
        });
        let is_tls = tls.is_some();
        let acceptor = tls.map(TlsAcceptor::from);
        let accept_task = tokio::spawn(accept_loop(listener, state.clone(), acceptor));
        HttpServer {
            addr,
            tls: is_tls,
            state,
            accept_task,
            shutdown,
        }
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The listening address (`127.0.0.1:port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether this is the TLS variant.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `http(s)://127.0.0.1:<port><path>`; `path` should start with `/`.
    pub fn url(&self, path: &str) -> String {
        self.url_with_host("127.0.0.1", path)
    }

    /// Same as [`url`](Self::url) with another host name (e.g. `localhost`
    /// to match a DNS SAN).
    pub fn url_with_host(&self, host: &str, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}{path}", self.port())
    }

    /// Number of TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Number of TLS handshakes that failed (e.g. client rejected our cert).
    pub fn tls_failures(&self) -> usize {
        self.state.tls_failures.load(Ordering::SeqCst)
    }

    /// All requests recorded so far, in completion order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.requests).clone()
    }

    /// Forget recorded requests (the connection counter is kept).
    pub fn clear_requests(&self) {
        lock(&self.state.requests).clear();
    }

    /// Wait up to `timeout` until at least `n` requests are recorded, then
    /// return them (possibly fewer, on timeout — assert on the result).
    ///
    /// Requests are recorded once their body has been read, which can be
    /// just after the client already saw the response start.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let reqs = self.requests();
            if reqs.len() >= n || tokio::time::Instant::now() >= deadline {
                return reqs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        // Cancel hyper-spawned HTTP/2 stream tasks, then drop the listener
        // and all connection tasks.
        let _ = self.shutdown.send(true);
        self.accept_task.abort();
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accepts connections; connection tasks live in a `JoinSet` owned by this
/// task, so aborting it (on drop) tears every connection down too.
async fn accept_loop(listener: TcpListener, state: Arc<State>, tls: Option<TlsAcceptor>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let conn_id = state.connections.fetch_add(1, Ordering::SeqCst);
                    conns.spawn(serve_conn(stream, conn_id, state.clone(), tls.clone()));
                }
                // E.g. EMFILE: back off briefly instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished connections so the set does not grow unbounded.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve_conn(
    stream: TcpStream,
    conn_id: usize,
    state: Arc<State>,
    tls: Option<TlsAcceptor>,
) {
    let _ = stream.set_nodelay(true);
    let builder = auto::Builder::new(ShutdownExecutor(state.shutdown.clone()));
    let svc_state = state.clone();
    let svc = service_fn(move |req| handle(req, svc_state.clone(), conn_id));
    // Connection errors (client went away, malformed request) are part of
    // what tests provoke; they only end this connection.
    match tls {
        None => {
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        }
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls_stream) => {
                let _ = builder
                    .serve_connection(TokioIo::new(tls_stream), svc)
                    .await;
            }
            Err(_) => {
                state.tls_failures.fetch_add(1, Ordering::SeqCst);
            }
        },
    }
}

/// Executor for the tasks hyper spawns itself (HTTP/2 streams). Those are
/// not children of the connection task, so without this they would outlive
/// the server (e.g. a `/stall` handler sleeping for an hour); here each is
/// cancelled when the server's shutdown signal fires.
#[derive(Clone)]
struct ShutdownExecutor(watch::Receiver<bool>);

impl<F> hyper::rt::Executor<F> for ShutdownExecutor
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        let mut shutdown = self.0.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = fut => {}
                _ = shutdown.wait_for(|s| *s) => {}
            }
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
    conn_id: usize,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (body, body_error) = match body.collect().await {
        Ok(c) => (c.to_bytes().to_vec(), None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let rec = Recorded {
        conn_id,
        method: parts.method.as_str().to_owned(),
        path,
        version: format!("{:?}", parts.version),
        headers,
        body,
        body_error,
    };
    lock(&state.requests).push(rec.clone());
    if rec.body_error.is_some() {
        return Ok(text(StatusCode::BAD_REQUEST, "body read failed"));
    }
    Ok(route(parts.uri.path(), parts.uri.query(), &rec).await)
}

async fn route(path: &str, query: Option<&str>, rec: &Recorded) -> Response<Body> {
    let params = parse_query(query);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let num =
        |name: &str, default: u64| param(name).and_then(|v| v.parse().ok()).unwrap_or(default);

    match path {
        "/hello" => text(StatusCode::OK, "hello world"),
        "/echo" => {
            let headers: Vec<[&str; 2]> = rec
                .headers
                .iter()
                .map(|(n, v)| [n.as_str(), v.as_str()])
                .collect();
            let body = json!({
                "method": rec.method,
                "path": rec.path,
                "version": rec.version,
                "headers": headers,
                "body_b64": b64(&rec.body),
            });
            json_response(StatusCode::OK, &body)
        }
        "/chunked" => {
            let n = num("n", 4);
            let size = usize::try_from(num("size", 16)).unwrap_or(16);
            let delay = Duration::from_millis(num("delay_ms", 0));
            let frames = futures::stream::unfold(0u64, move |i| async move {
                if i >= n {
                    return None;
                }
                if i > 0 && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Some((Ok(Frame::data(Bytes::from(vec![b'a'; size]))), i + 1))
            });
            let mut resp = Response::new(StreamBody::new(frames).boxed_unsync());
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            resp
        }
        "/big" => {
            let size = num("size", 1 << 20);
            const FRAME: u64 = 64 * 1024;
            let frames = futures::stream::unfold(0u64, move |off| async move {
                if off >= size {
                    return None;
                }
                let end = (off + FRAME).min(size);
                let chunk: Vec<u8> = (off..end).map(|i| (i % 251) as u8).collect();
                Some((Ok(Frame::data(Bytes::from(chunk))), end))
            });
            let mut resp = Response::new(StreamBody::new(frames).boxed_unsync());
            let h = resp.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            resp
        }
        "/multi" => {
            let mut resp = text(StatusCode::OK, "multi");
            let h = resp.headers_mut();
            h.append(header::SET_COOKIE, HeaderValue::from_static("a=1"));
            h.append(header::SET_COOKIE, HeaderValue::from_static("b=2"));
            h.append("x-number", HeaderValue::from_static("42"));
            h.append("x-repeat", HeaderValue::from_static("one"));
            h.append("x-repeat", HeaderValue::from_static("two"));
            resp
        }
        "/slow-body" => {
            let delay = Duration::from_millis(num("delay_ms", 500));
            let frames = futures::stream::unfold(0u8, move |step| async move {
                match step {
                    0 => Some((Ok(Frame::data(Bytes::from_static(b"first"))), 1)),
                    1 => {
                        // Returning Pending here makes hyper flush "first".
                        tokio::time::sleep(delay).await;
                        Some((Ok(Frame::data(Bytes::from_static(b"second"))), 2))
                    }
                    _ => None,
                }
            });
            let mut resp = Response::new(StreamBody::new(frames).boxed_unsync());
            let h = resp.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(11u64));
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            resp
        }
        "/stall" => {
            // Dropped (not completed) when the server shuts down: HTTP/1
            // handlers die with their connection task, HTTP/2 stream tasks
            // via `ShutdownExecutor`.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            text(StatusCode::SERVICE_UNAVAILABLE, "stalled")
        }
        "/redirect" => {
            let Some(to) = param("to") else {
                return text(StatusCode::BAD_REQUEST, "missing to=");
            };
            let code = u16::try_from(num("code", 302)).unwrap_or(302);
            let (Ok(status), Ok(location)) =
                (StatusCode::from_u16(code), HeaderValue::from_str(to))
            else {
                return text(StatusCode::BAD_REQUEST, "bad code or location");
            };
            let mut resp = text(status, &format!("redirecting to {to}"));
            resp.headers_mut().insert(header::LOCATION, location);
            resp
        }
        "/upload" => json_response(
            StatusCode::OK,
            &json!({"len": rec.body.len(), "body_b64": b64(&rec.body)}),
        ),
        "/close" => {
            let mut resp = text(StatusCode::OK, "bye");
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
        "/response-headers" => {
            let mut resp = text(StatusCode::OK, "ok");
            for (k, v) in &params {
                if let (Ok(n), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v))
                {
                    resp.headers_mut().append(n, v);
                }
            }
            resp
        }
        "/basic-auth" => {
            let expected = format!(
                "Basic {}",
                b64(format!(
                    "{}:{}",
                    param("user").unwrap_or(""),
                    param("pass").unwrap_or("")
                )
                .as_bytes())
            );
            if rec.header("authorization") == Some(expected.as_str()) {
                text(StatusCode::OK, "authenticated")
            } else {
                let mut resp = text(StatusCode::UNAUTHORIZED, "authentication required");
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"hinet-test\""),
                );
                resp
            }
        }
        p if p.starts_with("/status/") => {
            let code = p["/status/".len()..].parse::<u16>().ok();
            match code.and_then(|c| StatusCode::from_u16(c).ok()) {
                Some(s) if s.as_u16() >= 200 => {
                    if s == StatusCode::NO_CONTENT || s == StatusCode::NOT_MODIFIED {
                        let mut resp = Response::new(Empty::new().boxed_unsync());
                        *resp.status_mut() = s;
                        resp
                    } else {
                        text(s, &format!("status {}", s.as_u16()))
                    }
                }
                _ => text(StatusCode::BAD_REQUEST, "bad status code"),
            }
        }
        p if crate::feature_routes::handles(p) => {
            crate::feature_routes::route(p, &params, rec).await
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// A fixed `text/plain` response with an explicit Content-Length (kept on
/// HEAD responses, where hyper omits the body).
pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    fixed(
        status,
        "text/plain",
        Bytes::copy_from_slice(body.as_bytes()),
    )
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Response<Body> {
    fixed(
        status,
        "application/json",
        Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    )
}

fn fixed(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let len = body.len() as u64;
    let mut resp = Response::new(Full::new(body).boxed_unsync());
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

/// The exact body `/big?size=S` sends: byte `i` is `i % 251`.
pub fn big_body(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

/// Split a query string into decoded `(name, value)` pairs (`+` = space).
pub fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                // Not a valid escape: keep the '%' literally.
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encode everything except RFC 3986 unreserved characters, for
/// putting a URL into a query value (`/redirect?to=...`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::unb64;
    use http_body_util::Empty;
    use hyper::client::conn::{http1, http2};
    use hyper_util::rt::TokioExecutor;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Send raw bytes on a fresh connection and read until the server closes.
    async fn raw(addr: SocketAddr, req: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(req).await.expect("write");
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
            .await
            .expect("server should close (Connection: close)")
            .expect("read");
        String::from_utf8_lossy(&out).into_owned()
    }

    type Sender = http1::SendRequest<Full<Bytes>>;

    async fn client(addr: SocketAddr) -> Sender {
        let s = TcpStream::connect(addr).await.expect("connect");
        let (tx, conn) = http1::handshake(TokioIo::new(s)).await.expect("handshake");
        tokio::spawn(conn);
        tx
    }

    async fn send(
        tx: &mut Sender,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> (StatusCode, http::HeaderMap, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("X-Test", "yes")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request");
        let resp = tx.send_request(req).await.expect("send_request");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes().to_vec();
        (parts.status, parts.headers, body)
    }

    #[tokio::test]
    async fn hello_over_raw_tcp() {
        let srv = HttpServer::start().await;
        let out = raw(
            srv.addr(),
            b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
        assert!(out.contains("content-length: 11\r\n"), "{out}");
        assert!(out.contains("content-type: text/plain\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\nhello world"), "{out}");
        let reqs = srv.requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].method, "GET");
        assert_eq!(reqs[0].path, "/hello");
        assert_eq!(reqs[0].version, "HTTP/1.1");
        assert_eq!(reqs[0].header("HOST"), Some("x"));

        let out = raw(
            srv.addr(),
            b"HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(out.contains("content-length: 11\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\n"), "HEAD must have no body: {out}");

        let out = raw(
            srv.addr(),
            b"GET /chunked?n=3&size=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(out.contains("transfer-encoding: chunked\r\n"), "{out}");
        assert_eq!(out.matches("aaaaa").count(), 3, "{out}");
        assert_eq!(srv.connections(), 3);
    }

    #[tokio::test]
    async fn keep_alive_and_routes() {
        let srv = HttpServer::start().await;
        let mut tx = client(srv.addr()).await;

        let (st, _, body) = send(&mut tx, "POST", "/echo?q=1", b"payload").await;
        assert_eq!(st, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["method"], "POST");
        assert_eq!(v["path"], "/echo?q=1");
        assert_eq!(unb64(v["body_b64"].as_str().expect("b64")), b"payload");
        assert!(
            v["headers"]
                .as_array()
                .expect("headers")
                .contains(&json!(["x-test", "yes"]))
        );

        let (st, h, body) = send(&mut tx, "GET", "/multi", b"").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(body, b"multi");
        let all = |n: &str| -> Vec<&str> {
            h.get_all(n)
                .iter()
                .map(|v| v.to_str().expect("ascii"))
                .collect()
        };
        assert_eq!(all("set-cookie"), ["a=1", "b=2"]);
        assert_eq!(all("x-repeat"), ["one", "two"]);
        assert_eq!(all("x-number"), ["42"]);

        let (st, _, body) = send(&mut tx, "GET", "/status/418", b"").await;
        assert_eq!((st.as_u16(), body.as_slice()), (418, &b"status 418"[..]));
        let (st, _, body) = send(&mut tx, "GET", "/status/204", b"").await;
        assert_eq!((st.as_u16(), body.len()), (204, 0));
        let (st, _, _) = send(&mut tx, "GET", "/nope", b"").await;
        assert_eq!(st, StatusCode::NOT_FOUND);

        let (st, h, body) = send(&mut tx, "GET", "/big?size=200000", b"").await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(h["content-length"], "200000");
        assert_eq!(body, big_body(200_000));

        let up = vec![7u8; 100_000];
        let (_, _, body) = send(&mut tx, "PUT", "/upload", &up).await;
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["len"], 100_000);
        assert_eq!(unb64(v["body_b64"].as_str().expect("b64")), up);

        let target = "http://127.0.0.1:1/hello?a=1&b=2";
        let path = format!("/redirect?to={}&code=307", percent_encode(target));
        let (st, h, _) = send(&mut tx, "GET", &path, b"").await;
        assert_eq!(st.as_u16(), 307);
        assert_eq!(h["location"], target);

        let (st, h, _) = send(
            &mut tx,
            "GET",
            "/response-headers?X-A=1&x-b=two%20words",
            b"",
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            (&h["x-a"], &h["x-b"]),
            (
                &"1".parse::<HeaderValue>().expect("hv"),
                &"two words".parse::<HeaderValue>().expect("hv")
            )
        );

        let (st, h, _) = send(&mut tx, "GET", "/basic-auth?user=u&pass=p", b"").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        assert!(h.contains_key("www-authenticate"));

        assert_eq!(srv.connections(), 1, "all on one keep-alive connection");
        let reqs = srv.requests();
        assert_eq!(reqs.len(), 10);
        assert!(reqs.iter().all(|r| r.conn_id == 0));
        assert_eq!(reqs[6].body, up);
    }

    #[tokio::test]
    async fn slow_body_and_stall() {
        let srv = HttpServer::start().await;
        let mut stalled = client(srv.addr()).await;
        let stall = tokio::spawn(async move {
            let req = Request::builder()
                .uri("/stall")
                .header("host", "x")
                .body(Full::new(Bytes::new()))
                .expect("req");
            stalled.send_request(req).await.map(|r| r.status())
        });

        let mut tx = client(srv.addr()).await;
        let req = Request::builder()
            .uri("/slow-body?delay_ms=1000")
            .header("host", "x")
            .body(Full::new(Bytes::new()))
            .expect("req");
        let started = tokio::time::Instant::now();
        let resp = tx.send_request(req).await.expect("resp");
        assert_eq!(resp.headers()["content-length"], "11");
        let mut body = resp.into_body();
        let first = body
            .frame()
            .await
            .expect("frame")
            .expect("ok")
            .into_data()
            .expect("data");
        assert_eq!(&first[..], b"first");
        assert!(started.elapsed() < Duration::from_millis(900));
        let second = body
            .frame()
            .await
            .expect("frame")
            .expect("ok")
            .into_data()
            .expect("data");
        assert_eq!(&second[..], b"second");
        assert!(started.elapsed() >= Duration::from_millis(1000));

        assert!(!stall.is_finished());
        assert_eq!(srv.connections(), 2);
        drop(srv);
        // Dropping the server tears down the stalled connection.
        let r = tokio::time::timeout(Duration::from_secs(5), stall).await;
        let r = r.expect("stalled request ends after drop").expect("join");
        assert!(r.is_err(), "stalled request must fail, got {r:?}");
    }

    async fn tls_connect(
        srv: &HttpServer,
        trust: &TestCert,
        name: &str,
        alpn: &[&[u8]],
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(srv.addr()).await?;
        tokio_rustls::TlsConnector::from(trust.client_config_with_alpn(alpn))
            .connect(TestCert::server_name(name), tcp)
            .await
    }

    #[tokio::test]
    async fn tls_http1_and_h2() {
        let cert = TestCert::localhost();
        let srv = HttpServer::start_tls(&cert).await;
        assert!(srv.url("/hello").starts_with("https://127.0.0.1:"));
        for name in ["localhost", "127.0.0.1"] {
            let tls = tls_connect(&srv, &cert, name, &[b"h2", b"http/1.1"])
                .await
                .expect("tls");
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
            let (mut tx, conn) = http1::handshake(TokioIo::new(tls))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            let (st, _, body) = send(&mut tx, "GET", "/hello", b"").await;
            assert_eq!((st, body.as_slice()), (StatusCode::OK, &b"hello world"[..]));
        }

        let h2srv = HttpServer::start_tls_with_alpn(&cert, &[b"h2", b"http/1.1"]).await;
        let tls = tls_connect(&h2srv, &cert, "localhost", &[b"h2"])
            .await
            .expect("tls");
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (mut tx, conn) = http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2 handshake");
        tokio::spawn(conn);
        let req = Request::builder()
            .uri(h2srv.url_with_host("localhost", "/hello"))
            .body(Empty::<Bytes>::new())
            .expect("req");
        let resp = tx.send_request(req).await.expect("h2 response");
        assert_eq!(resp.status(), StatusCode::OK);
        let reqs = h2srv.wait_for_requests(1, Duration::from_secs(2)).await;
        assert_eq!(reqs[0].version, "HTTP/2.0");
    }

    #[tokio::test]
    async fn tls_name_mismatch_fails() {
        let wrong = TestCert::for_names(&["wrong.example"]);
        let srv = HttpServer::start_tls(&wrong).await;
        let err = tls_connect(&srv, &wrong, "localhost", &[])
            .await
            .expect_err("mismatch");
        assert!(err.to_string().contains("not valid for name"), "{err}");
        // The server sees the aborted handshake too.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while srv.tls_failures() == 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(srv.tls_failures(), 1);
        assert_eq!(srv.connections(), 1);
    }

    #[test]
    fn query_helpers() {
        let q = parse_query(Some("a=1&to=http%3A%2F%2Fx%2Fy%3Fz%3D1&s=a+b&bad=%zz&flag"));
        assert_eq!(
            q,
            [
                ("a", "1"),
                ("to", "http://x/y?z=1"),
                ("s", "a b"),
                ("bad", "%zz"),
                ("flag", "")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(percent_encode("a b/?é"), "a%20b%2F%3F%C3%A9");
    }
}
