//! What a login attempt costs. A login that keeps failing answers more and
//! more slowly (capped, so its owner still gets in); only a client address
//! that keeps failing is refused outright; and password hashing, the
//! expensive part, runs a few at a time, turning the rest away at once.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use ipnet::IpNet;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

/// Failed attempts are remembered this long.
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// Failures allowed from one client network inside the window; further
/// attempts from it are refused, even with the right password.
pub const MAX_FAILURES_PER_NETWORK: i64 = 10;
/// Failures of one typed login that cost nothing extra (typos).
const FREE_FAILURES: i64 = 3;
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The most a login's failures slow down its next attempt.
pub const MAX_DELAY: Duration = Duration::from_secs(3);
/// Logins reading and writing the database at once (a few milliseconds
/// each); the rest are turned away at once, so a flood of logins holds at
/// most this many of the pool's 20 connections.
pub const LOGINS_AT_ONCE: usize = 4;
/// Argon2 needs 19 MiB a hash: this bounds memory whatever the core count.
const MAX_HASHING_SLOTS: usize = 4;

/// How long an attempt on a login waits after `failures` recent failures of
/// that login: nothing for the first few, then 0.5 s doubling up to 3 s.
pub fn login_delay(failures: i64) -> Duration {
    let over = failures - FREE_FAILURES;
    if over <= 0 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(over - 1).unwrap_or(u32::MAX).min(8);
    (FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

/// What counts as one client: an IPv4 address, or an IPv6 /64 (one
/// customer's network; they get a whole one).
pub fn client_network(addr: IpAddr) -> IpNet {
    let prefix = match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 64,
    };
    IpNet::new(addr, prefix)
        .expect("the prefix fits the address family")
        .trunc()
}

/// The right to run one password hash now.
pub struct HashingSlot {
    permit: OwnedSemaphorePermit,
    jobs: mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

/// Password hashing, a few at a time on threads of its own. Own threads
/// rather than tokio's blocking pool, whose threads come and go: argon2's
/// 19 MiB buffers are kept by the allocator per thread, so a handful of
/// long-lived threads keep memory flat under a flood of logins.
#[derive(Clone)]
pub struct HashingSlots {
    slots: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
}

impl HashingSlots {
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..slots {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    loop {
                        // Ends when the last sender (the app) is gone.
                        let job = queue.lock().expect("no job panics holding it").recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                })
                .expect("starting a password-hashing thread");
        }
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            jobs,
        }
    }

    /// One slot per core, at most [`MAX_HASHING_SLOTS`].
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::new(cores.min(MAX_HASHING_SLOTS))
    }

    /// A free slot, or `None` at once when all are busy.
    pub fn try_take(&self) -> Option<HashingSlot> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        Some(HashingSlot {
            permit,
            jobs: self.jobs.clone(),
        })
    }
}

impl HashingSlot {
    /// Runs `work` on a hashing thread. The slot is given back when the work
    /// is done, even if the caller stopped waiting for it.
    pub async fn run<T: Send + 'static>(
        self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (done, result) = oneshot::channel();
        let permit = self.permit;
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            drop(permit);
            if let Ok(value) = outcome {
                let _ = done.send(value);
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the password-hashing threads are gone"))?;
        result
            .await
            .map_err(|_| anyhow::anyhow!("password hashing failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_with_failures_up_to_the_cap() {
        let delays: Vec<u64> = (0..=10)
            .map(|failures| login_delay(failures).as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            [0, 0, 0, 0, 500, 1000, 2000, 3000, 3000, 3000, 3000]
        );
        assert_eq!(login_delay(i64::MAX), MAX_DELAY);
        assert_eq!(login_delay(-1), Duration::ZERO);
    }

    #[test]
    fn one_client_is_an_ipv4_address_or_an_ipv6_64() {
        let network = |addr: &str| client_network(addr.parse().unwrap()).to_string();
        assert_eq!(network("192.0.2.7"), "192.0.2.7/32");
        assert_eq!(network("2001:db8:5:6:ffff::2"), "2001:db8:5:6::/64");
    }

    #[tokio::test]
    async fn slots_run_out_and_come_back_when_the_work_is_done() {
        let slots = HashingSlots::new(2);
        let first = slots.try_take().unwrap();
        let _second = slots.try_take().unwrap();
        assert!(slots.try_take().is_none());
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = oneshot::channel();
        let work = tokio::spawn(first.run(move || {
            started.send(()).unwrap();
            wait.recv().unwrap();
            7
        }));
        running.await.unwrap();
        work.abort();
        assert!(
            slots.try_take().is_none(),
            "the caller gave up, the hash still runs"
        );
        release.send(()).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while slots.try_take().is_none() {
            assert!(tokio::time::Instant::now() < deadline, "the slot came back");
            tokio::task::yield_now().await;
        }
        let third = slots.try_take().unwrap();
        assert_eq!(third.run(|| 6 * 7).await.unwrap(), 42);
    }
}
