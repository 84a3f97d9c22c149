//! Benchmarks live in benches/.

pub mod contender;
pub mod guard;
pub mod store;

/// `key:` and `index` as 12 decimal digits: the 16-byte keys the `Db` benches write,
/// made without formatting (no allocation per key).
#[must_use]
pub fn numbered_key(index: u64) -> [u8; 16] {
    let mut key = *b"key:000000000000";
    let mut rest = index;
    for digit in key[4..].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    key
}
