//! hinetd side by side with what a program would otherwise use, in one run on one machine.
//!
//! Full run (release build; nginx, curl and Python's httpx/requests when installed):
//!
//! ```sh
//! cargo build --release -p hinet-client --bin hinet
//! cargo bench -p hinetd --bench bench                # writes docs/benchmarks-*.svg
//! cargo bench -p hinetd --bench bench -- --soak-secs 60 --only control,small
//! ```
//!
//! Smoke run (tiny sizes, the harness's hyper server instead of nginx, nothing written to
//! docs/): `cargo test -p hinetd --bench bench -- --smoke`.
//!
//! Sections (`--only a,b`): `control`, `small`, `python`, `cli`, `bulk`, `upload`, `handles`,
//! `clients`, `inflight`, `soak`. Every comparison is the median of `--runs` runs (default 5).
//! Sizes: `--soak-secs`, `--handles`, `--clients`, `--in-flight`; `--out DIR` for the files.

mod common;
mod line;
mod origin;
mod plot;
mod scale;
mod small;
mod transfer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use hinet_tests::{Daemon, TempDir};

use common::{Report, machine};
use origin::Origin;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

pub struct Config {
    pub smoke: bool,
    pub runs: usize,
    pub rtt_calls: usize,
    pub small_seq: usize,
    pub small_par: usize,
    pub cli_runs: usize,
    pub bulk: u64,
    pub upload: u64,
    pub handles: usize,
    pub clients: usize,
    pub in_flight: usize,
    pub soak: Duration,
    pub only: Option<Vec<String>>,
    pub out: PathBuf,
}

impl Config {
    fn from_args() -> Result<Config, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let smoke = args.iter().any(|a| a == "--smoke");
        let mut cfg = if smoke {
            Config {
                smoke,
                runs: 1,
                rtt_calls: 200,
                small_seq: 40,
                small_par: 64,
                cli_runs: 2,
                bulk: 4 << 20,
                upload: 2 << 20,
                handles: 1000,
                clients: 20,
                in_flight: 50,
                soak: Duration::from_secs(1),
                only: None,
                out: std::env::temp_dir().join("hinet-bench-smoke"),
            }
        } else {
            Config {
                smoke,
                runs: 5,
                rtt_calls: 20_000,
                small_seq: 3_000,
                small_par: 10_000,
                cli_runs: 30,
                bulk: 1 << 30,
                upload: 256 << 20,
                handles: 100_000,
                clients: 1_000,
                in_flight: 10_000,
                soak: Duration::from_secs(600),
                only: None,
                out: Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs"),
            }
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--smoke" | "--bench" => {}
                "--runs" => cfg.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
                "--soak-secs" => {
                    cfg.soak = Duration::from_secs(
                        value()?.parse().map_err(|e| format!("--soak-secs: {e}"))?,
                    )
                }
                "--only" => cfg.only = Some(value()?.split(',').map(str::to_owned).collect()),
                "--handles" => {
                    cfg.handles = value()?.parse().map_err(|e| format!("--handles: {e}"))?
                }
                "--clients" => {
                    cfg.clients = value()?.parse().map_err(|e| format!("--clients: {e}"))?
                }
                "--in-flight" => {
                    cfg.in_flight = value()?.parse().map_err(|e| format!("--in-flight: {e}"))?
                }
                "--out" => cfg.out = PathBuf::from(value()?),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        Ok(cfg)
    }

    fn wants(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|s| s == section))
    }
}

/// What every section uses: the daemon, the origin, scratch space.
pub struct Bench {
    pub daemon: Daemon,
    pub origin: Origin,
    pub scratch: PathBuf,
    pub bench_dir: PathBuf,
    pub hinetd_bin: PathBuf,
}

impl Bench {
    pub fn socket(&self) -> &Path {
        self.daemon.socket_path()
    }
}

fn main() {
    let cfg = match Config::from_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let report = runtime.block_on(run(&cfg));
    let md = report.markdown();
    println!("{md}");
    if let Err(e) = write_outputs(&cfg, &report, &md) {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
    if cfg.smoke && !report.rows.iter().all(|r| r.hinetd.is_finite()) {
        eprintln!("bench: a hinetd measurement failed in the smoke run");
        std::process::exit(1);
    }
}

fn write_outputs(cfg: &Config, report: &Report, md: &str) -> Result<(), String> {
    std::fs::create_dir_all(&cfg.out).map_err(|e| format!("{}: {e}", cfg.out.display()))?;
    let results = cfg.out.join(if cfg.smoke {
        "results.md"
    } else {
        "benchmarks-results.md"
    });
    let text = format!("Machine: {}\n\n{md}", machine());
    common::write_file(&results, text.as_bytes()).map_err(|e| e.to_string())?;
    if !report.rows.is_empty() {
        plot::ratios(report, &cfg.out.join("benchmarks-ratios.svg")).map_err(|e| e.to_string())?;
    }
    if !report.soak.is_empty() {
        plot::soak(report, &cfg.out.join("benchmarks-soak.svg")).map_err(|e| e.to_string())?;
        let csv: String = std::iter::once("seconds,rss_mib,open_fds\n".to_owned())
            .chain(
                report
                    .soak
                    .iter()
                    .map(|(t, rss, fds)| format!("{t:.1},{rss:.2},{fds}\n")),
            )
            .collect();
        common::write_file(&cfg.out.join("benchmarks-soak.csv"), csv.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    eprintln!("bench: results in {}", cfg.out.display());
    Ok(())
}

async fn run(cfg: &Config) -> Report {
    eprintln!("machine: {}", machine());
    let scratch = TempDir::new("hinet-bench");
    // Logging at warn: the debug level the test harness defaults to would be measured too.
    // The per-connection quotas (limits.*; defaults 4096 handles, 256 HTTP operations in
    // flight, 128 connections per uid) are raised so the scale sections measure the daemon,
    // not its defaults; every other section stays far below them.
    let daemon = Daemon::spawn_with_env(
        HINETD,
        &[
            "--set",
            "limits.max_handles=1000000",
            "--set",
            "limits.max_requests_in_flight=1000000",
            "--set",
            "limits.max_connections_per_uid=100000",
        ],
        &[("RUST_LOG", "hinetd=warn")],
    );
    let origin = Origin::start(!cfg.smoke, cfg.bulk).await;
    eprintln!("origin: {} on port {}", origin.name, origin.port);
    let b = Bench {
        daemon,
        origin,
        scratch: scratch.path().to_path_buf(),
        bench_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/benches/bench"),
        hinetd_bin: PathBuf::from(HINETD),
    };
    let mut report = Report::default();
    report.fact("setup", "origin server", b.origin.name);
    report.fact("setup", "load average at the start", common::loadavg());
    if cfg.wants("control") {
        eprintln!("control round trip");
        if let Err(e) = small::control(&b, cfg, &mut report).await {
            report.skip(format!("control: {e}"));
        }
    }
    if cfg.wants("small") {
        eprintln!("small requests");
        small::small_gets(&b, cfg, &mut report).await;
    }
    if cfg.wants("python") {
        eprintln!("python");
        small::python(&b, cfg, &mut report).await;
    }
    if cfg.wants("cli") {
        eprintln!("hinet vs curl");
        small::cli(&b, cfg, &mut report).await;
    }
    if cfg.wants("bulk") {
        eprintln!("bulk download");
        transfer::bulk(&b, cfg, &mut report).await;
    }
    if cfg.wants("upload") {
        eprintln!("upload");
        transfer::upload(&b, cfg, &mut report).await;
    }
    if cfg.wants("handles") {
        eprintln!("handles");
        if let Err(e) = scale::handles(&b, cfg, &mut report).await {
            report.skip(format!("handles: {e}"));
        }
    }
    if cfg.wants("clients") {
        eprintln!("clients");
        scale::clients(&b, cfg, &mut report).await;
    }
    if cfg.wants("inflight") {
        eprintln!("in flight");
        scale::in_flight(&b, cfg, &mut report).await;
    }
    if cfg.wants("soak") {
        eprintln!("soak");
        scale::soak(&b, cfg, &mut report).await;
    }
    report.fact("setup", "load average at the end", common::loadavg());
    report
}
