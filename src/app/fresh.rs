//! Short-lived shared results: the hot reads (stream and course counts, the
//! bookings list) are computed once and shared by every request that asks
//! within the freshness budget, instead of once per request.
//!
//! The rule they keep (issue 19): what the bot writes shows within a second,
//! and what this process writes shows at once.
//! - A result is served only while the query that made it started less than
//!   [`MAX_AGE`] ago, so it holds every row committed more than that before
//!   the request.
//! - Once it is [`REFRESH_AFTER`] old, the next request starts a fresh load
//!   in the background and is still answered from the result it has: under
//!   steady traffic nobody waits for a load.
//! - Requests that find no usable result wait for one load together (one
//!   query per key, however many ask at once).
//! - A change made through this process ([`Fresh::invalidate`], called after
//!   every successful write request) makes every result made before it
//!   unusable, so the next read is loaded anew.
//!
//! Loads run in tasks of their own: a client that hangs up does not cancel
//! the query the others wait for.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use tokio::time::Instant;

/// A result is served while its query started less than this long ago.
pub const MAX_AGE: Duration = Duration::from_millis(900);

/// A result this old is still served, and a fresh one is loaded meanwhile.
pub const REFRESH_AFTER: Duration = Duration::from_millis(150);

/// The writes this process made: results loaded before the latest are not
/// served.
#[derive(Debug, Default)]
pub struct Generation(AtomicU64);

impl Generation {
    fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Marks every result loaded so far as out of date.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

type Loaded<V> = Result<Arc<V>, Arc<sqlx::Error>>;
type Load<V> = Shared<BoxFuture<'static, Loaded<V>>>;

/// A result with when its query started and the generation it belongs to.
struct Stamped<T> {
    item: T,
    started: Instant,
    generation: u64,
}

struct Entry<V> {
    value: Option<Stamped<Arc<V>>>,
    loading: Option<Stamped<Load<V>>>,
    last_used: Instant,
}

impl<V> Entry<V> {
    /// Takes in a load that has finished, if it is newer than the value.
    fn settle(&mut self) {
        let Some(loading) = &self.loading else {
            return;
        };
        let Some(outcome) = loading.item.peek() else {
            return;
        };
        if let Ok(value) = outcome {
            let newer = self
                .value
                .as_ref()
                .is_none_or(|held| held.started <= loading.started);
            if newer {
                self.value = Some(Stamped {
                    item: Arc::clone(value),
                    started: loading.started,
                    generation: loading.generation,
                });
            }
        }
        self.loading = None;
    }
}

/// Shared results of one kind of read, by key, at most `capacity` keys
/// (the least recently used go first).
pub struct Fresh<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
    generation: Arc<Generation>,
    capacity: usize,
}

impl<K, V> Fresh<K, V>
where
    K: Hash + Eq + Clone,
    V: Send + Sync + 'static,
{
    pub fn new(generation: Arc<Generation>, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            generation,
            capacity: capacity.max(1),
        }
    }

    /// The result for `key`, loaded by `load` when none is fresh enough.
    pub async fn get<F>(&self, key: &K, load: F) -> sqlx::Result<Arc<V>>
    where
        F: FnOnce() -> BoxFuture<'static, sqlx::Result<V>>,
    {
        let now = Instant::now();
        let generation = self.generation.current();
        let wait = {
            let mut entries = self.entries.lock().expect("fresh results lock");
            if !entries.contains_key(key) && entries.len() >= self.capacity {
                evict_oldest(&mut entries);
            }
            let entry = entries.entry(key.clone()).or_insert_with(|| Entry {
                value: None,
                loading: None,
                last_used: now,
            });
            entry.last_used = now;
            entry.settle();
            let usable = |started: Instant, made: u64| {
                made == generation && now.saturating_duration_since(started) < MAX_AGE
            };
            if let Some(held) = &entry.value
                && usable(held.started, held.generation)
            {
                let value = Arc::clone(&held.item);
                if now.saturating_duration_since(held.started) >= REFRESH_AFTER
                    && entry.loading.is_none()
                {
                    entry.loading = Some(start(load, now, generation));
                }
                return Ok(value);
            }
            match &entry.loading {
                Some(loading) if usable(loading.started, loading.generation) => {
                    loading.item.clone()
                }
                _ => {
                    let loading = start(load, now, generation);
                    let wait = loading.item.clone();
                    entry.loading = Some(loading);
                    wait
                }
            }
        };
        match wait.await {
            Ok(value) => {
                let mut entries = self.entries.lock().expect("fresh results lock");
                if let Some(entry) = entries.get_mut(key) {
                    entry.settle();
                }
                Ok(value)
            }
            Err(err) => Err(copy_error(&err)),
        }
    }
}

/// Starts `load` in a task of its own, which drives it to the end whether
/// or not anyone waits for it.
fn start<V: Send + Sync + 'static>(
    load: impl FnOnce() -> BoxFuture<'static, sqlx::Result<V>>,
    now: Instant,
    generation: u64,
) -> Stamped<Load<V>> {
    let item = load()
        .map(|outcome| outcome.map(Arc::new).map_err(Arc::new))
        .boxed()
        .shared();
    tokio::spawn(item.clone());
    Stamped {
        item,
        started: now,
        generation,
    }
}

fn evict_oldest<K: Hash + Eq + Clone, V>(entries: &mut HashMap<K, Entry<V>>) {
    if let Some(oldest) = entries
        .iter()
        .min_by_key(|(_, entry)| entry.last_used)
        .map(|(key, _)| key.clone())
    {
        entries.remove(&oldest);
    }
}

/// Every waiter gets its own error: an unreachable database stays one
/// (503), anything else becomes a fault with the same message (500).
fn copy_error(err: &sqlx::Error) -> sqlx::Error {
    if crate::store::is_unavailable(err) {
        sqlx::Error::PoolTimedOut
    } else {
        sqlx::Error::Protocol(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn counting(
        calls: &Arc<AtomicUsize>,
    ) -> impl FnOnce() -> BoxFuture<'static, sqlx::Result<usize>> {
        let calls = Arc::clone(calls);
        move || {
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(calls.fetch_add(1, Ordering::SeqCst) + 1)
            }
            .boxed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_readers_share_one_load() {
        let calls = Arc::new(AtomicUsize::new(0));
        let fresh: Arc<Fresh<&str, usize>> = Arc::new(Fresh::new(Arc::default(), 8));
        let readers: Vec<_> = (0..10)
            .map(|_| {
                let (fresh, calls) = (Arc::clone(&fresh), Arc::clone(&calls));
                tokio::spawn(async move { *fresh.get(&"k", counting(&calls)).await.unwrap() })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.await.unwrap(), 1);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn results_are_refreshed_ahead_and_never_served_past_their_age() {
        let calls = Arc::new(AtomicUsize::new(0));
        let fresh: Fresh<&str, usize> = Fresh::new(Arc::default(), 8);
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 1);
        // Young: served as it is, no load.
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 1);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Past REFRESH_AFTER: still served, and a load starts meanwhile.
        tokio::time::advance(REFRESH_AFTER).await;
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 2);
        // Past MAX_AGE with nobody asking: the next reader waits for a new one.
        tokio::time::advance(MAX_AGE).await;
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_in_this_process_is_seen_at_once() {
        let calls = Arc::new(AtomicUsize::new(0));
        let generation = Arc::new(Generation::default());
        let fresh: Fresh<&str, usize> = Fresh::new(Arc::clone(&generation), 8);
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 1);
        generation.bump();
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 2);
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_apart_and_the_least_recently_used_goes() {
        let calls = Arc::new(AtomicUsize::new(0));
        let fresh: Fresh<u32, usize> = Fresh::new(Arc::default(), 2);
        assert_eq!(*fresh.get(&1, counting(&calls)).await.unwrap(), 1);
        assert_eq!(*fresh.get(&2, counting(&calls)).await.unwrap(), 2);
        assert_eq!(*fresh.get(&1, counting(&calls)).await.unwrap(), 1);
        assert_eq!(*fresh.get(&3, counting(&calls)).await.unwrap(), 3);
        assert_eq!(fresh.entries.lock().unwrap().len(), 2);
        assert_eq!(*fresh.get(&1, counting(&calls)).await.unwrap(), 1, "kept");
        assert_eq!(
            *fresh.get(&2, counting(&calls)).await.unwrap(),
            4,
            "evicted"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_not_kept() {
        let fresh: Fresh<&str, usize> = Fresh::new(Arc::default(), 8);
        let failing = || async { Err(sqlx::Error::PoolTimedOut) }.boxed();
        let err = fresh.get(&"k", failing).await.unwrap_err();
        assert!(crate::store::is_unavailable(&err), "{err}");
        let calls = Arc::new(AtomicUsize::new(0));
        assert_eq!(*fresh.get(&"k", counting(&calls)).await.unwrap(), 1);
    }
}
