//! Why a trust root or a governance record was refused. Every variant names the value at
//! fault: the record's version, the admin's key (hex), the file.

/// A trust root, record or approval that was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GovernanceError {
    /// A trust root, record or proposal file could not be read.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// JSON that is not a valid trust root or record.
    #[error("{what} is not valid: {reason}")]
    Decode {
        /// What was being read (`trust root`, `signed record`, …).
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// The trust root names no cluster.
    #[error("trust root: the cluster name is empty")]
    EmptyCluster,
    /// The trust root's threshold is not `1 <= k <= m`.
    #[error(
        "trust root: admin threshold {threshold} is not within 1..={admins} (the number of admins)"
    )]
    BadAdminThreshold {
        /// `k`.
        threshold: u16,
        /// `m`.
        admins: usize,
    },
    /// An admin key is listed twice in the trust root.
    #[error("trust root: admin key {admin} is listed twice")]
    DuplicateAdmin {
        /// The key, hex.
        admin: String,
    },
    /// An admin key is not an x-only secp256k1 point.
    #[error("trust root: admin key {admin} is not a BIP-340 x-only public key")]
    InvalidAdminKey {
        /// The key, hex.
        admin: String,
    },
    /// The record belongs to another cluster.
    #[error("record version {version} is for cluster {found:?}, not {expected:?}")]
    WrongCluster {
        /// This registry's cluster.
        expected: String,
        /// The record's cluster.
        found: String,
        /// The record's version.
        version: u64,
    },
    /// The record's version is already held: a replay (or a competing record for a version
    /// already decided).
    #[error("record version {version} is a replay: the registry is already at version {head}")]
    Replayed {
        /// The record's version.
        version: u64,
        /// The registry's head version.
        head: u64,
    },
    /// The record takes effect before the record it follows: effective times never go
    /// backwards, so a new record cannot change what was in force earlier.
    #[error("record version {version} takes effect at {effective_from}, before version {previous} (at {previous_from})")]
    EffectiveBeforePrevious {
        /// The record's version.
        version: u64,
        /// Its `effective_from`.
        effective_from: u64,
        /// The version it follows.
        previous: u64,
        /// That record's `effective_from`.
        previous_from: u64,
    },
    /// The record takes effect before a session the coordinator has already signed and
    /// logged: it would change the verdict on history.
    #[error("record version {version} takes effect at {effective_from}, before the last signed session (at {signed_at}): records never rewrite what was signed")]
    EffectiveBeforeSigned {
        /// The record's version.
        version: u64,
        /// Its `effective_from`.
        effective_from: u64,
        /// The time of the newest audit record.
        signed_at: u64,
    },
    /// The record skips versions: records are applied strictly one after the other.
    #[error("record version {version} is out of order: the next version is {expected}")]
    OutOfOrder {
        /// The record's version.
        version: u64,
        /// `head + 1`.
        expected: u64,
    },
    /// The record's content does not hash to the content hash it carries: it was changed
    /// after it was proposed (and signed).
    #[error("record version {version}: its content does not match its content hash (changed after signing)")]
    ContentHashMismatch {
        /// The record's version.
        version: u64,
    },
    /// An approval is by a key that is not one of the trust root's admins.
    #[error(
        "record version {version}: approval by {admin}, which is not an admin of this cluster"
    )]
    NotAnAdmin {
        /// The record's version.
        version: u64,
        /// The key, hex.
        admin: String,
    },
    /// An approval's signature does not verify for its admin and the record.
    #[error("record version {version}: the approval by admin {admin} has an invalid signature")]
    BadSignature {
        /// The record's version.
        version: u64,
        /// The admin's key, hex.
        admin: String,
    },
    /// Fewer distinct admins approved than the threshold requires.
    #[error("record version {version}: approved by {have} distinct admin(s), {need} needed")]
    TooFewApprovals {
        /// The record's version.
        version: u64,
        /// Distinct admins with a valid approval.
        have: usize,
        /// The trust root's threshold `k`.
        need: usize,
    },
    /// A roster that is not a valid cluster.
    #[error("record version {version}: invalid roster: {reason}")]
    InvalidRoster {
        /// The record's version.
        version: u64,
        /// What was wrong.
        reason: String,
    },
    /// A policy record that cannot be applied.
    #[error("record version {version}: invalid policy assignment: {reason}")]
    InvalidPolicy {
        /// The record's version.
        version: u64,
        /// What was wrong.
        reason: String,
    },
}
