//! Flow control under jsonrpsee's WebSocket: a client is not read while writing to it is
//! blocked.
//!
//! jsonrpsee reads WebSocket messages as fast as they come and runs each as its own task,
//! which then waits for room in the connection's outbound queue. A client that sends
//! without ever reading would pile up tasks (each holding its message) without bound. Below
//! jsonrpsee, on the socket itself, the rule that bounds it is simple: while a write to the
//! client is pending, reads from it are too. The client's answers back up, then its own
//! requests, and the daemon holds at most what its buffers hold.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream whose reads wait while a write is blocked.
pub struct Paced<S> {
    inner: S,
    write_blocked: bool,
    /// The reader waiting for the write to go through.
    parked_reader: Option<Waker>,
}

impl<S> Paced<S> {
    pub fn new(inner: S) -> Self {
        Paced {
            inner,
            write_blocked: false,
            parked_reader: None,
        }
    }

    fn unblock(&mut self) {
        self.write_blocked = false;
        if let Some(w) = self.parked_reader.take() {
            w.wake();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Paced<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.write_blocked {
            self.parked_reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Paced<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        // Failed writes unblock too: the reader then finds the end of the connection.
        match r {
            Poll::Pending => self.write_blocked = true,
            Poll::Ready(_) => self.unblock(),
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_shutdown(cx);
        if r.is_ready() {
            self.unblock();
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_wait_while_a_write_is_blocked() {
        let (ours, mut peer) = tokio::io::duplex(64);
        let (mut read, mut write) = tokio::io::split(Paced::new(ours));
        // Fill the pipe: the second write blocks, as the peer reads nothing.
        let writer = tokio::spawn(async move { write.write_all(&[b'x'; 128]).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        peer.write_all(b"request").await.expect("peer writes");
        let mut got = [0u8; 7];
        let early = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            read.read_exact(&mut got),
        )
        .await;
        assert!(early.is_err(), "read while the write was blocked");
        // The peer reads; the write completes; the read goes through.
        let mut sink = vec![0u8; 128];
        peer.read_exact(&mut sink).await.expect("peer reads");
        assert!(matches!(writer.await, Ok(Ok(()))));
        read.read_exact(&mut got)
            .await
            .expect("read after the write");
        assert_eq!(&got, b"request");
    }
}
