//! Typed errors of proving and of the key store.

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

/// Why keys could not be saved or loaded: the `verifier` crate's, which reads key
/// directories.
pub use verifier::keys::KeyStoreError;
