//! Per-connection accounts: who the peer is, and the quotas its handles and HTTP operations
//! count against. Every handle holds its owner's account, so counting needs no lookup and
//! a handle closed after its connection ended still settles its count.

use crate::error::{ApiError, ApiResult};
use crate::handles::ClientId;
use crate::policy::Policy;
use crate::stats::Stats;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The credentials of a connected peer (SO_PEERCRED, SO_PEERGROUPS).
#[derive(Debug, Clone)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
    pub groups: Vec<u32>,
}

pub struct Account {
    pub client: ClientId,
    pub peer: Peer,
    pub stats: Arc<Stats>,
    pub policy: Arc<Policy>,
    max_handles: usize,
    max_ops: usize,
    handles: AtomicUsize,
    ops: AtomicUsize,
    /// Bytes queued for this client and not yet written to its socket.
    buffered: AtomicUsize,
    max_buffered: usize,
}

impl Account {
    pub fn new(
        client: ClientId,
        peer: Peer,
        limits: &crate::state::Limits,
        stats: Arc<Stats>,
        policy: Arc<Policy>,
    ) -> Self {
        Account {
            client,
            peer,
            stats,
            policy,
            max_handles: limits.max_handles,
            max_ops: limits.max_requests_in_flight,
            handles: AtomicUsize::new(0),
            ops: AtomicUsize::new(0),
            buffered: AtomicUsize::new(0),
            max_buffered: limits.max_buffered_bytes,
        }
    }

    /// Counts bytes queued for the client; false once `limits.max_buffered_bytes` is
    /// exceeded.
    pub fn queue_bytes(&self, n: usize) -> bool {
        self.buffered.fetch_add(n, Ordering::Relaxed) + n <= self.max_buffered
    }

    /// Bytes written to the client's socket. (Saturating: a few messages, such as
    /// subscription confirmations, are written without having been counted.)
    pub fn wrote_bytes(&self, n: usize) {
        let _ = self
            .buffered
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(n))
            });
    }

    /// Waits while at least half of the client's byte budget is queued: the daemon reads no
    /// more response body for a client that is not reading what it already has.
    pub async fn wait_for_room(&self) {
        while self.buffered.load(Ordering::Relaxed) >= self.max_buffered / 2 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Counts a new handle, or refuses it over `limits.max_handles`.
    pub fn add_handle(&self) -> ApiResult<()> {
        take(&self.handles, self.max_handles).map_err(|limit| ApiError::QuotaExceeded {
            what: "open handles on this connection",
            key: "limits.max_handles",
            limit,
        })
    }

    pub fn remove_handle(&self) {
        release(&self.handles);
    }

    /// Counts an HTTP operation for as long as the guard lives, or refuses it over
    /// `limits.max_requests_in_flight`.
    pub fn begin_op(self: &Arc<Self>) -> ApiResult<OpGuard> {
        take(&self.ops, self.max_ops).map_err(|limit| ApiError::QuotaExceeded {
            what: "HTTP operations in flight on this connection",
            key: "limits.max_requests_in_flight",
            limit,
        })?;
        Stats::add(&self.stats.requests_in_flight, 1);
        Ok(OpGuard(self.clone()))
    }
}

/// One unit of `counter` if it stays within `max`; else the limit.
fn take(counter: &AtomicUsize, max: usize) -> Result<(), usize> {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .map(|_| ())
        .map_err(|_| max)
}

fn release(counter: &AtomicUsize) {
    let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
}

/// An HTTP operation in progress; dropping it ends the count.
pub struct OpGuard(Arc<Account>);

impl Drop for OpGuard {
    fn drop(&mut self) {
        release(&self.0.ops);
        self.0
            .stats
            .requests_in_flight
            .fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    fn account(max_buffered: usize) -> Account {
        let limits = crate::state::Limits {
            max_buffered_bytes: max_buffered,
            ..crate::state::Limits::default()
        };
        let peer = Peer {
            uid: 0,
            gid: 0,
            pid: None,
            groups: Vec::new(),
        };
        Account::new(
            ClientId(1),
            peer,
            &limits,
            Arc::new(Stats::default()),
            Arc::new(Policy::default()),
        )
    }

    #[tokio::test]
    async fn reads_pause_at_half_the_budget_and_resume_when_written() {
        let a = Arc::new(account(1000));
        assert!(a.queue_bytes(600));
        let waiter = tokio::spawn({
            let a = a.clone();
            async move { a.wait_for_room().await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        assert!(!waiter.is_finished(), "600 of 1000 queued: reads wait");
        a.wrote_bytes(200);
        tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
            .await
            .expect("room again below half")
            .unwrap();
        assert!(!a.queue_bytes(700), "over the budget");
        a.wrote_bytes(10_000);
        assert!(a.queue_bytes(10), "writes never go below zero");
    }
}
