//! Finding the server programs and the OS user to run them as.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, anyhow};
use nix::unistd::{Gid, Uid, User};

use super::{INSTALL_HINT, SUPERUSER};

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

    /// The path of one of the server's programs (e.g. `psql`).
    pub fn program(&self, program: &str) -> PathBuf {
        self.bin_dir.join(program)
    }

    /// Whether the server's OS user can enter `dir` (every folder above it
    /// included): tried for real, as that user.
    pub(super) fn can_enter(&self, dir: &Path) -> anyhow::Result<bool> {
        if self.run_as.is_none() {
            return Ok(true);
        }
        let probe = self
            .command("postgres")
            .arg("--version")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match probe {
            Ok(_) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => Ok(false),
            Err(err) => Err(err).context("running postgres --version"),
        }
    }

    /// Gives `path` to the user the server runs as.
    pub(super) fn hand_over(&self, path: &Path) -> anyhow::Result<()> {
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
