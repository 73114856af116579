//! The command line: curl's flags, where curl has one, plus `call` and `status`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Shown under `--help`; docs/cli.md has the same table.
pub const EXIT_CODES: &str = "\
Exit codes:
   0  success (any HTTP status, unless --fail)
   1  unsupported protocol (not http or https)
   2  usage error
   3  malformed URL
   4  a feature this hinetd does not support (e.g. --proxy)
   6  could not resolve the host name
   7  could not connect to the server
   8  the server sent an invalid response
  22  HTTP status 400 or above with --fail
  23  could not write the output
  26  could not read the upload
  28  timed out
  35  TLS failure (certificate or handshake)
  43  the daemon refused a call (invalid handle, parameter or state, internal error)
  47  too many redirects
  52  the server closed the connection without answering
  55  the connection failed while sending the request
  56  the connection failed while receiving the response
  67  login denied
  69  no hinetd answers on the socket (or the connection to it was lost)
  77  the --cacert file cannot be read";

#[derive(Debug, Parser)]
#[command(
    name = "hinet",
    version,
    about = "Transfer a URL through hinetd, the WinHTTP daemon (curl-like)",
    long_about = "Transfer a URL through hinetd, the WinHTTP daemon. The flags follow curl; \
        every request runs through the daemon's WinHTTP API, and -v shows its status \
        callbacks (RESOLVING_NAME ... HANDLE_CLOSING) with handles and timings.",
    after_help = EXIT_CODES,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub request: RequestArgs,
    /// hinetd's socket [default: $HINETD_SOCKET_PATH or $HINETD_SOCKET, else
    /// /run/hinetd/hinetd.sock for root, else $XDG_RUNTIME_DIR/hinetd.sock (or
    /// /tmp/hinetd-UID/hinetd.sock) if it exists, else the system one if that exists]
    #[arg(long, value_name = "PATH", global = true)]
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Call one JSON-RPC method; print its result as JSON (or its error, exiting non-zero).
    /// Each call is a connection of its own: handles it creates close when it ends.
    Call {
        /// The method, e.g. WinHttpCrackUrl or HinetStatus
        method: String,
        /// The params as a JSON object
        #[arg(default_value = "{}")]
        params: String,
    },
    /// Print the daemon's counters (HinetStatus)
    Status,
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The URL; http:// is assumed when it has no scheme
    #[arg(required = true)]
    pub url: Option<String>,
    /// The request method (default GET, POST with data, HEAD with -I)
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,
    /// An extra header, `Name: value` (repeatable); `Name:` removes a header
    #[arg(short = 'H', long = "header", value_name = "LINE")]
    pub headers: Vec<String>,
    /// Send DATA as the body (repeatable, joined with &); @FILE reads FILE without its
    /// newlines, @- reads standard input
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,
    /// Send DATA as the body unchanged; @FILE streams FILE, @- streams standard input
    /// (chunked)
    #[arg(long = "data-binary", value_name = "DATA", conflicts_with = "data")]
    pub data_binary: Option<String>,
    /// Write the body to FILE instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the body to a file named like the URL's last path segment
    #[arg(short = 'O', long = "remote-name", conflicts_with = "output")]
    pub remote_name: bool,
    /// Include the response status line and headers in the output
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// Send a HEAD request and output the response headers only
    #[arg(short = 'I', long = "head")]
    pub head: bool,
    /// Follow redirects (WINHTTP_OPTION_REDIRECT_POLICY: always)
    #[arg(short = 'L', long = "location")]
    pub location: bool,
    /// The most redirects to follow with -L (WINHTTP_OPTION_MAX_HTTP_AUTOMATIC_REDIRECTS)
    #[arg(long = "max-redirs", value_name = "NUM")]
    pub max_redirs: Option<u32>,
    /// Server credentials, USER:PASSWORD (WinHttpSetCredentials; Basic, Digest on challenge)
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub user: Option<String>,
    /// Use this proxy (WinHttpOpen with WINHTTP_ACCESS_TYPE_NAMED_PROXY)
    #[arg(short = 'x', long = "proxy", value_name = "[SCHEME://]HOST[:PORT]")]
    pub proxy: Option<String>,
    /// Accept any server certificate (all SECURITY_FLAG_IGNORE_* bits)
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,
    /// Trust the CA certificates in FILE (PEM); hinetd trusts what it was started with
    /// (`hinetd --ca-file FILE`), so this only checks the file and explains a failure
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Ask for HTTP/2 (WINHTTP_OPTION_ENABLE_HTTP_PROTOCOL)
    #[arg(long = "http2")]
    pub http2: bool,
    /// Ask for a compressed response and decode it (WINHTTP_OPTION_DECOMPRESSION)
    #[arg(long = "compressed")]
    pub compressed: bool,
    /// Seconds allowed for resolving and connecting
    #[arg(long = "connect-timeout", value_name = "SECONDS", value_parser = seconds)]
    pub connect_timeout: Option<f64>,
    /// Seconds allowed for the whole transfer
    #[arg(short = 'm', long = "max-time", value_name = "SECONDS", value_parser = seconds)]
    pub max_time: Option<f64>,
    /// No progress bar, warnings or error messages
    #[arg(short = 's', long = "silent")]
    pub silent: bool,
    /// With -s, still print error messages
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,
    /// Fail with exit code 22, printing no body, on HTTP status 400 or above
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,
    /// Print the request and response headers, and the WinHTTP status-callback trace,
    /// to standard error
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v < 2_000_000.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn subcommands_and_urls_do_not_mix_up() {
        let cli = Cli::try_parse_from(["hinet", "-sS", "-H", "A: 1", "-H", "B: 2", "x.test"])
            .expect("parse");
        assert!(cli.command.is_none());
        assert_eq!(cli.request.headers, ["A: 1", "B: 2"]);
        assert!(cli.request.silent && cli.request.show_error);
        let cli = Cli::try_parse_from(["hinet", "--socket", "/s", "status"]).expect("parse");
        assert!(matches!(cli.command, Some(Command::Status)));
        let cli = Cli::try_parse_from(["hinet", "call", "HinetStatus"]).expect("parse");
        assert!(matches!(cli.command, Some(Command::Call { params, .. }) if params == "{}"));
        assert!(Cli::try_parse_from(["hinet"]).is_err());
        assert!(Cli::try_parse_from(["hinet", "-m", "0", "x"]).is_err());
    }
}
