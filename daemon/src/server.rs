//! The daemon's life: the listening socket (socket-activated or bound), who may connect,
//! the service manager's notifications, and a bounded, clean shutdown.

use crate::config::Config;
use crate::handles::{ClientId, HandleTable, lock};
use crate::policy::Policy;
use crate::quota::{Account, Peer};
use crate::state::Daemon;
use crate::stats::Stats;
use crate::{engine, listener, rpc, sys};
use hinet_protocol::error::{ERROR_ACCESS_DENIED, ERROR_NOT_ENOUGH_MEMORY, error_name};
use sd_notify::NotifyState;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UnixStream;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    // Handlers first: a SIGTERM that arrives once READY=1 is out must find them in place
    // rather than the default action, which would kill the process mid-way.
    let signals = shutdown_signal()?;
    let tls = engine::tls::Tls::new(&config.tls.ca_files)?;
    let policy = Policy::new(&config.egress).map_err(|e| format!("egress.{e}"))?;
    let daemon = Arc::new(Daemon {
        handles: HandleTable::new(),
        connections: Default::default(),
        tls,
        limits: config.limits.clone(),
        stats: Arc::new(Stats::default()),
        policy: Arc::new(policy),
    });
    let methods = rpc::methods(daemon.clone())?;
    // The socket file hinetd created, to remove at exit; none when socket-activated (the
    // service manager owns that one).
    let (listener, created): (_, Option<PathBuf>) = match listener::activated()? {
        Some(l) => {
            tracing::info!("listening on the socket passed by the service manager");
            (l, None)
        }
        None => {
            let path = config.socket_path();
            // The fallback under /tmp is a shared place: another user could have made the
            // directory first. A path given explicitly is the operator's choice.
            if path == crate::config::default_socket_path(false)
                && path.starts_with("/tmp")
                && let Some(dir) = path.parent()
            {
                listener::check_private_dir(dir)?;
            }
            let l = listener::bind(&path, config.socket.mode.0, config.socket_gid()?).await?;
            println!("hinetd listening on {}", path.display());
            tracing::info!(socket = %path.display(), "listening");
            (l, Some(path))
        }
    };
    let _ = sd_notify::notify(&[
        NotifyState::Ready,
        NotifyState::Status(&status_line(&daemon)),
    ]);

    let shutdown = CancellationToken::new();
    let reporter = tokio::spawn(report_to_manager(daemon.clone(), shutdown.clone()));
    let gate = Arc::new(Gate::new(&config));
    let mut connections = JoinSet::new();
    let mut next_client = 1u64;
    tokio::pin!(signals);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    while connections.try_join_next().is_some() {}
                    let client = ClientId(next_client);
                    next_client += 1;
                    Stats::add(&daemon.stats.connections_total, 1);
                    match gate.admit(&stream) {
                        Ok((peer, ticket)) => {
                            connections.spawn(serve(
                                stream,
                                methods.clone(),
                                daemon.clone(),
                                client,
                                peer,
                                ticket,
                                shutdown.clone(),
                            ));
                        }
                        Err(refusal) => {
                            Stats::add(&daemon.stats.connections_refused, 1);
                            refusal.send(&stream);
                        }
                    }
                }
                Err(e) => {
                    // Out of fds and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = &mut signals => break,
        }
    }

    // Stop accepting at once: nobody new should connect to a daemon that is leaving.
    drop(listener);
    if let Some(path) = &created {
        let _ = std::fs::remove_file(path);
    }
    let _ = sd_notify::notify(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: closing client connections"),
    ]);
    while connections.try_join_next().is_some() {}
    let open = connections.len();
    tracing::info!(connections = open, "shutting down");
    shutdown.cancel();
    let bound = Duration::from_millis(config.shutdown_timeout_ms);
    let drained = tokio::time::timeout(bound, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            after_ms = config.shutdown_timeout_ms,
            remaining = connections.len(),
            "clients did not drain in time; exiting anyway"
        );
    }
    reporter.abort();
    tracing::info!("stopped");
    Ok(())
}

/// One client, from admission to its last byte.
async fn serve(
    stream: UnixStream,
    methods: jsonrpsee::Methods,
    daemon: Arc<Daemon>,
    client: ClientId,
    peer: Peer,
    ticket: UidTicket,
    shutdown: CancellationToken,
) {
    let started = Instant::now();
    tracing::info!(
        client = client.0,
        uid = peer.uid,
        gid = peer.gid,
        pid = peer.pid,
        "connection opened"
    );
    let (uid, pid) = (peer.uid, peer.pid);
    let account = Arc::new(Account::new(
        client,
        peer,
        &daemon.limits,
        daemon.stats.clone(),
        daemon.policy.clone(),
    ));
    // Counted here, for either framing, and given up only after the uid's slot: a client
    // that sees the count drop may connect again at once.
    daemon
        .connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    rpc::transport::serve_connection(stream, methods, daemon.clone(), account, shutdown).await;
    drop(ticket);
    daemon
        .connections
        .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        client = client.0,
        uid,
        pid,
        secs = started.elapsed().as_secs_f64(),
        "connection closed"
    );
}

/// Who may connect, and how many connections each uid has open.
struct Gate {
    allowed_uids: Vec<u32>,
    allowed_gids: Vec<u32>,
    max_per_uid: usize,
    per_uid: Arc<Mutex<HashMap<u32, usize>>>,
}

/// A connection counted against its uid; dropping it gives the slot back.
struct UidTicket {
    uid: u32,
    per_uid: Arc<Mutex<HashMap<u32, usize>>>,
}

impl Drop for UidTicket {
    fn drop(&mut self) {
        let mut map = lock(&self.per_uid);
        if let Some(n) = map.get_mut(&self.uid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.uid);
            }
        }
    }
}

/// Why a peer was turned away: logged, and told in one JSON-RPC error line.
struct Refusal {
    code: u32,
    reason: String,
    peer: Option<Peer>,
}

impl Refusal {
    fn send(self, stream: &UnixStream) {
        tracing::warn!(
            uid = self.peer.as_ref().map(|p| p.uid),
            pid = self.peer.as_ref().and_then(|p| p.pid),
            reason = %self.reason,
            "connection refused"
        );
        let line = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {
                "code": self.code,
                "message": format!("{}: {}", error_name(self.code), self.reason),
                "data": {"name": error_name(self.code), "detail": self.reason},
            }
        });
        // Best effort and never waiting: a refused peer gets no more of our time. The
        // stream is closed when the caller drops it.
        let _ = stream.try_write(format!("{line}\n").as_bytes());
    }
}

impl Gate {
    fn new(config: &Config) -> Self {
        Gate {
            allowed_uids: config.allowed_uids().to_vec(),
            allowed_gids: config.access.allowed_gids.clone(),
            max_per_uid: config.limits.max_connections_per_uid,
            per_uid: Default::default(),
        }
    }

    /// Checks the peer before anything is read from it.
    fn admit(&self, stream: &UnixStream) -> Result<(Peer, UidTicket), Refusal> {
        let cred = stream.peer_cred().map_err(|e| Refusal {
            code: ERROR_ACCESS_DENIED,
            reason: format!("cannot read the peer's credentials: {e}"),
            peer: None,
        })?;
        let peer = Peer {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
            groups: sys::peer_groups(stream),
        };
        let by_uid = self.allowed_uids.contains(&peer.uid);
        let by_gid = std::iter::once(&peer.gid)
            .chain(&peer.groups)
            .any(|g| self.allowed_gids.contains(g));
        if !by_uid && !by_gid {
            return Err(Refusal {
                code: ERROR_ACCESS_DENIED,
                reason: format!(
                    "uid {} is not in access.allowed_uids and none of its groups is in access.allowed_gids",
                    peer.uid
                ),
                peer: Some(peer),
            });
        }
        let mut map = lock(&self.per_uid);
        let n = map.entry(peer.uid).or_default();
        if *n >= self.max_per_uid {
            let reason = format!(
                "too many connections for uid {}: the limit is {} (limits.max_connections_per_uid)",
                peer.uid, self.max_per_uid
            );
            drop(map);
            return Err(Refusal {
                code: ERROR_NOT_ENOUGH_MEMORY,
                reason,
                peer: Some(peer),
            });
        }
        *n += 1;
        drop(map);
        let ticket = UidTicket {
            uid: peer.uid,
            per_uid: self.per_uid.clone(),
        };
        Ok((peer, ticket))
    }
}

/// `STATUS=` for `systemctl status`.
fn status_line(daemon: &Daemon) -> String {
    let counts = daemon.handles.counts();
    format!(
        "{} connections, {} handles ({} requests), {} HTTP operations in flight",
        Stats::get(&daemon.connections),
        counts.sessions + counts.connects + counts.requests,
        counts.requests,
        Stats::get(&daemon.stats.requests_in_flight),
    )
}

/// Keeps the service manager's status line current and, when it asks for it
/// (`WatchdogSec=`), pings the watchdog at half its interval.
async fn report_to_manager(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    let watchdog = sd_notify::watchdog_enabled();
    let period = watchdog
        .map(|w| w / 2)
        .unwrap_or(Duration::from_secs(5))
        .clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let status = status_line(&daemon);
        let mut states = vec![NotifyState::Status(&status)];
        if watchdog.is_some() {
            states.push(NotifyState::Watchdog);
        }
        let _ = sd_notify::notify(&states);
    }
}

/// Installs the SIGTERM and SIGINT handlers now; the future resolves on either signal.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
