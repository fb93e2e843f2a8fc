//! On-disk keys: atomic writes, checksummed files and a JSON manifest per backend.
//!
//! A backend's keys live in one directory as `<name>.manifest.json` plus its key files.
//! The manifest records the backend, the verifying-key fingerprint and a blake3 checksum of
//! every file; loading recomputes all of them. Files are written to a temporary name,
//! synced and renamed, so a crash never leaves a half-written key under the real name.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use circuits::BackendId;
use serde::{Deserialize, Serialize};

use crate::error::KeyStoreError;

const FORMAT: &str = "zkquorum/keys";
const VERSION: u32 = 1;

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
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyStoreError + '_ {
    move |source| KeyStoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))?;
    Ok(())
}

fn manifest_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.manifest.json"))
}

/// Saves key files and their manifest under `dir` (created if missing).
pub fn save(
    dir: &Path,
    name: &str,
    backend: BackendId,
    fingerprint: &str,
    files: &[(&str, &[u8])],
    params: BTreeMap<String, u64>,
) -> Result<(), KeyStoreError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut sums = BTreeMap::new();
    for (file, bytes) in files {
        write_atomic(&dir.join(file), bytes)?;
        sums.insert(file.to_string(), blake3::hash(bytes).to_hex().to_string());
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        backend: backend.as_u8(),
        fingerprint: fingerprint.into(),
        files: sums,
        params,
    };
    let json = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    // The manifest goes last: a directory with a manifest has all its files.
    write_atomic(&manifest_path(dir, name), &json)
}

/// Loads the manifest and every file it lists, verifying each checksum.
pub fn load(
    dir: &Path,
    name: &str,
    backend: BackendId,
) -> Result<(Manifest, BTreeMap<String, Vec<u8>>), KeyStoreError> {
    let path = manifest_path(dir, name);
    let bytes = fs::read(&path).map_err(io(&path))?;
    let bad = |reason: String| KeyStoreError::Manifest {
        path: path.clone(),
        reason,
    };
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(bad(format!(
            "format {:?} version {} (expected {FORMAT:?} version {VERSION})",
            manifest.format, manifest.version
        )));
    }
    if manifest.backend != backend.as_u8() {
        return Err(bad(format!(
            "keys are for backend {}, expected {backend}",
            manifest.backend
        )));
    }
    let mut files = BTreeMap::new();
    for (file, expected) in &manifest.files {
        if file.contains('/') || file.contains("..") {
            return Err(bad(format!("file name {file:?} leaves the key directory")));
        }
        let p = dir.join(file);
        let data = fs::read(&p).map_err(io(&p))?;
        let found = blake3::hash(&data).to_hex().to_string();
        if &found != expected {
            return Err(KeyStoreError::Checksum {
                path: p,
                expected: expected.clone(),
                found,
            });
        }
        files.insert(file.clone(), data);
    }
    Ok((manifest, files))
}

/// Takes a named file out of a loaded set.
pub fn take(
    files: &mut BTreeMap<String, Vec<u8>>,
    dir: &Path,
    name: &str,
) -> Result<Vec<u8>, KeyStoreError> {
    files.remove(name).ok_or_else(|| KeyStoreError::Manifest {
        path: dir.to_path_buf(),
        reason: format!("manifest lists no {name}"),
    })
}
