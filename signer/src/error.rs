//! The signer's typed errors.
//!
//! Every failure names what was wrong and, where a participant is to blame, which one: a
//! custodian must be able to act on an error without reading logs.

use crate::ids::SignerId;

/// Everything that can go wrong in the signer crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    /// `t` and `n` do not describe a usable threshold scheme.
    #[error("invalid threshold {t}-of-{n}: need 2 <= t <= n <= 65535")]
    InvalidThreshold {
        /// Requested threshold.
        t: u16,
        /// Requested number of participants.
        n: u16,
    },
    /// A signer identifier was zero.
    #[error("signer identifier 0 is not allowed (identifiers start at 1)")]
    ZeroIdentifier,
    /// A signer identifier was outside the group.
    #[error("signer {id} is out of range for a group of {n}")]
    IdentifierOutOfRange {
        /// The offending identifier.
        id: SignerId,
        /// Group size.
        n: u16,
    },
    /// The same signer appeared twice where each must appear once.
    #[error("signer {0} appears more than once")]
    DuplicateIdentifier(SignerId),
    /// A signer that is not part of the key appeared.
    #[error("signer {0} is not a participant of this key")]
    UnknownSigner(SignerId),
    /// A message was expected from a signer but is missing.
    #[error("no message from signer {0}")]
    MissingMessage(SignerId),
    /// A message was addressed to someone else.
    #[error("message from {from} is addressed to {to}, not to {me}")]
    MisaddressedMessage {
        /// Sender.
        from: SignerId,
        /// Declared recipient.
        to: SignerId,
        /// The participant that received it.
        me: SignerId,
    },
    /// Not enough participants or shares.
    #[error("{what}: got {got}, need at least {need}")]
    TooFew {
        /// What was counted.
        what: &'static str,
        /// How many were provided.
        got: usize,
        /// How many are required.
        need: usize,
    },
    /// Bytes or text could not be decoded into the named type.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// The type being decoded.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// Decoded parts of a key share contradict each other.
    #[error("inconsistent key share: {0}")]
    InconsistentShare(String),
    /// A file or package was made for another ciphersuite.
    #[error("ciphersuite mismatch: expected {expected}, found {found}")]
    CiphersuiteMismatch {
        /// This build's ciphersuite.
        expected: String,
        /// The one in the input.
        found: String,
    },
    /// A versioned format had an unknown version.
    #[error("unsupported {what} version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Which format.
        what: &'static str,
        /// Version found.
        found: u32,
        /// Version supported.
        supported: u32,
    },
    /// An encrypted share could not be opened with this passphrase.
    #[error("wrong passphrase for the encrypted key share")]
    WrongPassphrase,
    /// An encrypted share was modified after it was written.
    #[error("encrypted key share was tampered with or corrupted ({0})")]
    Tampered(&'static str),
    /// Key-derivation parameters are outside the accepted bounds.
    #[error("key-derivation parameters rejected: {0}")]
    KdfParams(String),
    /// A DKG, refresh or reshare participant sent a package that fails verification.
    #[error("participant {culprit} misbehaved in {phase}: {reason}")]
    Misbehaviour {
        /// The participant to blame.
        culprit: SignerId,
        /// Protocol phase.
        phase: &'static str,
        /// What failed.
        reason: String,
    },
    /// One or more signature shares failed verification at aggregation.
    #[error("invalid signature share from signer(s) {}", fmt_ids(.0))]
    InvalidSignatureShares(Vec<SignerId>),
    /// This signer's nonces for the session were already consumed.
    #[error("nonce for session {0} was already used")]
    NonceAlreadyUsed(String),
    /// Round 1 was already run for this session: nonces are never regenerated for it.
    #[error("nonces for session {0} already exist")]
    NonceExists(String),
    /// Round 2 asked for a session this signer never committed to.
    #[error("no nonces stored for session {0}")]
    UnknownSession(String),
    /// The signing package does not hold this signer's own round-1 commitments.
    #[error("signing package does not contain signer {0}'s commitments from round 1")]
    CommitmentMismatch(SignerId),
    /// The nonce store failed (I/O, database).
    #[error("nonce store: {0}")]
    NonceStore(String),
    /// A FROST operation failed for a reason with no culprit.
    #[error("frost: {0}")]
    Frost(String),
}

fn fmt_ids(ids: &[SignerId]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Result alias for the signer crate.
pub type Result<T, E = SignerError> = core::result::Result<T, E>;
