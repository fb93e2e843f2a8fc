//! Encrypted export and import of key shares.
//!
//! File format (JSON, version 1): the Argon2id parameters and salt, a 24-byte XChaCha20
//! nonce, a key-check value and the ciphertext of the plaintext share JSON. The 32-byte
//! Argon2id output is split with BLAKE3 `derive_key` into an encryption key and a check
//! value; the header (format, version, KDF parameters, salt, nonce) is the AEAD's associated
//! data. A wrong passphrase is recognised by the check value
//! ([`SignerError::WrongPassphrase`]); a right passphrase with a failing tag means the file
//! was modified ([`SignerError::Tampered`]). The check value lets an attacker test guesses
//! no faster than trial decryption already would.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use frost_core::Ciphersuite;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Result, SignerError};
use crate::share::{decode_hex, KeyShare};

const FORMAT: &str = "zkquorum/key-share-encrypted";
const VERSION: u32 = 1;
const ENC_CONTEXT: &str = "zkquorum 2026 key-share encryption key v1";
const CHECK_CONTEXT: &str = "zkquorum 2026 key-share passphrase check v1";

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

/// Derives (encryption key, check value) from a passphrase.
fn derive(
    passphrase: &[u8],
    salt: &[u8],
    params: &KdfParams,
) -> Result<(Zeroizing<[u8; 32]>, [u8; 32])> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.validate()?);
    let mut master = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase, salt, master.as_mut())
        .map_err(|e| SignerError::KdfParams(e.to_string()))?;
    let key = Zeroizing::new(blake3::derive_key(ENC_CONTEXT, master.as_ref()));
    let check = blake3::derive_key(CHECK_CONTEXT, master.as_ref());
    Ok((key, check))
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
        let (key, check) = derive(passphrase, &salt, &params)?;
        let mut file = EncryptedFile {
            format: FORMAT.into(),
            version: VERSION,
            kdf: params,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            key_check: hex::encode(check),
            ciphertext: String::new(),
        };
        let plaintext = self.to_json()?;
        let aad = file.aad();
        let ct = XChaCha20Poly1305::new(key.as_ref().into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SignerError::Frost("encryption failed".into()))?;
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
        let nonce = decode_hex("nonce", &file.nonce)?;
        if nonce.len() != 24 {
            return Err(SignerError::Tampered("nonce is not 24 bytes"));
        }
        let stored_check = decode_hex("key check", &file.key_check)?;
        let ciphertext = decode_hex("ciphertext", &file.ciphertext)?;
        let (key, check) = derive(passphrase, &salt, &file.kdf)?;
        if !bool::from(stored_check.as_slice().ct_eq(&check)) {
            return Err(SignerError::WrongPassphrase);
        }
        let plaintext = Zeroizing::new(
            XChaCha20Poly1305::new(key.as_ref().into())
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: &file.aad(),
                    },
                )
                .map_err(|_| SignerError::Tampered("authentication tag does not verify"))?,
        );
        let json = core::str::from_utf8(&plaintext)
            .map_err(|_| SignerError::Tampered("plaintext is not UTF-8"))?;
        Self::from_json(json)
    }
}
