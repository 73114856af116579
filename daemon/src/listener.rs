//! The listening socket: where it lives, who may open it, and never stealing it from a
//! running daemon.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::net::UnixListener;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("another hinetd is already listening on {0}")]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    #[error("cannot create the socket directory {path}: {source}")]
    Directory { path: PathBuf, source: io::Error },
    #[error("cannot listen on {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
}

/// `$XDG_RUNTIME_DIR/hinetd.sock`, else `/run/hinetd/hinetd.sock` for root, else
/// `/tmp/hinetd-<uid>/hinetd.sock`.
pub fn default_socket_path() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("hinetd.sock");
    }
    let uid = current_uid();
    if uid == 0 {
        PathBuf::from("/run/hinetd/hinetd.sock")
    } else {
        PathBuf::from(format!("/tmp/hinetd-{uid}/hinetd.sock"))
    }
}

fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just created is our effective uid; /proc/self is ours.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// Binds `path` with mode 0600, creating its directory (0700) if needed. A leftover socket
/// file is replaced only when nothing answers on it.
pub async fn bind(path: &Path) -> Result<UnixListener, ListenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| ListenError::Directory {
                path: dir.to_owned(),
                source,
            })?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(ListenError::InUse(path.to_owned()));
            }
            let _ = std::fs::remove_file(path);
        }
        Ok(_) => return Err(ListenError::NotASocket(path.to_owned())),
        Err(_) => {}
    }
    let listener = UnixListener::bind(path).map_err(|source| ListenError::Bind {
        path: path.to_owned(),
        source,
    })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        ListenError::Bind {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(listener)
}
