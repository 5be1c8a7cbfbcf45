//! Mattermost-style ids (26 characters of a custom base32 alphabet over 128 random
//! bits) and the millisecond clock every `*_at` field uses.

use rand::RngCore;

/// The alphabet Mattermost's `NewId` encodes with; ids are lower case and never start
/// with a digit-looking character ambiguity, which keeps them URL- and file-name-safe.
const ALPHABET: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// Length of every id Chorus hands out.
pub const ID_LEN: usize = 26;

/// A fresh random id: 16 random bytes, base32-encoded without padding (26 characters).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    encode_base32(&bytes)
}

// Written by hand: a base32 crate would be a dependency for eleven lines, and the
// alphabet is Mattermost's own, not RFC 4648's.
fn encode_base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// True for strings shaped like ids Chorus hands out (26 lower-case alphanumerics).
pub fn is_valid_id(id: &str) -> bool {
    id.len() == ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// Milliseconds since the Unix epoch, the unit of every timestamp on the wire.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_26_chars_and_valid() {
        for _ in 0..100 {
            let id = new_id();
            assert_eq!(id.len(), ID_LEN, "{id}");
            assert!(is_valid_id(&id), "{id}");
        }
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn base32_matches_known_vector() {
        // 16 zero bytes encode to 26 copies of the alphabet's first letter.
        assert_eq!(encode_base32(&[0u8; 16]), "y".repeat(26));
        assert_eq!(encode_base32(&[0xff; 16]).len(), 26);
        assert!(!is_valid_id("UPPERCASEUPPERCASEUPPERCAS"));
        assert!(!is_valid_id("short"));
    }
}
