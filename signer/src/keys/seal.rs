//! The one passphrase sealer: Argon2id(passphrase, salt, [`KdfParams`]) gives a 32-byte
//! master secret; BLAKE3 `derive_key` splits it into an XChaCha20-Poly1305 key and a
//! key-check value, each under a context string of the caller's ([`SealContexts`]).
//!
//! Its users — encrypted key-share files ([`super::export`]) and the node database's sealed
//! values (the `zkquorum` crate's `store::seal`) — keep their own domain strings, associated
//! data and file layout; this module holds only what they share. The check value lets a
//! wrong passphrase be told apart from a tampered ciphertext, and lets an attacker test
//! guesses no faster than trial decryption already would.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Result, SignerError};

/// Length of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
}

impl KdfParams {
    /// OWASP's recommended Argon2id setting (19 MiB, 2 passes, 1 lane): the default.
    pub const RECOMMENDED: Self = Self {
        m_cost: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// Bounds accepted on import: a file cannot make us allocate gigabytes or spin for
    /// minutes, and cannot claim a cost too weak to protect a share. Returns the Argon2
    /// parameters (32-byte output) for these costs; other encrypted stores (the node
    /// database) check their parameters with it too.
    pub fn validate(&self) -> Result<Params> {
        if !(8 * 1024..=1024 * 1024).contains(&self.m_cost) {
            return Err(SignerError::KdfParams(format!(
                "m_cost {} KiB outside 8 MiB..=1 GiB",
                self.m_cost
            )));
        }
        if !(1..=16).contains(&self.t_cost) {
            return Err(SignerError::KdfParams(format!(
                "t_cost {} outside 1..=16",
                self.t_cost
            )));
        }
        if !(1..=16).contains(&self.p_cost) {
            return Err(SignerError::KdfParams(format!(
                "p_cost {} outside 1..=16",
                self.p_cost
            )));
        }
        Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| SignerError::KdfParams(e.to_string()))
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

/// The BLAKE3 `derive_key` contexts of one use of the sealer: distinct per use, so a key
/// derived for one kind of file never opens another.
#[derive(Clone, Copy, Debug)]
pub struct SealContexts {
    /// Context of the encryption key.
    pub key: &'static str,
    /// Context of the key-check value.
    pub check: &'static str,
}

/// A ciphertext did not authenticate under this key and associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("authentication tag does not verify")]
pub struct TagMismatch;

/// A key derived from a passphrase, with its check value. Its `Debug` output never shows
/// the key.
pub struct PassphraseKey {
    key: Zeroizing<[u8; 32]>,
    check: [u8; 32],
}

impl core::fmt::Debug for PassphraseKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PassphraseKey(<redacted>)")
    }
}

impl PassphraseKey {
    /// Derives the key and check value from `passphrase` and `salt` with Argon2id under
    /// `params` (refused with [`SignerError::KdfParams`] outside [`KdfParams::validate`]'s
    /// bounds).
    pub fn derive(
        passphrase: &[u8],
        salt: &[u8],
        params: &KdfParams,
        contexts: SealContexts,
    ) -> Result<Self> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.validate()?);
        let mut master = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, salt, master.as_mut())
            .map_err(|e| SignerError::KdfParams(e.to_string()))?;
        Ok(Self {
            key: Zeroizing::new(blake3::derive_key(contexts.key, master.as_ref())),
            check: blake3::derive_key(contexts.check, master.as_ref()),
        })
    }

    /// The key-check value, stored next to the salt.
    pub fn check_value(&self) -> [u8; 32] {
        self.check
    }

    /// Whether `stored` is this key's check value (constant time; any other length is
    /// `false`).
    pub fn check_matches(&self, stored: &[u8]) -> bool {
        bool::from(stored.ct_eq(&self.check))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(AsRef::<[u8]>::as_ref(&self.key).into())
    }

    /// Encrypts `plaintext` bound to `aad` under `nonce`; returns `ciphertext || tag`.
    /// `None` only for a plaintext too large for the cipher.
    pub fn encrypt(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Option<Vec<u8>> {
        self.cipher()
            .encrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .ok()
    }

    /// Decrypts `ciphertext || tag` written by [`PassphraseKey::encrypt`] with the same
    /// `nonce` and `aad`.
    pub fn decrypt(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> core::result::Result<Zeroizing<Vec<u8>>, TagMismatch> {
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| TagMismatch)
    }

    /// Encrypts under a fresh random nonce; returns `nonce || ciphertext || tag`.
    pub fn seal<R: RngCore + CryptoRng>(
        &self,
        aad: &[u8],
        plaintext: &[u8],
        rng: &mut R,
    ) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let ct = self.encrypt(&nonce, aad, plaintext)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Some(out)
    }

    /// Opens `nonce || ciphertext || tag` written by [`PassphraseKey::seal`] with the same
    /// `aad` (too short a value does not authenticate either).
    pub fn open(
        &self,
        aad: &[u8],
        sealed: &[u8],
    ) -> core::result::Result<Zeroizing<Vec<u8>>, TagMismatch> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(TagMismatch);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| TagMismatch)?;
        self.decrypt(nonce, aad, ct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: SealContexts = SealContexts {
        key: "zkquorum test seal key",
        check: "zkquorum test seal check",
    };
    const CHEAP: KdfParams = KdfParams {
        m_cost: 8 * 1024,
        t_cost: 1,
        p_cost: 1,
    };

    #[test]
    fn seal_open_check_and_contexts() {
        let mut rng = rand::rngs::OsRng;
        let key = PassphraseKey::derive(b"pw", &[1u8; 16], &CHEAP, CTX).unwrap();
        let sealed = key.seal(b"aad", b"secret", &mut rng).unwrap();
        assert_eq!(&**key.open(b"aad", &sealed).unwrap(), b"secret");
        assert_eq!(key.open(b"other", &sealed), Err(TagMismatch));
        assert_eq!(
            key.open(b"aad", &sealed[..NONCE_LEN + TAG_LEN - 1]),
            Err(TagMismatch)
        );
        assert!(key.check_matches(&key.check_value()));
        assert!(!key.check_matches(&key.check_value()[..31]));
        let wrong = PassphraseKey::derive(b"px", &[1u8; 16], &CHEAP, CTX).unwrap();
        assert!(!wrong.check_matches(&key.check_value()));
        assert_eq!(wrong.open(b"aad", &sealed), Err(TagMismatch));
        // Another context, same passphrase: another key.
        let other_ctx = SealContexts {
            key: "zkquorum test seal key 2",
            ..CTX
        };
        let other = PassphraseKey::derive(b"pw", &[1u8; 16], &CHEAP, other_ctx).unwrap();
        assert_eq!(other.check_value(), key.check_value());
        assert_eq!(other.open(b"aad", &sealed), Err(TagMismatch));
        assert!(!format!("{key:?}").contains(&hex::encode(*key.key)));
    }
}
