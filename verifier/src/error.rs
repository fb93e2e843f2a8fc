//! Typed errors of proof verification.

use circuits::public::PublicInputsError;
use circuits::BackendId;

use crate::fingerprint::VkFingerprint;

/// A proof envelope that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Fewer bytes than the header or the declared proof length.
    #[error("proof envelope truncated: need {need} bytes, got {got}")]
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        got: usize,
    },
    /// Not a zkquorum proof envelope.
    #[error("not a zkquorum proof envelope (bad magic)")]
    BadMagic,
    /// Envelope format version unknown.
    #[error("unsupported proof envelope version {0}")]
    UnsupportedVersion(u8),
    /// Backend id unknown.
    #[error("unknown proof backend id {0}")]
    UnknownBackend(u8),
    /// Declared proof length above the limit.
    #[error("declared proof length {0} exceeds the limit")]
    TooLarge(usize),
    /// Bytes after the proof.
    #[error("{0} trailing bytes after the proof")]
    TrailingBytes(usize),
    /// Not hex.
    #[error("proof envelope is not hex: {0}")]
    Hex(String),
}

/// Why a proof (or key) was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The envelope could not be decoded.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The proof is for another backend than this verifier's key.
    #[error("proof is for backend {found}, this key is {expected}")]
    WrongBackend {
        /// The key's backend.
        expected: BackendId,
        /// The proof's backend.
        found: BackendId,
    },
    /// The proof names another verifying key.
    #[error("proof names verifying key {found}, this key is {expected}")]
    FingerprintMismatch {
        /// This key.
        expected: VkFingerprint,
        /// The key the proof names.
        found: VkFingerprint,
    },
    /// The proof bytes do not decode (truncated, off-curve, wrong subgroup, garbage).
    #[error("malformed proof: {0}")]
    MalformedProof(String),
    /// Wrong number of public inputs.
    #[error("expected {expected} public inputs, got {got}")]
    PublicInputCount {
        /// Inputs the statement has.
        expected: usize,
        /// Inputs supplied.
        got: usize,
    },
    /// A public input is out of range.
    #[error("public inputs: {0}")]
    PublicInputs(#[from] PublicInputsError),
    /// The verifying key bytes do not decode or do not fit the statement.
    #[error("malformed verifying key: {0}")]
    MalformedKey(String),
    /// Well-formed, but the proof does not verify for these public inputs.
    #[error("proof does not verify for these public inputs")]
    Invalid,
}

/// A batch in which some proofs failed: each failure with its index in the batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} of the batch's proofs failed: {}", .failures.len(), fmt_failures(.failures))]
pub struct BatchError {
    /// `(index, reason)` for every proof that failed.
    pub failures: Vec<(usize, ProofError)>,
}

fn fmt_failures(f: &[(usize, ProofError)]) -> String {
    f.iter()
        .map(|(i, e)| format!("#{i}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}
