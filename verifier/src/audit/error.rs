//! What the audit verifier reports: [`AuditError`] (what is wrong with a record),
//! [`AuditFailure`] (which record) and [`AuditReport`] (the whole log).

use std::collections::BTreeMap;

use circuits::BackendId;

use super::commitment::CommitmentError;
use super::record::AUDIT_VERSION;
use crate::bip340::Bip340Error;
use crate::contribution::ContributionError;
use crate::fingerprint::VkFingerprint;

/// What is wrong with a record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The line is not a well-formed record (JSON, hex, lengths, unknown fields).
    #[error("malformed record: {0}")]
    Malformed(String),
    /// The log could not be read.
    #[error("cannot read the log: {0}")]
    Io(String),
    /// Unknown record format version.
    #[error("unsupported record version {0} (expected {AUDIT_VERSION})")]
    UnsupportedVersion(u32),
    /// `index` is not the line number.
    #[error("record says index {found}, but it is line {expected}")]
    IndexMismatch {
        /// The line number (0-based).
        expected: u64,
        /// The record's `index`.
        found: u64,
    },
    /// `prev` is not the chain hash of the previous line: that line was altered, or a
    /// record was removed, inserted or moved here.
    #[error(
        "prev {found} does not match the hash {expected} of the line before \
         (that record was altered, or a record was removed, inserted or moved here)"
    )]
    BrokenChain {
        /// `chain_hash` of the previous line (zeros for the first record), hex.
        expected: String,
        /// The record's `prev`, hex.
        found: String,
    },
    /// The session id was already used by an earlier record (a replayed session).
    #[error("session {session_id} was already recorded at record {first}")]
    DuplicateSession {
        /// The session id, hex.
        session_id: String,
        /// The earlier record.
        first: u64,
    },
    /// The same digest was signed under the same group key by an earlier record (the same
    /// intent signed twice).
    #[error("digest {digest} under this group key was already signed at record {first} (a replayed intent)")]
    RepeatedDigest {
        /// The digest, hex.
        digest: String,
        /// The record that signed it first.
        first: u64,
    },
    /// The session's time (`now`, the proofs' public input) is further from the record's
    /// append `time` than the allowed skew.
    #[error("session time {now} is {} s from the record time {time} (at most {max} s allowed)", now.abs_diff(*time))]
    TimeSkew {
        /// The proved `now`.
        now: u64,
        /// The record's `time`.
        time: u64,
        /// The allowed difference.
        max: u64,
    },
    /// The listed round-1 commitments do not produce the signature's `R`: the listed
    /// signers are not the ones who signed.
    #[error("the listed commitments give R with x = {recomputed}, the signature's R has x = {signature}")]
    CommitmentMismatch {
        /// `x(R)` recomputed from the listed commitments, hex.
        recomputed: String,
        /// The signature's first 32 bytes, hex.
        signature: String,
    },
    /// `R` could not be recomputed from the listed commitments.
    #[error("{0}")]
    GroupCommitment(CommitmentError),
    /// The record's backend id is unknown.
    #[error("unknown backend id {0}")]
    UnknownBackend(u8),
    /// No verifying key with the record's fingerprint is held.
    #[error("no verifying key for backend {backend} with fingerprint {fingerprint}")]
    UnknownVerifyingKey {
        /// The backend.
        backend: BackendId,
        /// The fingerprint the record names.
        fingerprint: VkFingerprint,
    },
    /// The record's verifying key is not the one the roster in force pins.
    #[error("verifying key {fingerprint} for {backend} is not the pinned one ({})", .pinned.map_or("none pinned".to_string(), |p| p.to_string()))]
    UnpinnedVerifyingKey {
        /// The record's backend.
        backend: BackendId,
        /// The record's fingerprint.
        fingerprint: VkFingerprint,
        /// The pinned fingerprint, if any.
        pinned: Option<VkFingerprint>,
    },
    /// The record has no signers.
    #[error("record has no signers")]
    NoSigners,
    /// Fewer signers than the threshold.
    #[error("{signers} signers, the key needs {threshold}")]
    BelowThreshold {
        /// Distinct signers in the record.
        signers: usize,
        /// The record's threshold.
        threshold: u16,
    },
    /// Signer id 0 (FROST identifiers are non-zero).
    #[error("signer id 0 is not a valid identifier")]
    ZeroSignerId,
    /// A signer appears twice.
    #[error("signer {0} appears more than once")]
    DuplicateSigner(u16),
    /// The digest is not `SignedDigest::from_parts(backend, C)`.
    #[error("digest {found} is not the digest {expected} of the intent commitment")]
    DigestMismatch {
        /// Digest of the first signer's `C`, hex.
        expected: String,
        /// The record's digest, hex.
        found: String,
    },
    /// The same (group key, signer) used another identity key earlier in the log.
    #[error("signer {signer_id} of group key {group_key} attests with identity key {found}, first seen with {first}")]
    IdentityKeyChanged {
        /// The signer.
        signer_id: u16,
        /// The group key, hex.
        group_key: String,
        /// The identity key first seen, hex.
        first: String,
        /// This record's identity key, hex.
        found: String,
    },
    /// A signer is not in the roster in force at the session's time.
    #[error("signer {signer_id} is not in the roster in force at {now}")]
    NotRostered {
        /// The signer.
        signer_id: u16,
        /// The session's time.
        now: u64,
    },
    /// A signer attests with another identity key than the roster's.
    #[error("signer {signer_id} attests with identity key {found}, the roster names {rostered}")]
    IdentityNotRostered {
        /// The signer.
        signer_id: u16,
        /// The record's identity key, hex.
        found: String,
        /// The rostered identity key, hex.
        rostered: String,
    },
    /// The group key is not a 33-byte SEC1 compressed point (prefix 0x02 or 0x03).
    #[error("group key must be SEC1 compressed (prefix 0x02 or 0x03), starts with {0:#04x}")]
    GroupKeyPrefix(u8),
    /// The final signature does not verify under the x-only group key over the digest.
    #[error("final signature rejected: {0}")]
    InvalidSignature(Bip340Error),
    /// A signer's round-1 contribution fails the contribution check (attestation,
    /// envelope, public inputs, intent, time, binding or proof).
    #[error("{0}")]
    Contribution(#[from] ContributionError),
    /// A spend record's transaction, signers or signatures disagree with its PSBT.
    #[error("spend: {0}")]
    SpendMismatch(String),
    /// One input of a spend record fails: its group commitment or its signature.
    #[error("spend input {input}: {reason}")]
    SpendInput {
        /// The input.
        input: usize,
        /// What failed.
        reason: String,
    },
    /// No spend verifying key for the record's backend and fingerprint.
    #[error("no spend verifying key for backend {backend} with fingerprint {fingerprint}")]
    UnknownSpendKey {
        /// Backend id.
        backend: u8,
        /// Fingerprint, hex.
        fingerprint: String,
    },
    /// A key record is inconsistent (its package, threshold, participants or roster).
    #[error("key record {key_id}: {reason}")]
    KeyRecord {
        /// The key.
        key_id: String,
        /// What is wrong.
        reason: String,
    },
    /// A signer's round-2 share attestation does not verify.
    #[error("round-2 share attestation of signer {signer_id} rejected: {reason}")]
    ShareAttestation {
        /// The signer.
        signer_id: u16,
        /// Why.
        reason: String,
    },
    /// A participant's signature over a key record does not verify.
    #[error("key attestation of signer {signer_id} rejected: {reason}")]
    KeyAttestation {
        /// The participant.
        signer_id: u16,
        /// Why.
        reason: String,
    },
    /// A second key record for a key id already recorded.
    #[error("key {key_id} was already recorded at record {first}")]
    KeyIdReused {
        /// The key.
        key_id: String,
        /// The first key record's index.
        first: u64,
    },
    /// A node's witness signature is invalid, or does not match this log.
    #[error("witness {signer_id}: {reason}")]
    Witness {
        /// The node.
        signer_id: u16,
        /// What is wrong.
        reason: String,
    },
    /// Records that fewer than the required number of rostered nodes witnessed.
    #[error("records {from}..{records} are witnessed by fewer than {min} rostered nodes")]
    Unwitnessed {
        /// The first unwitnessed record.
        from: u64,
        /// Records in the log.
        records: u64,
        /// Witnesses required.
        min: usize,
    },
    /// A signing record under a key no earlier key record made.
    #[error("no key record for key {key_id} precedes this signing record")]
    UnknownKey {
        /// The key.
        key_id: String,
    },
    /// A signing record disagrees with its key's record.
    #[error("signing record disagrees with the key record of {key_id}: {reason}")]
    KeyMismatch {
        /// The key.
        key_id: String,
        /// What differs.
        reason: String,
    },
}

/// A failure: which record (0-based line number) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("record {index}: {reason}")]
pub struct AuditFailure {
    /// The record's line number (0-based).
    pub index: u64,
    /// What is wrong.
    pub reason: AuditError,
}

/// What [`verify_log`](super::verify_log) found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Lines read.
    pub records: u64,
    /// Key records among them.
    pub key_records: u64,
    /// Distinct group keys.
    pub keys: usize,
    /// Distinct (group key, signer id) pairs.
    pub signers: usize,
    /// Records per backend id.
    pub backends: BTreeMap<u8, u64>,
    /// [`chain_hash`](super::chain_hash) of the last line: compare it with a head published elsewhere to
    /// detect a truncated or rewritten tail (the chain alone cannot).
    pub head: Option<[u8; 32]>,
    /// Every failure, by record index.
    pub failures: Vec<AuditFailure>,
    /// Records at least the required number of rostered nodes witnessed (`None`: no
    /// witnesses were given).
    pub witnessed: Option<u64>,
    /// The txids of the Bitcoin spend records, in log order.
    pub txids: Vec<String>,
}

impl AuditReport {
    /// Whether the log verified with no failure.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// Signing records read (per backend in [`AuditReport::backends`]).
    pub fn signatures(&self) -> u64 {
        self.backends.values().sum()
    }
}
