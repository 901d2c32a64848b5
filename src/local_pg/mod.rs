//! Embedded PostgreSQL for zero-configuration runs and for the test suite.
//!
//! When `DATABASE_URL` is unset the dashboard runs the PostgreSQL server
//! binaries installed on the machine against a cluster under `./.data`.
//!
//! Design notes:
//! - `postgres` is started directly as our child (no `pg_ctl` daemon), in its
//!   own process group so a terminal's Ctrl-C reaches only the dashboard, which
//!   drains its requests and then stops the database with a fast shutdown.
//! - A supervisor thread per server starts it, gives it a parent-death signal
//!   and restarts it if it dies on its own (see [`supervisor`]).
//! - Closed to other local users: no TCP listener, and the Unix socket lives
//!   in a 0700 directory of the server's OS user (root gets in regardless).
//!   `pg_hba.conf` allows only that socket and is rewritten at every start.
//! - `initdb` refuses to run as root, so as root every program runs as the
//!   `postgres` OS user and the cluster's directories are chowned to it. When
//!   that user cannot enter the project, the cluster lives outside it (see
//!   [`home`]).
//! - A stale `postmaster.pid` (the process is gone) is removed; a cluster left
//!   running by a killed previous run is stopped and restarted under our
//!   supervision; a cluster owned by another live dashboard is refused.

mod binaries;
pub mod home;
mod leftovers;
mod supervisor;

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use nix::sys::signal::Signal;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sqlx::{Connection, PgConnection};
use url::Url;

pub use binaries::PgBinaries;
use home::Home;
use leftovers::take_over_leftovers;
use supervisor::Supervisor;

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

/// A running PostgreSQL server that this process supervises.
#[derive(Debug)]
pub struct LocalPg {
    port: u16,
    home: Home,
    socket_dir: PathBuf,
    /// `socket_dir` was made for this server and goes when it stops.
    temporary_socket_dir: bool,
    cluster_created: bool,
    supervisor: Supervisor,
    stopped: bool,
}

impl LocalPg {
    /// Starts (creating on first use) the cluster for the data folder `root`:
    /// the cluster in `root/pg`, the socket in `root/run`, the server log in
    /// `root/postgres.log` — or, when the server's OS user cannot enter
    /// `root`, the same under a folder in [`home::OUTSIDE_BASE`] that
    /// `root/pg` links to.
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
        let root = fs::canonicalize(root)?;
        let prepared = tokio::task::spawn_blocking(move || prepare_cluster(&root))
            .await
            .context("local PostgreSQL start-up task panicked")??;
        let Prepared {
            bins,
            home,
            socket_dir,
            temporary_socket_dir,
            created: cluster_created,
        } = prepared;

        let mut last_error = None;
        for _attempt in 0..3 {
            // The port only names the socket (there is no TCP listener), but
            // distinct ports keep the servers' System V IPC keys apart.
            let port = match port {
                Some(port) => port,
                None => free_port()?,
            };
            let server = Server {
                bins: bins.clone(),
                cluster: home.cluster(),
                socket_dir: socket_dir.clone(),
                log: home.log(),
                port,
                durability,
            };
            let supervisor =
                Supervisor::spawn(format!("postgres-{port}"), move || server.command())?;
            let url = socket_url(&socket_dir, port, "postgres");
            match wait_until_ready(&url, &supervisor, &home.log()).await {
                Ok(()) if supervisor.supervise() => {
                    return Ok(Self {
                        port,
                        home,
                        socket_dir,
                        temporary_socket_dir,
                        cluster_created,
                        supervisor,
                        stopped: false,
                    });
                }
                Ok(()) => last_error = Some(anyhow!("PostgreSQL exited right after start-up")),
                Err(err) => {
                    supervisor.stop(Signal::SIGQUIT, STOP_TIMEOUT);
                    last_error = Some(err);
                }
            }
        }
        if temporary_socket_dir {
            let _ = fs::remove_dir_all(&socket_dir);
        }
        Err(last_error.unwrap_or_else(|| anyhow!("PostgreSQL did not start")))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of the server's Unix socket (0700, the server user's).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The cluster's real location (outside the data folder when
    /// [`LocalPg::is_linked`]).
    pub fn cluster_dir(&self) -> PathBuf {
        self.home.cluster()
    }

    /// The cluster lives outside the data folder, which holds a link `pg` to it.
    pub fn is_linked(&self) -> bool {
        self.home.linked
    }

    /// Whether `initdb` ran in this start (the cluster is brand new).
    pub fn cluster_created(&self) -> bool {
        self.cluster_created
    }

    /// Connection URL for `database` as the superuser over the Unix socket
    /// (`postgres://postgres@localhost:PORT/db?host=/socket/dir`, which sqlx
    /// and psql both read).
    pub fn url(&self, database: &str) -> String {
        socket_url(&self.socket_dir, self.port, database)
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
        let stopped = self.supervisor.stop(Signal::SIGINT, STOP_TIMEOUT)
            || self.supervisor.stop(Signal::SIGQUIT, STOP_TIMEOUT);
        if self.temporary_socket_dir {
            let _ = fs::remove_dir_all(&self.socket_dir);
        }
        if !stopped {
            bail!(
                "PostgreSQL ({}) did not stop",
                self.home.cluster().display()
            );
        }
        Ok(())
    }
}

impl Drop for LocalPg {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

fn socket_url(socket_dir: &Path, port: u16, database: &str) -> String {
    // Slashes stay as they are, so the printed URL reads as a path.
    const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let mut url =
        Url::parse(&format!("postgres://{SUPERUSER}@localhost:{port}/")).expect("a valid URL");
    url.set_path(database);
    let host = utf8_percent_encode(&socket_dir.to_string_lossy(), QUERY_VALUE).to_string();
    url.set_query(Some(&format!("host={host}")));
    url.into()
}

/// What [`prepare_cluster`] found or made.
struct Prepared {
    bins: PgBinaries,
    home: Home,
    socket_dir: PathBuf,
    temporary_socket_dir: bool,
    /// initdb ran.
    created: bool,
}

/// Only the Unix socket, whose directory only the server's OS user (and
/// root) may enter; TCP is refused even if someone turns a listener on.
const PG_HBA: &str = "\
# Written by hsl-dashboard at every start: only the Unix socket is open, in a
# directory (0700) that only the server's OS user and root may enter.
local all all trust
host all all all reject
";

/// Blocking set-up before the server starts.
fn prepare_cluster(root: &Path) -> anyhow::Result<Prepared> {
    let bins = PgBinaries::locate()?;
    let home = home::home_for(&bins, root)?;
    let cluster = home.cluster();
    let created = if cluster.join("PG_VERSION").is_file() {
        false
    } else {
        init_cluster(&bins, &home.dir, &cluster)?;
        true
    };
    take_over_leftovers(&cluster)?;
    // Clusters made before the socket-only set-up trusted TCP too.
    fs::write(cluster.join("pg_hba.conf"), PG_HBA).context("writing pg_hba.conf")?;
    let (socket_dir, temporary_socket_dir) = home::socket_dir_for(&home.dir)?;
    home::make_socket_dir(&bins, &socket_dir, temporary_socket_dir)?;
    Ok(Prepared {
        bins,
        home,
        socket_dir,
        temporary_socket_dir,
        created,
    })
}

fn init_cluster(bins: &PgBinaries, home: &Path, cluster: &Path) -> anyhow::Result<()> {
    // initdb into a scratch directory and rename, so an interrupted initdb
    // never leaves a half-made cluster that looks real.
    let scratch = home.join("pg.initdb");
    let fresh_scratch = || -> anyhow::Result<()> {
        let _ = fs::remove_dir_all(&scratch);
        fs::create_dir_all(&scratch)?;
        fs::set_permissions(&scratch, fs::Permissions::from_mode(0o700))?;
        bins.hand_over(&scratch)
    };
    let run = |locale_args: &[&str]| {
        bins.command("initdb")
            .current_dir(home)
            .arg("--pgdata")
            .arg(&scratch)
            .args(["--username", SUPERUSER, "--encoding", "UTF8"])
            .args(["--auth-local", "trust", "--auth-host", "reject"])
            .args(locale_args)
            .stdin(Stdio::null())
            .output()
    };
    fresh_scratch()?;
    // C.UTF-8 gives byte-order collation (fast, stable) with Unicode-aware
    // lower()/ILIKE, which Cyrillic search needs; fall back where it's missing.
    let mut output = run(&["--locale", "C.UTF-8"]).context("running initdb")?;
    if !output.status.success() {
        fresh_scratch()?;
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

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// How to run the postmaster; every (re)start builds its command afresh.
struct Server {
    bins: PgBinaries,
    cluster: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    port: u16,
    durability: Durability,
}

impl Server {
    fn command(&self) -> std::io::Result<Command> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut cmd = self.bins.command("postgres");
        cmd.current_dir(&self.cluster)
            .arg("-D")
            .arg(&self.cluster)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(&self.socket_dir)
            // No TCP at all: other local users could reach a loopback port.
            .args(["-c", "listen_addresses="])
            .args(["-c", "unix_socket_permissions=0700"])
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a terminal's Ctrl-C reaches only the
            // dashboard, which drains its requests and then stops the database.
            .process_group(0);
        if self.durability == Durability::Throwaway {
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
        Ok(cmd)
    }
}

async fn wait_until_ready(url: &str, supervisor: &Supervisor, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if supervisor.has_finished() {
            bail!(
                "PostgreSQL exited during start-up:\n{}",
                tail(log, 15).unwrap_or_default()
            );
        }
        if let Ok(conn) = PgConnection::connect(url).await {
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

fn tail(path: &Path, lines: usize) -> Option<String> {
    let file = fs::File::open(path).ok()?;
    let all: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    Some(all[all.len().saturating_sub(lines)..].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_socket_directory_readably_and_sqlx_reads_it() {
        let url = socket_url(Path::new("/tmp/a b/.data/run"), 5432, "hsl_dashboard");
        assert_eq!(
            url,
            "postgres://postgres@localhost:5432/hsl_dashboard?host=/tmp/a%20b/.data/run"
        );
        let options: sqlx::postgres::PgConnectOptions = url.parse().unwrap();
        assert_eq!(
            options.get_socket(),
            Some(&PathBuf::from("/tmp/a b/.data/run"))
        );
        assert_eq!(options.get_port(), 5432);
        assert_eq!(options.get_database(), Some("hsl_dashboard"));
    }
}
