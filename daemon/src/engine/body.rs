//! Request and response bodies.
//!
//! [`Upload`] feeds WinHttpWriteData's bytes into the request while hyper writes it; a
//! bounded channel between them means a client cannot make the daemon buffer more than a few
//! writes. [`Download`] pulls response frames only when the client reads, so an idle client
//! stops the daemon reading from the network (TCP flow control does the rest). The body path
//! deals in `Bytes`; how bytes reach the client (base64 today) is the RPC layer's business.

use super::pool::{BoxError, Connection, Pool, ReqBody};
use crate::error::{ApiError, ApiResult};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Empty, Full, channel::Channel};
use hyper::body::{Body, Incoming};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, ready};

/// Frames that may wait between WriteData and the socket.
const UPLOAD_QUEUE: usize = 4;

pub fn empty_body() -> ReqBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

pub fn full_body(bytes: Bytes) -> ReqBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

#[derive(Debug)]
enum Framing {
    /// Content-Length announced: exactly `total` bytes in all.
    Fixed { total: u64 },
    /// The application frames chunks itself (it set `Transfer-Encoding: chunked`); hyper
    /// frames on the wire, so the application's framing is decoded here.
    AppChunked(ChunkDecoder),
}

/// The streaming part of a request body.
#[derive(Debug)]
pub struct Upload {
    sender: http_body_util::channel::Sender<Bytes, BoxError>,
    framing: Framing,
    /// Body bytes written so far, `optional` included.
    written: u64,
}

impl Upload {
    /// A body of `total` bytes whose first part is `first`; the rest comes by [`Upload::write`].
    pub fn fixed(total: u64, first: Bytes) -> (Upload, ReqBody) {
        let (mut sender, body) = Channel::<Bytes, BoxError>::new(UPLOAD_QUEUE);
        let written = first.len() as u64;
        if !first.is_empty() {
            // The channel is new and empty, so the first frame always fits.
            let _ = sender.try_send(hyper::body::Frame::data(first));
        }
        let upload = Upload {
            sender,
            framing: Framing::Fixed { total },
            written,
        };
        (upload, body.boxed())
    }

    /// A body framed by the application as chunked transfer coding.
    pub fn app_chunked() -> (Upload, ReqBody) {
        let (sender, body) = Channel::<Bytes, BoxError>::new(UPLOAD_QUEUE);
        let upload = Upload {
            sender,
            framing: Framing::AppChunked(ChunkDecoder::default()),
            written: 0,
        };
        (upload, body.boxed())
    }

    /// Whether the announced body is complete.
    pub fn is_complete(&self) -> bool {
        match &self.framing {
            Framing::Fixed { total } => self.written >= *total,
            Framing::AppChunked(d) => d.is_done(),
        }
    }

    /// Checks that `data` fits the announced body, without sending it.
    pub fn check(&self, data: &[u8]) -> ApiResult<()> {
        match &self.framing {
            Framing::Fixed { total } if self.written + data.len() as u64 > *total => {
                Err(ApiError::invalid_parameter(format!(
                    "writing {} bytes would exceed the announced total length of {} ({} already written)",
                    data.len(),
                    total,
                    self.written
                )))
            }
            Framing::AppChunked(d) if d.is_done() => Err(ApiError::invalid_parameter(
                "the chunked body already ended with its last chunk",
            )),
            _ => Ok(()),
        }
    }

    /// Sends `data` on; waits while the connection is behind. Returns the bytes accepted.
    pub async fn write(&mut self, data: Bytes, peer: &str) -> ApiResult<u64> {
        self.check(&data)?;
        let len = data.len() as u64;
        let payload = match &mut self.framing {
            Framing::Fixed { .. } => data,
            Framing::AppChunked(d) => d.decode(&data)?,
        };
        if !payload.is_empty() {
            self.sender
                .send_data(payload)
                .await
                .map_err(|_| ApiError::ConnectionError {
                    peer: peer.to_owned(),
                    reason: "the connection closed while the request body was being sent".into(),
                })?;
        }
        self.written += len;
        Ok(len)
    }

    /// Ends the body. An incomplete fixed-length body is aborted, which fails the request.
    pub fn finish(self) {
        if !self.is_complete() {
            self.sender
                .abort("the request body ended before its announced length".into());
        }
    }
}

/// Incremental decoder of chunked transfer coding as written by an application.
#[derive(Debug, Default)]
pub struct ChunkDecoder {
    state: ChunkState,
    line: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    #[default]
    Size,
    Data(u64),
    DataEnd(u8),
    Trailers,
    Done,
}

/// A chunk-size line longer than this is not chunked coding.
const MAX_CHUNK_LINE: usize = 1024;

impl ChunkDecoder {
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Decodes the next piece of the application's chunked stream into payload bytes.
    pub fn decode(&mut self, mut input: &[u8]) -> ApiResult<Bytes> {
        let bad =
            |why: &str| ApiError::invalid_parameter(format!("invalid chunked request body: {why}"));
        let mut out = BytesMut::new();
        while !input.is_empty() {
            match self.state {
                ChunkState::Size | ChunkState::Trailers => {
                    let Some(nl) = input.iter().position(|b| *b == b'\n') else {
                        self.line.extend_from_slice(input);
                        if self.line.len() > MAX_CHUNK_LINE {
                            return Err(bad("chunk line too long"));
                        }
                        break;
                    };
                    self.line.extend_from_slice(&input[..nl]);
                    input = &input[nl + 1..];
                    let line = std::mem::take(&mut self.line);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    if self.state == ChunkState::Trailers {
                        if line.is_empty() {
                            self.state = ChunkState::Done;
                        }
                        continue;
                    }
                    let text = std::str::from_utf8(line).map_err(|_| bad("size is not text"))?;
                    let hex = text.split(';').next().unwrap_or("").trim();
                    let size =
                        u64::from_str_radix(hex, 16).map_err(|_| bad("size is not hexadecimal"))?;
                    self.state = if size == 0 {
                        ChunkState::Trailers
                    } else {
                        ChunkState::Data(size)
                    };
                }
                ChunkState::Data(left) => {
                    let n = (left as usize).min(input.len());
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        ChunkState::DataEnd(0)
                    } else {
                        ChunkState::Data(left)
                    };
                }
                ChunkState::DataEnd(seen) => {
                    let expected = if seen == 0 { b'\r' } else { b'\n' };
                    if input[0] == expected {
                        input = &input[1..];
                        self.state = if seen == 0 {
                            ChunkState::DataEnd(1)
                        } else {
                            ChunkState::Size
                        };
                    } else if seen == 0 && input[0] == b'\n' {
                        input = &input[1..];
                        self.state = ChunkState::Size;
                    } else {
                        return Err(bad("chunk data not followed by CRLF"));
                    }
                }
                ChunkState::Done => return Err(bad("bytes after the last chunk")),
            }
        }
        Ok(out.freeze())
    }
}

/// A response body being read, and the connection to give back when it ends.
pub struct Download {
    body: Incoming,
    leftover: Bytes,
    done: bool,
    conn: Option<(Connection, Arc<Pool>)>,
    peer: String,
    /// A body that failed keeps failing: a read after an error is never a clean end.
    failure: Option<ApiError>,
}

impl Download {
    /// `keep_alive` false: the connection is dropped at the end rather than pooled.
    pub fn new(body: Incoming, conn: Connection, pool: Arc<Pool>, keep_alive: bool) -> Self {
        let peer = conn.peer_text();
        let mut d = Download {
            done: body.is_end_stream(),
            body,
            leftover: Bytes::new(),
            conn: keep_alive.then_some((conn, pool)),
            peer,
            failure: None,
        };
        if d.done {
            d.release();
        }
        d
    }

    /// The server, for error details.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// A body that is known to be empty (HEAD, 204, 304).
    pub fn is_done(&self) -> bool {
        self.done && self.leftover.is_empty()
    }

    /// Waits for body bytes unless some are buffered. Returns how many are buffered;
    /// 0 means the end of the body. Cancel-safe.
    pub async fn fill(&mut self) -> ApiResult<usize> {
        std::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// [`Download::fill`] as a poll, for readers that wrap the body (decompression).
    pub fn poll_fill(&mut self, cx: &mut std::task::Context<'_>) -> Poll<ApiResult<usize>> {
        if let Some(e) = &self.failure {
            return Poll::Ready(Err(e.clone()));
        }
        while self.leftover.is_empty() && !self.done {
            match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                None => {
                    self.done = true;
                    self.release();
                }
                Some(Err(e)) => {
                    self.conn = None;
                    let e = super::map_hyper_error(&self.peer, &e);
                    self.failure = Some(e.clone());
                    return Poll::Ready(Err(e));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.leftover = data;
                    }
                    // Trailers are skipped: WinHTTP does not expose them by default.
                }
            }
        }
        Poll::Ready(Ok(self.leftover.len()))
    }

    /// Takes up to `max` buffered bytes.
    pub fn take(&mut self, max: usize) -> Bytes {
        let n = max.min(self.leftover.len());
        let out = self.leftover.slice(..n);
        self.leftover.advance(n);
        out
    }

    fn release(&mut self) {
        if let Some((conn, pool)) = self.conn.take() {
            pool.checkin(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunks_split_anywhere() {
        let wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
        for split in 0..wire.len() {
            let mut d = ChunkDecoder::default();
            let mut out = Vec::new();
            out.extend_from_slice(&d.decode(&wire[..split]).unwrap());
            out.extend_from_slice(&d.decode(&wire[split..]).unwrap());
            assert_eq!(out, b"hello world", "split at {split}");
            assert!(d.is_done());
        }
    }

    #[test]
    fn rejects_bad_chunk_size() {
        let mut d = ChunkDecoder::default();
        assert!(d.decode(b"zz\r\n").is_err());
    }
}
