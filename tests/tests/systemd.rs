//! The systemd units (verified and scored by systemd-analyze) and the daemon under socket
//! activation with readiness notification, driven by systemd-socket-activate.

use hinet_tests::{RpcConn, TempDir};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");
const UNITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../systemd");
/// The exposure score the system service must stay below ("OK" or better).
const MAX_EXPOSURE: f64 = 5.0;

fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("skipping: {tool} is not installed (Debian package `systemd`)");
    }
    found
}

/// Copies the units of `sub` (under systemd/) to a scratch directory with ExecStart
/// pointing at the freshly built daemon, as an install would.
fn staged(scratch: &Path, sub: &str) -> PathBuf {
    let dir = scratch.join(if sub.is_empty() { "system" } else { sub });
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["hinetd.socket", "hinetd.service"] {
        let text = std::fs::read_to_string(Path::new(UNITS).join(sub).join(name))
            .unwrap_or_else(|e| panic!("systemd/{sub}/{name}: {e}"));
        std::fs::write(
            dir.join(name),
            text.replace("/usr/local/bin/hinetd", HINETD),
        )
        .unwrap();
    }
    dir
}

fn analyze(dir: &Path, args: &[&str], user: bool, runtime: &Path) -> (bool, String) {
    let mut cmd = Command::new("systemd-analyze");
    if user {
        // A user manager's paths need a runtime directory even offline.
        cmd.arg("--user").env("XDG_RUNTIME_DIR", runtime);
    }
    let out = cmd
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn units_pass_systemd_analyze_verify() {
    if !have("systemd-analyze") {
        return;
    }
    let scratch = TempDir::new("hinetd-units");
    let runtime = scratch.path().join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    let units = ["./hinetd.socket", "./hinetd.service"];
    let system = staged(scratch.path(), "");
    let mut args = vec!["verify"];
    args.extend(units);
    let (ok, text) = analyze(&system, &args, false, &runtime);
    assert!(ok && text.trim().is_empty(), "system units: {text}");
    let user = staged(scratch.path(), "user");
    let (ok, text) = analyze(&user, &args, true, &runtime);
    assert!(ok && text.trim().is_empty(), "user units: {text}");
}

/// `→ Overall exposure level for hinetd.service: 1.1 OK 🙂` → 1.1
fn exposure(text: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no score in {text}"));
    line.rsplit(':')
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number in {line:?}"))
}

#[test]
fn the_system_service_is_hardened() {
    if !have("systemd-analyze") {
        return;
    }
    let scratch = TempDir::new("hinetd-units");
    let system = staged(scratch.path(), "");
    let (_, text) = analyze(
        &system,
        &["security", "--offline=true", "./hinetd.service"],
        false,
        scratch.path(),
    );
    let score = exposure(&text);
    eprintln!("hinetd.service exposure: {score}");
    assert!(
        score < MAX_EXPOSURE,
        "exposure {score} is not OK or better:\n{text}"
    );
}

/// A process killed on drop (the socket activator, which becomes the daemon).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn socket_activation_with_readiness_notification() {
    if !have("systemd-socket-activate") {
        return;
    }
    let scratch = TempDir::new("hinetd-activate");
    let sock = scratch.path().join("s.sock");
    let notify_path = scratch.path().join("notify.sock");
    let notify = tokio::net::UnixDatagram::bind(&notify_path).expect("bind NOTIFY_SOCKET");
    let config = scratch.path().join("hinetd.toml");
    std::fs::write(&config, "").unwrap();
    let log = std::fs::File::create(scratch.path().join("stderr.log")).unwrap();
    let child = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&sock)
        .arg("--fdname=rpc")
        .arg(format!("--setenv=NOTIFY_SOCKET={}", notify_path.display()))
        .arg("--setenv=RUST_LOG=hinetd=debug")
        // As WatchdogSec=200ms would: pings are due every 100 ms.
        .arg("--setenv=WATCHDOG_USEC=200000")
        .arg(HINETD)
        .arg("--config")
        .arg(&config)
        // Never used: the daemon must take the activated socket instead of binding this.
        .arg("--socket")
        .arg(scratch.path().join("unused.sock"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start systemd-socket-activate");
    let mut child = Child(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "the activator never listened");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The first connection starts the daemon (systemd 252 waits for one).
    let c = RpcConn::connect(&sock).await.expect("connect");
    let s = c
        .call("WinHttpOpen", json!({"userAgent": "activated"}))
        .await
        .unwrap();
    assert!(s["handle"].as_u64().is_some(), "{s}");
    let st = c.call("HinetStatus", json!({})).await.unwrap();
    assert_eq!(st["connections"], 1, "{st}");

    let mut got = String::new();
    let mut buf = vec![0u8; 4096];
    while !(got.lines().any(|l| l == "READY=1") && got.lines().any(|l| l == "WATCHDOG=1")) {
        let n = tokio::time::timeout(Duration::from_secs(10), notify.recv(&mut buf))
            .await
            .expect("READY=1 and WATCHDOG=1 within 10 s")
            .expect("recv");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
        got.push('\n');
    }
    assert!(got.contains("STATUS="), "{got}");
    assert!(
        !scratch.path().join("unused.sock").exists(),
        "the daemon bound its own socket"
    );

    // SIGTERM: STOPPING=1, exit 0, and the activated socket is left to its owner.
    let pid = child.0.id();
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let mut stopping = false;
    while !stopping {
        let n = tokio::time::timeout(Duration::from_secs(10), notify.recv(&mut buf))
            .await
            .expect("STOPPING=1 within 10 s")
            .expect("recv");
        stopping = String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "STOPPING=1");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the daemon did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "exit status {exit}");
    assert!(
        sock.exists(),
        "the service manager's socket is not removed by hinetd"
    );
}
