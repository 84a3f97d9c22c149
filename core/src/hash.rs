//! Wyhash, final version 4: the hash of every key the table indexes.
//!
//! This is the function Zig's `std.hash.Wyhash` computes (and so the one Poro's table uses):
//! the reference `wyhash.h` of version 4 (commit `77e50f2`, whose `test_vector.cpp` gives
//! the published vectors) with its default secret, the 128-bit multiply kept whole, and the
//! seed mixed once before the input. The tests pin it to those vectors, so a hash stored
//! anywhere stays comparable across builds.
//!
//! Inputs are read little-endian whatever the host, so a hash is the same on every machine.
//!
//! Paths by input length, which the test vectors cover one by one:
//!
//! ```text
//!   0          both words zero
//!   1..=3      first, middle and last byte
//!   4..=16     four overlapping 4-byte reads
//!   17..=48    16-byte rounds, then the last 16 bytes
//!   49..       48-byte rounds over three lanes, then as above
//! ```

/// The default secret of wyhash v4 (`_wyp` in the reference, `secret` in Zig).
const SECRET: [u64; 4] = [
    0xa076_1d64_78bd_642f,
    0xe703_7ed1_a0b4_28db,
    0x8ebc_6af0_9c88_c6e3,
    0x5899_65cc_7537_4cc3,
];

/// Hashes `bytes` with `seed` using Wyhash v4 (the final version).
///
/// The same bytes and seed give the same value on every host and build; different seeds
/// give unrelated functions, so a table can pick a seed at start to resist hash flooding.
/// Work is linear in `bytes.len()`, with no allocation and no panic.
///
/// # Examples
///
/// ```
/// use floe_core::hash::wyhash;
///
/// assert_eq!(wyhash(b"abc", 2), 0x32dd_92e4_b291_5153);
/// assert_ne!(wyhash(b"abc", 0), wyhash(b"abc", 1));
/// ```
#[inline]
#[must_use]
pub fn wyhash(bytes: &[u8], seed: u64) -> u64 {
    let seed = seed ^ mix(seed ^ SECRET[0], SECRET[1]);
    let (a, b, seed) = if bytes.len() <= 16 {
        let (a, b) = words_short(bytes);
        (a, b, seed)
    } else {
        words_long(bytes, seed)
    };
    let (low, high) = multiply(a ^ SECRET[1], b ^ seed);
    // `usize` is at most 64 bits on every target Rust supports, so this never truncates.
    let size = bytes.len() as u64;
    mix(low ^ SECRET[0] ^ size, high ^ SECRET[1])
}

/// The two words of an input of at most 16 bytes.
#[inline(always)]
fn words_short(bytes: &[u8]) -> (u64, u64) {
    let size = bytes.len();
    if size >= 4 {
        // Four 4-byte reads that together cover every byte: two from the front half and two
        // from the back half; `quarter` is 0 below 8 bytes and 4 or 8 above.
        let quarter = (size >> 3) << 2;
        let a = (read_u32(bytes, 0) << 32) | read_u32(bytes, quarter);
        let b = (read_u32(bytes, size - 4) << 32) | read_u32(bytes, size - 4 - quarter);
        (a, b)
    } else if let (Some(first), Some(last)) = (bytes.first(), bytes.last()) {
        // 1..=3 bytes: the first, the middle and the last (some of them the same byte).
        let middle = bytes.get(size >> 1).copied().unwrap_or(0);
        let a = (u64::from(*first) << 16) | (u64::from(middle) << 8) | u64::from(*last);
        (a, 0)
    } else {
        (0, 0)
    }
}

/// The two words and the folded seed of an input of more than 16 bytes.
#[inline(always)]
fn words_long(bytes: &[u8], mut seed: u64) -> (u64, u64, u64) {
    // Rounds run while more than 48 (then 16) bytes remain, so the final words always have
    // 1..=16 fresh bytes; an exact multiple does not take a last round. Chunking all bytes
    // but the last gives exactly those rounds, as fixed-size arrays (no bounds checks).
    let (_, head) = bytes.split_last().unwrap_or((&0, &[]));
    let (words, _) = head.as_chunks::<8>();
    let (blocks, words) = words.as_chunks::<6>();
    if !blocks.is_empty() {
        let (mut lane_1, mut lane_2) = (seed, seed);
        for block in blocks {
            let word = block.map(u64::from_le_bytes);
            seed = mix(word[0] ^ SECRET[1], word[1] ^ seed);
            lane_1 = mix(word[2] ^ SECRET[2], word[3] ^ lane_1);
            lane_2 = mix(word[4] ^ SECRET[3], word[5] ^ lane_2);
        }
        seed ^= lane_1 ^ lane_2;
    }
    // Fewer than 6 whole words are left before the last byte: at most two 16-byte rounds.
    let (rounds, _) = words.as_chunks::<2>();
    for round in rounds {
        let [low, high] = round.map(u64::from_le_bytes);
        seed = mix(low ^ SECRET[1], high ^ seed);
    }
    // The final words are the input's last 16 bytes, which may overlap the last round.
    let Some(tail) = bytes.last_chunk::<16>() else {
        unreachable!("called with more than 16 bytes");
    };
    let (low, high) = tail.split_at(8);
    (read_u64(low), read_u64(high), seed)
}

/// The full 128-bit product of `a` and `b`, as (low, high) halves.
#[inline(always)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "the halves of a 128-bit product are taken on purpose"
)]
fn multiply(a: u64, b: u64) -> (u64, u64) {
    let product = u128::from(a) * u128::from(b);
    (product as u64, (product >> 64) as u64)
}

/// Multiplies and folds the two halves together: wyhash's mixing step.
#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let (low, high) = multiply(a, b);
    low ^ high
}

/// The first 8 bytes of `bytes`, little-endian; callers pass exactly 8 bytes.
#[inline(always)]
fn read_u64(bytes: &[u8]) -> u64 {
    bytes
        .first_chunk::<8>()
        .map_or(0, |word| u64::from_le_bytes(*word))
}

/// 4 bytes at `offset`, little-endian, widened to 64 bits; callers keep them in bounds.
#[inline(always)]
fn read_u32(bytes: &[u8], offset: usize) -> u64 {
    bytes
        .get(offset..)
        .and_then(<[u8]>::first_chunk::<4>)
        .map_or(0, |word| u64::from(u32::from_le_bytes(*word)))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::wyhash;

    /// The reference `test_vector.cpp` (wyhash v4), as Zig's standard library checks it:
    /// the seed is the row index. Lengths 0, 1, 3, 14, 26, 62 and 80 reach every path.
    const VECTORS: [(u64, &[u8], u64); 7] = [
        (0, b"", 0x0409_638e_e2bd_e459),
        (1, b"a", 0xa841_2d09_1b5f_e0a9),
        (2, b"abc", 0x32dd_92e4_b291_5153),
        (3, b"message digest", 0x8619_1240_89a3_a16b),
        (4, b"abcdefghijklmnopqrstuvwxyz", 0x7a43_afb6_1d7f_5f40),
        (
            5,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            0xff42_329b_90e5_0d58,
        ),
        (
            6,
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
            0xc39c_ab13_b115_aad3,
        ),
    ];

    #[test]
    fn hash_matches_published_vectors() {
        for (seed, input, expected) in VECTORS {
            assert_eq!(
                wyhash(input, seed),
                expected,
                "seed={seed} input_size={}",
                input.len()
            );
        }
    }

    /// Every length up to a few rounds hashes without panicking, and each length and each
    /// byte position changes the result (a cheap check that no byte is skipped).
    #[test]
    fn hash_depends_on_every_byte_and_length() {
        let input: Vec<u8> = (0..200u8).collect();
        let mut seen = std::collections::HashSet::new();
        for size in 0..=input.len() {
            let prefix = &input[..size];
            assert!(seen.insert(wyhash(prefix, 7)), "collision at size={size}");
            let mut flipped = prefix.to_vec();
            for index in 0..size {
                flipped[index] ^= 0x01;
                assert_ne!(
                    wyhash(&flipped, 7),
                    wyhash(prefix, 7),
                    "size={size} index={index}"
                );
                flipped[index] ^= 0x01;
            }
        }
    }

    #[test]
    fn hash_depends_on_seed() {
        for (_, input, _) in VECTORS {
            assert_ne!(wyhash(input, 0), wyhash(input, 1));
        }
    }
}
