//! A minimal self-deleting temporary directory.
//!
//! Why not the `tempfile` crate: the harness only needs "a fresh, private
//! directory that disappears on drop", and keeping the dependency graph to
//! what the workspace already pins means the harness never drags new crates
//! into the shared lockfile. The directory lives under `std::env::temp_dir()`
//! (normally `/tmp`), which also keeps Unix-socket paths well below the
//! 108-byte `sun_path` limit.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A uniquely named directory that is removed (recursively) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    /// Create a new directory `<tmp>/<prefix>-<pid>-<n>-<nanos>`.
    ///
    /// Panics (test setup) if no directory can be created.
    pub fn new(prefix: &str) -> TempDir {
        let base = std::env::temp_dir();
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let path = base.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return TempDir { path },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create temp dir {}: {e}", path.display()),
            }
        }
        panic!("cannot find a free temp dir name under {}", base.display());
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a failure to clean up must not turn into a test failure.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_and_removed() {
        let d = TempDir::new("hinet-selftest");
        let p = d.path().to_path_buf();
        assert!(p.is_dir());
        std::fs::write(p.join("f"), b"x").expect("write");
        let d2 = TempDir::new("hinet-selftest");
        assert_ne!(d2.path(), d.path());
        drop(d);
        assert!(!p.exists());
    }
}
