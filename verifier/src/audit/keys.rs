//! The verifying keys an auditor holds, by fingerprint.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::ProofError;
use crate::fingerprint::VkFingerprint;
use crate::groth16::Groth16VerifyingKey;
use crate::halo2::Halo2VerifyingKey;

/// File name of the halo2 params in a key directory (as `prover` saves them).
pub const HALO2_PARAMS_FILE: &str = "halo2-pasta.params";

/// A key directory that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditKeysError {
    /// A file or the directory could not be read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A key file does not hold a valid key.
    #[error("{path}: {error}")]
    Key {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        error: ProofError,
    },
    /// The transparent halo2 key could not be built.
    #[error("transparent halo2 key: {0}")]
    Transparent(ProofError),
}

/// Verifying keys by fingerprint: Groth16/BN254 keys and halo2/IPA keys.
///
/// A proof whose record names a fingerprint not held here fails with
/// [`AuditError::UnknownVerifyingKey`](super::AuditError::UnknownVerifyingKey).
#[derive(Clone, Default)]
pub struct AuditKeys {
    groth16: HashMap<VkFingerprint, Groth16VerifyingKey>,
    halo2: HashMap<VkFingerprint, Halo2VerifyingKey>,
}

impl core::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuditKeys")
            .field("groth16", &self.groth16.keys().collect::<Vec<_>>())
            .field("halo2", &self.halo2.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuditKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Groth16 key.
    pub fn add_groth16(&mut self, key: Groth16VerifyingKey) -> &mut Self {
        self.groth16.insert(key.fingerprint(), key);
        self
    }

    /// Adds a halo2 key.
    pub fn add_halo2(&mut self, key: Halo2VerifyingKey) -> &mut Self {
        self.halo2.insert(key.fingerprint(), key);
        self
    }

    /// Adds the transparent halo2 key ([`Halo2VerifyingKey::transparent`]): no file and
    /// no trust needed, anyone recomputes it.
    pub fn with_transparent_halo2(mut self) -> Result<Self, AuditKeysError> {
        let key = Halo2VerifyingKey::transparent().map_err(AuditKeysError::Transparent)?;
        self.add_halo2(key);
        Ok(self)
    }

    /// Loads every `*.vk` file of `dir` as a compressed Groth16/BN254 verifying key (as
    /// `prover` saves `groth16-bn254.vk`) and, if present, `halo2-pasta.params` (the halo2
    /// key is regenerated from them). A file that does not decode is an error; no
    /// manifest is needed, since every key is identified by its own fingerprint.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, AuditKeysError> {
        let dir = dir.as_ref();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |error| AuditKeysError::Io { path, error }
        };
        let mut keys = Self::new();
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(io(dir))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io(dir))?;
        entries.sort();
        for path in entries {
            let is_vk = path.extension().is_some_and(|e| e == "vk");
            let is_params = path.file_name().is_some_and(|n| n == HALO2_PARAMS_FILE);
            if !(is_vk || is_params) || !path.is_file() {
                continue;
            }
            let bytes = fs::read(&path).map_err(io(&path))?;
            let bad = |error| AuditKeysError::Key {
                path: path.clone(),
                error,
            };
            if is_vk {
                keys.add_groth16(Groth16VerifyingKey::from_bytes(&bytes).map_err(bad)?);
            } else {
                keys.add_halo2(Halo2VerifyingKey::from_params_bytes(&bytes).map_err(bad)?);
            }
        }
        Ok(keys)
    }

    /// The Groth16 key with this fingerprint.
    pub fn groth16(&self, fp: &VkFingerprint) -> Option<&Groth16VerifyingKey> {
        self.groth16.get(fp)
    }

    /// The halo2 key with this fingerprint.
    pub fn halo2(&self, fp: &VkFingerprint) -> Option<&Halo2VerifyingKey> {
        self.halo2.get(fp)
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.groth16.len() + self.halo2.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
