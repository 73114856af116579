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
    #[error(
        "{path} is not a private directory of this user (owner {owner}, mode {mode:o}); refusing to put the socket there"
    )]
    UnsafeDirectory {
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
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

/// Checks that a directory in a shared place (the default under /tmp) belongs to us alone:
/// another user who created it first could otherwise swap our socket for theirs.
pub fn check_private_dir(dir: &Path) -> Result<(), ListenError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(());
    };
    let (owner, mode) = (meta.uid(), meta.mode() & 0o7777);
    if !meta.is_dir() || owner != current_uid() || mode & 0o077 != 0 {
        return Err(ListenError::UnsafeDirectory {
            path: dir.to_owned(),
            owner,
            mode,
        });
    }
    Ok(())
}

/// Binds `path` with mode 0600, creating its directory (0700) if needed. A leftover socket
/// file is replaced only when nothing answers on it. The socket is bound under a temporary
/// name, restricted, then renamed into place, so it is never reachable with looser
/// permissions.
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
    let bind_err = |source| ListenError::Bind {
        path: path.to_owned(),
        source,
    };
    let mut staging = path.as_os_str().to_owned();
    staging.push(format!(".{}.new", std::process::id()));
    let staging = PathBuf::from(staging);
    let _ = std::fs::remove_file(&staging);
    let listener = UnixListener::bind(&staging).map_err(bind_err)?;
    let placed = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&staging, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&staging);
        return Err(bind_err(e));
    }
    Ok(listener)
}
