//! `hinetd`: serves WinHTTP's programming model over JSON-RPC on a Unix socket.

mod api;
mod callback;
mod config;
mod engine;
mod error;
mod handles;
mod listener;
mod logging;
mod policy;
mod quota;
mod rpc;
mod server;
mod state;
mod stats;
mod sys;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = config::Args::parse();
    let config = match config::load(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hinetd: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if args.print_config {
        print!("{}", config.to_toml());
        return std::process::ExitCode::SUCCESS;
    }
    logging::init(config.log.format);
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
    let result = runtime.block_on(server::run(config));
    // Name lookups still running on the blocking pool must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hinetd: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
