//! `hinet`: curl-like transfers through hinetd, raw JSON-RPC calls, and the daemon's
//! counters. See `hinet --help` and docs/cli.md.

mod args;
mod auth;
mod exit;
mod output;
mod rpc;
mod trace;
mod transfer;
mod upload;

use args::{Cli, Command};
use clap::Parser;
use exit::{Failure, Phase};
use std::process::ExitCode;

/// What may be printed besides the output (-s, -S).
pub struct Ui {
    silent: bool,
    show_error: bool,
}

impl Ui {
    pub fn warn(&self, msg: &str) {
        if !self.silent {
            eprintln!("hinet: warning: {msg}");
        }
    }

    fn error(&self, msg: &str) {
        if !msg.is_empty() && (!self.silent || self.show_error) {
            eprintln!("hinet: {msg}");
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    let ui = Ui {
        silent: cli.request.silent,
        show_error: cli.request.show_error,
    };
    // One thread is plenty for one transfer; the daemon does the HTTP work.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            ui.error(&format!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli, &ui)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            ui.error(&f.message);
            ExitCode::from(f.code)
        }
    }
}

async fn run(cli: &Cli, ui: &Ui) -> Result<(), Failure> {
    let socket = cli.socket.clone().unwrap_or_else(hinet_client::socket_path);
    let client = hinet_client::Client::connect(&socket)
        .await
        .map_err(|e| Failure::from_client(&e, Phase::Setup))?;
    match &cli.command {
        Some(Command::Call { method, params }) => rpc::call(&client, method, params).await,
        Some(Command::Status) => rpc::status(&client).await,
        None => transfer::run(&cli.request, &client, ui).await,
    }
}
