//! The daemon's configuration: a TOML file, overridden by `HINETD_*` environment variables,
//! overridden in turn by command-line flags (flags > environment > file > defaults).
//!
//! Every key of the file can be overridden: `limits.max_message` is
//! `HINETD_LIMITS_MAX_MESSAGE` in the environment and `--set limits.max_message=…` on the
//! command line; the common ones also have flags of their own (`--socket`, `--ca-file`, …).
//! Each override is checked on its own before it is merged, so an error names the variable
//! or flag that caused it; the file is checked as a whole, so its errors carry a line number.
//! Unknown keys are errors everywhere (`deny_unknown_fields`): a misspelt limit must not
//! silently leave the default in force.

use crate::policy::EgressConfig;
use crate::state::Limits;
use clap::Parser;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "hinetd",
    version,
    about = "WinHTTP over JSON-RPC, as a local daemon",
    after_help = "Every configuration key can also be set with HINETD_<SECTION>_<KEY> \
                  (e.g. HINETD_LIMITS_MAX_HANDLES=100) or --set section.key=value. \
                  Precedence: flags > environment > file > defaults. See docs/configuration.md."
)]
pub struct Args {
    /// Configuration file [default: /etc/hinetd/hinetd.toml for the system instance,
    /// else $XDG_CONFIG_HOME/hinetd/hinetd.toml]. A missing default file is fine; a missing
    /// file named here is an error.
    #[arg(long, value_name = "PATH", env = "HINETD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Run as the system instance (system configuration file and socket), whoever runs it.
    #[arg(long)]
    pub system: bool,
    /// Print the effective configuration (TOML) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Set any configuration key, e.g. `--set limits.max_handles=100`; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// socket.path: the Unix socket to listen on.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<String>,
    /// socket.mode: permissions of the socket file, octal (e.g. 0660).
    #[arg(long, value_name = "MODE")]
    pub socket_mode: Option<String>,
    /// socket.group: group owning the socket file (name or number).
    #[arg(long, value_name = "GROUP")]
    pub socket_group: Option<String>,
    /// tls.ca_files: extra trusted CA certificates (PEM); repeatable.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<String>,
    /// limits.max_message: the longest JSON message (one line) a client may send, in bytes.
    #[arg(long, value_name = "BYTES")]
    pub max_message: Option<String>,
    /// limits.max_queued_messages: responses and notifications that may wait for one client.
    #[arg(long, value_name = "N")]
    pub max_queued_messages: Option<String>,
    /// access.allowed_uids: uids allowed to connect; repeatable (replaces the list).
    #[arg(long = "allow-uid", value_name = "UID")]
    pub allow_uids: Vec<String>,
    /// access.allowed_gids: groups whose members may connect; repeatable.
    #[arg(long = "allow-gid", value_name = "GID")]
    pub allow_gids: Vec<String>,
    /// log.format: text or json.
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// shutdown_timeout_ms: how long a shutdown may take before hinetd exits anyway.
    #[arg(long, value_name = "MS")]
    pub shutdown_timeout_ms: Option<String>,
}

/// The whole configuration. Every section and key has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How long the drain after SIGTERM/SIGINT may take, in milliseconds.
    pub shutdown_timeout_ms: u64,
    pub socket: SocketConfig,
    pub tls: TlsConfig,
    pub limits: Limits,
    pub access: AccessConfig,
    pub egress: EgressConfig,
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shutdown_timeout_ms: 5000,
            socket: SocketConfig::default(),
            tls: TlsConfig::default(),
            limits: Limits::default(),
            access: AccessConfig::default(),
            egress: EgressConfig::default(),
            log: LogConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SocketConfig {
    /// None: the default for this instance (see [`default_socket_path`]).
    pub path: Option<PathBuf>,
    pub mode: Mode,
    /// Group of the socket file, by name or number; None keeps the daemon's group.
    pub group: Option<String>,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            path: None,
            mode: Mode(0o600),
            group: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM files of extra trusted roots, added to the built-in Mozilla set.
    pub ca_files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessConfig {
    /// None: the daemon's own uid and root.
    pub allowed_uids: Option<Vec<u32>>,
    /// A peer whose primary or supplementary groups include one of these may connect.
    pub allowed_gids: Vec<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// File permissions, written in octal as a string (`"0660"`) because TOML integers are
/// decimal; an integer (TOML's `0o660`) is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode(pub u32);

impl Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:04o}", self.0))
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u32),
        }
        let bits = match Raw::deserialize(d)? {
            Raw::Number(n) => n,
            Raw::Text(t) => {
                let digits = t.trim().trim_start_matches("0o");
                u32::from_str_radix(digits, 8).map_err(|_| {
                    serde::de::Error::custom(format!("{t:?} is not an octal mode such as \"0660\""))
                })?
            }
        };
        if bits > 0o777 {
            return Err(serde::de::Error::custom(format!(
                "mode {bits:o} has bits beyond 0777"
            )));
        }
        Ok(Mode(bits))
    }
}

/// A configuration that cannot be used, with the key or source at fault.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// How a key's value is written in the environment and in `--set`.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Bool,
    Str,
    /// Comma-separated.
    Ints,
    Strs,
}

/// Every key that can be overridden, with its type. `egress.rules` (a list of tables)
/// lives in the file only.
const KEYS: &[(&str, Kind)] = &[
    ("shutdown_timeout_ms", Kind::Int),
    ("socket.path", Kind::Str),
    ("socket.mode", Kind::Str),
    ("socket.group", Kind::Str),
    ("tls.ca_files", Kind::Strs),
    ("limits.max_message", Kind::Int),
    ("limits.max_read", Kind::Int),
    ("limits.max_queued_messages", Kind::Int),
    ("limits.calls_in_flight", Kind::Int),
    ("limits.max_handles", Kind::Int),
    ("limits.max_requests_in_flight", Kind::Int),
    ("limits.max_buffered_bytes", Kind::Int),
    ("limits.max_connections_per_uid", Kind::Int),
    ("access.allowed_uids", Kind::Ints),
    ("access.allowed_gids", Kind::Ints),
    ("egress.default", Kind::Str),
    ("egress.block_private", Kind::Bool),
    ("log.format", Kind::Str),
];

/// Environment variables that are not configuration keys.
const ENV_NOT_KEYS: &[&str] = &["HINETD_CONFIG"];

/// `socket.path` → `HINETD_SOCKET_PATH`.
fn env_name(key: &str) -> String {
    format!("HINETD_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// The effective configuration: defaults, then the file, the environment and the flags.
pub fn load(args: &Args) -> Result<Config, ConfigError> {
    let system = args.system || crate::sys::euid() == 0;
    let mut table = match &args.config {
        Some(path) => read_file(path)?.ok_or_else(|| {
            err(format!(
                "configuration file {} does not exist",
                path.display()
            ))
        })?,
        None => match default_config_path(system) {
            Some(path) => read_file(&path)?.unwrap_or_default(),
            None => toml::Table::new(),
        },
    };
    for (name, value) in std::env::vars_os() {
        let (Some(name), Some(value)) = (name.to_str(), value.to_str()) else {
            continue;
        };
        if !name.starts_with("HINETD_") || ENV_NOT_KEYS.contains(&name) {
            continue;
        }
        // HINETD_SOCKET predates the generic names.
        // Another program's HINETD_* variable in the environment must not stop the
        // daemon; a misspelt one is worth a warning.
        let key = match name {
            "HINETD_SOCKET" => "socket.path",
            _ => match KEYS.iter().map(|(k, _)| *k).find(|k| env_name(k) == name) {
                Some(k) => k,
                None => {
                    eprintln!(
                        "hinetd: ignoring environment variable {name}: no configuration key has that name"
                    );
                    continue;
                }
            },
        };
        set(
            &mut table,
            key,
            value,
            &format!("environment variable {name}"),
        )?;
    }
    for (key, value) in flag_overrides(args)? {
        set(&mut table, &key, &value, &format!("--{}", flag_name(&key)))?;
    }
    let mut config: Config = toml::Value::Table(table)
        .try_into()
        .map_err(|e| err(format!("configuration: {e}")))?;
    config.resolve(args.system)?;
    Ok(config)
}

/// The flag that sets `key` in messages: its own flag, else `--set`.
fn flag_name(key: &str) -> String {
    match key {
        "socket.path" => "socket".into(),
        "socket.mode" => "socket-mode".into(),
        "socket.group" => "socket-group".into(),
        "tls.ca_files" => "ca-file".into(),
        "limits.max_message" => "max-message".into(),
        "limits.max_queued_messages" => "max-queued-messages".into(),
        "access.allowed_uids" => "allow-uid".into(),
        "access.allowed_gids" => "allow-gid".into(),
        "log.format" => "log-format".into(),
        "shutdown_timeout_ms" => "shutdown-timeout-ms".into(),
        other => format!("set {other}"),
    }
}

/// The flags as (key, value) pairs in the order they apply: named flags, then `--set`.
fn flag_overrides(args: &Args) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    let mut one = |key: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.push((key.to_owned(), v.clone()));
        }
    };
    one("socket.path", &args.socket);
    one("socket.mode", &args.socket_mode);
    one("socket.group", &args.socket_group);
    one("limits.max_message", &args.max_message);
    one("limits.max_queued_messages", &args.max_queued_messages);
    one("log.format", &args.log_format);
    one("shutdown_timeout_ms", &args.shutdown_timeout_ms);
    for (key, list) in [
        ("tls.ca_files", &args.ca_files),
        ("access.allowed_uids", &args.allow_uids),
        ("access.allowed_gids", &args.allow_gids),
    ] {
        if !list.is_empty() {
            out.push((key.to_owned(), list.join(",")));
        }
    }
    for kv in &args.set {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| err(format!("--set {kv:?}: expected KEY=VALUE")))?;
        out.push((k.trim().to_owned(), v.to_owned()));
    }
    Ok(out)
}

/// Reads and checks a configuration file; None when it does not exist.
fn read_file(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(format!("cannot read {}: {e}", path.display()))),
    };
    // Parsed into the typed form first: its errors carry the line and name the key.
    toml::from_str::<Config>(&text).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let table = text
        .parse::<toml::Table>()
        .map_err(|e| err(format!("{}: {e}", path.display())))?;
    Ok(Some(table))
}

/// Sets dotted `key` in `table` from its textual form, checking it alone first so an error
/// names `source`.
fn set(table: &mut toml::Table, key: &str, raw: &str, source: &str) -> Result<(), ConfigError> {
    let Some((_, kind)) = KEYS.iter().find(|(k, _)| *k == key) else {
        return Err(err(format!(
            "{source}: unknown configuration key {key:?} (see docs/configuration.md)"
        )));
    };
    let bad = |what: &str| err(format!("{source} ({key}): {raw:?} is not {what}"));
    let int = |s: &str| s.trim().parse::<i64>().map(toml::Value::Integer);
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let value = match kind {
        Kind::Int => int(raw).map_err(|_| bad("an integer"))?,
        Kind::Bool => match raw.trim() {
            "true" | "1" | "yes" => toml::Value::Boolean(true),
            "false" | "0" | "no" => toml::Value::Boolean(false),
            _ => return Err(bad("true or false")),
        },
        Kind::Str => toml::Value::String(raw.to_owned()),
        Kind::Ints => toml::Value::Array(
            list(raw)
                .iter()
                .map(|p| int(p))
                .collect::<Result<_, _>>()
                .map_err(|_| bad("a comma-separated list of integers"))?,
        ),
        Kind::Strs => toml::Value::Array(list(raw).into_iter().map(toml::Value::String).collect()),
    };
    let mut alone = toml::Table::new();
    insert(&mut alone, key, value.clone());
    toml::Value::Table(alone)
        .try_into::<Config>()
        .map_err(|e| err(format!("{source} ({key}): {e}")))?;
    insert(table, key, value);
    Ok(())
}

fn insert(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((section, rest)) => {
            let entry = table
                .entry(section.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(t) = entry {
                insert(t, rest, value);
            }
        }
    }
}

/// `/etc/hinetd/hinetd.toml` for the system instance, else
/// `$XDG_CONFIG_HOME/hinetd/hinetd.toml` (or `~/.config/…`).
pub fn default_config_path(system: bool) -> Option<PathBuf> {
    if system {
        return Some(PathBuf::from("/etc/hinetd/hinetd.toml"));
    }
    let nonempty = |v: &str| std::env::var_os(v).filter(|d| !d.is_empty());
    let base = nonempty("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| nonempty("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("hinetd").join("hinetd.toml"))
}

/// The default socket, as the wire contract fixes it: `/run/hinetd/hinetd.sock` for an
/// explicit `--system` instance; otherwise `$XDG_RUNTIME_DIR/hinetd.sock` when that is set,
/// else `/run/hinetd/hinetd.sock` for root, else `/tmp/hinetd-<uid>/hinetd.sock`.
pub fn default_socket_path(explicit_system: bool) -> PathBuf {
    if explicit_system {
        return PathBuf::from("/run/hinetd/hinetd.sock");
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("hinetd.sock");
    }
    let uid = crate::sys::euid();
    if uid == 0 {
        return PathBuf::from("/run/hinetd/hinetd.sock");
    }
    PathBuf::from(format!("/tmp/hinetd-{uid}/hinetd.sock"))
}

impl Config {
    /// Fills in the defaults that depend on who runs the daemon, and checks what serde
    /// cannot.
    fn resolve(&mut self, explicit_system: bool) -> Result<(), ConfigError> {
        if self
            .socket
            .path
            .as_ref()
            .is_none_or(|p| p.as_os_str().is_empty())
        {
            self.socket.path = Some(default_socket_path(explicit_system));
        }
        if self.access.allowed_uids.is_none() {
            let mut uids = vec![crate::sys::euid(), 0];
            uids.dedup();
            self.access.allowed_uids = Some(uids);
        }
        if let Some(g) = &self.socket.group {
            self.socket_gid_of(g)?;
        }
        self.limits
            .check()
            .map_err(|e| err(format!("limits.{e}")))?;
        self.egress
            .check()
            .map_err(|e| err(format!("egress.{e}")))?;
        if self.shutdown_timeout_ms == 0 {
            return Err(err("shutdown_timeout_ms must be at least 1"));
        }
        Ok(())
    }

    fn socket_gid_of(&self, group: &str) -> Result<u32, ConfigError> {
        group
            .parse::<u32>()
            .ok()
            .or_else(|| crate::sys::group_id(group))
            .ok_or_else(|| err(format!("socket.group: no group named {group:?}")))
    }

    /// The socket file's group, if one is configured.
    pub fn socket_gid(&self) -> Result<Option<u32>, ConfigError> {
        self.socket
            .group
            .as_deref()
            .map(|g| self.socket_gid_of(g))
            .transpose()
    }

    pub fn socket_path(&self) -> PathBuf {
        self.socket
            .path
            .clone()
            .unwrap_or_else(|| default_socket_path(false))
    }

    pub fn allowed_uids(&self) -> &[u32] {
        self.access.allowed_uids.as_deref().unwrap_or(&[])
    }

    /// The configuration as a TOML document.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        toml::from_str::<Config>(text).map_err(|e| err(e.to_string()))
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse("[limits]\nmax_mesage = 5\n").unwrap_err().0;
        assert!(e.contains("max_mesage"), "{e}");
        let e = parse("[sockets]\n").unwrap_err().0;
        assert!(e.contains("sockets"), "{e}");
    }

    #[test]
    fn modes_are_octal() {
        let c = parse("[socket]\nmode = \"0660\"\n").unwrap();
        assert_eq!(c.socket.mode, Mode(0o660));
        let c = parse("[socket]\nmode = 0o640\n").unwrap();
        assert_eq!(c.socket.mode, Mode(0o640));
        assert!(parse("[socket]\nmode = \"rw\"\n").is_err());
        assert!(parse("[socket]\nmode = \"1777\"\n").is_err());
        assert!(c.to_toml().contains("mode = \"0640\""));
    }

    #[test]
    fn overrides_are_typed_and_named() {
        let mut t = toml::Table::new();
        set(
            &mut t,
            "limits.max_handles",
            "12",
            "HINETD_LIMITS_MAX_HANDLES",
        )
        .unwrap();
        set(&mut t, "access.allowed_uids", "1, 2,", "--allow-uid").unwrap();
        set(&mut t, "egress.block_private", "yes", "x").unwrap();
        let c: Config = toml::Value::Table(t).try_into().unwrap();
        assert_eq!(c.limits.max_handles, 12);
        assert_eq!(c.access.allowed_uids, Some(vec![1, 2]));
        assert!(c.egress.block_private);

        let mut t = toml::Table::new();
        let e = set(
            &mut t,
            "limits.max_handles",
            "lots",
            "HINETD_LIMITS_MAX_HANDLES",
        )
        .unwrap_err()
        .0;
        assert!(e.contains("HINETD_LIMITS_MAX_HANDLES"), "{e}");
        let e = set(&mut t, "log.format", "xml", "--log-format")
            .unwrap_err()
            .0;
        assert!(e.contains("--log-format") && e.contains("xml"), "{e}");
        let e = set(&mut t, "limits.nope", "1", "--set").unwrap_err().0;
        assert!(e.contains("limits.nope"), "{e}");
    }

    #[test]
    fn every_key_is_overridable_and_printed() {
        let mut c = Config::default();
        c.resolve(false).unwrap();
        c.socket.group = Some("root".into());
        let printed: toml::Table = c.to_toml().parse().unwrap();
        let mut found = Vec::new();
        for (k, v) in &printed {
            match v {
                toml::Value::Table(t) => {
                    for k2 in t.keys() {
                        // Rules are lists of tables: the file's alone.
                        if format!("{k}.{k2}") != "egress.rules" {
                            found.push(format!("{k}.{k2}"));
                        }
                    }
                }
                _ => found.push(k.clone()),
            }
        }
        for key in &found {
            assert!(
                KEYS.iter().any(|(k, _)| k == key),
                "{key} printed but not overridable"
            );
        }
        for (key, _) in KEYS {
            assert!(found.iter().any(|k| k == key), "{key} not printed");
        }
    }

    #[test]
    fn defaults_resolve() {
        let mut c = Config::default();
        c.resolve(true).unwrap();
        assert_eq!(c.socket_path(), PathBuf::from("/run/hinetd/hinetd.sock"));
        assert!(c.allowed_uids().contains(&0));
        assert!(c.allowed_uids().contains(&crate::sys::euid()));
    }
}
