//! The thread that starts the postmaster, waits for it and, once it has
//! served, starts it again (same port and socket, so pools reconnect) when it
//! dies without being asked to.
//!
//! The postmaster gets a parent-death signal (SIGINT = fast shutdown), so a
//! `kill -9` of the dashboard or a test binary exiting without destructors
//! still stops the cluster cleanly. That signal is tied to the spawning
//! *thread*, so every start happens on this one thread, which lives as long
//! as a server may run.

use std::process::{Child, Command};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Restarts after a failed restart wait this long, doubling up to the cap.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// A server that ran this long is healthy again: the next failure retries fast.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct State {
    /// The running postmaster, if any.
    pid: Option<Pid>,
    /// Restart on an unexpected exit (set once the first start is ready).
    supervising: bool,
    /// A stop was asked for: never restart again.
    stopping: bool,
    /// The thread has finished: no server runs and none will.
    finished: bool,
}

/// The supervisor's shared state.
#[derive(Debug, Clone, Default)]
pub(super) struct Supervisor(Arc<(Mutex<State>, Condvar)>);

impl Supervisor {
    /// Starts the postmaster built by `command` on a new supervisor thread
    /// named `name`; returns once it is spawned.
    pub fn spawn(
        name: String,
        command: impl Fn() -> std::io::Result<Command> + Send + 'static,
    ) -> anyhow::Result<Self> {
        let supervisor = Self::default();
        let shared = supervisor.clone();
        let (started_tx, started_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let first = command().and_then(|mut cmd| cmd.spawn());
                match first {
                    Ok(child) => {
                        shared.lock().pid = Some(pid_of(&child));
                        let _ = started_tx.send(Ok(()));
                        shared.watch(child, command);
                    }
                    Err(err) => {
                        shared.finish(&mut shared.lock());
                        let _ = started_tx.send(Err(err));
                    }
                }
            })
            .context("spawning the PostgreSQL supervisor thread")?;
        started_rx
            .recv()
            .context("PostgreSQL supervisor thread died")?
            .context("starting postgres")?;
        Ok(supervisor)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn finish(&self, state: &mut State) {
        state.pid = None;
        state.finished = true;
        self.0.1.notify_all();
    }

    /// The thread's life after the first start.
    fn watch(&self, mut child: Child, command: impl Fn() -> std::io::Result<Command>) {
        let mut started = Instant::now();
        let mut retry = FIRST_RETRY;
        loop {
            let status = child.wait();
            let mut state = self.lock();
            state.pid = None;
            if state.stopping || !state.supervising {
                self.finish(&mut state);
                return;
            }
            if started.elapsed() > HEALTHY_AFTER {
                retry = FIRST_RETRY;
            }
            let status = status.map_or_else(|err| err.to_string(), |status| status.to_string());
            tracing::warn!(
                %status,
                "the embedded PostgreSQL exited unexpectedly; restarting it in {retry:?}"
            );
            // Restart, unless a stop comes first. The lock is held while
            // spawning, so a stop either sees the new pid or prevents it.
            child = loop {
                state = self
                    .0
                    .1
                    .wait_timeout_while(state, retry, |state| !state.stopping)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                if state.stopping {
                    self.finish(&mut state);
                    return;
                }
                retry = (retry * 2).min(MAX_RETRY);
                match command().and_then(|mut cmd| cmd.spawn()) {
                    Ok(child) => break child,
                    Err(err) => tracing::error!(
                        error = %err,
                        "could not restart the embedded PostgreSQL; trying again in {retry:?}"
                    ),
                }
            };
            state.pid = Some(pid_of(&child));
            started = Instant::now();
            tracing::warn!(
                pid = pid_of(&child).as_raw(),
                "restarted the embedded PostgreSQL"
            );
        }
    }

    /// From now on an unexpected exit is followed by a restart. False if
    /// the server has already exited.
    pub fn supervise(&self) -> bool {
        let mut state = self.lock();
        state.supervising = !state.finished;
        state.supervising
    }

    pub fn has_finished(&self) -> bool {
        self.lock().finished
    }

    /// Stops the server for good with `signal`; true once it has exited
    /// within `timeout`.
    pub fn stop(&self, signal: Signal, timeout: Duration) -> bool {
        let pid = {
            let mut state = self.lock();
            state.stopping = true;
            self.0.1.notify_all();
            state.pid
        };
        if let Some(pid) = pid {
            let _ = kill(pid, signal);
        }
        self.wait_finished(timeout)
    }

    fn wait_finished(&self, timeout: Duration) -> bool {
        let state = self.lock();
        self.0
            .1
            .wait_timeout_while(state, timeout, |state| !state.finished)
            .unwrap_or_else(|e| e.into_inner())
            .0
            .finished
    }
}

fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(child.id() as i32)
}
