//! Embedded PostgreSQL for zero-configuration runs and for the test suite.
//!
//! When `DATABASE_URL` is unset the dashboard runs the PostgreSQL server
//! binaries installed on the machine against a cluster under `./.data`.
//!
//! Design notes:
//! - `postgres` is started directly as our child (no `pg_ctl` daemon), in its
//!   own process group so a terminal's Ctrl-C reaches only the dashboard, which
//!   drains its requests and then stops the database with a fast shutdown.
//! - The child gets a parent-death signal (SIGINT = fast shutdown), so even a
//!   `kill -9` of the dashboard (or a test binary exiting without running
//!   destructors) shuts the cluster down cleanly. The signal is tied to the
//!   spawning *thread*, hence the dedicated supervisor thread per server.
//! - `initdb` refuses to run as root, so as root every program runs as the
//!   `postgres` OS user and the cluster's directories are chowned to it.
//! - A stale `postmaster.pid` (the process is gone) is removed; a cluster left
//!   running by a killed previous run is stopped and restarted under our
//!   supervision; a cluster owned by another live dashboard is refused.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User};
use sqlx::{Connection, PgConnection};

/// What to install when no server binaries are found.
pub const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, postgres) were not found on PATH \
     or in /usr/lib/postgresql/*/bin. Install them, e.g. `apt-get install postgresql` \
     (Debian/Ubuntu), or set DATABASE_URL to use an existing server.";

const SUPERUSER: &str = "postgres";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the cluster trades durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Normal settings: data survives a machine crash.
    Durable,
    /// `fsync=off` and friends: for throwaway test clusters only.
    Throwaway,
}

/// Located server binaries plus the OS identity to run them as.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    bin_dir: PathBuf,
    run_as: Option<(Uid, Gid)>,
}

impl PgBinaries {
    /// Finds `initdb` and `postgres` in one directory: `PATH` first, then the
    /// newest `/usr/lib/postgresql/<version>/bin`.
    pub fn locate() -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir().ok_or_else(|| anyhow!(INSTALL_HINT))?;
        let run_as = if Uid::effective().is_root() {
            let user = User::from_name(SUPERUSER)
                .context("looking up the postgres OS user")?
                .ok_or_else(|| {
                    anyhow!(
                        "running as root, but there is no `postgres` OS user to run the \
                         database as (initdb refuses root). Install the server package \
                         (e.g. `apt-get install postgresql`), which creates that user, \
                         or run the dashboard as a normal user."
                    )
                })?;
            Some((user.uid, user.gid))
        } else {
            None
        };
        Ok(Self { bin_dir, run_as })
    }

    /// A command for one of the server programs, already set to run as the
    /// `postgres` user when we are root.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join(program));
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid.as_raw()).gid(gid.as_raw());
        }
        cmd
    }

    /// Gives `path` to the user the server runs as.
    fn hand_over(&self, path: &Path) -> anyhow::Result<()> {
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(gid.as_raw()))
                .with_context(|| format!("chown {} to postgres", path.display()))?;
        }
        Ok(())
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let from_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).find_map(|dir| {
            // Follow symlinks such as /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb,
            // because initdb looks for `postgres` next to its real location.
            let initdb = fs::canonicalize(dir.join("initdb")).ok()?;
            let real_dir = initdb.parent()?.to_path_buf();
            has_both(&real_dir).then_some(real_dir)
        })
    });
    from_path.or_else(|| {
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|entry| {
                let entry = entry.ok()?;
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = entry.path().join("bin");
                has_both(&bin).then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    })
}

/// A running PostgreSQL server that this process supervises.
#[derive(Debug)]
pub struct LocalPg {
    port: u16,
    pid: Pid,
    cluster_created: bool,
    exited: ExitFlag,
    stopped: bool,
}

impl LocalPg {
    /// Starts (creating on first use) the cluster under `root`: the cluster in
    /// `root/pg`, the socket in `root/run`, the server log in `root/postgres.log`.
    pub async fn start(root: &Path, durability: Durability) -> anyhow::Result<Self> {
        Self::start_on(root, durability, None).await
    }

    /// Like [`LocalPg::start`], on `port` when given (e.g. to bring a stopped
    /// server back where its clients expect it).
    pub async fn start_on(
        root: &Path,
        durability: Durability,
        port: Option<u16>,
    ) -> anyhow::Result<Self> {
        fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        // Absolute paths: the server programs run in other working directories.
        let root = &fs::canonicalize(root)?;
        let prepared_root = root.clone();
        let (bins, cluster_created) =
            tokio::task::spawn_blocking(move || prepare_cluster(&prepared_root))
                .await
                .context("local PostgreSQL start-up task panicked")??;
        let cluster = root.join("pg");
        let socket_dir = root.join("run");
        let log_path = root.join("postgres.log");

        let mut last_error = None;
        for _attempt in 0..3 {
            // Another process may grab the probed port first: then postgres
            // exits at once and we try another.
            let port = match port {
                Some(port) => port,
                None => free_port()?,
            };
            let (pid, exited) =
                spawn_server(&bins, &cluster, &socket_dir, &log_path, port, durability)?;
            match wait_until_ready(port, &exited, &log_path).await {
                Ok(()) => {
                    return Ok(Self {
                        port,
                        pid,
                        cluster_created,
                        exited,
                        stopped: false,
                    });
                }
                Err(err) => {
                    let _ = kill(pid, Signal::SIGQUIT);
                    exited.wait(STOP_TIMEOUT);
                    last_error = Some(err);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("PostgreSQL did not start")))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether `initdb` ran in this start (the cluster is brand new).
    pub fn cluster_created(&self) -> bool {
        self.cluster_created
    }

    /// Connection URL for `database` as the superuser over loopback TCP.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@{}:{}/{database}",
            Ipv4Addr::LOCALHOST,
            self.port
        )
    }

    /// Fast shutdown: disconnects clients, checkpoints, exits. Waits for it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> anyhow::Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let _ = kill(self.pid, Signal::SIGINT);
        if !self.exited.wait(STOP_TIMEOUT) {
            let _ = kill(self.pid, Signal::SIGQUIT);
            if !self.exited.wait(STOP_TIMEOUT) {
                bail!("PostgreSQL (pid {}) did not stop", self.pid);
            }
        }
        Ok(())
    }
}

impl Drop for LocalPg {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// Blocking set-up before the server starts; returns whether initdb ran.
fn prepare_cluster(root: &Path) -> anyhow::Result<(PgBinaries, bool)> {
    let bins = PgBinaries::locate()?;
    // The postgres user must be able to reach the cluster inside `root`.
    fs::set_permissions(root, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod {}", root.display()))?;

    let cluster = root.join("pg");
    let socket_dir = root.join("run");
    let created = if cluster.join("PG_VERSION").is_file() {
        false
    } else {
        init_cluster(&bins, root, &cluster)?;
        true
    };
    take_over_leftovers(&cluster)?;
    // Lock files of a dead server in the socket directory would block start-up.
    let _ = fs::remove_dir_all(&socket_dir);
    fs::create_dir_all(&socket_dir)?;
    bins.hand_over(&socket_dir)?;
    Ok((bins, created))
}

fn init_cluster(bins: &PgBinaries, root: &Path, cluster: &Path) -> anyhow::Result<()> {
    // initdb into a scratch directory and rename, so an interrupted initdb
    // never leaves a half-made cluster that looks real.
    let scratch = root.join("pg.initdb");
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch)?;
    fs::set_permissions(&scratch, fs::Permissions::from_mode(0o700))?;
    bins.hand_over(&scratch)?;

    let run = |locale_args: &[&str]| {
        bins.command("initdb")
            .current_dir(root)
            .arg("--pgdata")
            .arg(&scratch)
            .args([
                "--username",
                SUPERUSER,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
            ])
            .args(locale_args)
            .stdin(Stdio::null())
            .output()
    };
    // C.UTF-8 gives byte-order collation (fast, stable) with Unicode-aware
    // lower()/ILIKE, which Cyrillic search needs; fall back where it's missing.
    let mut output = run(&["--locale", "C.UTF-8"]).context("running initdb")?;
    if !output.status.success() {
        let _ = fs::remove_dir_all(&scratch);
        fs::create_dir_all(&scratch)?;
        fs::set_permissions(&scratch, fs::Permissions::from_mode(0o700))?;
        bins.hand_over(&scratch)?;
        output = run(&["--no-locale"]).context("running initdb")?;
    }
    if !output.status.success() {
        bail!(
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    fs::rename(&scratch, cluster).context("moving the new cluster into place")?;
    Ok(())
}

/// Deals with a `postmaster.pid` left by a previous run.
fn take_over_leftovers(cluster: &Path) -> anyhow::Result<()> {
    let pid_file = cluster.join("postmaster.pid");
    let Ok(contents) = fs::read_to_string(&pid_file) else {
        return Ok(());
    };
    let pid = contents
        .lines()
        .next()
        .and_then(|line| line.trim().parse::<i32>().ok());
    let Some(pid) = pid.filter(|pid| process_name(*pid).as_deref() == Some("postgres")) else {
        // Nobody (or an unrelated process that reused the pid) holds it: stale.
        fs::remove_file(&pid_file).context("removing a stale postmaster.pid")?;
        return Ok(());
    };
    if let Some(parent) = parent_pid(pid)
        && process_name(parent).as_deref() == Some("hsl-dashboard")
        && parent != std::process::id() as i32
    {
        bail!(
            "the database in {} is in use by another running hsl-dashboard (pid {parent}); \
             stop it first",
            cluster.display()
        );
    }
    // A cluster left running (e.g. started by hand or by a killed run that
    // daemonised it): stop it and restart it under our supervision.
    let pid = Pid::from_raw(pid);
    let _ = kill(pid, Signal::SIGINT);
    let deadline = Instant::now() + STOP_TIMEOUT;
    while pid_file.exists() {
        if Instant::now() > deadline {
            let _ = kill(pid, Signal::SIGQUIT);
            bail!(
                "a PostgreSQL server left running on {} did not stop",
                cluster.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn process_name(pid: i32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|name| name.trim().to_owned())
}

fn parent_pid(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 4, after the parenthesised command name (which may contain spaces).
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn spawn_server(
    bins: &PgBinaries,
    cluster: &Path,
    socket_dir: &Path,
    log_path: &Path,
    port: u16,
    durability: Durability,
) -> anyhow::Result<(Pid, ExitFlag)> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut cmd = bins.command("postgres");
    cmd.current_dir(cluster)
        .arg("-D")
        .arg(cluster)
        .arg("-p")
        .arg(port.to_string())
        .arg("-k")
        .arg(socket_dir)
        .args(["-c", "listen_addresses=127.0.0.1"])
        .args(["-c", "max_connections=200"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    if durability == Durability::Throwaway {
        for setting in [
            "fsync=off",
            "synchronous_commit=off",
            "full_page_writes=off",
        ] {
            cmd.args(["-c", setting]);
        }
    }
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGINT).map_err(std::io::Error::from)
        });
    }

    let (pid_tx, pid_rx) = mpsc::channel();
    let exited = ExitFlag::default();
    let exit_signal = exited.clone();
    std::thread::Builder::new()
        .name(format!("postgres-{port}"))
        .spawn(move || match cmd.spawn() {
            Ok(mut child) => {
                let _ = pid_tx.send(Ok(child.id()));
                // This thread must outlive the server: the parent-death signal
                // fires when the spawning thread exits.
                let _ = child.wait();
                exit_signal.set();
            }
            Err(err) => {
                let _ = pid_tx.send(Err(err));
            }
        })
        .context("spawning the PostgreSQL supervisor thread")?;
    let pid = pid_rx
        .recv()
        .context("PostgreSQL supervisor thread died")?
        .context("starting postgres")?;
    Ok((Pid::from_raw(pid as i32), exited))
}

async fn wait_until_ready(port: u16, exited: &ExitFlag, log: &Path) -> anyhow::Result<()> {
    let url = format!("postgres://{SUPERUSER}@127.0.0.1:{port}/postgres");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if exited.is_set() {
            bail!(
                "PostgreSQL exited during start-up:\n{}",
                tail(log, 15).unwrap_or_default()
            );
        }
        if let Ok(conn) = PgConnection::connect(&url).await {
            let _ = conn.close().await;
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "PostgreSQL did not accept connections within {START_TIMEOUT:?}:\n{}",
                tail(log, 15).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Set once by the supervisor thread when the server process has exited.
#[derive(Debug, Clone, Default)]
struct ExitFlag(Arc<(Mutex<bool>, Condvar)>);

impl ExitFlag {
    fn set(&self) {
        let (lock, cvar) = &*self.0;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }

    fn is_set(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `timeout`; true if the process has exited.
    fn wait(&self, timeout: Duration) -> bool {
        let (lock, cvar) = &*self.0;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |exited| !*exited)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

fn tail(path: &Path, lines: usize) -> Option<String> {
    let file = fs::File::open(path).ok()?;
    let all: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    Some(all[all.len().saturating_sub(lines)..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_pid_of_self_is_our_parent() {
        let me = std::process::id() as i32;
        let expected = nix::unistd::getppid().as_raw();
        assert_eq!(parent_pid(me), Some(expected));
    }

    #[test]
    fn process_name_of_missing_pid_is_none() {
        assert_eq!(process_name(i32::MAX), None);
    }
}
