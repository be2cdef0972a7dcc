//! Secrets at rest: what the store keeps of a team's credentials is sealed with
//! XChaCha20-Poly1305 under a key from the configuration (`secrets.key`, the base64 of 32
//! random bytes), tagged with the key's id so keys rotate: a [`Keyring`] seals with its
//! current key and opens with any key it holds, and each ciphertext is bound to the row it
//! belongs to (its associated data), so one team's sealed credentials moved to another row
//! do not open.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretSlice};
use sha2::Sha256;

use crate::error::{Error, Result};

/// One key: its id, stored beside every ciphertext it seals, and its 32 bytes. `Debug` shows
/// the id only.
pub struct SecretsKey {
    id: String,
    key: SecretSlice<u8>,
}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SecretsKey {
    /// The key named `id` from the base64 (standard alphabet, padded or not) of 32 bytes,
    /// as `secrets.key` holds it; the error never repeats the key.
    pub fn from_base64(id: impl Into<String>, encoded: &str) -> Result<Self> {
        use base64::Engine as _;
        let id = id.into();
        let trimmed = encoded.trim().trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(trimmed)
            .map_err(|_| Error::SecretsKey {
                id: id.clone(),
                why: "not base64",
            })?;
        if bytes.len() != 32 {
            return Err(Error::SecretsKey {
                id,
                why: "not 32 bytes",
            });
        }
        Ok(Self {
            id,
            key: bytes.into(),
        })
    }

    /// A new random key named `id`, and its base64 to put in the configuration.
    pub fn generate(id: impl Into<String>) -> (Self, SecretBox<str>) {
        use base64::Engine as _;
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&key[..]);
        let key = Self {
            id: id.into(),
            key: key.to_vec().into(),
        };
        (key, SecretBox::from(encoded.into_boxed_str()))
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.expose_secret().into())
    }

    /// HMAC-SHA256 of `message` for `purpose`, under a key derived from this one (so the
    /// sealing key itself never signs).
    fn mac(&self, purpose: &[u8], message: &[u8]) -> Hmac<Sha256> {
        let mut derive = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(self.key.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        derive.update(b"salesloft-keyring-mac-v1:");
        derive.update(purpose);
        let derived = derive.finalize().into_bytes();
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&derived)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(message);
        mac
    }
}

/// A sealed secret as a row keeps it: the id of the key that sealed it, a random 24-byte
/// nonce, and the ciphertext with its tag.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The id of the key that sealed it.
    pub key_id: String,
    /// The nonce, 24 bytes.
    pub nonce: Vec<u8>,
    /// The ciphertext and its 16-byte tag.
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("bytes", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// The keys a store seals and opens secrets with: the current one seals; it and every older
/// one open (rotate by making a new key current and keeping the old one until every secret
/// is sealed again).
#[derive(Debug)]
pub struct Keyring {
    current: SecretsKey,
    older: Vec<SecretsKey>,
}

impl Keyring {
    /// A keyring sealing with `current`.
    pub fn new(current: SecretsKey) -> Self {
        Self {
            current,
            older: Vec::new(),
        }
    }

    /// The same keyring also opening what `older` sealed.
    #[must_use]
    pub fn with_older(mut self, older: SecretsKey) -> Self {
        self.older.push(older);
        self
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Seal `plaintext`, bound to `context` (the row it belongs to).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let ciphertext = self
            .current
            .cipher()
            .encrypt(&nonce, payload)
            .map_err(|_| Error::Sealing {
                key_id: self.current.id.clone(),
            })?;
        Ok(Sealed {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// A signature of `message` for `purpose` by the current key (URL-safe base64): for
    /// values that leave the deployment and come back, such as an OAuth `state`.
    pub fn sign(&self, purpose: &[u8], message: &[u8]) -> String {
        use base64::Engine as _;
        let tag = self.current.mac(purpose, message).finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    }

    /// Whether `signature` is [`Keyring::sign`]'s for `message` and `purpose` by any key of
    /// this keyring (compared in constant time).
    pub fn verify(&self, purpose: &[u8], message: &[u8], signature: &str) -> bool {
        use base64::Engine as _;
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        std::iter::once(&self.current)
            .chain(&self.older)
            .any(|k| k.mac(purpose, message).verify_slice(&tag).is_ok())
    }

    /// Open `sealed`, which must have been sealed for `context` by a key of this keyring.
    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<SecretSlice<u8>> {
        let key = std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| Error::UnknownSecretsKey {
                key_id: sealed.key_id.clone(),
            })?;
        let nonce: [u8; 24] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| Error::Sealing {
                key_id: sealed.key_id.clone(),
            })?;
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: context,
        };
        let plain = key
            .cipher()
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| Error::Sealing {
                key_id: sealed.key_id.clone(),
            })?;
        Ok(plain.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_hold_for_their_message_purpose_and_keys_only() {
        let (k1, encoded) = SecretsKey::generate("k1");
        let ring = Keyring::new(k1);
        let sig = ring.sign(b"state", b"v1.abc.100");
        assert!(ring.verify(b"state", b"v1.abc.100", &sig));
        assert!(
            !ring.verify(b"state", b"v1.abc.101", &sig),
            "another message"
        );
        assert!(
            !ring.verify(b"other", b"v1.abc.100", &sig),
            "another purpose"
        );
        assert!(!ring.verify(b"state", b"v1.abc.100", "not base64!"));
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(!ring.verify(b"state", b"v1.abc.100", &flipped));
        // After a rotation the older key still verifies; another deployment's key does not.
        let (k2, _) = SecretsKey::generate("k2");
        let old = SecretsKey::from_base64("k1", encoded.expose_secret()).unwrap();
        assert!(
            Keyring::new(k2)
                .with_older(old)
                .verify(b"state", b"v1.abc.100", &sig)
        );
        let (stranger, _) = SecretsKey::generate("k1");
        assert!(!Keyring::new(stranger).verify(b"state", b"v1.abc.100", &sig));
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let (old, _) = SecretsKey::generate("k1");
        let sealed = Keyring::new(old).seal(b"ak_secret", b"team:acme").unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!format!("{sealed:?}").contains("ak_secret"));

        let (old, encoded) = SecretsKey::generate("k1");
        let ring = Keyring::new(old);
        let sealed = ring.seal(b"ak_secret", b"team:acme").unwrap();
        let opened = ring.open(&sealed, b"team:acme").unwrap();
        assert_eq!(opened.expose_secret(), b"ak_secret");
        // Moved to another row, it does not open.
        assert!(matches!(
            ring.open(&sealed, b"team:other"),
            Err(Error::Sealing { .. })
        ));
        // Rotated: a new key seals, the old one still opens what it sealed.
        let (new, _) = SecretsKey::generate("k2");
        let old = SecretsKey::from_base64("k1", encoded.expose_secret()).unwrap();
        let rotated = Keyring::new(new).with_older(old);
        assert_eq!(
            rotated.open(&sealed, b"team:acme").unwrap().expose_secret(),
            b"ak_secret"
        );
        assert_eq!(rotated.seal(b"x", b"c").unwrap().key_id, "k2");
        // Without the old key, it says which key is missing.
        let (alone, _) = SecretsKey::generate("k2");
        let missing = Keyring::new(alone).open(&sealed, b"team:acme").unwrap_err();
        assert!(missing.to_string().contains("k1"), "{missing}");
    }

    #[test]
    fn keys_are_checked_and_never_shown() {
        let short = SecretsKey::from_base64("k", "c2hvcnQ=").unwrap_err();
        assert!(short.to_string().contains("32 bytes"), "{short}");
        let bad = SecretsKey::from_base64("k", "not base64 at all!").unwrap_err();
        assert!(bad.to_string().contains("base64"), "{bad}");
        let (key, encoded) = SecretsKey::generate("k");
        assert!(!format!("{key:?}").contains(encoded.expose_secret()));
        assert!(SecretsKey::from_base64("k", encoded.expose_secret()).is_ok());
    }
}
