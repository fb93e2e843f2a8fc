//! A policy admin's key: a BIP-340 (secp256k1 Schnorr) signing key, kept in a file sealed
//! under the admin's passphrase.
//!
//! File format (JSON, version 1):
//!
//! ```json
//! {"format": "zkquorum/admin-key", "version": 1, "public_key": "<64 hex>",
//!  "kdf": {"m_cost": 19456, "t_cost": 2, "p_cost": 1}, "salt": "<32 hex>",
//!  "key_check": "<64 hex>", "sealed": "<hex of nonce || ciphertext || tag>"}
//! ```
//!
//! The secret is sealed by the project's one passphrase sealer (`signer::keys::seal`:
//! Argon2id → BLAKE3 `derive_key` → XChaCha20-Poly1305) under this file kind's own
//! contexts, with every header field (format, version, public key, KDF parameters, salt)
//! as associated data. A wrong passphrase is told apart from a modified file by the key
//! check ([`AdminError::WrongPassphrase`] vs [`AdminError::Tampered`]); a file whose secret
//! does not match its public key is refused too. The public key is readable without the
//! passphrase ([`AdminKey::read_public_key`]), so a trust root can be assembled from the
//! files' public halves.

use std::path::Path;

use k256::schnorr::SigningKey;
use rand::rngs::OsRng;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use signer::keys::seal::{PassphraseKey, SealContexts};
use signer::KdfParams;
use verifier::governance::{Approval, GovernanceRecord};
use zeroize::Zeroizing;

use super::error::AdminError;
use crate::cluster::config::write_atomic;

const FORMAT: &str = "zkquorum/admin-key";
const VERSION: u32 = 1;
const CONTEXTS: SealContexts = SealContexts {
    key: "zkquorum 2026 admin-key sealing key v1",
    check: "zkquorum 2026 admin-key passphrase check v1",
};
const SALT_LEN: usize = 16;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    version: u32,
    public_key: String,
    kdf: KdfParams,
    salt: String,
    key_check: String,
    sealed: String,
}

impl KeyFile {
    /// Associated data: every header field, length-prefixed.
    fn aad(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let parts: [&[u8]; 7] = [
            self.format.as_bytes(),
            &self.version.to_le_bytes(),
            self.public_key.as_bytes(),
            &self.kdf.m_cost.to_le_bytes(),
            &self.kdf.t_cost.to_le_bytes(),
            &self.kdf.p_cost.to_le_bytes(),
            self.salt.as_bytes(),
        ];
        for p in parts {
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            out.extend_from_slice(p);
        }
        out
    }

    fn parse(path: &Path, text: &str) -> Result<Self, AdminError> {
        let format = |reason: String| AdminError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let file: KeyFile = serde_json::from_str(text)
            .map_err(|e| format(format!("not an admin key file: {e}")))?;
        if file.format != FORMAT {
            return Err(format(format!(
                "format is {:?}, expected {FORMAT:?}",
                file.format
            )));
        }
        if file.version != VERSION {
            return Err(format(format!(
                "admin key file version {} (this build reads {VERSION})",
                file.version
            )));
        }
        Ok(file)
    }

    fn public_key(&self, path: &Path) -> Result<[u8; 32], AdminError> {
        hex::decode(&self.public_key)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| AdminError::Format {
                path: path.to_path_buf(),
                reason: "public_key is not 32 bytes of hex".into(),
            })
    }
}

/// A policy admin's signing key. Zeroized on drop (`k256`'s key is); `Debug` shows only
/// the public key.
pub struct AdminKey {
    key: SigningKey,
}

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminKey({})", hex::encode(self.public_key()))
    }
}

impl AdminKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self {
            key: SigningKey::random(&mut OsRng),
        }
    }

    /// The BIP-340 x-only public key (what the trust root lists).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes().into()
    }

    /// This admin's approval of `record`: a BIP-340 signature over its signing message
    /// (with fresh auxiliary randomness, as BIP-340 recommends).
    pub fn approve(&self, record: &GovernanceRecord) -> Result<Approval, AdminError> {
        let mut aux = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(aux.as_mut());
        let signature = self
            .key
            .sign_raw(&record.signing_message(), &aux)
            .map_err(|e| AdminError::Invalid(format!("BIP-340 signing failed: {e}")))?;
        Ok(Approval {
            admin: self.public_key(),
            signature: signature.to_bytes(),
        })
    }

    /// The key file's contents, sealed under `passphrase` with Argon2id cost `kdf`.
    pub fn to_file(&self, passphrase: &[u8], kdf: KdfParams) -> Result<String, AdminError> {
        let mut salt = [0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        let sealer = PassphraseKey::derive(passphrase, &salt, &kdf, CONTEXTS)
            .map_err(|e| AdminError::Kdf(e.to_string()))?;
        let mut file = KeyFile {
            format: FORMAT.into(),
            version: VERSION,
            public_key: hex::encode(self.public_key()),
            kdf,
            salt: hex::encode(salt),
            key_check: hex::encode(sealer.check_value()),
            sealed: String::new(),
        };
        let secret = Zeroizing::new(<[u8; 32]>::from(self.key.to_bytes()));
        let sealed = sealer
            .seal(&file.aad(), secret.as_ref(), &mut OsRng)
            .ok_or_else(|| AdminError::Kdf("sealing failed".into()))?;
        file.sealed = hex::encode(sealed);
        serde_json::to_string_pretty(&file).map_err(|e| AdminError::Kdf(e.to_string()))
    }

    /// Opens a key file's contents (`path` only names it in errors).
    pub fn from_file(path: &Path, text: &str, passphrase: &[u8]) -> Result<Self, AdminError> {
        let file = KeyFile::parse(path, text)?;
        let public = file.public_key(path)?;
        let tampered = |reason| AdminError::Tampered {
            path: path.to_path_buf(),
            reason,
        };
        let salt = hex::decode(&file.salt).map_err(|_| tampered("salt is not hex"))?;
        if salt.len() != SALT_LEN {
            return Err(tampered("salt is not 16 bytes"));
        }
        let check = hex::decode(&file.key_check).map_err(|_| tampered("key check is not hex"))?;
        let sealed = hex::decode(&file.sealed).map_err(|_| tampered("sealed key is not hex"))?;
        let sealer = PassphraseKey::derive(passphrase, &salt, &file.kdf, CONTEXTS)
            .map_err(|e| AdminError::Kdf(e.to_string()))?;
        if !sealer.check_matches(&check) {
            return Err(AdminError::WrongPassphrase {
                path: path.to_path_buf(),
            });
        }
        let secret = sealer
            .open(&file.aad(), &sealed)
            .map_err(|_| tampered("authentication tag does not verify"))?;
        let key = SigningKey::from_bytes(&secret).map_err(|_| tampered("not a secp256k1 key"))?;
        let key = Self { key };
        if key.public_key() != public {
            return Err(tampered("the secret does not match the public key"));
        }
        Ok(key)
    }

    /// Writes the key to `path`, sealed under `passphrase` (mode 0600, atomically).
    pub fn save(&self, path: &Path, passphrase: &[u8], kdf: KdfParams) -> Result<(), AdminError> {
        let text = self.to_file(passphrase, kdf)?;
        write_atomic(path, text.as_bytes(), true).map_err(AdminError::io(path))
    }

    /// Reads and opens the key file at `path`.
    pub fn load(path: &Path, passphrase: &[u8]) -> Result<Self, AdminError> {
        let text = std::fs::read_to_string(path).map_err(AdminError::io(path))?;
        Self::from_file(path, &text, passphrase)
    }

    /// The public key a key file names, read without its passphrase.
    pub fn read_public_key(path: &Path) -> Result<[u8; 32], AdminError> {
        let text = std::fs::read_to_string(path).map_err(AdminError::io(path))?;
        KeyFile::parse(path, &text)?.public_key(path)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use verifier::governance::{RecordContent, Roster, SignedRecord, TrustRoot};

    use super::*;
    use crate::store::seal::TEST_KDF;

    #[test]
    fn save_load_approve_and_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin.key");
        let key = AdminKey::generate();
        key.save(&path, b"correct horse", TEST_KDF).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(AdminKey::read_public_key(&path).unwrap(), key.public_key());
        let text = std::fs::read_to_string(&path).unwrap();
        let secret = hex::encode(key.key.to_bytes());
        assert!(!text.contains(&secret), "the secret is not in clear");
        assert!(format!("{key:?}").contains(&hex::encode(key.public_key())));
        assert!(!format!("{key:?}").contains(&secret));

        let back = AdminKey::load(&path, b"correct horse").unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert!(matches!(
            AdminKey::load(&path, b"wrong"),
            Err(AdminError::WrongPassphrase { .. })
        ));
        // Another public key written into the header: the tag no longer verifies.
        let other = hex::encode(AdminKey::generate().public_key());
        let swapped = text.replace(&hex::encode(key.public_key()), &other);
        assert!(matches!(
            AdminKey::from_file(&path, &swapped, b"correct horse"),
            Err(AdminError::Tampered { .. })
        ));
        assert!(matches!(
            AdminKey::from_file(&path, "{}", b"x"),
            Err(AdminError::Format { .. })
        ));

        // Approvals verify under the trust root.
        let trust = TrustRoot::new("c", vec![key.public_key()], 1).unwrap();
        let record = GovernanceRecord::new(
            "c",
            1,
            0,
            RecordContent::Roster(Roster {
                nodes: Vec::new(),
                coordinator_tls_fingerprint: [0; 32],
                threshold: 2,
                spend_keys: Vec::new(),
                verifying_keys: Vec::new(),
            }),
        );
        let mut signed = SignedRecord::new(record);
        signed.add_approval(back.approve(&signed.record).unwrap());
        assert_eq!(signed.approvers(&trust).unwrap(), vec![key.public_key()]);
    }
}
