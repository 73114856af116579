//! Measuring helpers: percentiles and medians, the daemon's memory and descriptors from
//! /proc, the machine's description, and the results table.

use std::path::Path;
use std::time::{Duration, Instant};

/// The median of `values` (NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The `p`-th percentile (0–100) of already collected samples, in microseconds.
pub fn percentile_us(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_unstable();
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)].as_secs_f64() * 1e6
}

/// Runs `f` `runs` times and returns the median of what it measured.
pub async fn median_of<F, Fut>(runs: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = f64>,
{
    let mut values = Vec::with_capacity(runs);
    for _ in 0..runs {
        values.push(f().await);
    }
    median(&values)
}

/// Resident set size of process `pid` in KiB (0 if it cannot be read).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Open file descriptors of process `pid`.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// `nproc`, the CPU model and the memory size, from /proc.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{nproc} CPUs ({model}), {mem_gib:.0} GiB RAM, Linux")
}

/// The 1-, 5- and 15-minute load averages: how busy the machine was around a run.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Seconds since `start`, as f64.
pub fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// One line of the results: a measurement of hinetd and of what it is compared with.
#[derive(Debug, Clone)]
pub struct Row {
    pub section: &'static str,
    pub what: String,
    pub hinetd: f64,
    pub other_name: String,
    pub other: f64,
    pub unit: &'static str,
    /// Whether more is better (throughput) or less is better (latency, time, memory).
    pub higher_is_better: bool,
}

impl Row {
    /// hinetd relative to the alternative: above 1 means hinetd is better.
    pub fn ratio(&self) -> f64 {
        if self.higher_is_better {
            self.hinetd / self.other
        } else {
            self.other / self.hinetd
        }
    }
}

/// A standalone figure with no alternative to compare with (scale, soak).
#[derive(Debug, Clone)]
pub struct Fact {
    pub section: &'static str,
    pub what: String,
    pub value: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    pub facts: Vec<Fact>,
    pub skipped: Vec<String>,
    /// (seconds since start, RSS MiB, open fds) of the soak run.
    pub soak: Vec<(f64, f64, usize)>,
}

impl Report {
    pub fn row(&mut self, row: Row) {
        eprintln!(
            "  {} / {}: hinetd {:.2} {} vs {} {:.2} (hinetd/alt {:.2})",
            row.section,
            row.what,
            row.hinetd,
            row.unit,
            row.other_name,
            row.other,
            row.ratio()
        );
        self.rows.push(row);
    }

    pub fn fact(
        &mut self,
        section: &'static str,
        what: impl Into<String>,
        value: impl Into<String>,
    ) {
        let f = Fact {
            section,
            what: what.into(),
            value: value.into(),
        };
        eprintln!("  {} / {}: {}", f.section, f.what, f.value);
        self.facts.push(f);
    }

    pub fn skip(&mut self, why: impl Into<String>) {
        let why = why.into();
        eprintln!("  skipped: {why}");
        self.skipped.push(why);
    }

    /// The results as Markdown tables.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("| section | measurement | hinetd | alternative | alternative's figure | unit | hinetd relative (>1 better) |\n");
        out.push_str("|---|---|---:|---|---:|---|---:|\n");
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {:.2} |\n",
                r.section,
                r.what,
                fmt_num(r.hinetd),
                r.other_name,
                fmt_num(r.other),
                r.unit,
                r.ratio()
            ));
        }
        if !self.facts.is_empty() {
            out.push_str("\n| section | measurement | figure |\n|---|---|---|\n");
            for f in &self.facts {
                out.push_str(&format!("| {} | {} | {} |\n", f.section, f.what, f.value));
            }
        }
        if !self.skipped.is_empty() {
            out.push_str("\nSkipped:\n");
            for s in &self.skipped {
                out.push_str(&format!("* {s}\n"));
            }
        }
        out
    }
}

pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "n/a".to_owned()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Writes `bytes` to `path`, creating its directory.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)
}
