//! Encoding of the values and keys the Raft storage keeps in sled.
//!
//! Values are JSON; log keys are the big-endian bytes of the log index, so that sled's key
//! order is the log order.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes `value` as JSON; `what` names it in the error.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> io::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot encode {what}: {e}"),
        )
    })
}

/// Decodes JSON `bytes`; `what` names the value in the error.
pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> io::Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot decode {what}: {e}"),
        )
    })
}

/// The sled key of the log entry at `index`.
pub(crate) fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// The log index a sled key stands for.
pub(crate) fn key_index(key: &[u8]) -> io::Result<u64> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("log key of {} bytes, expected 8", key.len()),
        )
    })?;
    Ok(u64::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_sort_like_indexes() {
        let mut keys: Vec<[u8; 8]> = [300_u64, 2, 1 << 40, 0, 255, 256].map(index_key).to_vec();
        keys.sort();
        let indexes: Vec<u64> = keys.iter().map(|k| key_index(k).unwrap()).collect();
        assert_eq!(indexes, vec![0, 2, 255, 256, 300, 1 << 40]);
    }

    #[test]
    fn short_key_is_an_error_not_a_panic() {
        let err = key_index(&[1, 2, 3]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(err.to_string(), "log key of 3 bytes, expected 8");
    }
}
