//! The server under test as a separate process, its command line, its
//! memory (VmRSS sampled from /proc) and a browser-like sign-in.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Variables of the operator's shell that would change what is measured.
const CLEARED_VARS: &[&str] = &[
    "DATABASE_URL",
    "BIND_ADDR",
    "TELEGRAM_BOT_TOKEN",
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "SESSION_KEY",
    "SCHEDULER_ENABLED",
    "TRUSTED_PROXIES",
    "LOG_FORMAT",
    "RUST_LOG",
];

/// A server binary and the database it is pointed at.
#[derive(Debug, Clone)]
pub struct Binary {
    pub path: PathBuf,
    pub database_url: String,
    /// Working directory (no `.env` of the project is read from there).
    pub dir: PathBuf,
}

impl Binary {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.path);
        for var in CLEARED_VARS {
            cmd.env_remove(var);
        }
        cmd.env("DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .current_dir(&self.dir);
        cmd
    }

    /// Runs a CLI subcommand to completion; its stdout, or an error with its
    /// stderr.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let mut cmd = self.command();
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.path.display()))?;
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .context("stdin")?
                .write_all(input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "`{} {}` failed ({}): {}",
                self.path.display(),
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; a server that then finds
/// it taken fails to start with a clear message).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The last lines of a log file, for error messages; slow-statement
/// warnings (plenty under load) are only counted.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (slow, rest): (Vec<&str>, Vec<&str>) = text
        .lines()
        .partition(|line| line.contains("slow statement"));
    let mut tail = rest[rest.len().saturating_sub(lines)..].join("\n");
    if !slow.is_empty() {
        tail.push_str(&format!("\n({} slow-statement warnings)", slow.len()));
    }
    tail
}

/// A running `hsl-dashboard serve`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Server {
    pub name: String,
    pub base: String,
    pub log: PathBuf,
    child: Child,
    pub rss: RssSampler,
}

impl Server {
    /// Starts `serve` on a free port with `env` added and waits until
    /// `/readyz` answers 200.
    pub async fn start(
        name: &str,
        binary: &Binary,
        env: &[(&str, &str)],
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = binary.dir.join(format!("server-{name}.log"));
        let out = File::create(&log)?;
        let mut cmd = binary.command();
        cmd.arg("serve")
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        for (key, value) in env {
            cmd.env(key, value);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", binary.path.display()))?;
        let rss = RssSampler::start(child.id());
        let mut server = Self {
            name: name.to_owned(),
            base: format!("http://127.0.0.1:{port}"),
            log,
            child,
            rss,
        };
        server.wait_ready(client).await?;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let url = format!("{}/readyz", self.base);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "server {} exited ({status}) before it was ready; its log ({}):\n{}",
                    self.name,
                    self.log.display(),
                    log_tail(&self.log, 15)
                );
            }
            if let Ok(response) = client.get(&url).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "server {} was not ready within 120 s; its log ({}):\n{}",
                    self.name,
                    self.log.display(),
                    log_tail(&self.log, 15)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                self.rss.stop();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.rss.stop();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Samples a process's VmRSS every 100 ms on a thread of its own; keeps the
/// peak overall and per label (the route being measured).
#[derive(Clone)]
pub struct RssSampler {
    label: Arc<Mutex<Option<String>>>,
    peaks: Arc<Mutex<BTreeMap<String, u64>>>,
    overall: Arc<Mutex<u64>>,
    stopped: Arc<AtomicBool>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let sampler = Self {
            label: Arc::default(),
            peaks: Arc::default(),
            overall: Arc::default(),
            stopped: Arc::default(),
        };
        let this = sampler.clone();
        std::thread::spawn(move || {
            while !this.stopped.load(Ordering::Relaxed) {
                let Some(kib) = vm_rss_kib(pid) else { break };
                {
                    let mut overall = this.overall.lock().unwrap();
                    *overall = (*overall).max(kib);
                }
                if let Some(label) = this.label.lock().unwrap().clone() {
                    let mut peaks = this.peaks.lock().unwrap();
                    let peak = peaks.entry(label).or_default();
                    *peak = (*peak).max(kib);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        sampler
    }

    /// Samples from now on count for `label` (none: only the overall peak).
    pub fn set_label(&self, label: Option<&str>) {
        *self.label.lock().unwrap() = label.map(str::to_owned);
    }

    /// Peak VmRSS in MiB while `label` was set.
    pub fn peak_mib(&self, label: &str) -> Option<f64> {
        let peaks = self.peaks.lock().unwrap();
        peaks.get(label).map(|kib| *kib as f64 / 1024.0)
    }

    pub fn overall_mib(&self) -> f64 {
        *self.overall.lock().unwrap() as f64 / 1024.0
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `name=value` of the response's `Set-Cookie` for cookie `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .and_then(|value| value.split(';').next())
        .map(str::to_owned)
}

/// The value of `<input … name="{name}" value="…">` in a page.
fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Signs in through `/login` as a browser does: the form's nonce cookie and
/// hidden CSRF field, then the form post. Returns `hsl_session=…`.
pub async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
) -> anyhow::Result<String> {
    let page = client.get(format!("{base}/login")).send().await?;
    anyhow::ensure!(page.status().is_success(), "GET /login: {}", page.status());
    let nonce = set_cookie(&page, "hsl_login").context("/login set no hsl_login cookie")?;
    let html = page.text().await?;
    let csrf = hidden_field(&html, "csrf").context("/login has no csrf field")?;
    let next = hidden_field(&html, "next").unwrap_or_else(|| "/".to_owned());
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", csrf.as_str()),
            ("next", next.as_str()),
            ("login", login),
            ("password", password),
        ])
        .finish();
    let response = client
        .post(format!("{base}/login"))
        .header("cookie", nonce)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == reqwest::StatusCode::SEE_OTHER,
        "POST /login answered {} (expected 303)",
        response.status()
    );
    set_cookie(&response, "hsl_session").context("POST /login set no hsl_session cookie")
}
