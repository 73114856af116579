//! Scale (memory per handle, many clients, many requests in flight) and the soak run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{Report, open_fds, rss_kib, secs};
use crate::line::LineClient;
use crate::small::{hinetd_get, session_to};
use crate::{Bench, Config};

/// Samples the daemon's RSS and descriptors until stopped; returns the peaks.
fn sampler(pid: u32, every: Duration) -> (Arc<AtomicBool>, tokio::task::JoinHandle<(u64, usize)>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let task = tokio::spawn(async move {
        let (mut rss, mut fds) = (0, 0);
        while !flag.load(Ordering::Relaxed) {
            rss = rss.max(rss_kib(pid));
            fds = fds.max(open_fds(pid));
            tokio::time::sleep(every).await;
        }
        (rss, fds)
    });
    (stop, task)
}

/// RSS growth per open request handle.
pub async fn handles(b: &Bench, cfg: &Config, report: &mut Report) -> std::io::Result<()> {
    let pid = b.daemon.pid();
    let (mut c, ses, con) = session_to(b, b.origin.port).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib(pid);
    let start = Instant::now();
    let mut opened = 0;
    while opened < cfg.handles {
        let n = (cfg.handles - opened).min(1000);
        let mut batch = Vec::with_capacity(n * 80);
        batch.push(b'[');
        for i in 0..n {
            if i > 0 {
                batch.push(b',');
            }
            batch.extend(
                format!(
                    r#"{{"jsonrpc":"2.0","id":{i},"method":"WinHttpOpenRequest","params":{{"handle":{con},"objectName":"/1k"}}}}"#
                )
                .as_bytes(),
            );
        }
        batch.extend_from_slice(b"]\n");
        let answer = c.pipeline(&[batch]).await?;
        let ok = answer
            .first()
            .map(|a| bytecount(a, b"\"result\""))
            .unwrap_or(0);
        if ok != n {
            report.skip(format!("handles: a batch opened only {ok} of {n}"));
            return Ok(());
        }
        opened += n;
    }
    let took = secs(start);
    let status = c.call("HinetStatus", json!({})).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_kib(pid);
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / opened as f64;
    report.fact(
        "5 scale",
        format!("RSS per open request handle ({opened} handles, HinetStatus requests = {})", status["requests"]),
        format!(
            "{per:.0} bytes/handle (RSS {:.1} → {:.1} MiB; opened at {:.0} handles/s in batches of 1000)",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            opened as f64 / took
        ),
    );
    let t = Instant::now();
    c.call_ok("WinHttpCloseHandle", json!({"handle": ses}))
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.fact(
        "5 scale",
        format!("closing the session with {opened} requests"),
        format!(
            "{:.0} ms; RSS afterwards {:.1} MiB",
            t.elapsed().as_secs_f64() * 1e3,
            rss_kib(pid) as f64 / 1024.0
        ),
    );
    Ok(())
}

fn bytecount(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// `cfg.clients` connections at once, each with its own session doing a few GETs.
pub async fn clients(b: &Bench, cfg: &Config, report: &mut Report) {
    let per_client = 5;
    let pid = b.daemon.pid();
    let mut conns = Vec::with_capacity(cfg.clients);
    let mut refused = 0;
    for _ in 0..cfg.clients {
        match session_to(b, b.origin.port).await {
            Ok(c) => conns.push(c),
            Err(_) => refused += 1,
        }
    }
    let (stop, peaks) = sampler(pid, Duration::from_millis(50));
    let errors = Arc::new(AtomicUsize::new(refused * per_client));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (mut c, ses, con) in conns {
        let (errors, path) = (errors.clone(), b.origin.small_path.clone());
        tasks.push(tokio::spawn(async move {
            let mut buf = Vec::new();
            for _ in 0..per_client {
                if !matches!(hinetd_get(&mut c, con, &path, &mut buf).await, Ok(1024)) {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = c
                .call_ok("WinHttpCloseHandle", json!({"handle": ses}))
                .await;
        }));
    }
    for t in tasks {
        if t.await.is_err() {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let took = secs(start);
    stop.store(true, Ordering::Relaxed);
    let (rss, fds) = peaks.await.unwrap_or((0, 0));
    let total = cfg.clients * per_client;
    report.fact(
        "5 scale",
        format!(
            "{} concurrent client connections × {per_client} GETs",
            cfg.clients
        ),
        format!(
            "{total} GETs in {took:.2} s ({:.0} req/s), {} errors ({refused} connections refused); \
             daemon peak RSS {:.1} MiB, peak fds {fds}",
            total as f64 / took,
            errors.load(Ordering::Relaxed),
            rss as f64 / 1024.0
        ),
    );
}

/// What the in-flight run saw go wrong, by WinHTTP error number.
type Codes = Arc<Mutex<HashMap<i64, usize>>>;

fn count(codes: &Codes, code: i64) {
    *codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(code)
        .or_default() += 1;
}

/// `cfg.in_flight` async requests at once against a server that answers after a delay.
pub async fn in_flight(b: &Bench, cfg: &Config, report: &mut Report) {
    const COMPLETIONS: u32 = 0x0040_0000 | 0x0002_0000 | 0x0020_0000;
    let delay = if cfg.smoke {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    };
    let slow = crate::origin::slow(delay).await;
    let rpc = Arc::new(b.daemon.connect().await);
    let setup = async {
        let ses = rpc
            .call("WinHttpOpen", json!({"flags": 0x1000_0000u32}))
            .await
            .ok()?["handle"]
            .clone();
        rpc.call(
            "WinHttpSetStatusCallback",
            json!({"handle": ses, "notificationFlags": COMPLETIONS}),
        )
        .await
        .ok()?;
        let con = rpc
            .call(
                "WinHttpConnect",
                json!({"handle": ses, "serverName": "127.0.0.1", "serverPort": slow.port()}),
            )
            .await
            .ok()?["handle"]
            .clone();
        Some((ses, con))
    };
    let Some((ses, con)) = setup.await else {
        report.skip("in flight: setup failed");
        return;
    };
    let pid = b.daemon.pid();
    let (stop, peaks) = sampler(pid, Duration::from_millis(50));
    let n = cfg.in_flight;
    // Failures: RPC errors (no completion follows) and REQUEST_ERROR completions.
    let codes: Codes = Arc::default();
    let failed = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut sent = 0;
    for _ in 0..n {
        let opened = rpc
            .call(
                "WinHttpOpenRequest",
                json!({"handle": con, "objectName": "/slow"}),
            )
            .await;
        let outcome = match opened {
            Ok(r) => {
                rpc.call("WinHttpSendRequest", json!({"handle": r["handle"]}))
                    .await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(_) => sent += 1,
            Err(e) => count(&codes, e.code),
        }
    }
    let send_secs = secs(start);
    let (mut done, mut max_outstanding) = (0usize, 0usize);
    // Awaited before the session closes, so no call is left waiting when the bench ends.
    let mut spawned = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while done + failed.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
        let Some(note) = rpc.next_notification(Duration::from_secs(10)).await else {
            break;
        };
        let ev = &note["params"]["result"];
        let h = ev["handle"].clone();
        match ev["statusName"].as_str() {
            Some("SENDREQUEST_COMPLETE") => {
                let (rpc, codes, failed) = (rpc.clone(), codes.clone(), failed.clone());
                spawned.push(tokio::spawn(async move {
                    if let Err(e) = rpc
                        .call("WinHttpReceiveResponse", json!({"handle": h}))
                        .await
                    {
                        count(&codes, e.code);
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            Some("HEADERS_AVAILABLE") => {
                done += 1;
                let rpc = rpc.clone();
                spawned.push(tokio::spawn(async move {
                    let _ = rpc.call("WinHttpCloseHandle", json!({"handle": h})).await;
                }));
            }
            Some("REQUEST_ERROR") => {
                count(&codes, ev["info"]["error"].as_i64().unwrap_or(0));
                failed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        max_outstanding = max_outstanding.max(sent - done - failed.load(Ordering::Relaxed));
    }
    let took = secs(start);
    stop.store(true, Ordering::Relaxed);
    let (rss, fds) = peaks.await.unwrap_or((0, 0));
    for t in spawned {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    let _ = rpc.call("WinHttpCloseHandle", json!({"handle": ses})).await;
    let mut codes: Vec<_> = codes
        .lock()
        .map(|c| c.clone().into_iter().collect())
        .unwrap_or_default();
    codes.sort_unstable();
    let failures: usize = codes.iter().map(|(_, n)| n).sum();
    report.fact(
        "5 scale",
        format!(
            "{n} async requests in flight, server answers after {} ms",
            delay.as_millis()
        ),
        format!(
            "{done} answered, {failures} failed {codes:?} (error: count), in {took:.2} s \
             (sent within {send_secs:.2} s; up to {max_outstanding} outstanding); \
             daemon peak RSS {:.1} MiB, peak fds {fds}",
            rss as f64 / 1024.0
        ),
    );
}

/// GETs for `cfg.soak` from 4 connections, with the daemon's RSS and fds sampled.
pub async fn soak(b: &Bench, cfg: &Config, report: &mut Report) {
    let pid = b.daemon.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let Ok((c, ses, con)) = session_to(b, b.origin.port).await else {
            report.skip("soak: cannot connect");
            return;
        };
        let (stop, count, errors, path) = (
            stop.clone(),
            count.clone(),
            errors.clone(),
            b.origin.small_path.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut c: LineClient = c;
            let mut buf = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match hinetd_get(&mut c, con, &path, &mut buf).await {
                    Ok(1024) => count.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
            let _ = c
                .call_ok("WinHttpCloseHandle", json!({"handle": ses}))
                .await;
        }));
    }
    let every = if cfg.smoke {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    };
    let start = Instant::now();
    while start.elapsed() < cfg.soak {
        report
            .soak
            .push((secs(start), rss_kib(pid) as f64 / 1024.0, open_fds(pid)));
        tokio::time::sleep(every).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let took = secs(start);
    report
        .soak
        .push((took, rss_kib(pid) as f64 / 1024.0, open_fds(pid)));
    let n = count.load(Ordering::Relaxed);
    let first = report.soak.first().copied().unwrap_or_default();
    let last = report.soak.last().copied().unwrap_or_default();
    let max_rss = report.soak.iter().map(|s| s.1).fold(0.0, f64::max);
    let max_fds = report.soak.iter().map(|s| s.2).max().unwrap_or(0);
    report.fact(
        "6 soak",
        format!("{:.0} s of 1 KiB GETs from 4 connections", cfg.soak.as_secs_f64()),
        format!(
            "{n} requests ({:.0} req/s), {} errors; daemon RSS {:.1} → {:.1} MiB (max {max_rss:.1}), fds {} → {} (max {max_fds})",
            n as f64 / took,
            errors.load(Ordering::Relaxed),
            first.1,
            last.1,
            first.2,
            last.2
        ),
    );
}
