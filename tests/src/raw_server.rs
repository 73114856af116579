//! A scripted TCP server for responses hyper cannot (or will not) produce:
//! close-delimited bodies, garbage status lines, truncated messages, TCP
//! resets, servers that accept and then go silent.
//!
//! Each accepted connection runs a [`Script`]; the raw bytes received on
//! every connection are recorded ([`RawServer::raw_requests`]), which is also
//! the way to check byte-exact request formatting (header case, order,
//! line endings) produced by the daemon.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// How long a `Respond` connection waits for the client to close after the
/// server sent its FIN, before dropping the socket anyway.
const LINGER_AFTER_RESPONSE: Duration = Duration::from_secs(5);

/// Upper bound on buffered request bytes, so a runaway client cannot make
/// the harness allocate without limit.
const MAX_REQUEST: usize = 64 * 1024 * 1024;

/// What the server does on each connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Read the request (head up to `\r\n\r\n`, plus a `Content-Length` or
    /// chunked body), write the bytes, then close gracefully (FIN). Use for
    /// close-delimited bodies, garbage status lines, truncated responses.
    Respond(Vec<u8>),
    /// Read the request, write the bytes, then keep the socket open (still
    /// recording anything else received) until the peer closes. Use for
    /// "response never completes" cases.
    RespondKeepOpen(Vec<u8>),
    /// Read the request, write the bytes, then abort the connection with a
    /// TCP RST (`SO_LINGER` 0). Bytes already written normally reach the
    /// client before the reset on loopback.
    ResetAfter(Vec<u8>),
    /// Accept and read (recording) until the peer closes; never answer.
    StallAfterAccept,
}

#[derive(Debug, Default)]
struct RawState {
    /// One entry per accepted connection, in accept order.
    requests: StdMutex<Vec<Vec<u8>>>,
}

/// A scripted raw TCP server on `127.0.0.1:<ephemeral>`; dropping it stops
/// the listener and every connection.
#[derive(Debug)]
pub struct RawServer {
    addr: SocketAddr,
    state: Arc<RawState>,
    task: JoinHandle<()>,
}

impl RawServer {
    /// Every connection runs `script`.
    pub async fn start(script: Script) -> RawServer {
        RawServer::start_per_connection(vec![script]).await
    }

    /// Connection `i` runs `scripts[i]`; connections beyond the list run the
    /// last script (e.g. `[ResetAfter(vec![]), Respond(ok)]` to test a retry).
    pub async fn start_per_connection(scripts: Vec<Script>) -> RawServer {
        assert!(!scripts.is_empty(), "RawServer needs at least one script");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(RawState::default());
        let task = tokio::spawn(accept_loop(listener, state.clone(), scripts));
        RawServer { addr, state, task }
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port())
    }

    /// Number of accepted connections.
    pub fn connections(&self) -> usize {
        lock(&self.state.requests).len()
    }

    /// Bytes received on each connection so far (index = accept order).
    pub fn raw_requests(&self) -> Vec<Vec<u8>> {
        lock(&self.state.requests).clone()
    }

    /// [`raw_requests`](Self::raw_requests), lossily decoded as text.
    pub fn raw_request_strings(&self) -> Vec<String> {
        self.raw_requests()
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    /// Wait up to `timeout` until `n` connections were accepted and each has
    /// delivered a complete request head; returns the raw requests (possibly
    /// fewer/incomplete on timeout — assert on the result).
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let reqs = self.raw_requests();
            let complete = reqs
                .iter()
                .filter(|r| find(r, b"\r\n\r\n").is_some())
                .count();
            if complete >= n || tokio::time::Instant::now() >= deadline {
                return reqs;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        // Connection tasks live in a JoinSet owned by the accept task.
        self.task.abort();
    }
}

/// Bind `127.0.0.1:0`, note the port, and release it: connecting to the
/// returned port (almost certainly) gets "connection refused".
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn accept_loop(listener: TcpListener, state: Arc<RawState>, scripts: Vec<Script>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let idx = {
                        let mut reqs = lock(&state.requests);
                        reqs.push(Vec::new());
                        reqs.len() - 1
                    };
                    let script = scripts[idx.min(scripts.len() - 1)].clone();
                    conns.spawn(run_script(stream, idx, state.clone(), script));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Connection handler; I/O errors just end the connection (misbehaving peers
/// are the point of this server).
async fn run_script(mut stream: TcpStream, idx: usize, state: Arc<RawState>, script: Script) {
    let _ = stream.set_nodelay(true);
    match script {
        Script::Respond(bytes) => {
            if !read_request(&mut stream, idx, &state).await {
                return;
            }
            if stream.write_all(&bytes).await.is_err() {
                return;
            }
            let _ = stream.flush().await;
            // FIN first, then drain: closing with unread input would make the
            // kernel send RST instead of a clean close.
            let _ = stream.shutdown().await;
            let _ = tokio::time::timeout(
                LINGER_AFTER_RESPONSE,
                record_until_eof(&mut stream, idx, &state),
            )
            .await;
        }
        Script::RespondKeepOpen(bytes) => {
            if !read_request(&mut stream, idx, &state).await {
                return;
            }
            if stream.write_all(&bytes).await.is_err() {
                return;
            }
            let _ = stream.flush().await;
            record_until_eof(&mut stream, idx, &state).await;
        }
        Script::ResetAfter(bytes) => {
            if !read_request(&mut stream, idx, &state).await {
                return;
            }
            if !bytes.is_empty() {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
            }
            // SO_LINGER 0 + close = RST.
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Script::StallAfterAccept => record_until_eof(&mut stream, idx, &state).await,
    }
}

fn record(state: &RawState, idx: usize, bytes: &[u8]) {
    if let Some(r) = lock(&state.requests).get_mut(idx) {
        r.extend_from_slice(bytes);
    }
}

async fn record_until_eof(stream: &mut TcpStream, idx: usize, state: &RawState) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => record(state, idx, &buf[..n]),
        }
    }
}

/// Read one request: the head, then a `Content-Length` body or a chunked
/// body up to its last chunk. Returns false if the peer closed (or errored)
/// before the request was complete.
async fn read_request(stream: &mut TcpStream, idx: usize, state: &RawState) -> bool {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if request_complete(&data) {
            return true;
        }
        if data.len() > MAX_REQUEST {
            return false;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                data.extend_from_slice(&buf[..n]);
                record(state, idx, &buf[..n]);
            }
        }
    }
}

/// Whether `data` holds a complete HTTP/1 request (best effort: enough for
/// the requests hinetd sends).
fn request_complete(data: &[u8]) -> bool {
    let Some(head_end) = find(data, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let body = &data[head_end + 4..];
    let mut content_length = None;
    let mut chunked = false;
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim() {
                "content-length" => content_length = value.trim().parse::<usize>().ok(),
                "transfer-encoding" => chunked |= value.contains("chunked"),
                _ => {}
            }
        }
    }
    if chunked {
        body.starts_with(b"0\r\n\r\n") || find(body, b"\r\n0\r\n\r\n").is_some()
    } else {
        body.len() >= content_length.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exchange(addr: SocketAddr, req: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(req).await?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await?;
        Ok(out)
    }

    #[tokio::test]
    async fn respond_then_close_records_request() {
        let srv = RawServer::start(Script::Respond(
            b"HTTP/1.0 200 OK\r\n\r\nclose-delimited".to_vec(),
        ))
        .await;
        let req = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
        let out = tokio::time::timeout(Duration::from_secs(5), exchange(srv.addr(), req))
            .await
            .expect("server closed the connection")
            .expect("io");
        assert_eq!(out, b"HTTP/1.0 200 OK\r\n\r\nclose-delimited");
        assert_eq!(srv.connections(), 1);
        assert_eq!(srv.raw_requests(), vec![req.to_vec()]);
    }

    #[tokio::test]
    async fn reset_after_gives_connection_reset() {
        let srv = RawServer::start(Script::ResetAfter(Vec::new())).await;
        let r = exchange(srv.addr(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").await;
        let e = r.expect_err("expected a reset");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset);
    }

    #[tokio::test]
    async fn keep_open_and_stall_do_not_close() {
        for script in [
            Script::RespondKeepOpen(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec()),
            Script::StallAfterAccept,
        ] {
            let srv = RawServer::start(script).await;
            let mut s = TcpStream::connect(srv.addr()).await.expect("connect");
            s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                .await
                .expect("write");
            let mut out = Vec::new();
            let r = tokio::time::timeout(Duration::from_millis(300), s.read_to_end(&mut out)).await;
            assert!(r.is_err(), "connection must stay open");
            assert_eq!(
                srv.wait_for_requests(1, Duration::from_secs(2)).await.len(),
                1
            );
        }
    }

    #[tokio::test]
    async fn per_connection_scripts_and_chunked_request() {
        let srv = RawServer::start_per_connection(vec![
            Script::ResetAfter(Vec::new()),
            Script::Respond(b"second".to_vec()),
        ])
        .await;
        let req = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert!(exchange(srv.addr(), req).await.is_err());
        assert_eq!(exchange(srv.addr(), req).await.expect("io"), b"second");
        assert_eq!(exchange(srv.addr(), req).await.expect("io"), b"second");
        assert_eq!(srv.connections(), 3);
    }

    #[tokio::test]
    async fn closed_port_refuses() {
        let port = closed_port();
        let e = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect_err("nothing listens there");
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
