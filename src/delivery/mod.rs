//! The broadcast delivery engine: a tokio task beside the web server that
//! talks to `store` and `telegram`, never to `web`.

mod engine;
pub mod limiter;
pub mod outcome;

pub use engine::{Engine, EngineConfig, Wake};

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// When the scheduler loop last woke up, for `/api/test-db`. Lock-free so the
/// loop and the health route never contend.
#[derive(Debug, Default)]
pub struct Heartbeat {
    /// Milliseconds since the Unix epoch; 0 = never.
    last_tick_ms: AtomicI64,
}

impl Heartbeat {
    pub fn tick(&self, at: DateTime<Utc>) {
        self.last_tick_ms
            .store(at.timestamp_millis(), Ordering::Relaxed);
    }

    pub fn last_tick(&self) -> Option<DateTime<Utc>> {
        match self.last_tick_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => DateTime::from_timestamp_millis(ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_starts_empty_and_records_ticks() {
        let heartbeat = Heartbeat::default();
        assert_eq!(heartbeat.last_tick(), None);
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        heartbeat.tick(at);
        assert_eq!(heartbeat.last_tick(), Some(at));
    }
}
