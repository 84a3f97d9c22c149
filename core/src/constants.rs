//! Every compile-time limit of the engine, with checks of how they relate.
//!
//! Limits a user may change at start (memory, keys, key and value sizes, eviction policy)
//! live in [`crate::store::Config`]; their defaults are here.

/// Numbered databases (Redis `SELECT 0..15`); all share one table.
pub const DATABASE_COUNT: u8 = 16;

/// Bytes per table slot: a location and policy bits.
pub const SLOT_SIZE: usize = 8;

/// Bytes per slot in the table's tag array: 8 hash bits and the probe distance (0: empty).
pub const TAG_SIZE: usize = 2;

/// Bits of a slot that locate an item in segment memory (a byte offset).
pub const LOCATION_BITS: u32 = 40;

/// Largest segment memory a store can address: 1 TiB.
pub const SEGMENT_MEMORY_SIZE_MAX: u64 = 1 << LOCATION_BITS;

/// Longest probe sequence the table allows; an insert that would go further is refused
/// as a full table. At the table's maximum load factor Robin Hood probes stay far shorter.
pub const PROBE_DISTANCE_MAX: usize = 254;

/// The table holds at most `LOAD_NUMERATOR / LOAD_DENOMINATOR` of its slots, so probe
/// sequences stay short and at least one slot is always empty (SCAN relies on it).
pub const LOAD_NUMERATOR: usize = 7;
/// See [`LOAD_NUMERATOR`].
pub const LOAD_DENOMINATOR: usize = 8;

/// Largest table: 2^31 slots (16 GiB of slots).
pub const SLOT_COUNT_MAX: usize = 1 << 31;

/// Default size of one segment of item memory. Every item must fit in one segment.
pub const SEGMENT_SIZE_DEFAULT: u32 = 1 << 20;

/// Smallest segment size accepted by the configuration.
pub const SEGMENT_SIZE_MIN: u32 = 256;

/// Segments kept free so that cleaning always has a target to copy live items into.
pub const SEGMENT_RESERVE_COUNT: usize = 1;

/// A store needs a head segment, the reserve, and one segment to clean or evict.
pub const SEGMENT_COUNT_MIN: usize = 2 + SEGMENT_RESERVE_COUNT;

/// Default largest key, in bytes.
pub const KEY_SIZE_MAX_DEFAULT: u32 = 64 * 1024;

/// Default largest value, in bytes.
pub const VALUE_SIZE_MAX_DEFAULT: u32 = 512 * 1024;

/// Largest item header: flags byte, two 5-byte varint lengths, an 8-byte expiry.
pub const ITEM_HEADER_SIZE_MAX: u32 = 1 + 5 + 5 + 8;

/// Longest client name a session keeps (`CLIENT SETNAME`, `HELLO ... SETNAME`), in bytes.
/// Redis has no limit; a fixed one keeps a session free of allocation.
pub const CLIENT_NAME_SIZE_MAX: usize = 128;

/// Slots SCAN visits per call when the caller does not say (Redis's `COUNT` default).
pub const SCAN_COUNT_DEFAULT: usize = 10;

/// Most keys a SCAN from cursor 0 answers from the prefix index in one reply (cursor 0
/// back: the scan is complete). A pattern matching more walks the table, a cursor at a
/// time, as without the index: a cursor is a number, and a position in key order is not.
pub const SCAN_INDEX_KEYS_MAX: usize = 1000;
const _: () = assert!(SCAN_INDEX_KEYS_MAX >= SCAN_COUNT_DEFAULT);

/// A SCAN step looks at up to `COUNT * SCAN_EMPTY_FACTOR` slots while it finds fewer than
/// `COUNT` keys (Redis's `maxiterations`), so scanning a sparse table is not a long series
/// of empty replies.
pub const SCAN_EMPTY_FACTOR: usize = 10;

/// The most slots one SCAN step looks at while it finds fewer than `COUNT` keys in a sparse
/// table (8 bytes each: 512 KiB of slots, well under a millisecond), unless
/// `COUNT * SCAN_EMPTY_FACTOR` is larger.
pub const SCAN_SLOT_BUDGET_MAX: usize = 1 << 16;

/// Default number of slots one active-expiry step examines.
pub const EXPIRE_STEP_SLOTS_DEFAULT: usize = 256;

/// Candidate segments eviction examines when a policy compares segments.
pub const EVICTION_SEGMENT_SAMPLE_COUNT: usize = 8;

const _: () = assert!(SEGMENT_SIZE_MIN as u64 > ITEM_HEADER_SIZE_MAX as u64 * 2);
const _: () = assert!(
    KEY_SIZE_MAX_DEFAULT as u64 + VALUE_SIZE_MAX_DEFAULT as u64 + ITEM_HEADER_SIZE_MAX as u64
        <= SEGMENT_SIZE_DEFAULT as u64
);
const _: () = assert!(LOAD_NUMERATOR < LOAD_DENOMINATOR);
const _: () = assert!(
    PROBE_DISTANCE_MAX < 255,
    "a tag stores the probe distance + 1 in 8 bits"
);
const _: () = assert!(
    (DATABASE_COUNT as u32) <= 16,
    "the database is stored in 4 bits"
);
const _: () = assert!(SLOT_COUNT_MAX.is_power_of_two());

/// Most elements SORT sorts (`sort-elements-max`): past it SORT is refused with an error
/// naming the limit. The sort selects its output on the stack, [`SORT_CHUNK_SIZE`]
/// elements per pass over the collection, so its cost is O(n × (m / chunk + 1) × log
/// chunk) for n elements and m output: bounded by this limit.
pub const SORT_ELEMENTS_MAX: usize = 64 * 1024;

/// Elements SORT orders per pass over its collection (its stack holds twice as many).
pub const SORT_CHUNK_SIZE: usize = 1024;

/// Longest key a SORT pattern may derive (BY, GET); a longer one reads as absent.
pub const SORT_PATTERN_KEY_SIZE_MAX: usize = 1024;
const _: () = assert!(SORT_CHUNK_SIZE > 0 && SORT_CHUNK_SIZE <= SORT_ELEMENTS_MAX);
const _: () = assert!(SORT_ELEMENTS_MAX <= u32::MAX as usize);
