//! Spawning the real `hinetd` binary for a test.
//!
//! Each [`Daemon`] gets its own temporary directory holding its socket
//! (`hinetd.sock`) and its captured output (`stdout.log`, `stderr.log`), so
//! tests can run in parallel without sharing anything. The binary path comes
//! from the test target (`env!("CARGO_BIN_EXE_hinetd")`), which is why this
//! crate does not depend on the daemon crate itself.
//!
//! `spawn` only returns once the socket accepts connections, so tests never
//! race the daemon's startup. Dropping the `Daemon` kills the process and
//! removes the directory; if the test is panicking at that point, the tail of
//! the daemon's stderr is printed so failures are diagnosable from CI logs.
//!
//! Environment knobs (read by the harness, not the daemon):
//! * `HINET_TESTS_INHERIT_STDERR=1` — let the daemon write straight to the
//!   test's stderr instead of `stderr.log` (live logs while debugging).
//! * `RUST_LOG` — passed through; defaults to `hinetd=debug` when unset.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::rpc::RpcConn;
use crate::tempdir::TempDir;

/// How long `spawn` waits for the socket to accept a connection.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `hinetd` child process (killed on drop).
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    socket: PathBuf,
    stderr_path: Option<PathBuf>,
    stdout_path: PathBuf,
    // Dropped last (field order), after the child is gone.
    dir: TempDir,
}

impl Daemon {
    /// Start `bin --socket <tmp>/hinetd.sock <extra_args...>` and wait until
    /// the socket accepts connections. Panics if the daemon exits or does not
    /// come up within [`STARTUP_TIMEOUT`] (the panic message includes its
    /// stderr).
    pub fn spawn(bin: &str, extra_args: &[&str]) -> Daemon {
        Daemon::spawn_with_env(bin, extra_args, &[])
    }

    /// Like [`spawn`](Self::spawn), with extra environment variables for the
    /// child (they override inherited ones, including `RUST_LOG`).
    pub fn spawn_with_env(bin: &str, extra_args: &[&str], envs: &[(&str, &str)]) -> Daemon {
        let dir = TempDir::new("hinetd-test");
        let socket = dir.path().join("hinetd.sock");
        let stdout_path = dir.path().join("stdout.log");
        let inherit_stderr = std::env::var_os("HINET_TESTS_INHERIT_STDERR").is_some();
        let stderr_path = (!inherit_stderr).then(|| dir.path().join("stderr.log"));

        let mut cmd = Command::new(bin);
        cmd.arg("--socket").arg(&socket).args(extra_args);
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "hinetd=debug");
        }
        cmd.envs(envs.iter().copied());
        cmd.stdin(Stdio::null());
        cmd.stdout(File::create(&stdout_path).expect("create stdout.log"));
        match &stderr_path {
            Some(p) => cmd.stderr(File::create(p).expect("create stderr.log")),
            None => cmd.stderr(Stdio::inherit()),
        };
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn hinetd binary {bin:?}: {e}"));

        let mut daemon = Daemon {
            child,
            socket,
            stderr_path,
            stdout_path,
            dir,
        };
        daemon.wait_ready();
        daemon
    }

    /// Poll until a connection to the socket succeeds.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait on hinetd") {
                panic!(
                    "hinetd exited during startup with {status}\n--- stderr ---\n{}",
                    self.stderr_log()
                );
            }
            // A std (blocking) connect is fine here: it either succeeds or
            // fails immediately on a Unix socket, and no runtime is needed.
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "hinetd did not accept connections on {} within {} s\n--- stderr ---\n{}",
                    self.socket.display(),
                    STARTUP_TIMEOUT.as_secs(),
                    self.stderr_log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Path of the daemon's Unix socket.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The daemon's private temp directory (socket and logs live here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Process id of the child.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Open a new JSON-RPC connection to the daemon.
    pub async fn connect(&self) -> RpcConn {
        RpcConn::connect(&self.socket).await.unwrap_or_else(|e| {
            panic!("cannot connect to hinetd at {}: {e}", self.socket.display())
        })
    }

    /// Everything the daemon wrote to stderr so far (empty when stderr is
    /// inherited).
    pub fn stderr_log(&self) -> String {
        self.stderr_path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Everything the daemon wrote to stdout so far.
    pub fn stdout_log(&self) -> String {
        std::fs::read(&self.stdout_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// `Some(status)` if the daemon has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait on hinetd")
    }

    /// Wait (polling, without blocking a runtime for long) up to `timeout`
    /// for the daemon to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait() {
                return Some(s);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Send SIGTERM (graceful-shutdown tests). Uses the `kill` utility so
    /// the harness needs no libc binding.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("run kill -TERM");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }

    /// Kill the daemon now (SIGKILL) and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // `Child::kill` targets exactly this pid; reaping avoids a zombie.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.stderr_log();
            let tail: Vec<&str> = log.lines().rev().take(200).collect();
            eprintln!(
                "--- hinetd (pid {}) stderr, last {} lines ---",
                self.child.id(),
                tail.len()
            );
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
            eprintln!("--- end of hinetd stderr ---");
        }
        // `self.dir` is removed when the field drops.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Write a throw-away fake daemon honouring the startup contract
    /// (`--socket PATH`): a python3 script, if python3 is installed.
    fn fake_daemon(dir: &Path) -> Option<PathBuf> {
        let have_python = Command::new("python3")
            .arg("-c")
            .arg("import socket")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !have_python {
            return None;
        }
        let script = dir.join("fake-hinetd");
        std::fs::write(
            &script,
            concat!(
                "#!/usr/bin/env python3\n",
                "import socket, sys\n",
                "sys.stderr.write('starting %s\\n' % ' '.join(sys.argv[1:])); sys.stderr.flush()\n",
                "s = socket.socket(socket.AF_UNIX)\n",
                "s.bind(sys.argv[2]); s.listen(8)\n",
                "while True:\n",
                "    c, _ = s.accept()\n",
                "    try: c.sendall(b'{\"jsonrpc\":\"2.0\",\"method\":\"hi\"}\\n')\n",
                "    except OSError: pass\n",
            ),
        )
        .ok()?;
        let ok = Command::new("chmod").arg("+x").arg(&script).status().ok()?;
        ok.success().then_some(script)
    }

    #[tokio::test]
    async fn spawn_connect_and_kill() {
        let scratch = TempDir::new("hinet-selftest");
        let Some(bin) = fake_daemon(scratch.path()) else {
            eprintln!("python3 not available; skipping daemon spawn self-test");
            return;
        };
        let bin = bin.to_str().expect("utf8 path").to_owned();
        let d = Daemon::spawn_with_env(&bin, &["--extra"], &[("FOO", "bar")]);
        assert!(d.socket_path().exists());
        assert!(d.pid() > 0);
        let conn = d.connect().await;
        let n = conn
            .next_notification(Duration::from_secs(5))
            .await
            .expect("notification");
        assert_eq!(n["method"], "hi");
        assert!(d.stderr_log().contains("--extra"));
        let dir = d.dir().to_path_buf();
        drop(conn);
        drop(d);
        assert!(!dir.exists());
    }

    #[test]
    #[should_panic(expected = "exited during startup")]
    fn early_exit_is_reported() {
        let _d = Daemon::spawn("false", &[]);
    }
}
