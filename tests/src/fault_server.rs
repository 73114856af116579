//! A TCP server that misbehaves on purpose, one [`Fault`] per server, and
//! counts how many of its connections are still open.
//!
//! [`crate::RawServer`] records bytes for byte-exact request checks; this one
//! is for the fault-injection suite, which needs two things more: faults that
//! never end by themselves (an endless body, a "TLS" port that answers
//! garbage) and [`FaultServer::open_connections`], so a test can prove the
//! daemon let go of every socket once the client closed its handles.
//!
//! A connection task ends when the peer closes (read returns 0), when a write
//! fails, or when the fault itself closes or resets; only then does the open
//! count drop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Most request-head bytes read before giving up on a client.
const MAX_HEAD: usize = 1024 * 1024;

/// Size of each chunk of [`Fault::EndlessBody`].
const ENDLESS_CHUNK: usize = 32 * 1024;

/// What the server does on every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Read the request head, write the bytes, then reset (RST).
    ResetAfter(Vec<u8>),
    /// Read the request head, write the bytes (possibly none), then stay
    /// silent until the peer closes.
    StallAfter(Vec<u8>),
    /// Read the request head, write the bytes, then close cleanly (FIN) and
    /// drain until the peer closes.
    CloseAfter(Vec<u8>),
    /// Read the request head, write `head` (which should announce
    /// `Transfer-Encoding: chunked`), then send chunks for as long as the
    /// peer keeps reading.
    EndlessBody { head: Vec<u8> },
    /// Write the bytes as soon as the connection is accepted, without
    /// reading first (a plain-text server on a port the client thinks speaks
    /// TLS), then drain until the peer closes.
    GreetThenDrain(Vec<u8>),
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicUsize,
    open: AtomicUsize,
    /// Response-body bytes written by [`Fault::EndlessBody`].
    streamed: AtomicUsize,
}

/// A misbehaving server on `127.0.0.1:<ephemeral>`; dropping it stops the
/// listener and every connection.
#[derive(Debug)]
pub struct FaultServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl FaultServer {
    pub async fn start(fault: Fault) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(accept_loop(listener, counters.clone(), fault));
        FaultServer {
            addr,
            counters,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.counters.accepted.load(Ordering::SeqCst)
    }

    /// Connections accepted and not yet ended.
    pub fn open_connections(&self) -> usize {
        self.counters.open.load(Ordering::SeqCst)
    }

    /// Body bytes an endless body has written so far (including chunk framing).
    pub fn streamed(&self) -> usize {
        self.counters.streamed.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` until no connection is open; returns how many
    /// still are.
    pub async fn wait_all_closed(&self, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let open = self.open_connections();
            if open == 0 || tokio::time::Instant::now() >= deadline {
                return open;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        // The connection tasks live in a JoinSet owned by the accept task.
        self.task.abort();
    }
}

/// `count` response headers of about `each` bytes apiece, after a 200 status
/// line, with `Content-Length: 0`: an oversized header block.
pub fn oversized_head(count: usize, each: usize) -> Vec<u8> {
    let mut head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n".to_vec();
    for i in 0..count {
        let name = format!("X-Filler-{i}: ");
        head.extend_from_slice(name.as_bytes());
        head.extend(std::iter::repeat_n(
            b'f',
            each.saturating_sub(name.len() + 2),
        ));
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Decrements the open count however the connection task ends (including
/// abort when the server is dropped).
struct OpenGuard(Arc<Counters>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn accept_loop(listener: TcpListener, counters: Arc<Counters>, fault: Fault) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    counters.accepted.fetch_add(1, Ordering::SeqCst);
                    counters.open.fetch_add(1, Ordering::SeqCst);
                    let guard = OpenGuard(counters.clone());
                    conns.spawn(serve(stream, guard, fault.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// I/O errors just end the connection: misbehaving peers are the point here.
async fn serve(mut stream: TcpStream, guard: OpenGuard, fault: Fault) {
    let _ = stream.set_nodelay(true);
    match fault {
        Fault::GreetThenDrain(bytes) => {
            if stream.write_all(&bytes).await.is_ok() {
                drain(&mut stream).await;
            }
        }
        Fault::ResetAfter(bytes) => {
            if read_head(&mut stream).await {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                // SO_LINGER 0 then close sends RST instead of FIN.
                let _ = stream.set_zero_linger();
            }
        }
        Fault::StallAfter(bytes) => {
            if read_head(&mut stream).await && stream.write_all(&bytes).await.is_ok() {
                drain(&mut stream).await;
            }
        }
        Fault::CloseAfter(bytes) => {
            if read_head(&mut stream).await && stream.write_all(&bytes).await.is_ok() {
                // FIN first, then drain: closing with unread input would RST.
                let _ = stream.shutdown().await;
                drain(&mut stream).await;
            }
        }
        Fault::EndlessBody { head } => {
            if read_head(&mut stream).await && stream.write_all(&head).await.is_ok() {
                endless(&mut stream, &guard.0).await;
            }
        }
    }
    drop(guard);
}

/// Writes chunks until a write fails (the peer went away).
async fn endless(stream: &mut TcpStream, counters: &Counters) {
    let mut chunk = format!("{ENDLESS_CHUNK:x}\r\n").into_bytes();
    chunk.extend(std::iter::repeat_n(b'e', ENDLESS_CHUNK));
    chunk.extend_from_slice(b"\r\n");
    loop {
        if stream.write_all(&chunk).await.is_err() {
            return;
        }
        counters.streamed.fetch_add(chunk.len(), Ordering::SeqCst);
    }
}

async fn drain(stream: &mut TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// Reads up to the end of a request head; false if the peer closed first.
/// Request bodies are not expected (the suite sends GETs).
async fn read_head(stream: &mut TcpStream) -> bool {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while data.len() < MAX_HEAD {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
        if data.windows(4).any(|w| w == b"\r\n\r\n") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_count_follows_the_peer() {
        let srv = FaultServer::start(Fault::StallAfter(Vec::new())).await;
        let mut s = TcpStream::connect(("127.0.0.1", srv.port()))
            .await
            .expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.expect("write");
        while srv.accepted() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(srv.open_connections(), 1);
        drop(s);
        assert_eq!(srv.wait_all_closed(Duration::from_secs(5)).await, 0);
    }

    #[tokio::test]
    async fn endless_body_streams_until_the_peer_leaves() {
        let srv = FaultServer::start(Fault::EndlessBody {
            head: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
        })
        .await;
        let mut s = TcpStream::connect(("127.0.0.1", srv.port()))
            .await
            .expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.expect("write");
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = 0;
        while got < buf.len() {
            got += s.read(&mut buf[got..]).await.expect("read");
        }
        assert!(buf.starts_with(b"HTTP/1.1 200 OK"));
        drop(s);
        assert_eq!(srv.wait_all_closed(Duration::from_secs(5)).await, 0);
        assert!(srv.streamed() > 0);
    }

    #[test]
    fn oversized_head_has_the_asked_size() {
        let head = oversized_head(100, 64);
        assert!(head.len() >= 100 * 64 && head.len() < 100 * 64 + 100);
        assert!(head.ends_with(b"\r\n\r\n"));
    }
}
