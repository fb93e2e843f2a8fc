//! Writing keys: atomic files and the manifest, in the layout `verifier::keys` reads.
//!
//! A backend's keys live in one directory as `<name>.manifest.json` plus its key files (see
//! [`verifier::keys`], the one reader, for what the manifest records). Files are written to
//! a temporary name, synced and renamed, so a crash never leaves a half-written key under
//! the real name; the manifest goes last, so a directory with a manifest has all its files.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use circuits::BackendId;
use verifier::keys::{io_error, manifest_path, Manifest};
use verifier::VkFingerprint;

use crate::error::KeyStoreError;

/// Writes `bytes` to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KeyStoreError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(io_error(&tmp))?;
    f.write_all(bytes).map_err(io_error(&tmp))?;
    f.sync_all().map_err(io_error(&tmp))?;
    fs::rename(&tmp, path).map_err(io_error(path))?;
    Ok(())
}

/// Saves key files and their manifest `name` under `dir` (created if missing).
pub fn save(
    dir: &Path,
    name: &str,
    backend: BackendId,
    fingerprint: VkFingerprint,
    files: &[(&str, &[u8])],
    params: BTreeMap<String, u64>,
) -> Result<(), KeyStoreError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    for (file, bytes) in files {
        write_atomic(&dir.join(file), bytes)?;
    }
    let manifest = Manifest::new(backend, fingerprint, files, params);
    write_atomic(&manifest_path(dir, name), &manifest.to_json())
}
