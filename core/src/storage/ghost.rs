//! The ghost filter: fingerprints of recently evicted keys, so that a key written again soon
//! after its eviction starts with the credit of one access (S3-FIFO's ghost queue, as a
//! fixed direct-mapped array of 16-bit fingerprints).
//!
//! A look-aside cache re-writes a key right after a miss, so a popular key that was evicted
//! comes back quickly; without the ghost it would start like a key never seen before and be
//! evicted at its first sweep unless read again in time. Entries are indexed by one part of
//! the key's hash and hold another (never 0, which marks an empty entry); a later eviction
//! landing on the same index overwrites, so the filter remembers about as many recent
//! evictions as it has entries, and a false match (about one in 2^15) only grants one
//! access of credit. The array is carved from the arena when the store is built and never
//! grows: a quarter as many entries as keys (rounded up to a power of two), half a byte
//! per key. One entry per key remembered more and helped more at 1% of the working set,
//! but lost at 50% (`floe-hit-ratio`, BENCHMARKS.md (d)).

/// Fingerprints of evicted keys' hashes.
#[derive(Debug)]
pub struct Ghost<'a> {
    entries: &'a mut [u16],
}

impl<'a> Ghost<'a> {
    /// Entries for a store of `keys_max` keys: the power of two above a quarter of them
    /// (none for none).
    #[must_use]
    pub const fn len_for(keys_max: usize) -> usize {
        if keys_max == 0 {
            0
        } else {
            (keys_max / 4 + 1).next_power_of_two()
        }
    }

    /// A filter over `entries` (made empty); an empty slice makes a filter that remembers
    /// nothing.
    ///
    /// # Panics
    /// If the length is neither zero nor a power of two.
    pub fn new(entries: &'a mut [u16]) -> Self {
        assert!(
            entries.is_empty() || entries.len().is_power_of_two(),
            "ghost length {} is not a power of two",
            entries.len()
        );
        entries.fill(0);
        Self { entries }
    }

    /// The entry of `hash` and its fingerprint.
    fn at(&self, hash: u64) -> Option<(usize, u16)> {
        let mask = self.entries.len().checked_sub(1)?;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the index is masked to the length; the fingerprint is the low 16 bits"
        )]
        let (index, fingerprint) = ((hash >> 32) as usize & mask, (hash as u16) | 1);
        Some((index, fingerprint))
    }

    /// Remembers an evicted key by its hash.
    pub fn remember(&mut self, hash: u64) {
        if let Some((index, fingerprint)) = self.at(hash) {
            self.entries[index] = fingerprint;
        }
    }

    /// Whether a key with this hash was evicted recently; forgets it either way.
    pub fn take(&mut self, hash: u64) -> bool {
        let Some((index, fingerprint)) = self.at(hash) else {
            return false;
        };
        let found = self.entries[index] == fingerprint;
        if found {
            self.entries[index] = 0;
        }
        found
    }

    /// Bytes the filter takes.
    #[must_use]
    pub fn size(&self) -> usize {
        size_of_val(self.entries)
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.entries.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_taken_or_overwritten() {
        let mut entries = [0u16; 8];
        let mut ghost = Ghost::new(&mut entries);
        assert_eq!(ghost.size(), 16);
        let hash = 0x0000_0003_0000_1234;
        assert!(!ghost.take(hash));
        ghost.remember(hash);
        assert!(ghost.take(hash));
        assert!(!ghost.take(hash), "taking forgets");
        ghost.remember(hash);
        // Same index (bits 32 and up), another fingerprint: overwrites.
        ghost.remember(0x0000_000b_0000_5678);
        assert!(!ghost.take(hash));
        ghost.remember(hash);
        ghost.clear();
        assert!(!ghost.take(hash));
    }

    #[test]
    fn an_empty_filter_remembers_nothing() {
        let mut ghost = Ghost::new(&mut []);
        ghost.remember(7);
        assert!(!ghost.take(7));
        assert_eq!(Ghost::len_for(0), 0);
        assert_eq!(Ghost::len_for(1000), 256);
        assert_eq!(Ghost::len_for(1), 1);
        assert_eq!(ghost.size(), 0);
    }

    #[test]
    #[should_panic(expected = "not a power of two")]
    fn a_length_not_a_power_of_two_is_refused() {
        let mut entries = [0u16; 6];
        let _ghost = Ghost::new(&mut entries);
    }
}
