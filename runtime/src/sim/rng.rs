//! The simulator's one pseudo-random number generator: seeded explicitly, never from the OS.
//!
//! xoshiro256** seeded through splitmix64: fast, small, and good enough to drive fault and
//! workload choices. Every random choice in a simulation comes from a [`Prng`] derived from
//! the run's seed, so a seed replays bit for bit.
//!
//! Invariants: the same seed gives the same sequence on every platform (only integer
//! arithmetic; probabilities compare a 53-bit integer against the probability's scaled value).
//!
//! Fault assumptions: none.

/// A seeded xoshiro256** generator.
#[derive(Debug, Clone)]
pub struct Prng {
    state: [u64; 4],
}

impl Prng {
    /// A generator for `seed`; different seeds give unrelated sequences.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut mix = seed;
        let mut state = [0; 4];
        for word in &mut state {
            *word = splitmix64(&mut mix);
        }
        // xoshiro's state must not be all zero; splitmix64 never yields four zeros in a row.
        assert!(state.iter().any(|&word| word != 0));
        Self { state }
    }

    /// A generator for a named part of the run (the disk, the workload, ...), so adding draws
    /// to one part does not shift the choices of the others.
    #[must_use]
    pub fn derive(seed: u64, part: &str) -> Self {
        Self::new(seed ^ floe_core::hash::wyhash(part.as_bytes(), 0x5eed_5eed_5eed_5eed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.state[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let shifted = self.state[1] << 17;
        self.state[2] ^= self.state[0];
        self.state[3] ^= self.state[1];
        self.state[1] ^= self.state[2];
        self.state[0] ^= self.state[3];
        self.state[2] ^= shifted;
        self.state[3] = self.state[3].rotate_left(45);
        result
    }

    /// A number in `0..bound`; `bound` must not be 0.
    ///
    /// # Panics
    /// If `bound` is 0 (a programmer error).
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below(0)");
        // Lemire's multiply-shift; the tiny bias for huge bounds does not matter here.
        let wide = u128::from(self.next_u64()) * u128::from(bound);
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// An index in `0..count`; `count` must not be 0.
    pub fn index(&mut self, count: usize) -> usize {
        let bound = u64::try_from(count).unwrap_or(u64::MAX);
        usize::try_from(self.below(bound)).unwrap_or(0)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "low={low} high={high}");
        match (high - low).checked_add(1) {
            Some(span) => low + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `probability` (0 never, 1 always).
    pub fn chance(&mut self, probability: f64) -> bool {
        if probability <= 0.0 {
            return false;
        }
        if probability >= 1.0 {
            return true;
        }
        // 53 random bits against the probability scaled to 2^53; exact for every f64 in 0..1.
        let draw = self.next_u64() >> 11;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "probability is in (0, 1), so the product is in (0, 2^53)"
        )]
        let threshold = (probability * 9_007_199_254_740_992.0) as u64;
        draw < threshold
    }
}

/// One step of splitmix64, used only to expand a seed into xoshiro state.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_bounds_hold() {
        let mut a = Prng::new(42);
        let mut b = Prng::new(42);
        let mut c = Prng::new(43);
        let first: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let again: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let other: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(first, again);
        assert_ne!(first, other);
        for _ in 0..1000 {
            assert!(a.below(7) < 7);
            let x = a.between(3, 5);
            assert!((3..=5).contains(&x));
        }
        assert!(!a.chance(0.0));
        assert!(a.chance(1.0));
        let hits = (0..10_000).filter(|_| a.chance(0.25)).count();
        assert!((2_000..3_000).contains(&hits), "hits={hits}");
    }
}
