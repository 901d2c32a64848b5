//! The outside tools: Debian's `wrk` and `haproxy` (installed when missing
//! and we are root) and PostgreSQL's `pgbench`, with their output parsed.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::process::Command;

/// `program` on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `program` from Debian package `package`: found on `PATH`, else installed
/// with `apt-get` when we are root, else a clear error.
pub fn ensure(program: &str, package: &str) -> anyhow::Result<PathBuf> {
    if let Some(found) = which(program) {
        return Ok(found);
    }
    if !nix::unistd::Uid::effective().is_root() {
        bail!(
            "`{program}` is not installed and this is not root, so the benchmark cannot \
             install it: run `sudo apt-get install -y {package}` and try again"
        );
    }
    eprintln!("installing {package} (apt-get install -y {package})…");
    let install = || {
        std::process::Command::new("apt-get")
            .args(["install", "-y", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
    };
    let ok = install().is_ok_and(|s| s.success())
        || (std::process::Command::new("apt-get")
            .arg("update")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            && install().is_ok_and(|s| s.success()));
    if !ok {
        bail!("`apt-get install -y {package}` failed: install {package} by hand and try again");
    }
    which(program).with_context(|| format!("{package} is installed but `{program}` is not found"))
}

/// `pgbench` next to the PostgreSQL server binaries, else on `PATH`.
pub fn pgbench() -> anyhow::Result<PathBuf> {
    if let Ok(bins) = hsl_dashboard::local_pg::PgBinaries::locate() {
        let path = bins.program("pgbench");
        if path.is_file() {
            return Ok(path);
        }
    }
    which("pgbench").context(
        "`pgbench` not found (it comes with PostgreSQL: `apt-get install postgresql-contrib` \
         or `postgresql-client`)",
    )
}

/// One wrk run, parsed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WrkResult {
    pub requests: u64,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Non-2xx/3xx answers.
    pub non_2xx_3xx: u64,
    /// connect + read + write + timeout.
    pub socket_errors: u64,
}

impl WrkResult {
    pub fn errors(&self) -> u64 {
        self.non_2xx_3xx + self.socket_errors
    }
}

/// `wrk -t2 -c C -d Ss --latency --timeout 30s` against `url` with `headers`.
pub async fn wrk(
    wrk: &Path,
    url: &str,
    headers: &[String],
    connections: u32,
    seconds: u32,
) -> anyhow::Result<WrkResult> {
    let mut cmd = Command::new(wrk);
    cmd.arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        // wrk's default (2 s) would count a slow answer as a socket error
        // and leave it out of the latency; the server gives up at 30 s.
        .arg("--timeout")
        .arg("30s");
    for header in headers {
        cmd.arg("-H").arg(header);
    }
    let out = cmd
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "wrk failed ({}): {}{}",
            out.status,
            text.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse_wrk(&text).with_context(|| format!("reading wrk's output:\n{text}"))
}

/// A wrk duration (`812.00us`, `1.23ms`, `2.01s`, `1.00m`) in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        "h" => number * 3_600_000.0,
        _ => return None,
    })
}

fn parse_wrk(text: &str) -> anyhow::Result<WrkResult> {
    let mut result = WrkResult::default();
    let mut saw_rps = false;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => result.p50_ms = duration_ms(value).context("p50")?,
            ["99%", value] => result.p99_ms = duration_ms(value).context("p99")?,
            ["Requests/sec:", value] => {
                result.rps = value.parse()?;
                saw_rps = true;
            }
            [count, "requests", "in", ..] => result.requests = count.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", count] => result.non_2xx_3xx = count.parse()?,
            ["Socket", "errors:", rest @ ..] => {
                // connect 0, read 0, write 0, timeout 0
                result.socket_errors = rest
                    .iter()
                    .filter_map(|word| word.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    anyhow::ensure!(saw_rps, "no Requests/sec line");
    Ok(result)
}

/// The floor: `pgbench -n -c 8 -j 2 -T S -f floor.sql`; its tps (without the
/// initial connection time).
pub async fn pgbench_tps(
    pgbench: &Path,
    script: &Path,
    url: &str,
    seconds: u32,
) -> anyhow::Result<f64> {
    let out = Command::new(pgbench)
        .args(["-n", "-c", "8", "-j", "2", "-T", &seconds.to_string(), "-f"])
        .arg(script)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .await
        .context("running pgbench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    text.lines()
        .find_map(|line| {
            let rest = line.trim().strip_prefix("tps = ")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .with_context(|| format!("no `tps = ` line in pgbench's output:\n{text}"))
}
