//! Bearer tokens: 256 random bits, shown once, stored only as a SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix that makes a leaked token easy to recognise (and to scan for).
const PREFIX: &str = "hub_";

pub struct IssuedToken {
    /// Give this to the caller once; it is not stored.
    pub secret: String,
    /// Stored and looked up.
    pub hash: String,
}

pub fn new_token() -> IssuedToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", hex(&bytes));
    let hash = hash_token(&secret);
    IssuedToken { secret, hash }
}

pub fn hash_token(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

pub use crate::domain::hex;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with("hub_") && a.secret.len() == 4 + 64);
        assert_eq!(hash_token(&a.secret), a.hash);
        assert_ne!(a.hash, a.secret);
    }
}
