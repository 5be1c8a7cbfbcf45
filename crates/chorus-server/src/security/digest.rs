//! SHA-256 digests as lowercase hex: access tokens are stored as one, and the client
//! configuration's hash and the built-in roles' ids are prefixes of one.

use sha2::{Digest, Sha256};

/// The first `bytes` bytes (at most 32) of the SHA-256 of `input`, as lowercase hex.
pub fn sha256_hex(input: &[u8], bytes: usize) -> String {
    Sha256::digest(input)
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether two secrets are equal, taking as long whichever byte differs (a public
/// link's hash is checked against a guess).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
