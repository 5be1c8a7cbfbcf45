//! The rules of the plugin key-value store, shared by the host (which enforces them)
//! and the SDK's test harness (which must behave like the host): key and value sizes,
//! batch and page sizes, and the one wording of each refusal.

/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 150;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// Most keys one `KVGetMany` may ask for.
pub const MAX_KEYS_PER_GET: usize = 1000;
/// Keys per `KVList` page when the plugin asks for none, and the most it may ask for.
pub const DEFAULT_LIST_PAGE: u32 = 100;
pub const MAX_LIST_PAGE: u32 = 1000;

/// Why a KV request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvRuleError {
    #[error("a KV key has 1 to {MAX_KEY_CHARS} characters; {key:?} has {chars}")]
    Key { key: String, chars: usize },
    #[error("a KV value is at most {MAX_VALUE_BYTES} bytes; this one has {0}")]
    ValueTooLarge(usize),
    #[error("expire_in_seconds cannot be negative")]
    NegativeExpiry,
    #[error("at most {MAX_KEYS_PER_GET} keys per KVGetMany; {0} were asked for")]
    TooManyKeys(usize),
}

pub fn check_key(key: &str) -> Result<(), KvRuleError> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Err(KvRuleError::Key {
            key: key.chars().take(MAX_KEY_CHARS + 1).collect(),
            chars,
        });
    }
    Ok(())
}

/// Checks a write: its key, its value's size and its expiry.
pub fn check_write(
    key: &str,
    value: Option<&[u8]>,
    expire_in_seconds: i64,
) -> Result<(), KvRuleError> {
    check_key(key)?;
    if let Some(value) = value.filter(|v| v.len() > MAX_VALUE_BYTES) {
        return Err(KvRuleError::ValueTooLarge(value.len()));
    }
    if expire_in_seconds < 0 {
        return Err(KvRuleError::NegativeExpiry);
    }
    Ok(())
}

pub fn check_keys(keys: &[String]) -> Result<(), KvRuleError> {
    if keys.len() > MAX_KEYS_PER_GET {
        return Err(KvRuleError::TooManyKeys(keys.len()));
    }
    keys.iter().try_for_each(|key| check_key(key))
}

/// The page size a `KVList` request gets.
pub fn list_page_size(asked: u32) -> u32 {
    match asked {
        0 => DEFAULT_LIST_PAGE,
        n => n.min(MAX_LIST_PAGE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_counted_in_characters() {
        assert!(check_key(&"é".repeat(MAX_KEY_CHARS)).is_ok());
        assert!(check_key(&"é".repeat(MAX_KEY_CHARS + 1)).is_err());
        assert!(check_key("").is_err());
    }

    #[test]
    fn writes_check_size_and_expiry() {
        let big = vec![0; MAX_VALUE_BYTES + 1];
        assert_eq!(
            check_write("k", Some(&big), 0),
            Err(KvRuleError::ValueTooLarge(MAX_VALUE_BYTES + 1))
        );
        assert_eq!(check_write("k", None, -1), Err(KvRuleError::NegativeExpiry));
        assert!(check_write("k", Some(b"v"), 10).is_ok());
        assert_eq!(list_page_size(0), DEFAULT_LIST_PAGE);
        assert_eq!(list_page_size(5000), MAX_LIST_PAGE);
    }
}
