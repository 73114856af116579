//! Daemon-wide counters for `HinetStatus` and the service manager's status line.

use crate::handles::lock;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub struct Stats {
    started: Instant,
    /// Bytes read from and written to client sockets.
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    /// HTTP operations running now, all clients together.
    pub requests_in_flight: AtomicU64,
    /// Connections accepted since start, and refused (peer not allowed, or over quota).
    pub connections_total: AtomicU64,
    pub connections_refused: AtomicU64,
    /// WinHTTP errors returned to clients (as call errors or REQUEST_ERROR), by code.
    errors: Mutex<BTreeMap<u32, u64>>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            requests_in_flight: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            connections_refused: AtomicU64::new(0),
            errors: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Stats {
    pub fn error(&self, code: u32) {
        *lock(&self.errors).entry(code).or_default() += 1;
    }

    pub fn errors(&self) -> BTreeMap<u32, u64> {
        lock(&self.errors).clone()
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
