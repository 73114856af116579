//! The request body: -d and --data-binary, sent with WinHttpSendRequest and then
//! WinHttpWriteData in pieces, so a large file never sits in memory whole.

use crate::args::RequestArgs;
use crate::exit::{Failure, Phase, READ_ERROR};
use hinet_client::Request;
use std::path::PathBuf;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most body bytes one SendRequest or WriteData carries.
const PIECE: usize = 64 * 1024;

#[derive(Debug)]
pub enum Body {
    None,
    Bytes(Vec<u8>),
    /// `--data-binary @FILE`: its length is announced, its bytes streamed.
    File {
        path: PathBuf,
        len: u64,
    },
    /// `--data-binary @-`: length unknown, so sent chunked.
    Stdin,
}

impl Body {
    /// Reads what must be read up front (-d values), checks files exist.
    pub async fn from_args(args: &RequestArgs) -> Result<Body, Failure> {
        if let Some(d) = &args.data_binary {
            return Ok(match d.strip_prefix('@') {
                Some("-") => Body::Stdin,
                Some(path) => {
                    let path = PathBuf::from(path);
                    let meta = tokio::fs::metadata(&path)
                        .await
                        .map_err(|e| read_failure(&path, &e))?;
                    if !meta.is_file() {
                        return Err(Failure::new(
                            READ_ERROR,
                            format!("{} is not a regular file", path.display()),
                        ));
                    }
                    Body::File {
                        path,
                        len: meta.len(),
                    }
                }
                None => Body::Bytes(d.clone().into_bytes()),
            });
        }
        if args.data.is_empty() {
            return Ok(Body::None);
        }
        let mut joined = Vec::new();
        for (i, d) in args.data.iter().enumerate() {
            if i > 0 {
                joined.push(b'&');
            }
            match d.strip_prefix('@') {
                // Like curl: -d @FILE sends the file without its line breaks.
                Some(source) => {
                    let bytes = if source == "-" {
                        let mut all = Vec::new();
                        tokio::io::stdin()
                            .read_to_end(&mut all)
                            .await
                            .map_err(|e| Failure::new(READ_ERROR, format!("stdin: {e}")))?;
                        all
                    } else {
                        tokio::fs::read(source)
                            .await
                            .map_err(|e| read_failure(&PathBuf::from(source), &e))?
                    };
                    joined.extend(bytes.into_iter().filter(|b| *b != b'\r' && *b != b'\n'));
                }
                None => joined.extend_from_slice(d.as_bytes()),
            }
        }
        Ok(Body::Bytes(joined))
    }

    pub fn is_some(&self) -> bool {
        !matches!(self, Body::None)
    }

    /// Whether the body can be sent a second time (an authentication retry).
    pub fn replayable(&self) -> bool {
        !matches!(self, Body::Stdin)
    }

    /// A header the body needs.
    pub fn header(&self) -> Option<&'static str> {
        matches!(self, Body::Stdin).then_some("Transfer-Encoding: chunked")
    }

    /// WinHttpSendRequest with the first piece, then WinHttpWriteData for the rest.
    pub async fn send(&self, req: &mut Request, headers: Option<&str>) -> Result<(), Failure> {
        let sending = |e: hinet_client::Error| Failure::from_client(&e, Phase::Send);
        match self {
            Body::None => req.send(headers, &[], 0).await.map_err(sending),
            Body::Bytes(bytes) => {
                let (first, rest) = bytes.split_at(bytes.len().min(PIECE));
                req.send(headers, first, bytes.len() as u64)
                    .await
                    .map_err(sending)?;
                for piece in rest.chunks(PIECE) {
                    req.write(piece).await.map_err(sending)?;
                }
                Ok(())
            }
            Body::File { path, len } => {
                let file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| read_failure(path, &e))?;
                req.send(headers, &[], *len).await.map_err(sending)?;
                let sent = stream(file, req, false).await?;
                if sent != *len {
                    return Err(Failure::new(
                        READ_ERROR,
                        format!(
                            "{} changed size while it was sent ({len} bytes announced, {sent} read)",
                            path.display()
                        ),
                    ));
                }
                Ok(())
            }
            Body::Stdin => {
                req.send(headers, &[], 0).await.map_err(sending)?;
                stream(tokio::io::stdin(), req, true).await.map(|_| ())
            }
        }
    }
}

/// Copies `source` into the request in pieces; `chunked` frames each piece (WinHTTP
/// leaves chunked framing to the application) and ends with the last chunk.
async fn stream(
    mut source: impl AsyncRead + Unpin,
    req: &mut Request,
    chunked: bool,
) -> Result<u64, Failure> {
    let mut buf = vec![0u8; PIECE];
    let mut total = 0u64;
    loop {
        let n = source
            .read(&mut buf)
            .await
            .map_err(|e| Failure::new(READ_ERROR, format!("reading the upload: {e}")))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        let piece = &buf[..n];
        let result = if chunked {
            let mut framed = format!("{n:x}\r\n").into_bytes();
            framed.extend_from_slice(piece);
            framed.extend_from_slice(b"\r\n");
            req.write(&framed).await
        } else {
            req.write(piece).await
        };
        result.map_err(|e| Failure::from_client(&e, Phase::Send))?;
    }
    if chunked {
        req.write(b"0\r\n\r\n")
            .await
            .map_err(|e| Failure::from_client(&e, Phase::Send))?;
    }
    Ok(total)
}

fn read_failure(path: &std::path::Path, e: &std::io::Error) -> Failure {
    Failure::new(READ_ERROR, format!("cannot read {}: {e}", path.display()))
}
