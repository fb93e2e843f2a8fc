//! At-rest encryption of a node database's secrets.
//!
//! Sealed by the signer's one passphrase sealer (`signer::keys::seal`, which encrypted
//! key-share files use too), with this store's own domain strings: Argon2id(passphrase, a random 16-byte salt, [`KdfParams`]) gives a 32-byte
//! master secret, and BLAKE3 `derive_key` splits it into the XChaCha20-Poly1305 sealing key
//! (`"zkquorum 2026 node-db sealing key v1"`) and a key-check value (`"zkquorum 2026
//! node-db passphrase check v1"`). The salt, the parameters and the check value are stored in
//! the database's `meta` table: a wrong passphrase is told apart from a tampered value by
//! the check ([`StoreError::WrongPassphrase`] vs [`StoreError::Tampered`]), and the
//! check lets an attacker test guesses no faster than trial decryption would.
//!
//! A sealed value is `nonce (24 random bytes) || ciphertext || tag`. Its associated data
//! ([`aad`]) is `"zkquorum/node-db/v1"`, the table name and the row's key parts, each
//! preceded by its length as u64 LE, so a ciphertext copied to another row or table does
//! not decrypt.

use signer::keys::seal::{PassphraseKey, SealContexts};
use signer::KdfParams;
use zeroize::Zeroizing;

use super::StoreError;

/// Domain of the associated data of every sealed value.
pub const AAD_DOMAIN: &[u8] = b"zkquorum/node-db/v1";
const CONTEXTS: SealContexts = SealContexts {
    key: "zkquorum 2026 node-db sealing key v1",
    check: "zkquorum 2026 node-db passphrase check v1",
};
/// Length of the random salt stored in `meta`.
pub const SALT_LEN: usize = 16;

/// The associated data of a sealed value: [`AAD_DOMAIN`], `table`, then each of `key`'s
/// parts, every one preceded by its length (u64 LE).
pub fn aad(table: &str, key: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut part = |p: &[u8]| {
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    };
    part(AAD_DOMAIN);
    part(table.as_bytes());
    for k in key {
        part(k);
    }
    out
}

/// The key that seals a node database's secrets, derived from its passphrase.
///
/// Its `Debug` output never shows the key.
pub struct SealingKey(PassphraseKey);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

impl SealingKey {
    /// Derives the key and its check value from `passphrase` with Argon2id. `kdf` must be
    /// within the bounds `signer::KdfParams::validate` accepts ([`StoreError::Kdf`]
    /// otherwise).
    pub fn derive(passphrase: &[u8], salt: &[u8], kdf: &KdfParams) -> Result<Self, StoreError> {
        if salt.len() != SALT_LEN {
            return Err(StoreError::corrupt(
                "meta.salt",
                format!("{} bytes, expected {SALT_LEN}", salt.len()),
            ));
        }
        PassphraseKey::derive(passphrase, salt, kdf, CONTEXTS)
            .map(Self)
            .map_err(|e| StoreError::Kdf(e.to_string()))
    }

    /// The key-check value to store next to the salt.
    pub fn check_value(&self) -> [u8; 32] {
        self.0.check_value()
    }

    /// Compares `stored` with this key's check value in constant time:
    /// [`StoreError::WrongPassphrase`] if they differ.
    pub fn verify_check(&self, stored: &[u8]) -> Result<(), StoreError> {
        if stored.len() != 32 {
            return Err(StoreError::corrupt(
                "meta.key_check",
                format!("{} bytes, expected 32", stored.len()),
            ));
        }
        if self.0.check_matches(stored) {
            Ok(())
        } else {
            Err(StoreError::WrongPassphrase)
        }
    }

    /// Encrypts `plaintext` bound to `aad` (see [`aad`]) under a fresh random nonce;
    /// returns `nonce || ciphertext || tag`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.0
            .seal(aad, plaintext, &mut rand::rngs::OsRng)
            .ok_or_else(|| StoreError::Invalid("value too large to encrypt".into()))
    }

    /// Decrypts a value written by [`SealingKey::seal`] with the same `aad`;
    /// [`StoreError::Tampered`] naming `what` if it does not authenticate.
    pub fn open(
        &self,
        what: &str,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        self.0
            .open(aad, sealed)
            .map_err(|_| StoreError::Tampered { what: what.into() })
    }
}

/// The cheapest parameters `KdfParams::validate` accepts (8 MiB, 1 pass): for tests only.
#[cfg(test)]
pub(crate) const TEST_KDF: KdfParams = KdfParams {
    m_cost: 8 * 1024,
    t_cost: 1,
    p_cost: 1,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_failures() {
        let salt = [7u8; SALT_LEN];
        let key = SealingKey::derive(b"correct horse", &salt, &TEST_KDF).unwrap();
        let a = aad("shares", &[b"k1"]);
        let sealed = key.seal(&a, b"secret").unwrap();
        assert_eq!(&**key.open("x", &a, &sealed).unwrap(), b"secret");
        // Another row, another table, a flipped bit, a truncation: all refused.
        for bad_aad in [aad("shares", &[b"k2"]), aad("policies", &[b"k1"])] {
            assert!(matches!(
                key.open("x", &bad_aad, &sealed),
                Err(StoreError::Tampered { .. })
            ));
        }
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(matches!(
            key.open("x", &a, &flipped),
            Err(StoreError::Tampered { .. })
        ));
        assert!(matches!(
            key.open("x", &a, &sealed[..10]),
            Err(StoreError::Tampered { .. })
        ));
        // Length prefixes keep ("ab", "c") apart from ("a", "bc").
        assert_ne!(aad("t", &[b"ab", b"c"]), aad("t", &[b"a", b"bc"]));

        key.verify_check(&key.check_value()).unwrap();
        let other = SealingKey::derive(b"wrong", &salt, &TEST_KDF).unwrap();
        assert!(matches!(
            other.verify_check(&key.check_value()),
            Err(StoreError::WrongPassphrase)
        ));
        assert_eq!(format!("{key:?}"), "SealingKey(<redacted>)");

        // Parameters outside the signer's bounds and bad salts are errors, not panics.
        let weak = KdfParams {
            m_cost: 1024,
            ..TEST_KDF
        };
        assert!(matches!(
            SealingKey::derive(b"p", &salt, &weak),
            Err(StoreError::Kdf(_))
        ));
        assert!(SealingKey::derive(b"p", &[0u8; 3], &TEST_KDF).is_err());
    }

    #[test]
    fn values_sealed_before_the_shared_sealer_still_open() {
        // Written by this module's own Argon2id/BLAKE3/XChaCha20 code before it became a
        // user of `signer::keys::seal`: same check value, same bytes, still opens.
        let key = SealingKey::derive(b"correct horse", &[7u8; SALT_LEN], &TEST_KDF).unwrap();
        assert_eq!(
            hex::encode(key.check_value()),
            "ce670f463cc71c6d6d951ff62b915e005dd05e38b3e93f6f5d5cac976f171671"
        );
        let sealed = hex::decode(
            "0909090909090909090909090909090909090909090909093cae159c32b461fbcfcc682fc436bf82030c2c2f8f6c",
        )
        .unwrap();
        assert_eq!(&**key.open("x", b"the aad", &sealed).unwrap(), b"secret");
        assert_eq!(
            key.0.encrypt(&[9u8; 24], b"the aad", b"secret").unwrap(),
            sealed[24..]
        );
    }
}
