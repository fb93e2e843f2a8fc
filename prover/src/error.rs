//! Typed errors of proving and of the key store.

use std::path::PathBuf;

use circuits::PolicyViolation;

/// Why a proof was not produced.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The intent breaks the policy: the rule and the values involved.
    #[error("policy violated: {0}")]
    Policy(#[from] PolicyViolation),
    /// The witness does not satisfy the circuit (a witness built without the native check).
    #[error("witness does not satisfy the {0} circuit")]
    Unsatisfied(&'static str),
    /// Circuit synthesis or the proving algorithm failed.
    #[error("{backend} proving failed: {reason}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What failed.
        reason: String,
    },
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
