//! Bulk download through ReadData (base64 in JSON) against curl and in-process hyper, and
//! upload through WriteData against curl.

use std::process::{Command, Stdio};
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::common::{Report, Row, median_of, secs};
use crate::small::session_to;
use crate::{Bench, Config};

const MIB: f64 = 1024.0 * 1024.0;

/// MiB/s of one download through the daemon, reading `chunk` bytes per ReadData.
async fn hinetd_download(b: &Bench, chunk: u64) -> f64 {
    let Ok((mut c, ses, con)) = session_to(b, b.origin.port).await else {
        return f64::NAN;
    };
    let start = Instant::now();
    let result = async {
        let req = c
            .handle(
                "WinHttpOpenRequest",
                json!({"handle": con, "objectName": b.origin.bulk_path}),
            )
            .await?;
        c.call_ok("WinHttpSendRequest", json!({"handle": req}))
            .await?;
        c.call_ok("WinHttpReceiveResponse", json!({"handle": req}))
            .await?;
        let mut buf = Vec::new();
        let mut total = 0u64;
        loop {
            let n = c.read_data(req, chunk, &mut buf).await?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        Ok::<u64, std::io::Error>(total)
    }
    .await;
    let took = secs(start);
    let _ = c
        .call_ok("WinHttpCloseHandle", json!({"handle": ses}))
        .await;
    match result {
        Ok(n) if n == b.origin.bulk_size => n as f64 / MIB / took,
        other => {
            eprintln!("hinetd download failed: {other:?}");
            f64::NAN
        }
    }
}

async fn hyper_download(url: &str, expected: u64) -> f64 {
    let client: Client<_, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let Ok(uri) = url.parse::<hyper::Uri>() else {
        return f64::NAN;
    };
    let start = Instant::now();
    let Ok(resp) = client.get(uri).await else {
        return f64::NAN;
    };
    let mut body = resp.into_body();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => total += f.data_ref().map_or(0, |d| d.len() as u64),
            Err(_) => return f64::NAN,
        }
    }
    if total != expected {
        return f64::NAN;
    }
    total as f64 / MIB / secs(start)
}

/// Runs a command and returns its wall time in seconds (NaN on failure).
fn timed(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let ok = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok { secs(t) } else { f64::NAN }
}

pub async fn bulk(b: &Bench, cfg: &Config, report: &mut Report) {
    let url = b.origin.url(&b.origin.bulk_path);
    let size = b.origin.bulk_size;
    let what = format!("{} MiB download", size / (1 << 20));
    let big = median_of(cfg.runs, || hinetd_download(b, 16 << 20)).await;
    let small = median_of(cfg.runs, || hinetd_download(b, 64 << 10)).await;
    let hyper = median_of(cfg.runs, || hyper_download(&url, size)).await;
    let curl = match crate::origin::which("curl") {
        Some(curl) => {
            median_of(cfg.runs, || {
                let t = timed(Command::new(&curl).args(["-s", "-o", "/dev/null", &url]));
                async move { size as f64 / MIB / t }
            })
            .await
        }
        None => f64::NAN,
    };
    for (chunk, ours) in [("16 MiB", big), ("64 KiB", small)] {
        report.row(Row {
            section: "3 bulk download",
            what: format!("{what}, ReadData of {chunk}"),
            hinetd: ours,
            other_name: "curl -o /dev/null".into(),
            other: curl,
            unit: "MiB/s",
            higher_is_better: true,
        });
    }
    report.row(Row {
        section: "3 bulk download",
        what: format!("{what}, ReadData of 16 MiB"),
        hinetd: big,
        other_name: "in-process hyper client".into(),
        other: hyper,
        unit: "MiB/s",
        higher_is_better: true,
    });
}

/// MiB/s of one upload of `size` bytes through WriteData in 1 MiB pieces.
async fn hinetd_upload(b: &Bench, port: u16, size: u64, piece: &str, piece_len: u64) -> f64 {
    let Ok((mut c, ses, con)) = session_to(b, port).await else {
        return f64::NAN;
    };
    let start = Instant::now();
    let result = async {
        let req = c
            .handle(
                "WinHttpOpenRequest",
                json!({"handle": con, "verb": "POST", "objectName": "/upload"}),
            )
            .await?;
        c.call_ok(
            "WinHttpSendRequest",
            json!({"handle": req, "totalLength": size}),
        )
        .await?;
        let mut sent = 0;
        // The line is built once: the daemon does not care that ids repeat.
        let line = c.request_line("WinHttpWriteData", &json!({"handle": req, "data": piece}));
        while sent < size {
            c.round_trip(&line).await?;
            sent += piece_len;
        }
        c.call_ok("WinHttpReceiveResponse", json!({"handle": req}))
            .await?;
        let mut buf = Vec::new();
        c.read_data(req, 64, &mut buf).await?;
        Ok::<String, std::io::Error>(String::from_utf8_lossy(&buf).into_owned())
    }
    .await;
    let took = secs(start);
    let _ = c
        .call_ok("WinHttpCloseHandle", json!({"handle": ses}))
        .await;
    match result {
        Ok(n) if n == size.to_string() => size as f64 / MIB / took,
        other => {
            eprintln!("hinetd upload failed: {other:?}");
            f64::NAN
        }
    }
}

pub async fn upload(b: &Bench, cfg: &Config, report: &mut Report) {
    let sink = crate::origin::sink().await;
    let size = cfg.upload;
    let piece_len: u64 = 1 << 20;
    let piece = base64::engine::general_purpose::STANDARD.encode(vec![b'u'; piece_len as usize]);
    let ours = median_of(cfg.runs, || {
        hinetd_upload(b, sink.port(), size, &piece, piece_len)
    })
    .await;
    let file = b.scratch.join("upload.bin");
    if std::fs::write(&file, vec![b'u'; size as usize]).is_err() {
        report.skip("upload: cannot write the upload file");
        return;
    }
    let url = format!("http://{sink}/upload");
    let curl = match crate::origin::which("curl") {
        Some(curl) => {
            let data = format!("@{}", file.display());
            median_of(cfg.runs, || {
                let t = timed(Command::new(&curl).args([
                    "-s",
                    "-o",
                    "/dev/null",
                    "--data-binary",
                    &data,
                    &url,
                ]));
                async move { size as f64 / MIB / t }
            })
            .await
        }
        None => f64::NAN,
    };
    let _ = std::fs::remove_file(&file);
    report.row(Row {
        section: "4 upload",
        what: format!("{} MiB upload, WriteData of 1 MiB", size >> 20),
        hinetd: ours,
        other_name: "curl --data-binary".into(),
        other: curl,
        unit: "MiB/s",
        higher_is_better: true,
    });
}
