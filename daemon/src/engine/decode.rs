//! Compressed response bodies decoded while they stream (WINHTTP_OPTION_DECOMPRESSION).
//!
//! [`ResponseBody`] is what a request reads: the [`Download`] as it arrives, or that download
//! fed through a streaming decoder. Decoding happens only as the client reads, a network
//! frame at a time and at most [`OUT_CHUNK`] decoded bytes per step, so neither the
//! compressed nor the decoded body is ever held whole, and a small body that expands hugely
//! costs memory only as fast as the client consumes it.

use super::body::Download;
use crate::error::{ApiError, ApiResult};
use async_compression::tokio::bufread::{
    BrotliDecoder, DeflateDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder,
};
use bytes::{Buf, Bytes, BytesMut};
use futures::Stream;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncBufRead, AsyncReadExt};
use tokio_util::io::StreamReader;

/// Decoded bytes produced per step at most.
const OUT_CHUNK: usize = 64 * 1024;

/// Bytes read past the end of a compressed stream, hoping to reach the end of the body and
/// keep the connection; beyond this the connection is given up instead.
const MAX_TRAILING: usize = 64 * 1024;

/// A content coding hinetd decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    /// RFC 9110's "deflate" is zlib-wrapped; servers that send bare deflate are decoded too.
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    /// The coding a Content-Encoding value names, when it is exactly one coding hinetd
    /// decodes. Stacked codings (`gzip, br`) and unknown ones are left alone.
    pub fn from_header(value: &str) -> Option<Coding> {
        match value.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Coding::Gzip),
            "deflate" => Some(Coding::Deflate),
            "br" => Some(Coding::Brotli),
            "zstd" => Some(Coding::Zstd),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Brotli => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// A response body as the client reads it.
pub enum ResponseBody {
    Plain(Box<Download>),
    Decoded(Box<Decoding>),
}

impl ResponseBody {
    pub fn plain(download: Download) -> Self {
        ResponseBody::Plain(Box::new(download))
    }

    /// `download` decoded from `coding`. An empty body stays empty: there is nothing to
    /// decode (HEAD, 204, 304 with a Content-Encoding header).
    pub fn decoded(download: Download, coding: Coding) -> Self {
        if download.is_done() {
            return ResponseBody::plain(download);
        }
        ResponseBody::Decoded(Box::new(Decoding {
            peer: download.peer().to_owned(),
            coding,
            state: State::Sniffing(StreamReader::new(Frames { download, bytes: 0 })),
            out: Bytes::new(),
            done: false,
            failure: None,
        }))
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        match self {
            ResponseBody::Plain(d) => d.is_done(),
            ResponseBody::Decoded(d) => d.done && d.out.is_empty(),
        }
    }

    /// Waits for body bytes unless some are buffered; returns how many are buffered, 0 at
    /// the end. Cancel-safe.
    pub async fn fill(&mut self) -> ApiResult<usize> {
        match self {
            ResponseBody::Plain(d) => d.fill().await,
            ResponseBody::Decoded(d) => d.fill().await,
        }
    }

    /// Takes up to `max` buffered bytes.
    pub fn take(&mut self, max: usize) -> Bytes {
        match self {
            ResponseBody::Plain(d) => d.take(max),
            ResponseBody::Decoded(d) => {
                let n = max.min(d.out.len());
                let out = d.out.slice(..n);
                d.out.advance(n);
                out
            }
        }
    }
}

/// The frames of a download as the byte stream a decoder reads.
pub struct Frames {
    download: Download,
    /// Compressed bytes delivered so far.
    bytes: u64,
}

impl Stream for Frames {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        Poll::Ready(match ready!(this.download.poll_fill(cx)) {
            Ok(0) => None,
            Ok(_) => {
                let data = this.download.take(usize::MAX);
                this.bytes += data.len() as u64;
                Some(Ok(data))
            }
            // Carried through the decoder unchanged and recovered in `Decoding::fill`.
            Err(e) => Some(Err(io::Error::other(e))),
        })
    }
}

type Source = StreamReader<Frames, Bytes>;

enum State {
    /// Nothing decoded yet: waiting for the first bytes, which tell zlib from bare deflate.
    Sniffing(Source),
    Gzip(GzipDecoder<Source>),
    Zlib(ZlibDecoder<Source>),
    Deflate(DeflateDecoder<Source>),
    Brotli(BrotliDecoder<Source>),
    Zstd(ZstdDecoder<Source>),
    /// Taken out for a moment while switching states.
    Gone,
}

/// A body being decoded.
pub struct Decoding {
    peer: String,
    coding: Coding,
    state: State,
    /// Decoded bytes not yet taken.
    out: Bytes,
    done: bool,
    /// A body that failed keeps failing.
    failure: Option<ApiError>,
}

impl Decoding {
    async fn fill(&mut self) -> ApiResult<usize> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        while self.out.is_empty() && !self.done {
            match self.step().await {
                Ok(Some(bytes)) => self.out = bytes,
                Ok(None) => {
                    self.done = true;
                    self.drain_trailing().await;
                }
                Err(e) => {
                    self.failure = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(self.out.len())
    }

    /// Decodes the next piece; None at the end of the decoded stream.
    async fn step(&mut self) -> ApiResult<Option<Bytes>> {
        if let State::Sniffing(source) = &mut self.state {
            let sniffed = std::future::poll_fn(|cx| {
                Pin::new(&mut *source)
                    .poll_fill_buf(cx)
                    .map_ok(looks_like_zlib)
            })
            .await;
            let zlib = match sniffed {
                Ok(zlib) => zlib,
                Err(e) => return Err(self.error(e)),
            };
            let State::Sniffing(source) = std::mem::replace(&mut self.state, State::Gone) else {
                return Err(ApiError::Internal("decoder state changed".into()));
            };
            self.state = match self.coding {
                Coding::Gzip => {
                    // A gzip body may hold several members, one after another (RFC 1952).
                    let mut d = GzipDecoder::new(source);
                    d.multiple_members(true);
                    State::Gzip(d)
                }
                Coding::Deflate if zlib => State::Zlib(ZlibDecoder::new(source)),
                Coding::Deflate => State::Deflate(DeflateDecoder::new(source)),
                Coding::Brotli => State::Brotli(BrotliDecoder::new(source)),
                Coding::Zstd => State::Zstd(ZstdDecoder::new(source)),
            };
        }
        let mut buf = BytesMut::with_capacity(OUT_CHUNK);
        let read = match &mut self.state {
            State::Gzip(d) => d.read_buf(&mut buf).await,
            State::Zlib(d) => d.read_buf(&mut buf).await,
            State::Deflate(d) => d.read_buf(&mut buf).await,
            State::Brotli(d) => d.read_buf(&mut buf).await,
            State::Zstd(d) => d.read_buf(&mut buf).await,
            State::Sniffing(_) | State::Gone => Ok(0),
        };
        match read {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(buf.freeze())),
            // No compressed byte at all (a chunked body with no data): an empty body, not
            // a broken one.
            Err(_)
                if self
                    .frames()
                    .is_some_and(|f| f.bytes == 0 && f.download.is_done()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// Reads on to the end of the body so that its connection can be reused: a compressed
    /// stream may end before the body does (a chunked body's last chunk, trailing bytes).
    async fn drain_trailing(&mut self) {
        let Some(frames) = self.frames() else { return };
        let mut seen = 0;
        while !frames.download.is_done() && seen <= MAX_TRAILING {
            match frames.download.fill().await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen += n;
                    frames.download.take(n);
                }
            }
        }
    }

    fn frames(&mut self) -> Option<&mut Frames> {
        Some(match &mut self.state {
            State::Sniffing(s) => s.get_mut(),
            State::Gzip(d) => d.get_mut().get_mut(),
            State::Zlib(d) => d.get_mut().get_mut(),
            State::Deflate(d) => d.get_mut().get_mut(),
            State::Brotli(d) => d.get_mut().get_mut(),
            State::Zstd(d) => d.get_mut().get_mut(),
            State::Gone => return None,
        })
    }

    /// The body's own failure if that is what stopped the decoder, else a decoding failure.
    fn error(&self, e: io::Error) -> ApiError {
        if let Some(api) = e.get_ref().and_then(|i| i.downcast_ref::<ApiError>()) {
            return api.clone();
        }
        ApiError::InvalidServerResponse {
            peer: self.peer.clone(),
            reason: format!(
                "the {}-encoded response body cannot be decoded: {e}",
                self.coding.name()
            ),
        }
    }
}

/// Whether a deflate body starts with a zlib header (RFC 1950: method 8, a window of at
/// most 32 KiB, and a header check making the first two bytes a multiple of 31).
fn looks_like_zlib(first: &[u8]) -> bool {
    match first {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0
        }
        [cmf] => cmf & 0x0f == 8 && cmf >> 4 <= 7,
        [] => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codings_and_zlib_sniffing() {
        assert_eq!(Coding::from_header(" GZIP "), Some(Coding::Gzip));
        assert_eq!(Coding::from_header("x-gzip"), Some(Coding::Gzip));
        assert_eq!(Coding::from_header("br"), Some(Coding::Brotli));
        assert_eq!(Coding::from_header("gzip, br"), None);
        assert_eq!(Coding::from_header("identity"), None);
        // 78 9c: zlib, default compression. A bare deflate block starting with a
        // fixed-Huffman header is not.
        assert!(looks_like_zlib(&[0x78, 0x9c]));
        assert!(looks_like_zlib(&[0x78, 0x01]));
        assert!(!looks_like_zlib(&[0xcb, 0x48]));
        assert!(!looks_like_zlib(&[0x4b, 0x4c]));
    }
}
