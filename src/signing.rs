//! HMAC-SHA256, the one helper for every signature templar makes or checks: webhooks in
//! (verified on the raw body, in constant time) and out, session and CSRF tokens, recipient
//! hashes in exports, the stylesheet's cache-busting hash.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Whether `hex_sig` is the HMAC-SHA256 of `body` under `secret`. Constant time in the
/// signature (`verify_slice`); a signature that is not hex is simply wrong.
pub fn verify(secret: &[u8], body: &[u8], hex_sig: &str) -> bool {
    Key::new(secret).verify(body, hex_sig)
}

/// A secret with its HMAC key schedule done once, for a receiver that checks every request
/// against the same secret.
#[derive(Clone)]
pub struct Key(HmacSha256);

impl Key {
    pub fn new(secret: &[u8]) -> Key {
        // HMAC accepts keys of any length, so this cannot fail.
        Key(HmacSha256::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key")))
    }

    /// As [`verify`].
    pub fn verify(&self, body: &[u8], hex_sig: &str) -> bool {
        let mut sig = [0u8; 32];
        if hex::decode_to_slice(hex_sig.trim(), &mut sig).is_err() {
            return false;
        }
        let mut mac = self.0.clone();
        mac.update(body);
        mac.verify_slice(&sig).is_ok()
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(redacted)")
    }
}

/// The lower-case hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let sig = sign(b"secret", b"{\"a\":1}");
        assert!(verify(b"secret", b"{\"a\":1}", &sig));
        assert!(!verify(b"secret", b"{\"a\":2}", &sig));
        assert!(!verify(b"other", b"{\"a\":1}", &sig));
        assert!(!verify(b"secret", b"{\"a\":1}", "zz"));
        assert!(!verify(b"secret", b"{\"a\":1}", ""));
        assert!(
            !verify(b"secret", b"{\"a\":1}", &sig[..62]),
            "a short signature"
        );
        assert!(
            !verify(b"secret", b"{\"a\":1}", &format!("{sig}00")),
            "a long one"
        );
        let key = Key::new(b"secret");
        assert!(
            key.verify(b"{\"a\":1}", &sig) && key.verify(b"{\"a\":1}", &sig),
            "reusable"
        );
    }
}
