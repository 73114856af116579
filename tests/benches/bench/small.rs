//! Control round trip, small GETs (Rust and Python, sequential and 32 in flight), and one
//! request from the shell.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::common::{Report, Row, median, median_of, percentile_us, secs};
use crate::line::LineClient;
use crate::{Bench, Config};

/// QueryOption(HANDLE_TYPE) on a session, against an echo of the same line.
pub async fn control(b: &Bench, cfg: &Config, report: &mut Report) -> std::io::Result<()> {
    let mut c = LineClient::connect(b.socket()).await?;
    let ses = c.handle("WinHttpOpen", json!({})).await?;
    let line = c.request_line("WinHttpQueryOption", &json!({"handle": ses, "option": 9}));
    let echo_path = b.scratch.join("echo.sock");
    start_echo(&echo_path)?;
    let mut e = LineClient::connect(&echo_path).await?;

    let (mut p50, mut p99, mut e50, mut e99) = (vec![], vec![], vec![], vec![]);
    for _ in 0..cfg.runs {
        for (client, p50s, p99s) in [(&mut c, &mut p50, &mut p99), (&mut e, &mut e50, &mut e99)] {
            let mut samples = Vec::with_capacity(cfg.rtt_calls);
            for _ in 0..cfg.rtt_calls / 10 {
                client.round_trip(&line).await?;
            }
            for _ in 0..cfg.rtt_calls {
                let t = Instant::now();
                client.round_trip(&line).await?;
                samples.push(t.elapsed());
            }
            p50s.push(percentile_us(&mut samples, 50.0));
            p99s.push(percentile_us(&mut samples, 99.0));
        }
    }
    let what = format!("{} B request line", line.len());
    for (q, ours, floor) in [("p50", &p50, &e50), ("p99", &p99, &e99)] {
        report.row(Row {
            section: "1 control round trip",
            what: format!("{q}, QueryOption, {what}"),
            hinetd: median(ours),
            other_name: "Unix-socket echo (floor)".into(),
            other: median(floor),
            unit: "µs",
            higher_is_better: false,
        });
    }
    c.call_ok("WinHttpCloseHandle", json!({"handle": ses}))
        .await
}

/// An echo server on a Unix socket, one thread per connection (lives as long as the bench).
fn start_echo(path: &std::path::Path) -> std::io::Result<()> {
    let listener = UnixListener::bind(path)?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(mut w) = stream.try_clone() else {
                    return;
                };
                let mut r = BufReader::new(stream);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match r.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {
                            if w.write_all(&line).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    Ok(())
}

/// One complete GET through the daemon the way a WinHTTP program does it: open, send,
/// receive, read until 0, close. Returns the body length.
pub async fn hinetd_get(
    c: &mut LineClient,
    con: u64,
    path: &str,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let req = c
        .handle(
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": path}),
        )
        .await?;
    c.call_ok("WinHttpSendRequest", json!({"handle": req}))
        .await?;
    c.call_ok("WinHttpReceiveResponse", json!({"handle": req}))
        .await?;
    let mut total = 0;
    loop {
        let n = c.read_data(req, 65536, buf).await?;
        if n == 0 {
            break;
        }
        total += n;
    }
    c.call_ok("WinHttpCloseHandle", json!({"handle": req}))
        .await?;
    Ok(total)
}

/// Session and connect handles to the origin on a fresh connection.
pub async fn session_to(b: &Bench, port: u16) -> std::io::Result<(LineClient, u64, u64)> {
    let mut c = LineClient::connect(b.socket()).await?;
    let ses = c
        .handle("WinHttpOpen", json!({"userAgent": "hinet-bench"}))
        .await?;
    let con = c
        .handle(
            "WinHttpConnect",
            json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": port}),
        )
        .await?;
    Ok((c, ses, con))
}

async fn hinetd_sequential(b: &Bench, n: usize) -> f64 {
    let Ok((mut c, ses, con)) = session_to(b, b.origin.port).await else {
        return f64::NAN;
    };
    let mut buf = Vec::new();
    let start = Instant::now();
    for _ in 0..n {
        match hinetd_get(&mut c, con, &b.origin.small_path, &mut buf).await {
            Ok(1024) => {}
            other => {
                eprintln!("hinetd GET failed: {other:?}");
                return f64::NAN;
            }
        }
    }
    let rate = n as f64 / secs(start);
    let _ = c
        .call_ok("WinHttpCloseHandle", json!({"handle": ses}))
        .await;
    rate
}

/// `conc` tasks on one multiplexed connection and one session.
async fn hinetd_parallel(b: &Bench, n: usize, conc: usize) -> f64 {
    let rpc = Arc::new(b.daemon.connect().await);
    let Ok(ses) = rpc
        .call("WinHttpOpen", json!({"userAgent": "hinet-bench"}))
        .await
    else {
        return f64::NAN;
    };
    let ses = ses["handle"].clone();
    let Ok(con) = rpc
        .call(
            "WinHttpConnect",
            json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": b.origin.port}),
        )
        .await
    else {
        return f64::NAN;
    };
    let con = con["handle"].clone();
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (rpc, next, errors, con) = (rpc.clone(), next.clone(), errors.clone(), con.clone());
        let path = b.origin.small_path.clone();
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                if rpc_get(&rpc, &con, &path).await != Some(1024) {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let rate = n as f64 / secs(start);
    let _ = rpc.call("WinHttpCloseHandle", json!({"handle": ses})).await;
    if errors.load(Ordering::Relaxed) > 0 {
        eprintln!("{} GETs failed", errors.load(Ordering::Relaxed));
        return f64::NAN;
    }
    rate
}

/// A GET over the multiplexed harness connection; the body length.
pub async fn rpc_get(
    rpc: &hinet_tests::RpcConn,
    con: &serde_json::Value,
    path: &str,
) -> Option<usize> {
    let req = rpc
        .call(
            "WinHttpOpenRequest",
            json!({"handle": con, "objectName": path}),
        )
        .await
        .ok()?["handle"]
        .clone();
    rpc.call("WinHttpSendRequest", json!({"handle": req}))
        .await
        .ok()?;
    rpc.call("WinHttpReceiveResponse", json!({"handle": req}))
        .await
        .ok()?;
    let mut total = 0;
    loop {
        let r = rpc
            .call(
                "WinHttpReadData",
                json!({"handle": req, "bytesToRead": 65536}),
            )
            .await
            .ok()?;
        let n = r["bytesRead"].as_u64()? as usize;
        if n == 0 {
            break;
        }
        total += hinet_tests::unb64(r["data"].as_str()?).len();
    }
    rpc.call("WinHttpCloseHandle", json!({"handle": req}))
        .await
        .ok()?;
    Some(total)
}

async fn hyper_requests(url: &str, n: usize, conc: usize) -> f64 {
    let client: Client<_, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let Ok(uri) = url.parse::<hyper::Uri>() else {
        return f64::NAN;
    };
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, next, uri) = (client.clone(), next.clone(), uri.clone());
        tasks.push(tokio::spawn(async move {
            let mut bad = 0usize;
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let len = match client.get(uri.clone()).await {
                    Ok(resp) => resp.into_body().collect().await.map(|b| b.to_bytes().len()),
                    Err(_) => Ok(0),
                };
                if !matches!(len, Ok(1024)) {
                    bad += 1;
                }
            }
            bad
        }));
    }
    let mut bad = 0;
    for t in tasks {
        bad += t.await.unwrap_or(1);
    }
    if bad > 0 {
        return f64::NAN;
    }
    n as f64 / secs(start)
}

pub async fn small_gets(b: &Bench, cfg: &Config, report: &mut Report) {
    let url = b.origin.url(&b.origin.small_path);
    let seq = median_of(cfg.runs, || hinetd_sequential(b, cfg.small_seq)).await;
    let hyper_seq = median_of(cfg.runs, || hyper_requests(&url, cfg.small_seq, 1)).await;
    let par = median_of(cfg.runs, || hinetd_parallel(b, cfg.small_par, 32)).await;
    let hyper_par = median_of(cfg.runs, || hyper_requests(&url, cfg.small_par, 32)).await;
    for (what, ours, theirs) in [
        ("1 KiB GETs, sequential, Rust", seq, hyper_seq),
        ("1 KiB GETs, 32 in flight, Rust", par, hyper_par),
    ] {
        report.row(Row {
            section: "2a small requests",
            what: what.into(),
            hinetd: ours,
            other_name: "in-process hyper client".into(),
            other: theirs,
            unit: "req/s",
            higher_is_better: true,
        });
    }
}

/// Python: the stdlib NDJSON client through hinetd, against httpx and requests direct.
pub async fn python(b: &Bench, cfg: &Config, report: &mut Report) {
    let script = b.bench_dir.join("python_bench.py");
    let url = b.origin.url(&b.origin.small_path);
    let socket = b.socket().display().to_string();
    let run = |lib: &str, n: usize, conc: usize| {
        let out = Command::new("python3")
            .arg(&script)
            .args([lib, &url, &n.to_string(), &conc.to_string(), &socket])
            .stderr(Stdio::inherit())
            .output();
        match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .unwrap_or(f64::NAN),
            _ => f64::NAN,
        }
    };
    let available = |lib: &str| {
        Command::new("python3")
            .args(["-c", &format!("import {lib}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !available("json") {
        report.skip("Python benchmarks: python3 not found");
        return;
    }
    for (conc, n, label) in [
        (1, cfg.small_seq, "sequential"),
        (32, cfg.small_par, "32 threads"),
    ] {
        let ours = median(
            (0..cfg.runs)
                .map(|_| run("hinetd", n, conc))
                .collect::<Vec<_>>()
                .as_slice(),
        );
        for lib in ["httpx", "requests"] {
            if !available(lib) {
                report.skip(format!(
                    "Python {lib}: not installed (pip install httpx requests)"
                ));
                continue;
            }
            let theirs = median(
                (0..cfg.runs)
                    .map(|_| run(lib, n, conc))
                    .collect::<Vec<_>>()
                    .as_slice(),
            );
            report.row(Row {
                section: "2b small requests, Python",
                what: format!("1 KiB GETs, {label}"),
                hinetd: ours,
                other_name: format!("Python {lib}, direct"),
                other: theirs,
                unit: "req/s",
                higher_is_better: true,
            });
        }
    }
}

/// One request from the shell, process start included: `hinet` against `curl`.
pub async fn cli(b: &Bench, cfg: &Config, report: &mut Report) {
    let url = b.origin.url(&b.origin.small_path);
    let hinet = b.hinetd_bin.with_file_name("hinet");
    if !hinet.is_file() {
        report.skip(
            "hinet vs curl: the hinet binary is not built (cargo build --release -p hinet-client)",
        );
        return;
    }
    let Some(curl) = crate::origin::which("curl") else {
        report.skip("hinet vs curl: curl is not installed");
        return;
    };
    let socket = b.socket().display().to_string();
    let time = |cmd: &mut Command| {
        let t = Instant::now();
        let ok = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            t.elapsed().as_secs_f64() * 1e3
        } else {
            f64::NAN
        }
    };
    let runs = cfg.cli_runs;
    let ours: Vec<f64> = (0..runs)
        .map(|_| {
            time(Command::new(&hinet).args(["--socket", &socket, "-s", "-o", "/dev/null", &url]))
        })
        .collect();
    let theirs: Vec<f64> = (0..runs)
        .map(|_| time(Command::new(&curl).args(["-s", "-o", "/dev/null", &url])))
        .collect();
    report.row(Row {
        section: "2c one request from the shell",
        what: format!("1 KiB GET, process start included, median of {runs}"),
        hinetd: median(&ours),
        other_name: "curl".into(),
        other: median(&theirs),
        unit: "ms",
        higher_is_better: false,
    });
    // Keep the daemon warm between sections.
    tokio::time::sleep(Duration::from_millis(10)).await;
}
