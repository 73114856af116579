//! Configuration: the file, `HINETD_*` variables and flags, in that order of precedence;
//! `--print-config`; errors that name the key at fault.

use hinet_tests::{Daemon, TempDir};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

/// Runs `hinetd <args>` with a clean `HINETD_*` environment plus `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(HINETD);
    for (k, _) in std::env::vars() {
        if k.starts_with("HINETD_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(env.iter().copied());
    cmd.output().expect("run hinetd")
}

fn printed(args: &[&str], env: &[(&str, &str)]) -> toml_text::Doc {
    let mut all = vec!["--print-config"];
    all.extend_from_slice(args);
    let out = run(&all, env);
    assert!(
        out.status.success(),
        "hinetd {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    toml_text::Doc(String::from_utf8(out.stdout).expect("utf-8"))
}

fn failure(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(args, env);
    assert!(!out.status.success(), "hinetd {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Just enough reading of the printed TOML for these tests.
mod toml_text {
    pub struct Doc(pub String);

    impl Doc {
        /// The value text of `key` in `[section]` ("" for top-level keys).
        pub fn get(&self, section: &str, key: &str) -> Option<String> {
            let mut current = String::new();
            for line in self.0.lines() {
                let line = line.trim();
                if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    current = s.trim_matches(['[', ']']).to_owned();
                    continue;
                }
                if let Some((k, v)) = line.split_once('=')
                    && current == section
                    && k.trim() == key
                {
                    return Some(v.trim().to_owned());
                }
            }
            None
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path.to_str().expect("utf-8 path").to_owned()
}

#[test]
fn print_config_shows_the_defaults() {
    let dir = TempDir::new("hinetd-config");
    let empty = write(dir.path(), "empty.toml", "");
    let doc = printed(&["--config", &empty], &[]);
    assert_eq!(doc.get("", "shutdown_timeout_ms").as_deref(), Some("5000"));
    assert_eq!(doc.get("socket", "mode").as_deref(), Some("\"0600\""));
    assert_eq!(doc.get("limits", "max_handles").as_deref(), Some("4096"));
    assert_eq!(
        doc.get("limits", "max_message").as_deref(),
        Some("16777216")
    );
    assert_eq!(doc.get("egress", "default").as_deref(), Some("\"allow\""));
    assert_eq!(doc.get("log", "format").as_deref(), Some("\"text\""));
    // The effective values: the socket and the allowed uids are resolved.
    assert!(doc.get("socket", "path").is_some(), "{}", doc.0);
    let uids = doc.get("access", "allowed_uids").expect("allowed_uids");
    assert!(uids.contains('0'), "root is allowed by default: {uids}");
}

#[test]
fn flags_beat_environment_beat_file() {
    let dir = TempDir::new("hinetd-config");
    let file = write(
        dir.path(),
        "hinetd.toml",
        "shutdown_timeout_ms = 1000\n[limits]\nmax_handles = 10\nmax_message = 2048\n",
    );
    let env = [("HINETD_LIMITS_MAX_HANDLES", "20")];
    let doc = printed(&["--config", &file], &[]);
    assert_eq!(doc.get("limits", "max_handles").as_deref(), Some("10"));
    assert_eq!(doc.get("", "shutdown_timeout_ms").as_deref(), Some("1000"));
    let doc = printed(&["--config", &file], &env);
    assert_eq!(doc.get("limits", "max_handles").as_deref(), Some("20"));
    let doc = printed(&["--config", &file, "--set", "limits.max_handles=30"], &env);
    assert_eq!(doc.get("limits", "max_handles").as_deref(), Some("30"));
    // Keys nobody overrode keep the file's value.
    assert_eq!(doc.get("limits", "max_message").as_deref(), Some("2048"));
    // Named flags and the file path from the environment.
    let doc = printed(
        &["--max-message", "4096", "--log-format", "json"],
        &[("HINETD_CONFIG", &file)],
    );
    assert_eq!(doc.get("limits", "max_message").as_deref(), Some("4096"));
    assert_eq!(doc.get("limits", "max_handles").as_deref(), Some("10"));
    assert_eq!(doc.get("log", "format").as_deref(), Some("\"json\""));
    // Lists from the environment are comma-separated.
    let doc = printed(
        &["--config", &file],
        &[("HINETD_ACCESS_ALLOWED_UIDS", "4242, 4243")],
    );
    assert_eq!(
        doc.get("access", "allowed_uids").as_deref(),
        Some("[4242, 4243]")
    );
}

#[test]
fn unknown_keys_and_bad_values_are_named() {
    let dir = TempDir::new("hinetd-config");
    let file = write(dir.path(), "typo.toml", "[limits]\nmax_handels = 5\n");
    let e = failure(&["--config", &file, "--print-config"], &[]);
    assert!(e.contains("max_handels") && e.contains("typo.toml"), "{e}");
    let file = write(dir.path(), "bad.toml", "[socket]\nmode = \"rwx\"\n");
    let e = failure(&["--config", &file, "--print-config"], &[]);
    assert!(e.contains("mode") && e.contains("rwx"), "{e}");
    let file = write(dir.path(), "small.toml", "[limits]\nmax_message = 10\n");
    let e = failure(&["--config", &file, "--print-config"], &[]);
    assert!(e.contains("limits.max_message"), "{e}");

    let empty = write(dir.path(), "empty.toml", "");
    // An unknown HINETD_* variable may belong to another program: a warning, not a failure.
    let out = run(
        &["--config", &empty, "--print-config"],
        &[("HINETD_LIMITS_MAX_HANDELS", "5")],
    );
    assert!(out.status.success());
    let warning = String::from_utf8_lossy(&out.stderr);
    assert!(warning.contains("HINETD_LIMITS_MAX_HANDELS"), "{warning}");
    let e = failure(
        &["--config", &empty, "--print-config"],
        &[("HINETD_LIMITS_MAX_HANDLES", "many")],
    );
    assert!(e.contains("HINETD_LIMITS_MAX_HANDLES"), "{e}");
    let e = failure(
        &["--config", &empty, "--print-config", "--max-message", "big"],
        &[],
    );
    assert!(e.contains("--max-message"), "{e}");
    let e = failure(
        &[
            "--config",
            &empty,
            "--print-config",
            "--set",
            "log.colour=red",
        ],
        &[],
    );
    assert!(e.contains("log.colour"), "{e}");
    let e = failure(
        &["--config", &empty, "--print-config", "--log-format", "xml"],
        &[],
    );
    assert!(e.contains("--log-format") && e.contains("xml"), "{e}");
}

#[test]
fn a_missing_explicit_file_is_an_error_a_missing_default_is_not() {
    let dir = TempDir::new("hinetd-config");
    let missing = dir.path().join("nope.toml");
    let e = failure(
        &["--config", missing.to_str().unwrap(), "--print-config"],
        &[],
    );
    assert!(e.contains("nope.toml"), "{e}");
    // The user instance's default file lives under XDG_CONFIG_HOME; none there is fine.
    let out = run(
        &["--print-config"],
        &[("XDG_CONFIG_HOME", dir.path().to_str().unwrap())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_user_default_file_is_read() {
    if hinet_tests_euid() == 0 {
        eprintln!("skipping: root runs the system instance, whose file is /etc/hinetd/hinetd.toml");
        return;
    }
    let dir = TempDir::new("hinetd-config");
    std::fs::create_dir_all(dir.path().join("hinetd")).unwrap();
    write(
        &dir.path().join("hinetd"),
        "hinetd.toml",
        "[limits]\nmax_handles = 77\n",
    );
    let doc = printed(&[], &[("XDG_CONFIG_HOME", dir.path().to_str().unwrap())]);
    assert_eq!(doc.get("limits", "max_handles").as_deref(), Some("77"));
}

/// Our effective gid, from /proc/self/status (`Gid: real effective saved fs`).
fn own_gid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Gid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|g| g.parse().ok())
        .expect("a Gid line")
}

fn hinet_tests_euid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

#[tokio::test]
async fn socket_mode_and_group_apply() {
    let gid = own_gid().to_string();
    let daemon = Daemon::spawn(HINETD, &["--socket-mode", "0660", "--socket-group", &gid]);
    let meta = std::fs::metadata(daemon.socket_path()).expect("socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid().to_string(), gid);
    let c = daemon.connect().await;
    c.call("HinetStatus", serde_json::json!({})).await.unwrap();
}

#[tokio::test]
async fn json_logs() {
    let daemon = Daemon::spawn(HINETD, &["--log-format", "json"]);
    let c = daemon.connect().await;
    c.call("HinetStatus", serde_json::json!({})).await.unwrap();
    drop(c);
    let log = daemon.stderr_log();
    let line = log
        .lines()
        .find(|l| l.contains("connection opened"))
        .unwrap_or_else(|| panic!("no connection line in {log}"));
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert!(v["fields"]["uid"].is_u64(), "{v}");
    assert!(v["fields"]["pid"].is_u64(), "{v}");
}
