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
