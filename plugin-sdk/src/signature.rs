//! Webhook signatures: HMAC computed and compared in constant time.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

pub fn hmac_sha256(secret: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Hex SHA-256 of `data`: a stable id for content that carries none.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(data))
}

pub fn hmac_sha256_hex(secret: &[u8], data: &[u8]) -> String {
    hex::encode(hmac_sha256(secret, data))
}

/// Checks a hex-encoded HMAC-SHA256 in constant time.
pub fn verify_hmac_sha256_hex(secret: &[u8], data: &[u8], signature_hex: &str) -> bool {
    let Ok(expected) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(data);
    mac.verify_slice(&expected).is_ok()
}

/// Checks a base64-encoded HMAC-SHA1 in constant time (Twilio's `X-Twilio-Signature`).
pub fn verify_hmac_sha1_base64(secret: &[u8], data: &[u8], signature_b64: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim())
    else {
        return false;
    };
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(data);
    mac.verify_slice(&expected).is_ok()
}

/// Constant-time equality for secrets compared as they are (header tokens).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        let mac = hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            mac,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_hmac_sha256_hex(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac
        ));
        assert!(!verify_hmac_sha256_hex(
            b"Jefe",
            b"what do ya want for something?",
            &mac
        ));
        assert!(!verify_hmac_sha256_hex(b"Jefe", b"x", "not hex"));
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
