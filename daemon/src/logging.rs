//! Logs through tracing-subscriber to stderr: `RUST_LOG` filters (default `hinetd=info`),
//! text or JSON lines, and no timestamps or colours under journald, which adds its own.

use crate::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("hinetd=info"));
    // systemd sets JOURNAL_STREAM when stderr is connected to the journal.
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let ansi = !journald && std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match (format, journald) {
        (LogFormat::Text, false) => builder.init(),
        (LogFormat::Text, true) => builder.without_time().init(),
        (LogFormat::Json, false) => builder.json().init(),
        (LogFormat::Json, true) => builder.json().without_time().init(),
    }
}
