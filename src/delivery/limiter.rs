//! The bot's send budget: evenly spaced slots at the configured rate (no
//! burst, so N messages take (N − 1) / rate seconds), and a pause that
//! holds every sender back when Telegram answers 429.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The next free slot.
    next: Instant,
    /// Nobody sends before this.
    paused_until: Instant,
}

impl RateLimiter {
    pub fn new(rate_per_sec: u32) -> Self {
        let now = Instant::now();
        Self {
            interval: Duration::from_secs(1) / rate_per_sec.max(1),
            state: Mutex::new(State {
                next: now,
                paused_until: now,
            }),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        loop {
            let slot = {
                let mut state = self.state.lock().expect("limiter lock");
                let slot = state.next.max(Instant::now()).max(state.paused_until);
                state.next = slot + self.interval;
                slot
            };
            sleep_until(slot).await;
            // A 429 may have arrived while we waited: then queue again
            // behind the pause.
            let paused_until = self.state.lock().expect("limiter lock").paused_until;
            if paused_until <= Instant::now() {
                return;
            }
        }
    }

    /// Holds every sender back for `wait` (Telegram's `retry_after`).
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = self.state.lock().expect("limiter lock");
        state.paused_until = state.paused_until.max(until);
        state.next = state.next.max(until);
    }

    /// Whether sending is paused by a 429 right now.
    pub fn paused(&self) -> bool {
        self.state.lock().expect("limiter lock").paused_until > Instant::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_evenly_spaced_without_a_burst() {
        let limiter = RateLimiter::new(50);
        let start = Instant::now();
        for _ in 0..100 {
            limiter.acquire().await;
        }
        // 99 gaps of 20 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(1980));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_back_every_sender_including_those_already_waiting() {
        let limiter = std::sync::Arc::new(RateLimiter::new(10));
        let start = Instant::now();
        limiter.acquire().await;
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                limiter.acquire().await;
                Instant::now()
            })
        };
        tokio::task::yield_now().await;
        limiter.pause_for(Duration::from_secs(3));
        assert!(limiter.paused());
        let resumed = waiting.await.unwrap();
        assert!(
            resumed - start >= Duration::from_secs(3),
            "{:?}",
            resumed - start
        );
        limiter.acquire().await;
        assert!(Instant::now() - start >= Duration::from_millis(3100));
        assert!(!limiter.paused());
    }
}
