//! The leanest client of the daemon: one request line out, one answer line back, on a
//! Unix socket. The control-latency floor (an echo server) is measured through the very
//! same code, so the difference between the two is the daemon's.

use std::io;
use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

pub struct LineClient {
    r: BufReader<OwnedReadHalf>,
    w: OwnedWriteHalf,
    line: Vec<u8>,
    next_id: u64,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    error: Option<Value>,
    method: Option<&'a str>,
}

#[derive(Deserialize)]
struct ReadResult<'a> {
    data: &'a str,
}

impl LineClient {
    pub async fn connect(path: &Path) -> io::Result<LineClient> {
        let (r, w) = UnixStream::connect(path).await?.into_split();
        Ok(LineClient {
            r: BufReader::with_capacity(1 << 20, r),
            w,
            line: Vec::with_capacity(1 << 16),
            next_id: 1,
        })
    }

    /// Writes `bytes` (one line, `\n` included) and reads one line back; returns its length.
    pub async fn round_trip(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.w.write_all(bytes).await?;
        self.line.clear();
        let n = self.r.read_until(b'\n', &mut self.line).await?;
        if n == 0 {
            return Err(bad("connection closed"));
        }
        Ok(n)
    }

    /// The request line for `method`.
    pub fn request_line(&mut self, method: &str, params: &Value) -> Vec<u8> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line =
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":"#).into_bytes();
        line.extend(serde_json::to_vec(params).unwrap_or_default());
        line.extend_from_slice(b"}\n");
        line
    }

    /// Reads lines until an answer (skipping notifications); its raw `result`, or the error.
    async fn answer(&mut self) -> io::Result<()> {
        loop {
            self.line.clear();
            if self.r.read_until(b'\n', &mut self.line).await? == 0 {
                return Err(bad("connection closed"));
            }
            let a: Answer = serde_json::from_slice(&self.line).map_err(|e| bad(e.to_string()))?;
            if a.method.is_some() {
                continue;
            }
            if let Some(e) = a.error {
                return Err(bad(format!("error answer: {e}")));
            }
            if a.result.is_none() {
                return Err(bad("answer without result"));
            }
            return Ok(());
        }
    }

    /// Calls `method` and returns its result.
    pub async fn call(&mut self, method: &str, params: Value) -> io::Result<Value> {
        let line = self.request_line(method, &params);
        self.w.write_all(&line).await?;
        self.answer().await?;
        let a: Answer = serde_json::from_slice(&self.line).map_err(|e| bad(e.to_string()))?;
        a.result
            .map(|r| serde_json::from_str(r.get()).unwrap_or(Value::Null))
            .ok_or_else(|| bad("answer without result"))
    }

    /// Calls `method` and only checks that it succeeded (no result parsing).
    pub async fn call_ok(&mut self, method: &str, params: Value) -> io::Result<()> {
        let line = self.request_line(method, &params);
        self.w.write_all(&line).await?;
        self.answer().await
    }

    /// A handle-returning call.
    pub async fn handle(&mut self, method: &str, params: Value) -> io::Result<u64> {
        self.call(method, params)
            .await?
            .get("handle")
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(format!("{method} returned no handle")))
    }

    /// ReadData decoded into `sink` (cleared first); returns the byte count (0 = end).
    pub async fn read_data(&mut self, req: u64, max: u64, sink: &mut Vec<u8>) -> io::Result<usize> {
        let line = self.request_line(
            "WinHttpReadData",
            &serde_json::json!({"handle": req, "bytesToRead": max}),
        );
        self.w.write_all(&line).await?;
        self.answer().await?;
        let a: Answer = serde_json::from_slice(&self.line).map_err(|e| bad(e.to_string()))?;
        let raw = a.result.ok_or_else(|| bad("no result"))?;
        let r: ReadResult = serde_json::from_str(raw.get()).map_err(|e| bad(e.to_string()))?;
        sink.clear();
        base64::engine::general_purpose::STANDARD
            .decode_vec(r.data, sink)
            .map_err(|e| bad(e.to_string()))?;
        Ok(sink.len())
    }

    /// Writes request lines and reads as many answer lines, without looking at them
    /// (batches and pipelines).
    pub async fn pipeline(&mut self, lines: &[Vec<u8>]) -> io::Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(lines.len());
        for l in lines {
            self.w.write_all(l).await?;
        }
        for _ in lines {
            self.line.clear();
            if self.r.read_until(b'\n', &mut self.line).await? == 0 {
                return Err(bad("connection closed"));
            }
            out.push(self.line.clone());
        }
        Ok(out)
    }
}
