//! Encrypted export and import of key shares, sealed by [`super::seal`].
//!
//! File format (JSON, version 1): the Argon2id parameters and salt, a 24-byte XChaCha20
//! nonce, a key-check value and the ciphertext of the plaintext share JSON. The 32-byte
//! Argon2id output is split with BLAKE3 `derive_key` into an encryption key and a check
//! value; the header (format, version, KDF parameters, salt, nonce) is the AEAD's associated
//! data. A wrong passphrase is recognised by the check value
//! ([`SignerError::WrongPassphrase`]); a right passphrase with a failing tag means the file
//! was modified ([`SignerError::Tampered`]). The check value lets an attacker test guesses
//! no faster than trial decryption already would.

use frost_core::Ciphersuite;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

pub use super::seal::KdfParams;
use super::seal::{PassphraseKey, SealContexts, NONCE_LEN};
use super::share::{decode_hex, KeyShare};
use crate::error::{Result, SignerError};

const FORMAT: &str = "zkquorum/key-share-encrypted";
const VERSION: u32 = 1;
const ENC_CONTEXT: &str = "zkquorum 2026 key-share encryption key v1";
const CHECK_CONTEXT: &str = "zkquorum 2026 key-share passphrase check v1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptedFile {
    format: String,
    version: u32,
    kdf: KdfParams,
    salt: String,
    nonce: String,
    key_check: String,
    ciphertext: String,
}

impl EncryptedFile {
    /// Associated data: every header field, length-prefixed.
    fn aad(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let parts: [&[u8]; 7] = [
            self.format.as_bytes(),
            &self.version.to_le_bytes(),
            &self.kdf.m_cost.to_le_bytes(),
            &self.kdf.t_cost.to_le_bytes(),
            &self.kdf.p_cost.to_le_bytes(),
            self.salt.as_bytes(),
            self.nonce.as_bytes(),
        ];
        for p in parts {
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            out.extend_from_slice(p);
        }
        out
    }
}

/// Derives the file's key (and check value) from a passphrase.
fn derive(passphrase: &[u8], salt: &[u8], params: &KdfParams) -> Result<PassphraseKey> {
    PassphraseKey::derive(
        passphrase,
        salt,
        params,
        SealContexts {
            key: ENC_CONTEXT,
            check: CHECK_CONTEXT,
        },
    )
}

impl<C: Ciphersuite> KeyShare<C> {
    /// Encrypts this share under `passphrase` (Argon2id → XChaCha20-Poly1305) and returns
    /// the JSON file contents.
    pub fn export_encrypted<R: RngCore + CryptoRng>(
        &self,
        passphrase: &[u8],
        params: KdfParams,
        rng: &mut R,
    ) -> Result<String> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut nonce);
        let key = derive(passphrase, &salt, &params)?;
        let mut file = EncryptedFile {
            format: FORMAT.into(),
            version: VERSION,
            kdf: params,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            key_check: hex::encode(key.check_value()),
            ciphertext: String::new(),
        };
        let plaintext = self.to_json()?;
        let aad = file.aad();
        let ct = key
            .encrypt(&nonce, &aad, plaintext.as_bytes())
            .ok_or_else(|| SignerError::Frost("encryption failed".into()))?;
        file.ciphertext = hex::encode(ct);
        serde_json::to_string_pretty(&file).map_err(|e| SignerError::Decode {
            what: "encrypted key share",
            reason: e.to_string(),
        })
    }

    /// Decrypts and validates a share written by [`KeyShare::export_encrypted`].
    pub fn import_encrypted(file: &str, passphrase: &[u8]) -> Result<Self> {
        let file: EncryptedFile = serde_json::from_str(file).map_err(|e| SignerError::Decode {
            what: "encrypted key share",
            reason: e.to_string(),
        })?;
        if file.format != FORMAT {
            return Err(SignerError::Decode {
                what: "encrypted key share",
                reason: format!("format is {:?}, expected {FORMAT:?}", file.format),
            });
        }
        if file.version != VERSION {
            return Err(SignerError::UnsupportedVersion {
                what: "encrypted key share",
                found: file.version,
                supported: VERSION,
            });
        }
        let salt = decode_hex("salt", &file.salt)?;
        if salt.len() != 16 {
            return Err(SignerError::Tampered("salt is not 16 bytes"));
        }
        let nonce: [u8; NONCE_LEN] = decode_hex("nonce", &file.nonce)?
            .try_into()
            .map_err(|_| SignerError::Tampered("nonce is not 24 bytes"))?;
        let stored_check = decode_hex("key check", &file.key_check)?;
        let ciphertext = decode_hex("ciphertext", &file.ciphertext)?;
        let key = derive(passphrase, &salt, &file.kdf)?;
        if !key.check_matches(&stored_check) {
            return Err(SignerError::WrongPassphrase);
        }
        let plaintext = key
            .decrypt(&nonce, &file.aad(), &ciphertext)
            .map_err(|_| SignerError::Tampered("authentication tag does not verify"))?;
        let json = core::str::from_utf8(&plaintext)
            .map_err(|_| SignerError::Tampered("plaintext is not UTF-8"))?;
        Self::from_json(json)
    }
}
