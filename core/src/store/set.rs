//! Sets in the compact encoding. Not built yet: the type byte [`super::TYPE_SET`] is
//! reserved and recovery refuses a value that starts with it.

/// Whether every member of the compact set `value` is a canonical integer (OBJECT
/// ENCODING's `intset`).
#[must_use]
pub fn all_integers(_value: &[u8]) -> bool {
    false
}
