//! Key directories as `prover` writes them, and loading a verifier alone from one.
//!
//! A backend's keys live in one directory as `<name>.manifest.json` plus its key files.
//! The manifest records the backend, the verifying-key fingerprint and a blake3 checksum of
//! every file. This module is the one reader of that layout: the prover loads its proving
//! key through it, and a verifier loads only what it needs —
//!
//! - Groth16/BN254 ([`Groth16VerifyingKey::load_dir`]): `groth16-bn254.vk` only, its
//!   checksum and its fingerprint checked against the manifest; the proving key is neither
//!   read nor decoded, and no R1CS matrices are synthesized;
//! - halo2/IPA ([`Halo2VerifyingKey::load_dir`]): `halo2-pasta.params` (checksum, `k`),
//!   the verifying key regenerated from them, its fingerprint checked against the
//!   manifest, and the params refused unless they are the transparent `Params::new(k)`.
//!
//! Writing (atomic files, then the manifest last) is the prover's job; the format is
//! defined here by [`Manifest::new`], which computes the checksums.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use circuits::pasta::K;
use circuits::spend::SizeClass;
use circuits::BackendId;
use serde::{Deserialize, Serialize};

use crate::fingerprint::VkFingerprint;
use crate::groth16::Groth16VerifyingKey;
use crate::halo2::Halo2VerifyingKey;

const FORMAT: &str = "zkquorum/keys";
const VERSION: u32 = 1;

/// Manifest name (`<name>.manifest.json`) of the Groth16/BN254 keys.
pub const GROTH16_NAME: &str = "groth16-bn254";
/// File of the compressed Groth16/BN254 verifying key.
pub const GROTH16_VK_FILE: &str = "groth16-bn254.vk";
/// File of the compressed Groth16/BN254 proving key (read by the prover only).
pub const GROTH16_PK_FILE: &str = "groth16-bn254.pk";
/// Manifest name of the halo2/IPA keys.
pub const HALO2_NAME: &str = "halo2-pasta";
/// File of the halo2 params (the commitment key).
pub const HALO2_PARAMS_FILE: &str = "halo2-pasta.params";

/// Manifest name of the Groth16/BN254 keys of one spend size class
/// (`groth16-bn254-spend-<slots>`); its files are `<name>.pk` and `<name>.vk`.
pub fn groth16_spend_name(class: SizeClass) -> String {
    format!("{GROTH16_NAME}-spend-{}", class.slots())
}

/// The spend size class of `slots` outputs, refusing any other number (what `cluster.toml`
/// and the CLI name classes by).
pub fn spend_class(slots: usize) -> Result<SizeClass, String> {
    SizeClass::ALL
        .into_iter()
        .find(|c| c.slots() == slots)
        .ok_or_else(|| {
            format!(
                "{slots} is not a spend size class (one of {})",
                SizeClass::ALL.map(|c| c.slots().to_string()).join(", ")
            )
        })
}

/// Why keys could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// Filesystem error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manifest is missing fields, malformed or for another backend.
    #[error("key manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A key file's bytes do not hash to the manifest's checksum.
    #[error("{path} is corrupted: checksum {found} does not match the manifest's {expected}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Manifest value.
        expected: String,
        /// Computed value.
        found: String,
    },
    /// A key does not decode.
    #[error("{path}: malformed key: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The loaded verifying key is not the one the manifest names.
    #[error("verifying key fingerprint {found} does not match the manifest's {expected}")]
    Fingerprint {
        /// Manifest value.
        expected: String,
        /// Computed value.
        found: String,
    },
}

/// `KeyStoreError::Io` for `path`.
pub fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyStoreError + '_ {
    move |source| KeyStoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a manifest records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    format: String,
    version: u32,
    /// Backend the keys are for.
    pub backend: u8,
    /// Verifying-key fingerprint (hex).
    pub fingerprint: String,
    /// blake3 of each key file, by file name.
    pub files: BTreeMap<String, String>,
    /// Backend parameters worth recording (e.g. halo2's `k`).
    pub params: BTreeMap<String, u64>,
    /// Where it was read from (not serialized), to name it in errors.
    #[serde(skip)]
    path: PathBuf,
}

/// Path of the manifest `name` in `dir`.
pub fn manifest_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.manifest.json"))
}

impl Manifest {
    /// The manifest of `files` (name, bytes) for `backend`'s key `fingerprint`.
    pub fn new(
        backend: BackendId,
        fingerprint: VkFingerprint,
        files: &[(&str, &[u8])],
        params: BTreeMap<String, u64>,
    ) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            backend: backend.as_u8(),
            fingerprint: fingerprint.to_hex(),
            files: files
                .iter()
                .map(|(f, b)| (f.to_string(), checksum(b)))
                .collect(),
            params,
            path: PathBuf::new(),
        }
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("manifest serializes")
    }

    /// Reads `dir/<name>.manifest.json`, refusing another format, version or backend.
    pub fn read(dir: &Path, name: &str, backend: BackendId) -> Result<Self, KeyStoreError> {
        let path = manifest_path(dir, name);
        let bytes = fs::read(&path).map_err(io_error(&path))?;
        let mut manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| bad(&path, e.to_string()))?;
        if manifest.format != FORMAT || manifest.version != VERSION {
            return Err(bad(
                &path,
                format!(
                    "format {:?} version {} (expected {FORMAT:?} version {VERSION})",
                    manifest.format, manifest.version
                ),
            ));
        }
        if manifest.backend != backend.as_u8() {
            return Err(bad(
                &path,
                format!(
                    "keys are for backend {}, expected {backend}",
                    manifest.backend
                ),
            ));
        }
        manifest.path = path;
        Ok(manifest)
    }

    /// Reads one file the manifest lists from `dir`, checking its checksum. Only this file
    /// is read.
    pub fn read_file(&self, dir: &Path, file: &str) -> Result<Vec<u8>, KeyStoreError> {
        let expected = self
            .files
            .get(file)
            .ok_or_else(|| bad(&self.path, format!("manifest lists no {file}")))?;
        if file.contains('/') || file.contains("..") {
            return Err(bad(
                &self.path,
                format!("file name {file:?} leaves the key directory"),
            ));
        }
        let path = dir.join(file);
        let data = fs::read(&path).map_err(io_error(&path))?;
        let found = checksum(&data);
        if &found != expected {
            return Err(KeyStoreError::Checksum {
                path,
                expected: expected.clone(),
                found,
            });
        }
        Ok(data)
    }

    /// Refuses a key whose fingerprint is not the manifest's.
    pub fn check_fingerprint(&self, found: VkFingerprint) -> Result<(), KeyStoreError> {
        if found.to_hex() != self.fingerprint {
            return Err(KeyStoreError::Fingerprint {
                expected: self.fingerprint.clone(),
                found: found.to_hex(),
            });
        }
        Ok(())
    }
}

fn bad(path: &Path, reason: String) -> KeyStoreError {
    KeyStoreError::Manifest {
        path: path.to_path_buf(),
        reason,
    }
}

/// The checksum a manifest records: blake3, lower-case hex.
fn checksum(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

impl Groth16VerifyingKey {
    /// Loads the verifying key alone from a key directory (see the module docs).
    pub fn load_dir(dir: &Path) -> Result<Self, KeyStoreError> {
        let manifest = Manifest::read(dir, GROTH16_NAME, BackendId::Groth16Bn254)?;
        Self::load_with(dir, &manifest)
    }

    /// Loads the verifying key named by an already read `manifest`.
    pub fn load_with(dir: &Path, manifest: &Manifest) -> Result<Self, KeyStoreError> {
        let bytes = manifest.read_file(dir, GROTH16_VK_FILE)?;
        let vk = Self::from_bytes(&bytes).map_err(|e| KeyStoreError::Malformed {
            path: dir.join(GROTH16_VK_FILE),
            reason: e.to_string(),
        })?;
        manifest.check_fingerprint(vk.fingerprint())?;
        Ok(vk)
    }
}

impl Groth16VerifyingKey {
    /// Loads the verifying key of spend class `class` alone from a key directory
    /// ([`groth16_spend_name`]; checksum and fingerprint checked against its manifest, the
    /// key checked to have the spend statement's six inputs).
    pub fn load_spend_dir(dir: &Path, class: SizeClass) -> Result<Self, KeyStoreError> {
        let name = groth16_spend_name(class);
        let manifest = Manifest::read(dir, &name, BackendId::Groth16Bn254)?;
        if manifest.params.get("slots") != Some(&(class.slots() as u64)) {
            return Err(bad(
                &manifest.path,
                format!(
                    "params {:?}, expected slots = {}",
                    manifest.params,
                    class.slots()
                ),
            ));
        }
        let file = format!("{name}.vk");
        let bytes = manifest.read_file(dir, &file)?;
        let malformed = |reason: String| KeyStoreError::Malformed {
            path: dir.join(&file),
            reason,
        };
        let vk = Self::spend_from_bytes(&bytes).map_err(|e| malformed(e.to_string()))?;
        manifest.check_fingerprint(vk.fingerprint())?;
        Ok(vk)
    }
}

impl Halo2VerifyingKey {
    /// Loads the params and regenerates the verifying key (see the module docs).
    pub fn load_dir(dir: &Path) -> Result<Self, KeyStoreError> {
        let manifest = Manifest::read(dir, HALO2_NAME, BackendId::Halo2Pasta)?;
        if manifest.params.get("k") != Some(&u64::from(K)) {
            return Err(bad(
                &manifest.path,
                format!("params {:?}, expected k = {K}", manifest.params),
            ));
        }
        let bytes = manifest.read_file(dir, HALO2_PARAMS_FILE)?;
        let malformed = |reason: String| KeyStoreError::Malformed {
            path: dir.join(HALO2_PARAMS_FILE),
            reason,
        };
        let vk = Self::from_params_bytes(&bytes).map_err(|e| malformed(e.to_string()))?;
        manifest.check_fingerprint(vk.fingerprint())?;
        if !vk.is_transparent() {
            return Err(malformed(
                "params are not the transparent Params::new(k) generators".into(),
            ));
        }
        Ok(vk)
    }
}
