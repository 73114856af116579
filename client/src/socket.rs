//! Where the daemon listens by default: the rules `hinetd` applies, seen from a client.

use std::path::{Path, PathBuf};

/// The environment variable naming the socket (read by `hinetd` too, as is
/// `HINETD_SOCKET_PATH`, which wins).
pub const SOCKET_ENV: &str = "HINETD_SOCKET";

/// The system instance's socket.
const SYSTEM_SOCKET: &str = "/run/hinetd/hinetd.sock";

/// The socket to connect to: `$HINETD_SOCKET_PATH` or `$HINETD_SOCKET` when set; else the
/// daemon's default (`$XDG_RUNTIME_DIR/hinetd.sock`, else `/run/hinetd/hinetd.sock` for
/// root, else `/tmp/hinetd-<uid>/hinetd.sock`) when it exists, else the system socket when
/// that exists (a member of the daemon's group uses the system instance), else the default.
pub fn socket_path() -> PathBuf {
    for var in ["HINETD_SOCKET_PATH", SOCKET_ENV] {
        if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
    }
    let uid = current_uid();
    let user = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("hinetd.sock"),
        None if uid == 0 => return PathBuf::from(SYSTEM_SOCKET),
        None => PathBuf::from(format!("/tmp/hinetd-{uid}/hinetd.sock")),
    };
    if !user.exists() && Path::new(SYSTEM_SOCKET).exists() {
        return PathBuf::from(SYSTEM_SOCKET);
    }
    user
}

fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective uid; no libc binding needed.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}
