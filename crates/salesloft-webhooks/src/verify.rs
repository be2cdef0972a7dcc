//! [`Verifier`]: is a delivery signed by SalesLoft with one of our subscriptions' tokens?

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;

/// Why a delivery's signature was refused (the sender gets 401; nothing is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `x-salesloft-signature` header.
    #[error("the x-salesloft-signature header is missing")]
    Missing,
    /// The header is not 40 hex digits.
    #[error("the x-salesloft-signature header is not a hex HMAC-SHA1 digest")]
    Malformed,
    /// No active token signs this body so.
    #[error("the signature matches none of the active callback tokens")]
    Mismatch,
    /// No callback token is configured, so nothing can be verified.
    #[error(
        "no callback token is configured: add webhooks.callback_tokens or subscribe through the toolkit"
    )]
    NoTokens,
}

/// Checks `x-salesloft-signature` (hex HMAC-SHA1 of the raw body bytes, keyed by a
/// subscription's `callback_token`) against every active token, in constant time per token,
/// before anything reads the body. Several tokens are active during a rotation, and each
/// subscription may have its own. Its `Debug` shows how many tokens it holds, never one.
#[derive(Clone, Default)]
pub struct Verifier {
    keys: Vec<Hmac<Sha1>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("tokens", &self.keys.len())
            .finish()
    }
}

/// The HMAC state keyed by `token` (HMAC takes keys of any length).
fn keyed(token: &str) -> Hmac<Sha1> {
    <Hmac<Sha1> as KeyInit>::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

impl Verifier {
    /// A verifier accepting deliveries signed with any of `tokens` (empty ones are ignored).
    pub fn new<'a>(tokens: impl IntoIterator<Item = &'a SecretString>) -> Self {
        let mut keys = Vec::new();
        for token in tokens {
            let token = token.expose_secret();
            if !token.is_empty() {
                keys.push(keyed(token));
            }
        }
        Self { keys }
    }

    /// How many tokens it accepts.
    pub fn token_count(&self) -> usize {
        self.keys.len()
    }

    /// `Ok` when `signature` (the header's value) is the HMAC-SHA1 of `body` under one of the
    /// tokens. Hex digits in either case, surrounding spaces and a `sha1=` prefix are accepted.
    pub fn verify(&self, signature: Option<&[u8]>, body: &[u8]) -> Result<(), SignatureError> {
        let signature = signature.ok_or(SignatureError::Missing)?;
        let digest = decode_signature(signature).ok_or(SignatureError::Malformed)?;
        if self.keys.is_empty() {
            return Err(SignatureError::NoTokens);
        }
        // Every token is tried, so the time taken does not say which one matched.
        let mut matched = false;
        for key in &self.keys {
            let mut mac = key.clone();
            mac.update(body);
            matched |= mac.verify_slice(&digest).is_ok();
        }
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// The 20 bytes of a hex SHA-1 digest, if `header` is one.
fn decode_signature(header: &[u8]) -> Option<[u8; 20]> {
    let text = std::str::from_utf8(header).ok()?.trim();
    let text = text
        .strip_prefix("sha1=")
        .or_else(|| text.strip_prefix("SHA1="))
        .unwrap_or(text);
    let mut digest = [0u8; 20];
    hex::decode_to_slice(text, &mut digest).ok()?;
    Some(digest)
}

/// `hex(HMAC-SHA1(token, body))`, lowercase: the `x-salesloft-signature` SalesLoft sends, for
/// tests and for checking a receiver of your own.
pub fn sign(token: &SecretString, body: &[u8]) -> String {
    let mut mac = keyed(token.expose_secret());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn signatures_are_hex_hmac_sha1() {
        // RFC 2202, test case 2.
        assert_eq!(
            sign(&secret("Jefe"), b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn any_active_token_verifies_and_nothing_else_does() {
        let (old, new) = (secret("old-token"), secret("new-token"));
        let verifier = Verifier::new([&old, &new]);
        let body = br#"{"id":1}"#;
        for token in [&old, &new] {
            let sig = sign(token, body);
            assert_eq!(verifier.verify(Some(sig.as_bytes()), body), Ok(()));
            let upper = sig.to_uppercase();
            assert_eq!(verifier.verify(Some(upper.as_bytes()), body), Ok(()));
            let prefixed = format!(" sha1={sig} ");
            assert_eq!(verifier.verify(Some(prefixed.as_bytes()), body), Ok(()));
        }
        let other = sign(&secret("someone-else"), body);
        assert_eq!(
            verifier.verify(Some(other.as_bytes()), body),
            Err(SignatureError::Mismatch)
        );
        let sig = sign(&new, body);
        assert_eq!(
            verifier.verify(Some(sig.as_bytes()), br#"{"id":2}"#),
            Err(SignatureError::Mismatch),
            "the body is what is signed"
        );
        assert_eq!(verifier.verify(None, body), Err(SignatureError::Missing));
        for bad in [&b""[..], b"zz", &[0xff, 0xfe][..], &sig.as_bytes()[..38]] {
            assert_eq!(
                verifier.verify(Some(bad), body),
                Err(SignatureError::Malformed)
            );
        }
        assert_eq!(
            Verifier::default().verify(Some(sig.as_bytes()), body),
            Err(SignatureError::NoTokens)
        );
    }

    #[test]
    fn debug_never_shows_a_token() {
        let verifier = Verifier::new([&secret("hunter2-token")]);
        let shown = format!("{verifier:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("tokens: 1"), "{shown}");
    }

    proptest::proptest! {
        #[test]
        fn what_sign_makes_verify_accepts(token in "[ -~]{1,64}", body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let token = secret(&token);
            let sig = sign(&token, &body);
            proptest::prop_assert_eq!(Verifier::new([&token]).verify(Some(sig.as_bytes()), &body), Ok(()));
        }
    }
}
