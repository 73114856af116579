//! `hinetd`: serves WinHTTP's programming model over JSON-RPC on a Unix socket.

mod api;
mod callback;
mod engine;
mod error;
mod handles;
mod listener;
mod rpc;
mod state;

use clap::Parser;
use handles::ClientId;
use state::{Daemon, Limits};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "hinetd",
    version,
    about = "WinHTTP over JSON-RPC, as a local daemon"
)]
struct Args {
    /// Unix socket to listen on [default: $XDG_RUNTIME_DIR/hinetd.sock, else
    /// /run/hinetd/hinetd.sock for root, else /tmp/hinetd-<uid>/hinetd.sock]
    #[arg(long, env = "HINETD_SOCKET")]
    socket: Option<PathBuf>,
    /// Extra trusted CA certificates (PEM), added to the built-in Mozilla roots; repeatable.
    #[arg(long = "ca-file", value_name = "PEM")]
    ca_files: Vec<PathBuf>,
    /// The longest JSON message (one line) a client may send, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_message: usize,
    /// Responses and notifications that may wait for one client; a client that falls this
    /// far behind on its notifications is disconnected.
    #[arg(long, default_value_t = 4096)]
    max_queued_messages: usize,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("hinetd=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hinetd: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hinetd: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let tls = engine::tls::Tls::new(&args.ca_files)?;
    let limits = Limits {
        max_message: args.max_message,
        outbound_queue: args.max_queued_messages.max(16),
        ..Limits::default()
    };
    let daemon = Arc::new(Daemon {
        handles: handles::HandleTable::new(),
        connections: Default::default(),
        tls,
        limits,
    });
    let methods = rpc::methods(daemon.clone())?;
    let path = match args.socket {
        Some(p) => p,
        None => {
            let p = listener::default_socket_path();
            if p.starts_with("/tmp")
                && let Some(dir) = p.parent()
            {
                listener::check_private_dir(dir)?;
            }
            p
        }
    };
    let listener = listener::bind(&path).await?;
    println!("hinetd listening on {}", path.display());
    tracing::info!(socket = %path.display(), "listening");

    let shutdown = CancellationToken::new();
    let mut next_client = 1u64;
    let signals = shutdown_signal();
    tokio::pin!(signals);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let client = ClientId(next_client);
                    next_client += 1;
                    tokio::spawn(rpc::transport::serve_connection(
                        stream,
                        methods.clone(),
                        daemon.clone(),
                        client,
                        shutdown.clone(),
                    ));
                }
                Err(e) => {
                    // Out of fds and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = &mut signals => break,
        }
    }
    tracing::info!("shutting down");
    shutdown.cancel();
    let _ = std::fs::remove_file(&path);
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
