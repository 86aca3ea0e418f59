//! Access key ids, secret access keys, and the sealing of secrets at rest under the cluster
//! key (ChaCha20-Poly1305 with a random nonce).

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::TryRngCore;
use rand::rngs::OsRng;

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const NONCE_LEN: usize = 12;

/// A secret that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The secret itself: only for signing, verifying, sealing or showing it once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Random text over an alphabet of 32 or 64 characters (a power of two, so taking each
/// random byte modulo its size is unbiased), from the operating system's random source.
fn random_text(alphabet: &[u8], len: usize) -> Result<String, SecretError> {
    let mut bytes = vec![0u8; len];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| SecretError::Random)?;
    bytes
        .iter()
        .map(|b| {
            alphabet
                .get(usize::from(*b) % alphabet.len())
                .map(|c| char::from(*c))
                .ok_or(SecretError::Random)
        })
        .collect()
}

/// A new long-term access key id: `AKIA` and 16 characters.
pub fn new_access_key_id() -> Result<String, SecretError> {
    Ok(format!("AKIA{}", random_text(ID_ALPHABET, 16)?))
}

/// A new temporary access key id: `ASIA` and 16 characters.
pub fn new_temporary_key_id() -> Result<String, SecretError> {
    Ok(format!("ASIA{}", random_text(ID_ALPHABET, 16)?))
}

/// A new 40-character secret access key.
pub fn new_secret_access_key() -> Result<Secret, SecretError> {
    Ok(Secret(random_text(SECRET_ALPHABET, 40)?))
}

/// What went wrong with a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretError {
    /// The operating system's random source failed.
    Random,
    /// The cluster key is not 32 bytes of hex or base64.
    BadClusterKey,
    /// A sealed secret does not open under this cluster key (wrong key or tampered data).
    Unseal,
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SecretError::Random => "the random source failed",
            SecretError::BadClusterKey => {
                "the cluster key must be 32 bytes, as 64 hex digits or base64"
            }
            SecretError::Unseal => "a sealed secret does not open under the cluster key",
        })
    }
}

impl std::error::Error for SecretError {}

/// The operator's cluster key: seals secrets at rest.
#[derive(Clone)]
pub struct ClusterKey(Key);

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClusterKey(<redacted>)")
    }
}

impl ClusterKey {
    /// Parses 32 bytes given as 64 hex digits or base64 (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        use base64::Engine as _;
        let t = text.trim();
        let bytes = hex::decode(t)
            .ok()
            .or_else(|| base64::engine::general_purpose::STANDARD.decode(t).ok())
            .ok_or(SecretError::BadClusterKey)?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadClusterKey)?;
        Ok(ClusterKey(Key::from(array)))
    }

    /// A fresh random key, as 64 hex digits (for first start).
    pub fn generate_hex() -> Result<String, SecretError> {
        let mut bytes = [0u8; 32];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| SecretError::Random)?;
        Ok(hex::encode(bytes))
    }

    /// Seals a secret: a random nonce followed by the ciphertext and tag.
    pub fn seal(&self, secret: &Secret) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| SecretError::Random)?;
        let cipher = ChaCha20Poly1305::new(&self.0);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), secret.expose().as_bytes())
            .map_err(|_| SecretError::Random)?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(out)
    }

    /// Opens a sealed secret.
    pub fn unseal(&self, sealed: &[u8]) -> Result<Secret, SecretError> {
        let (nonce, data) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or(SecretError::Unseal)?;
        let cipher = ChaCha20Poly1305::new(&self.0);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), data)
            .map_err(|_| SecretError::Unseal)?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| SecretError::Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets_have_aws_shapes() {
        let id = new_access_key_id().unwrap();
        assert!(id.starts_with("AKIA") && id.len() == 20);
        assert!(new_temporary_key_id().unwrap().starts_with("ASIA"));
        assert_eq!(new_secret_access_key().unwrap().expose().len(), 40);
        assert_ne!(new_access_key_id().unwrap(), id);
    }

    #[test]
    fn sealing_round_trips_and_detects_the_wrong_key() {
        let key = ClusterKey::parse(&ClusterKey::generate_hex().unwrap()).unwrap();
        let other = ClusterKey::parse(&ClusterKey::generate_hex().unwrap()).unwrap();
        let secret = new_secret_access_key().unwrap();
        let sealed = key.seal(&secret).unwrap();
        assert!(!sealed.windows(40).any(|w| w == secret.expose().as_bytes()));
        assert_eq!(key.unseal(&sealed).unwrap(), secret);
        assert_eq!(other.unseal(&sealed), Err(SecretError::Unseal));
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert!(ClusterKey::parse("short").is_err());
    }
}
