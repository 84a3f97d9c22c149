//! Redis Cluster's hash slots: which of [`SLOT_COUNT`] slots a key belongs to.
//!
//! A key's slot is CRC16 (the XMODEM variant: polynomial 0x1021, initial value 0, no
//! reflection, no final XOR) of the key, modulo 16,384, exactly as Redis's `keyHashSlot`.
//! A **hash tag** narrows what is hashed: if the key has a `{` and, after it, a `}` with at
//! least one byte between them, only the bytes between the first `{` and the first `}`
//! after it are hashed. So `{user1000}.following` and `{user1000}.followers` share a slot,
//! `foo{}{bar}` hashes the whole key (the first tag is empty), and `foo{{bar}}zap` hashes
//! `{bar`.
//!
//! Pure and allocation-free: every floe node and `floe cluster` compute the same slot.

/// The number of hash slots (Redis Cluster's 16,384; a power of two, so `% SLOT_COUNT` is
/// a mask).
pub const SLOT_COUNT: u16 = 16_384;

const _: () = assert!(SLOT_COUNT.is_power_of_two());

/// The slot of `key` (below [`SLOT_COUNT`]), with hash tags as Redis defines them.
#[must_use]
pub fn key_slot(key: &[u8]) -> u16 {
    let slot = crc16(hash_tag(key)) & (SLOT_COUNT - 1);
    assert!(slot < SLOT_COUNT, "slot={slot}");
    slot
}

/// The part of `key` that is hashed: the bytes between the first `{` and the next `}` when
/// there is at least one, else the whole key.
#[must_use]
pub fn hash_tag(key: &[u8]) -> &[u8] {
    let Some(open) = key.iter().position(|byte| *byte == b'{') else {
        return key;
    };
    let after = key.get(open + 1..).unwrap_or_default();
    match after.iter().position(|byte| *byte == b'}') {
        Some(close) if close > 0 => after.get(..close).unwrap_or(key),
        _ => key,
    }
}

/// CRC16/XMODEM (CCITT polynomial 0x1021, initial 0), the checksum Redis Cluster uses for
/// slots, a byte at a time through [`CRC16_TABLE`] (every keyed command in cluster mode
/// hashes its keys, so this is on the request path).
#[must_use]
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in bytes {
        let [_, high] = crc.to_le_bytes();
        let index = usize::from(high ^ *byte);
        crc = (crc << 8) ^ CRC16_TABLE[index];
    }
    crc
}

/// The CRC of each byte value alone, shifted into the top of the register: built at
/// compile time from the bitwise definition ([`crc16_bitwise`]).
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut value = 0;
    while value < 256 {
        // NOTE: value < 256, so it fits in u16.
        #[expect(clippy::cast_possible_truncation, reason = "value < 256")]
        let mut crc = (value as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[value] = crc;
        value += 1;
    }
    table
};

/// The bitwise definition the table is built from; the tests check both agree.
#[cfg(test)]
fn crc16_bitwise(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in bytes {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_the_xmodem_check_value() {
        // The standard check value of CRC-16/XMODEM, and Redis's own test vector
        // (`crc16.c`: "123456789" -> 0x31C3).
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
        assert_eq!(crc16_bitwise(b"123456789"), 0x31C3);
    }

    #[test]
    fn the_table_agrees_with_the_bitwise_definition() {
        let mut key = [0u8; 3];
        for value in 0..(1u32 << 16) {
            let bytes = value.to_le_bytes();
            key.copy_from_slice(&[bytes[0], bytes[1], bytes[0] ^ bytes[1]]);
            assert_eq!(crc16(&key), crc16_bitwise(&key), "key={key:?}");
        }
    }

    #[test]
    fn slots_match_redis() {
        // Each value read from `CLUSTER KEYSLOT` of redis-server 7.0.15 in cluster mode.
        let known: [(&[u8], u16); 8] = [
            (b"foo", 12182),
            (b"{user1000}.following", 3443),
            (b"{user1000}.followers", 3443),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"", 0),
            (b"bar", 5061),
        ];
        for (key, slot) in known {
            assert_eq!(key_slot(key), slot, "key={:?}", core::str::from_utf8(key));
        }
    }

    #[test]
    fn hash_tags_follow_the_first_brace_pair() {
        assert_eq!(hash_tag(b"{user1000}.following"), b"user1000");
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"no braces"), b"no braces");
        assert_eq!(hash_tag(b"open{only"), b"open{only");
        assert_eq!(hash_tag(b"close}only{"), b"close}only{");
        assert_eq!(hash_tag(b"{"), b"{");
        assert_eq!(hash_tag(b"{}"), b"{}");
        assert_eq!(hash_tag(b"{a}"), b"a");
    }

    #[test]
    fn every_slot_is_in_range() {
        let mut key = [0u8; 2];
        for value in 0..=u16::MAX {
            key.copy_from_slice(&value.to_le_bytes());
            assert!(key_slot(&key) < SLOT_COUNT);
        }
    }
}
