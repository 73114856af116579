//! The `hinet` command line against the real daemon and real local servers: each flag is
//! checked against what the server received, each failure against its exit code.
//!
//! A test target of the client package (so `CARGO_BIN_EXE_hinet` exists); `hinetd` is
//! found next to `hinet`, where `cargo test --workspace` builds it.

use hinet_tests::{Daemon, HttpServer, TempDir, TestCert, big_body, closed_port, percent_encode};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const HINET: &str = env!("CARGO_BIN_EXE_hinet");

/// Built by `cargo test --workspace` (or `cargo build -p hinetd`) into `hinet`'s directory;
/// building it from here would contend for Cargo's lock.
fn hinetd() -> String {
    let path: PathBuf = Path::new(HINET).with_file_name("hinetd");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace` (or `cargo build -p hinetd` first)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `hinet --socket <daemon's> args...`.
async fn hinet(daemon: &Daemon, args: &[&str]) -> Run {
    let mut cmd = command(args);
    cmd.arg("--socket").arg(daemon.socket_path());
    finish(cmd, None).await
}

fn command(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(HINET);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn finish(mut cmd: tokio::process::Command, stdin: Option<Vec<u8>>) -> Run {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("spawn hinet");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        tokio::spawn(async move {
            let _ = pipe.write_all(&bytes).await;
        });
    }
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("hinet finished within 30 s")
        .expect("hinet ran");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn echo(run: &Run) -> serde_json::Value {
    serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run:?}"))
}

#[tokio::test]
async fn get_and_request_flags_reach_the_server() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(&hinetd(), &[]);
    let run = hinet(&daemon, &[&origin.url("/hello")]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "hello world"),
        "{run:?}"
    );
    assert!(run.stderr.is_empty(), "{run:?}");
    let ua = origin.requests()[0].header("user-agent").map(str::to_owned);
    assert!(ua.is_some_and(|ua| ua.starts_with("hinet/")));

    // Without a scheme, http:// is assumed.
    origin.clear_requests();
    let bare = origin.url("/echo?q=1").replace("http://", "");
    let run = hinet(
        &daemon,
        &[
            "-X",
            "PUT",
            "-H",
            "X-One: 1",
            "-H",
            "X-Two: two",
            "-H",
            "User-Agent: mine/2",
            "-d",
            "a=1",
            "-d",
            "b=2",
            &bare,
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(echo(&run)["method"], "PUT");
    let seen = &origin.requests()[0];
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.path, "/echo?q=1");
    assert_eq!(seen.body, b"a=1&b=2");
    assert_eq!(seen.header("x-one"), Some("1"));
    assert_eq!(seen.header("x-two"), Some("two"));
    assert_eq!(seen.header("user-agent"), Some("mine/2"));
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );

    // -d makes a POST; an explicit Content-Type wins.
    origin.clear_requests();
    let run = hinet(
        &daemon,
        &[
            "-d",
            "{}",
            "-H",
            "Content-Type: application/json",
            &origin.url("/echo"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let seen = &origin.requests()[0];
    assert_eq!(
        (seen.method.as_str(), seen.body.as_slice()),
        ("POST", &b"{}"[..])
    );
    assert_eq!(seen.header_all("content-type"), ["application/json"]);
}

#[tokio::test]
async fn data_binary_streams_files_and_stdin_with_write_data() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(&hinetd(), &[]);
    let dir = TempDir::new("hinet-cli");
    let file = dir.path().join("upload.bin");
    let payload = big_body(300_000);
    std::fs::write(&file, &payload).unwrap();

    let at_file = format!("@{}", file.display());
    let run = hinet(
        &daemon,
        &["-v", "--data-binary", &at_file, &origin.url("/upload")],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(echo(&run)["len"], 300_000);
    let seen = &origin.requests()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.body, payload);
    assert_eq!(seen.header("content-length"), Some("300000"));
    // Sent in pieces: one WinHttpWriteData (async: one WRITE_COMPLETE) per 64 KiB.
    let writes = run.stderr.matches(" WRITE_COMPLETE ").count();
    assert!(writes >= 5, "{writes} writes\n{}", run.stderr);

    // Standard input has no length: it goes chunked.
    origin.clear_requests();
    let mut cmd = command(&["--data-binary", "@-", &origin.url("/upload")]);
    cmd.arg("--socket").arg(daemon.socket_path());
    let run = finish(cmd, Some(payload.clone())).await;
    assert_eq!(run.code, 0, "{run:?}");
    let seen = &origin.requests()[0];
    assert_eq!(seen.body, payload);
    assert_eq!(seen.header("transfer-encoding"), Some("chunked"));

    // -d @file drops line breaks, like curl.
    origin.clear_requests();
    let form = dir.path().join("form.txt");
    std::fs::write(&form, "a=1\r\n&b=2\n").unwrap();
    let at_form = format!("@{}", form.display());
    let run = hinet(&daemon, &["-d", &at_form, &origin.url("/upload")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(origin.requests()[0].body, b"a=1&b=2");

    let missing = format!("@{}", dir.path().join("nope").display());
    let run = hinet(
        &daemon,
        &["--data-binary", &missing, &origin.url("/upload")],
    )
    .await;
    assert_eq!(run.code, 26, "{run:?}");
}

#[tokio::test]
async fn output_files_include_and_head() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(&hinetd(), &[]);
    let dir = TempDir::new("hinet-cli");

    let out = dir.path().join("big.bin");
    let run = hinet(
        &daemon,
        &[
            "-o",
            &out.to_string_lossy(),
            &origin.url("/big?size=200000"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), big_body(200_000));

    // -O names the file after the URL, in the current directory.
    let mut cmd = command(&["-O", &origin.url("/hello?x=1")]);
    cmd.arg("--socket")
        .arg(daemon.socket_path())
        .current_dir(dir.path());
    let run = finish(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        std::fs::read(dir.path().join("hello")).unwrap(),
        b"hello world"
    );

    let run = hinet(&daemon, &["-i", &origin.url("/hello")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = run.out();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(text.contains("\r\nContent-Length: 11\r\n"), "{text:?}");
    assert!(text.ends_with("\r\n\r\nhello world"), "{text:?}");

    origin.clear_requests();
    let run = hinet(&daemon, &["-I", &origin.url("/hello")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = run.out();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text:?}");
    assert!(text.ends_with("\r\n\r\n"), "headers only: {text:?}");
    assert_eq!(origin.requests()[0].method, "HEAD");
}

#[tokio::test]
async fn fail_and_failure_exit_codes() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(&hinetd(), &[]);

    let run = hinet(&daemon, &[&origin.url("/status/404")]).await;
    assert_eq!((run.code, run.out().as_str()), (0, "status 404"), "{run:?}");
    let run = hinet(&daemon, &["-f", &origin.url("/status/404")]).await;
    assert_eq!(run.code, 22, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("404"), "{run:?}");

    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let run = hinet(&daemon, &[&refused]).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert!(
        run.stderr.contains("ERROR_WINHTTP_CANNOT_CONNECT (12029)"),
        "{run:?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    let run = hinet(&daemon, &["-s", &refused]).await;
    assert_eq!((run.code, run.stderr.as_str()), (7, ""), "{run:?}");
    let run = hinet(&daemon, &["-sS", &refused]).await;
    assert!(run.code == 7 && run.stderr.contains("12029"), "{run:?}");

    // -m bounds the whole transfer.
    let started = Instant::now();
    let run = hinet(&daemon, &["-m", "0.5", &origin.url("/stall")]).await;
    assert_eq!(run.code, 28, "{run:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let run = hinet(&daemon, &["--connect-timeout", "5", &origin.url("/hello")]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "hello world"),
        "{run:?}"
    );

    let run = hinet(&daemon, &["ftp://127.0.0.1/x"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    let run = finish(command(&[]), None).await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test]
async fn credentials_redirects_and_optional_features() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(&hinetd(), &[]);
    let auth = origin.url("/basic-auth?user=alice&pass=s3cret");

    let run = hinet(&daemon, &["-u", "alice:s3cret", &auth]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "authenticated"),
        "{run:?}"
    );
    // Basic goes out with the first request (SetCredentials, or the header when the
    // daemon has no SetCredentials).
    let first = &origin.requests()[0];
    assert_eq!(
        first.header("authorization"),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    let in_url = auth.replace("http://", "http://alice:s3cret@");
    let run = hinet(&daemon, &[&in_url]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "authenticated"),
        "{run:?}"
    );
    let run = hinet(&daemon, &["-u", "alice:wrong", &auth]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_ne!(run.out(), "authenticated");
    let run = hinet(&daemon, &["-f", "-u", "alice:wrong", &auth]).await;
    assert_eq!(run.code, 22, "{run:?}");

    // Without -L a redirect is the answer, whatever the daemon could do.
    let to = origin.url("/hello");
    let redirect = origin.url(&format!("/redirect?to={}&code=302", percent_encode(&to)));
    origin.clear_requests();
    let run = hinet(&daemon, &[&redirect]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_ne!(run.out(), "hello world");
    assert_eq!(origin.requests().len(), 1);
    // With -L it is followed, or a daemon that cannot says so.
    origin.clear_requests();
    let run = hinet(&daemon, &["-L", "--max-redirs", "3", &redirect]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let followed = run.out() == "hello world" && origin.requests().len() == 2;
    let warned = run.stderr.contains("does not follow redirects") && origin.requests().len() == 1;
    assert!(followed || warned, "{run:?}");

    // Features a daemon may lack are warnings, not failures.
    origin.clear_requests();
    let run = hinet(&daemon, &["--compressed", &origin.url("/hello")]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "hello world"),
        "{run:?}"
    );
    let asked = origin.requests()[0].header("accept-encoding").is_some();
    assert!(
        asked || run.stderr.contains("does not decompress"),
        "{run:?}"
    );
    let run = hinet(&daemon, &["--http2", "--compressed", &origin.url("/hello")]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "hello world"),
        "{run:?}"
    );
    let run = hinet(
        &daemon,
        &["-s", "--http2", "--compressed", &origin.url("/hello")],
    )
    .await;
    assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{run:?}");

    // A proxy: refused by a daemon without proxy support (4), or unreachable (7).
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    let run = hinet(&daemon, &["-x", &proxy, &origin.url("/hello")]).await;
    assert!(matches!(run.code, 4 | 7), "{run:?}");
    assert!(
        run.stderr.starts_with("hinet: ") && run.stderr.lines().count() == 1,
        "{run:?}"
    );
}

#[tokio::test]
async fn tls_insecure_and_cacert() {
    let cert = TestCert::localhost();
    let origin = HttpServer::start_tls(&cert).await;
    let url = origin.url_with_host("localhost", "/hello");
    let daemon = Daemon::spawn(&hinetd(), &[]);

    let run = hinet(&daemon, &[&url]).await;
    assert_eq!(run.code, 35, "{run:?}");
    let run = hinet(&daemon, &["-k", &url]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "hello world"),
        "{run:?}"
    );

    // --http2 where the server offers h2: used, or a daemon without it says so.
    let h2 = HttpServer::start_tls_with_alpn(&cert, &[b"h2", b"http/1.1"]).await;
    let h2_url = h2.url_with_host("localhost", "/hello");
    let run = hinet(&daemon, &["-k", "--http2", &h2_url]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "hello world"),
        "{run:?}"
    );
    let version = h2.requests()[0].version.clone();
    assert!(
        version == "HTTP/2.0" || run.stderr.contains("HTTP/1.1 only"),
        "{version} {run:?}"
    );

    // --cacert cannot reach a daemon that does not trust the CA: the error says how.
    let ca = cert.ca_file.to_string_lossy().into_owned();
    let run = hinet(&daemon, &["--cacert", &ca, &url]).await;
    assert_eq!(run.code, 35, "{run:?}");
    assert!(run.stderr.contains("hinetd --ca-file"), "{run:?}");
    let run = hinet(&daemon, &["--cacert", "/nonexistent/ca.pem", &url]).await;
    assert_eq!(run.code, 77, "{run:?}");
    // A daemon started with that CA accepts it.
    let trusting = Daemon::spawn(&hinetd(), &["--ca-file", &ca]);
    let run = hinet(&trusting, &["--cacert", &ca, &url]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "hello world"),
        "{run:?}"
    );
}

#[tokio::test]
async fn verbose_prints_the_status_callback_trace() {
    let origin = HttpServer::start().await;
    let daemon = Daemon::spawn(&hinetd(), &[]);
    let run = hinet(&daemon, &["-v", &origin.url("/hello")]).await;
    assert_eq!(
        (run.code, run.out().as_str()),
        (0, "hello world"),
        "{run:?}"
    );

    let trace: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("* ")).collect();
    let mut statuses = Vec::new();
    for line in &trace {
        // `* [+12.3ms] h=7 RESOLVING_NAME {"name":"..."}`
        let rest = line.strip_prefix("* [+").expect("time");
        let (ms, rest) = rest.split_once("ms] h=").expect("handle");
        assert!(ms.parse::<f64>().is_ok(), "{line}");
        let (handle, rest) = rest.split_once(' ').expect("status");
        assert!(handle.parse::<u64>().is_ok(), "{line}");
        let (status, info) = rest.split_once(' ').unwrap_or((rest, ""));
        assert!(
            status.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
            "{line}"
        );
        assert!(
            info.is_empty() || serde_json::from_str::<serde_json::Value>(info).is_ok(),
            "{line}"
        );
        statuses.push(status);
    }
    let expected = [
        "HANDLE_CREATED",
        "RESOLVING_NAME",
        "NAME_RESOLVED",
        "CONNECTING_TO_SERVER",
        "CONNECTED_TO_SERVER",
        "SENDING_REQUEST",
        "REQUEST_SENT",
        "SENDREQUEST_COMPLETE",
        "RECEIVING_RESPONSE",
        "RESPONSE_RECEIVED",
        "HEADERS_AVAILABLE",
        "READ_COMPLETE",
        "HANDLE_CLOSING",
    ];
    let mut at = 0;
    for want in expected {
        at += statuses[at..]
            .iter()
            .position(|s| *s == want)
            .unwrap_or_else(|| panic!("{want} missing or out of order in\n{}", run.stderr));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == "HANDLE_CLOSING").count(),
        3
    );
    assert_eq!(statuses.last(), Some(&"HANDLE_CLOSING"));
    assert!(trace[0].contains("RESOLVING_NAME") || trace[0].contains("HANDLE_CREATED"));
    assert!(run.stderr.contains(r#""name":"127.0.0.1""#));
    // The request and response heads, curl-style.
    assert!(
        run.stderr.contains("\n> GET /hello HTTP/1.1\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\n< HTTP/1.1 200 OK\n"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn call_status_and_a_missing_daemon() {
    let daemon = Daemon::spawn(&hinetd(), &[]);
    let run = hinet(
        &daemon,
        &[
            "call",
            "WinHttpCrackUrl",
            r#"{"url":"https://example.com:8443/a?b"}"#,
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let parts = echo(&run);
    assert_eq!(
        (parts["hostName"].as_str(), parts["port"].as_u64()),
        (Some("example.com"), Some(8443))
    );

    let run = hinet(
        &daemon,
        &["call", "WinHttpCloseHandle", r#"{"handle":999}"#],
    )
    .await;
    assert_eq!(run.code, 43, "{run:?}");
    let err = echo(&run);
    assert_eq!(
        (err["code"].as_u64(), err["data"]["name"].as_str()),
        (Some(6), Some("ERROR_INVALID_HANDLE"))
    );
    let run = hinet(&daemon, &["call", "WinHttpOpen", "{not json"]).await;
    assert_eq!(run.code, 2, "{run:?}");

    // `status`, here finding the socket through HINETD_SOCKET.
    let mut cmd = command(&["status"]);
    cmd.env("HINETD_SOCKET", daemon.socket_path());
    let run = finish(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = run.out();
    for counter in ["connections", "sessions", "connects", "requests"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(counter) && l.trim_end().ends_with(char::is_numeric)),
            "{counter} missing in {text}"
        );
    }

    let dir = TempDir::new("hinet-cli");
    let nowhere = dir.path().join("hinetd.sock");
    let mut cmd = command(&["http://127.0.0.1/"]);
    cmd.arg("--socket").arg(&nowhere);
    let run = finish(cmd, None).await;
    assert_eq!(run.code, 69, "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(
        run.stderr.contains(&nowhere.display().to_string()),
        "{run:?}"
    );
    assert!(run.stderr.contains("hinetd --socket"), "{run:?}");
}
