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
    #[error("the socket passed by the service manager (LISTEN_FDS) is unusable: {0}")]
    Activation(io::Error),
}

/// The listening socket passed by the service manager, if the daemon was socket-activated.
/// With several, the first is used (the unit should have exactly one `ListenStream=`).
pub fn activated() -> Result<Option<UnixListener>, ListenError> {
    let Some(fd) = sd_notify::listen_fds()
        .map_err(ListenError::Activation)?
        .next()
    else {
        return Ok(None);
    };
    let std_listener = crate::sys::take_listener(fd).map_err(ListenError::Activation)?;
    UnixListener::from_std(std_listener)
        .map(Some)
        .map_err(ListenError::Activation)
}

/// Checks that a directory in a shared place (the default under /tmp) belongs to us alone:
/// another user who created it first could otherwise swap our socket for theirs.
pub fn check_private_dir(dir: &Path) -> Result<(), ListenError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(());
    };
    let (owner, mode) = (meta.uid(), meta.mode() & 0o7777);
    if !meta.is_dir() || owner != crate::sys::euid() || mode & 0o077 != 0 {
        return Err(ListenError::UnsafeDirectory {
            path: dir.to_owned(),
            owner,
            mode,
        });
    }
    Ok(())
}

/// Binds `path` with `mode` (and group `gid`), creating its directory (0700, or 0750 with a
/// group, so the group can reach the socket) if needed. A leftover socket file is replaced
/// only when nothing answers on it. The socket is bound under a temporary name, restricted,
/// then renamed into place, so it is never reachable with looser permissions.
pub async fn bind(path: &Path, mode: u32, gid: Option<u32>) -> Result<UnixListener, ListenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(if gid.is_some() { 0o750 } else { 0o700 })
            .create(dir)
            .and_then(|()| match gid {
                Some(g) => std::os::unix::fs::chown(dir, None, Some(g)),
                None => Ok(()),
            })
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
    // Group first, then the mode: the socket never has group access to the wrong group.
    let placed = std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| match gid {
            Some(g) => std::os::unix::fs::chown(&staging, None, Some(g)),
            None => Ok(()),
        })
        .and_then(|()| std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(mode)))
        .and_then(|()| std::fs::rename(&staging, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&staging);
        return Err(bind_err(e));
    }
    Ok(listener)
}
