//! Where a cluster's files live, and the pointer to them.
//!
//! As root the server programs run as the `postgres` OS user, which often
//! cannot enter the project: a clone in `/root` (0700) or in a `mktemp -d`
//! folder. We don't open the user's folders to it; the cluster then lives in
//! `/var/lib/hsl-dashboard/<project>-<hash of the data folder's path>` (0700,
//! owned by `postgres`), and `<data folder>/pg` is a symbolic link to it, so
//! the next run (and a person with `ls -l`) finds it.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use super::PgBinaries;

/// Parent of the clusters kept outside their projects.
pub const OUTSIDE_BASE: &str = "/var/lib/hsl-dashboard";

/// The longest Unix-socket path the kernel takes (`sun_path` minus its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The folder holding `pg/` (the cluster), `run/` (the socket) and
/// `postgres.log`: the data folder itself, or one outside it.
#[derive(Debug, Clone)]
pub(super) struct Home {
    pub dir: PathBuf,
    /// `dir` is outside the data folder, linked from `<data folder>/pg`.
    pub linked: bool,
}

impl Home {
    pub fn cluster(&self) -> PathBuf {
        self.dir.join("pg")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }
}

/// Picks (and creates) the home for the data folder `root` (canonical).
pub(super) fn home_for(bins: &PgBinaries, root: &Path) -> anyhow::Result<Home> {
    let link = root.join("pg");
    if fs::symlink_metadata(&link).is_ok_and(|meta| meta.file_type().is_symlink()) {
        let target = fs::read_link(&link)?;
        let dir = target
            .parent()
            .filter(|dir| dir.parent() == Some(Path::new(OUTSIDE_BASE)))
            .filter(|_| target.file_name() == Some("pg".as_ref()))
            .with_context(|| {
                format!(
                    "{} links to {}, which is not a cluster kept by hsl-dashboard \
                     (those live in {OUTSIDE_BASE}/<project>-<hash>/pg)",
                    link.display(),
                    target.display()
                )
            })?
            .to_owned();
        make_outside_dir(bins, &dir)?;
        return Ok(Home { dir, linked: true });
    }

    // The data folder itself is ours to open; the folders above it are not.
    fs::set_permissions(root, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod {}", root.display()))?;
    if bins.can_enter(root)? {
        return Ok(Home {
            dir: root.to_owned(),
            linked: false,
        });
    }
    if link.exists() {
        bail!(
            "the postgres OS user cannot reach the cluster in {}: a folder above it is \
             closed to other users. Move the project somewhere it can reach, or move the \
             cluster to {OUTSIDE_BASE}/<name>/pg and replace {} with a link to it.",
            link.display(),
            link.display()
        );
    }
    let dir = Path::new(OUTSIDE_BASE).join(outside_name(root));
    make_outside_dir(bins, &dir)?;
    std::os::unix::fs::symlink(dir.join("pg"), &link)
        .with_context(|| format!("linking {} to {}", link.display(), dir.display()))?;
    Ok(Home { dir, linked: true })
}

/// `<project>-<12 hex digits of SHA-256 of the data folder's path>`, where the
/// project is the folder holding `.data` (or the data folder itself).
fn outside_name(root: &Path) -> String {
    let project = if root.file_name() == Some(".data".as_ref()) {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    let name: String = project
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    let hash = Sha256::digest(root.as_os_str().as_encoded_bytes());
    let hash: String = hash[..6].iter().map(|b| format!("{b:02x}")).collect();
    let name = name.trim_start_matches('.');
    if name.is_empty() {
        format!("project-{hash}")
    } else {
        format!("{name}-{hash}")
    }
}

/// `OUTSIDE_BASE` (0755, ours) and `dir` in it (0700, the server user's).
fn make_outside_dir(bins: &PgBinaries, dir: &Path) -> anyhow::Result<()> {
    let base = Path::new(OUTSIDE_BASE);
    if !base.is_dir() {
        fs::create_dir_all(base).with_context(|| format!("creating {OUTSIDE_BASE}"))?;
        fs::set_permissions(base, fs::Permissions::from_mode(0o755))?;
    }
    if !dir.is_dir() {
        fs::create_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    bins.hand_over(dir)
}

/// The socket's directory: `home/run`, or (when that path is too long for a
/// Unix socket or not UTF-8, which URLs need) a fresh private one in the
/// temp dir, which the caller removes when the server stops for good.
pub(super) fn socket_dir_for(home: &Path) -> anyhow::Result<(PathBuf, bool)> {
    let run = home.join("run");
    let longest = run.join(".s.PGSQL.65535.lock");
    if run.to_str().is_some() && longest.as_os_str().len() <= MAX_SOCKET_PATH {
        return Ok((run, false));
    }
    // A new name each time; `create` fails rather than reuse what exists.
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).context("choosing a socket directory name")?;
    let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("hsl-pg-{name}"));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    Ok((dir, true))
}

/// A socket directory only the server's user (and root) may enter: a
/// stale one (lock files of a dead server) is made afresh.
pub(super) fn make_socket_dir(bins: &PgBinaries, dir: &Path, fresh: bool) -> anyhow::Result<()> {
    if !fresh {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    bins.hand_over(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_names_carry_the_project_and_differ_by_path() {
        let a = outside_name(Path::new("/root/my project/.data"));
        let b = outside_name(Path::new("/srv/my project/.data"));
        assert!(a.starts_with("my_project-") && a.len() == "my_project-".len() + 12);
        assert_ne!(a, b);
        assert!(outside_name(Path::new("/tmp/x")).starts_with("x-"));
        assert!(outside_name(Path::new("/.data")).starts_with("project-"));
    }

    #[test]
    fn a_long_home_gets_a_socket_directory_in_the_temp_dir() {
        let (short, temporary) = socket_dir_for(Path::new("/srv/p/.data")).unwrap();
        assert_eq!(
            (short.as_path(), temporary),
            (Path::new("/srv/p/.data/run"), false)
        );
        let long = PathBuf::from("/srv").join("x".repeat(100));
        let (dir, temporary) = socket_dir_for(&long).unwrap();
        assert!(temporary && dir.starts_with(std::env::temp_dir()));
        fs::remove_dir(dir).unwrap();
    }
}
