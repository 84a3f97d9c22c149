//! A cache in front of a slow function: `floe::Db` with persistence off, a TTL on every
//! entry and an LRU eviction policy, then the hit and miss counters.
//!
//! Run it with `cargo run --example cache`. The slow function is a stand-in for a database
//! query or an HTTP call: it sleeps, then computes a value from its argument. Asking for
//! the same argument again within the TTL is answered from the cache; after the TTL it is
//! computed again.

use std::error::Error;
use std::thread;
use std::time::{Duration, Instant};

use floe::{Db, DbConfig, EvictionPolicy};

/// How long a computed value is served from the cache.
const TTL: Duration = Duration::from_millis(200);

/// What the slow function costs per call.
const SLOW_DELAY: Duration = Duration::from_millis(20);

/// The expensive computation the cache sits in front of.
fn slow_square(number: u64) -> u64 {
    thread::sleep(SLOW_DELAY);
    number * number
}

/// A memoizing cache over [`slow_square`].
struct SquareCache {
    db: Db,
}

impl SquareCache {
    fn new() -> Result<Self, floe::DbError> {
        let mut config = DbConfig::new(1 << 20, 1000); // 1 MiB of items, 1,000 keys at most
        config.persistence = false; // a pure cache: no directory, no files
        config.store.policy = EvictionPolicy::AllKeysLru; // full: drop the coldest, never refuse
        Ok(Self {
            db: Db::open("unused", config)?,
        })
    }

    /// The square of `number`, from the cache when it holds a fresh one.
    fn get(&self, number: u64) -> Result<u64, floe::DbError> {
        let key = number.to_le_bytes();
        let cached = self.db.get_with(&key, |value| {
            value
                .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
                .map(u64::from_le_bytes)
        });
        if let Some(square) = cached {
            return Ok(square);
        }
        let square = slow_square(number);
        self.db.set_with_ttl(&key, &square.to_le_bytes(), TTL)?;
        Ok(square)
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let cache = SquareCache::new()?;

    let started = Instant::now();
    for number in [3, 4, 3, 3, 4, 5] {
        println!("square({number}) = {}", cache.get(number)?);
    }
    println!("six lookups, three computed: {:?}", started.elapsed());

    thread::sleep(TTL + Duration::from_millis(50));
    println!(
        "after the TTL: square(3) = {} (computed again)",
        cache.get(3)?
    );

    let stats = cache.db.stats().store;
    println!(
        "stats: hits={} misses={} expired={} keys={} memory_live_size={}",
        stats.hits, stats.misses, stats.expired, stats.keys, stats.memory_live_size
    );
    if stats.hits != 3 || stats.misses != 4 {
        return Err(format!("expected 3 hits and 4 misses, got {stats:?}").into());
    }
    Ok(())
}
