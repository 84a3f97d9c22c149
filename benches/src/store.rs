//! The workload of the store benchmarks (`benches/store.rs`, `benches/store_memory.rs`):
//! keys, values, a seeded PRNG, a Zipf sampler and a floe store sized for them.
//!
//! Every contender is fed the same bytes: [`KEY_COUNT`] keys of [`KEY_SIZE`] bytes with
//! values of [`VALUE_SIZE`] bytes. Keys are a 4-byte prefix and 12 decimal digits, so the
//! inserted keyspace (`key:`) and the never-inserted one (`mis:`) cannot overlap.

use floe_core::arena::Arena;
use floe_core::storage::policy::EvictionPolicy;
use floe_core::store::{Config, Store};

/// Keys in every pre-filled contender (the 1M).
pub const KEY_COUNT: usize = 1_000_000;
/// Bytes per key.
pub const KEY_SIZE: usize = 16;
/// Bytes per value.
pub const VALUE_SIZE: usize = 32;
/// The fixed `now` given to every floe call; nothing in the benchmarks expires.
pub const NOW: u64 = 1_700_000_000_000;
/// Prefix of the keys that are inserted.
pub const PREFIX_PRESENT: [u8; 4] = *b"key:";
/// Prefix of the keys that are never inserted (for misses).
pub const PREFIX_ABSENT: [u8; 4] = *b"mis:";
/// Decimal digits after the prefix.
const DIGIT_COUNT: usize = KEY_SIZE - 4;

/// One key.
pub type Key = [u8; KEY_SIZE];
/// One value.
pub type Value = [u8; VALUE_SIZE];

/// Key number `index` of the keyspace named by `prefix`.
///
/// # Panics
/// If `index` has more than 12 decimal digits.
#[must_use]
pub fn key(prefix: [u8; 4], index: usize) -> Key {
    assert!(index < 10usize.pow(12), "index={index}");
    let mut key = [0u8; KEY_SIZE];
    key[..4].copy_from_slice(&prefix);
    write_digits(&mut key[4..], index);
    key
}

/// Keys `0..count` of the keyspace named by `prefix`, in an order shuffled by `rng`.
#[must_use]
pub fn shuffled_keys(prefix: [u8; 4], count: usize, rng: &mut SplitMix64) -> Vec<Key> {
    let mut keys: Vec<Key> = (0..count).map(|index| key(prefix, index)).collect();
    rng.shuffle(&mut keys);
    keys
}

/// The value stored under key number `index` when a contender is pre-filled.
#[must_use]
pub fn value(index: usize) -> Value {
    let mut value = [b'v'; VALUE_SIZE];
    write_digits(&mut value[VALUE_SIZE - DIGIT_COUNT..], index);
    value
}

/// Writes `number` in decimal, zero-padded to fill `target`.
fn write_digits(target: &mut [u8], mut number: usize) {
    for byte in target.iter_mut().rev() {
        // NOTE: a remainder of 10 fits in u8.
        #[expect(clippy::cast_possible_truncation, reason = "a digit fits in u8")]
        let digit = (number % 10) as u8;
        *byte = b'0' + digit;
        number /= 10;
    }
    assert!(number == 0, "number has more digits than the target");
}

/// SplitMix64 (Steele, Lea and Flood): a small seeded PRNG, so every run sees the same
/// access order.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (Lemire's multiply-shift; the bias is below 2^-40 here).
    pub fn below(&mut self, bound: usize) -> usize {
        let product = u128::from(self.next_u64()) * bound as u128;
        usize::try_from(product >> 64).expect("the high half is below bound, a usize")
    }

    /// A float in `[0, 1)` with 53 random bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            items.swap(index, self.below(index + 1));
        }
    }
}

/// Ranks `0..n` drawn with probability proportional to `1 / (rank + 1)^s`, by inverse
/// transform over a precomputed cumulative table.
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// A sampler over `n` ranks with exponent `s`.
    ///
    /// # Panics
    /// If `n` is zero.
    #[must_use]
    pub fn new(n: usize, s: f64) -> Self {
        assert!(n > 0, "n={n}");
        let mut cumulative = Vec::with_capacity(n);
        let mut sum = 0.0;
        for rank in 1..=n {
            sum += (rank as f64).powf(-s);
            cumulative.push(sum);
        }
        for weight in &mut cumulative {
            *weight /= sum;
        }
        Self { cumulative }
    }

    /// A rank in `0..n`; rank 0 is the most frequent.
    pub fn sample(&self, rng: &mut SplitMix64) -> usize {
        let unit = rng.unit();
        let rank = self.cumulative.partition_point(|&weight| weight <= unit);
        rank.min(self.cumulative.len() - 1)
    }
}

/// A floe store with `memory_size` bytes of item memory and room for `keys_max` keys, under
/// the default policy (`noeviction`).
///
/// The arena buffer is leaked so the store can be `'static`: a benchmark builds a few and
/// exits.
///
/// # Panics
/// If the configuration is invalid.
#[must_use]
pub fn floe_store(memory_size: usize, keys_max: usize) -> Store<'static> {
    floe_store_with_policy(memory_size, keys_max, EvictionPolicy::NoEviction)
}

/// Like [`floe_store`] in a zeroed `buffer` the caller allocated (the store bench's
/// huge-pages contender: `floe_runtime::memory::zeroed_buffer`), which must hold
/// `Config::new(memory_size, keys_max).arena_size()` bytes.
///
/// # Panics
/// If the configuration is invalid or does not fit the buffer.
#[must_use]
pub fn floe_store_in(
    buffer: &'static mut [u8],
    memory_size: usize,
    keys_max: usize,
) -> Store<'static> {
    let config = Config::new(memory_size, keys_max);
    let mut arena = Arena::from_zeroed_buffer(buffer);
    let store = Store::new(&mut arena, config).expect("the configuration fits its arena");
    arena.freeze().expect("a new arena freezes once");
    store
}

/// Like [`floe_store`], under `policy` (the hit-ratio benchmark's caches).
///
/// # Panics
/// If the configuration is invalid.
#[must_use]
pub fn floe_store_with_policy(
    memory_size: usize,
    keys_max: usize,
    policy: EvictionPolicy,
) -> Store<'static> {
    let mut config = Config::new(memory_size, keys_max);
    config.policy = policy;
    let memory = Box::leak(vec![0u8; config.arena_size()].into_boxed_slice());
    let mut arena = Arena::from_buffer(memory);
    let store = Store::new(&mut arena, config).expect("the configuration fits its arena");
    arena.freeze().expect("a new arena freezes once");
    store
}
