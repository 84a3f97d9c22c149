//! Small `Copy` error enums, one per kind of operation. Operating errors and corrupt input
//! are values; only broken invariants panic.

/// Why the arena refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArenaError {
    /// The arena is frozen: the engine asked for memory after start-up.
    Frozen,
    /// The arena was released: nothing may be carved or frozen any more.
    Released,
    /// `freeze` was called on an arena that is already frozen.
    AlreadyFrozen,
    /// `release` was called on an arena that was never frozen.
    NotFrozen,
    /// Not enough bytes left for the request (alignment padding included).
    Exhausted {
        /// Bytes asked for.
        requested_size: usize,
        /// Bytes that were left.
        available_size: usize,
    },
}

/// Why the store refused a command. Nothing stored is changed when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The key is longer than the configured `key_size_max`.
    KeyTooLarge,
    /// The value is longer than the configured `value_size_max`.
    ValueTooLarge,
    /// Memory is full and the policy is `noeviction` (or nothing may be evicted).
    OutOfMemory,
    /// The table holds `keys_max` keys and the policy may not evict.
    KeysFull,
    /// The value is not an integer in range, or the argument is not one.
    NotInteger,
    /// The value is not a valid float, or the argument is not one.
    NotFloat,
    /// Incrementing or decrementing would overflow a 64-bit signed integer.
    Overflow,
    /// An INCRBYFLOAT result would be NaN or infinite.
    FloatNotFinite,
    /// A database index outside `0..DATABASE_COUNT`.
    InvalidDatabase,
    /// An expire time that is zero, negative where not allowed, or overflows.
    InvalidExpire,
    /// Options that cannot be combined (e.g. `NX` with `XX`).
    Syntax,
    /// A SETRANGE offset plus value beyond `value_size_max`.
    OffsetOutOfRange,
    /// The key holds a value of another type (a string command on a hash, or the reverse).
    WrongType,
    /// A hash field's value is not an integer (HINCRBY).
    HashValueNotInteger,
    /// A hash field's value is not a float (HINCRBYFLOAT).
    HashValueNotFloat,
    /// A compact collection would be larger than one item may be (`value_size_max`).
    CollectionTooLarge,
    /// A sorted set score would become NaN (ZADD INCR or ZINCRBY of `inf` and `-inf`).
    ScoreNotANumber,
    /// A record or snapshot item says "compact collection" but its value is not a valid
    /// encoding of one: refused, never loaded.
    CollectionInvalid,
    /// The key does not exist (LSET).
    NoSuchKey,
    /// An index past either end of a list (LSET).
    IndexOutOfRange,
}

impl StoreError {
    /// The message Redis gives for this error, after the `ERR`/`OOM` prefix of the reply.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::KeyTooLarge => "ERR key is larger than key-size-max",
            // floe's own limit, not Redis's proto-max-bulk-len: an item must fit one segment.
            Self::ValueTooLarge => {
                "ERR value exceeds the maximum size of an item (value-size-max: an item must fit \
                 one segment)"
            }
            Self::OutOfMemory => "OOM command not allowed when used memory > 'maxmemory'.",
            Self::KeysFull => "OOM command not allowed when the table holds max-keys keys.",
            Self::NotInteger => "ERR value is not an integer or out of range",
            Self::NotFloat => "ERR value is not a valid float",
            Self::Overflow => "ERR increment or decrement would overflow",
            Self::FloatNotFinite => "ERR increment would produce NaN or Infinity",
            Self::InvalidDatabase => "ERR DB index is out of range",
            Self::InvalidExpire => "ERR invalid expire time",
            Self::Syntax => "ERR syntax error",
            Self::OffsetOutOfRange => {
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
            }
            Self::WrongType => "WRONGTYPE Operation against a key holding the wrong kind of value",
            Self::HashValueNotInteger => "ERR hash value is not an integer",
            Self::HashValueNotFloat => "ERR hash value is not a float",
            // Each family's commands name their own type (hash, list, set, sorted set);
            // this text is for the paths that write any type (RESTORE).
            Self::CollectionTooLarge => {
                "ERR collection exceeds the maximum size of an item (value-size-max: a \
                 collection is one item in its compact encoding; the large encoding is not \
                 built yet)"
            }
            Self::CollectionInvalid => "ERR invalid compact collection encoding",
            Self::NoSuchKey => "ERR no such key",
            Self::IndexOutOfRange => "ERR index out of range",
            Self::ScoreNotANumber => "ERR resulting score is not a number (NaN)",
        }
    }
}

/// Why a store configuration cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `segment_size` is below [`crate::constants::SEGMENT_SIZE_MIN`] or not a power of two.
    SegmentSize,
    /// Memory holds fewer than [`crate::constants::SEGMENT_COUNT_MIN`] segments.
    MemoryTooSmall,
    /// Memory is above [`crate::constants::SEGMENT_MEMORY_SIZE_MAX`].
    MemoryTooLarge,
    /// The largest key plus the largest value does not fit in one segment.
    ItemLargerThanSegment,
    /// `keys_max` needs more slots than [`crate::constants::SLOT_COUNT_MAX`].
    KeysMaxTooLarge,
    /// The arena could not provide the memory.
    Arena(ArenaError),
}

impl From<ArenaError> for ConfigError {
    fn from(error: ArenaError) -> Self {
        Self::Arena(error)
    }
}
