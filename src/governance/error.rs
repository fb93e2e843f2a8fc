//! Why an admin tool failed: each variant names the file or the value at fault.

use std::path::PathBuf;

use verifier::governance::GovernanceError;

/// An admin key, proposal or genesis that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The passphrase does not open this admin key file.
    #[error("{path}: wrong passphrase for this admin key")]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// The key file's passphrase is right but its content does not authenticate: it was
    /// modified.
    #[error("{path}: admin key file was tampered with or corrupted ({reason})")]
    Tampered {
        /// The key file.
        path: PathBuf,
        /// What failed.
        reason: &'static str,
    },
    /// The Argon2id parameters are outside the accepted bounds.
    #[error("key derivation: {0}")]
    Kdf(String),
    /// This key is not one of the trust root's admins.
    #[error("key {key} is not an admin of cluster {cluster:?} (see its trust root)")]
    NotAnAdmin {
        /// The key, hex.
        key: String,
        /// The cluster.
        cluster: String,
    },
    /// A record, trust root or approval was refused.
    #[error(transparent)]
    Governance(#[from] GovernanceError),
    /// A node or coordinator database could not take the genesis record.
    #[error("{what}: {source}")]
    Store {
        /// Which database.
        what: String,
        /// The store error.
        source: crate::store::StoreError,
    },
    /// The cluster's configuration cannot be used.
    #[error(transparent)]
    Config(#[from] crate::cluster::config::ConfigError),
    /// Options that cannot make a governance.
    #[error("{0}")]
    Invalid(String),
}

impl AdminError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| AdminError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
