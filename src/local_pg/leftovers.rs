//! What a killed or crashed previous run leaves behind.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::STOP_TIMEOUT;

/// Deals with a `postmaster.pid` left by a previous run.
pub(super) fn take_over_leftovers(cluster: &Path) -> anyhow::Result<()> {
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
