//! Governance records, what admins sign, and the signed form that travels and is stored.
//!
//! A [`GovernanceRecord`] is `(cluster, version, effective_from, content)` plus the hash of
//! its content; its kind ([`RecordKind`]) is that of the content: a [`Roster`] (the nodes
//! and the coordinator of the cluster) or [`PolicyAssignments`] (the policy commitment `P`
//! each signer must prove under, per key and backend).
//!
//! Hashes (all `circuits::hash::tagged_hash`, every part length-prefixed):
//!
//! - content hash = `tagged_hash(`[`CONTENT_TAG`]`, [kind, …canonical fields…])`: a roster
//!   is `threshold u16 LE, coordinator_tls_fingerprint, n u64 LE`, then per node `id u16
//!   LE, url, identity_key, hpke_key, tls_fingerprint`, then `m u64 LE` and per pinned
//!   verifying key `backend id byte, fingerprint`; a policy record is `n u64 LE`, then
//!   per assignment `key_id, signer u16 LE, backend id byte, commitment`. Never the JSON
//!   text: the hash does not depend on key order or whitespace;
//! - the message admins sign (BIP-340) = `tagged_hash(`[`RECORD_TAG`]`, [cluster, kind,
//!   version u64 LE, content hash, effective_from u64 LE])`
//!   ([`GovernanceRecord::signing_message`]).
//!
//! JSON of a [`SignedRecord`] (bytes as lowercase hex):
//!
//! ```json
//! {"record": {"cluster": "local", "version": 2, "effective_from": 1764547200,
//!             "content_hash": "…",
//!             "content": {"kind": "policy", "assignments": [
//!               {"key_id": "*", "signer": 1, "backend": "groth16", "commitment": "…"}]}},
//!  "approvals": [{"admin": "…", "signature": "…"}]}
//! ```

use circuits::bn254::Bn254;
use circuits::hash::tagged_hash;
use circuits::pasta::Pasta;
use circuits::{Backend, BackendId, StatementField};
use serde::{Deserialize, Serialize};

use super::error::GovernanceError;
use super::serde_hex;
use super::trust::TrustRoot;
use crate::bip340::verify_bip340;

/// Domain tag of a record's content hash.
pub const CONTENT_TAG: &[u8] = b"zkquorum/governance/content/v1";
/// Domain tag of the message admins sign.
pub const RECORD_TAG: &[u8] = b"zkquorum/governance/record/v1";
/// The key id of a policy assignment that applies to every key without its own.
pub const WILDCARD_KEY: &str = "*";
/// Longest node URL accepted in a roster.
pub const MAX_URL_LEN: usize = 2048;

/// One signer node as the roster names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterNode {
    /// Its signer id (`1..=n`).
    pub id: u16,
    /// Base URL of its API (`https://…`).
    pub url: String,
    /// Its BIP-340 identity key (x-only), which signs its session replies.
    #[serde(with = "serde_hex")]
    pub identity_key: [u8; 32],
    /// Its X25519 key, to which DKG shares for it are sealed (HPKE).
    #[serde(with = "serde_hex")]
    pub hpke_key: [u8; 32],
    /// BLAKE3 of its TLS certificate's SubjectPublicKeyInfo: the key it is pinned by, which
    /// a certificate renewed from the same key keeps.
    #[serde(with = "serde_hex")]
    pub tls_fingerprint: [u8; 32],
}

/// A proof verifying key the roster pins: proofs that name any other key are refused by
/// the nodes, the coordinator and the auditor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedKey {
    /// The backend the key is for.
    #[serde(with = "serde_hex::backend")]
    pub backend: BackendId,
    /// Its fingerprint (`VkFingerprint`: BLAKE3 of the canonical verifying key).
    #[serde(with = "serde_hex")]
    pub fingerprint: [u8; 32],
}

/// A spend verifying key the roster pins: one per backend and spend size class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinnedSpendKey {
    /// The backend the key is for.
    #[serde(with = "serde_hex::backend")]
    pub backend: BackendId,
    /// The size class, by its number of output slots (2, 16 or 256).
    pub slots: u16,
    /// Its fingerprint.
    #[serde(with = "serde_hex")]
    pub fingerprint: [u8; 32],
}

/// The cluster's membership: its nodes, its coordinator, the signing threshold and the proof
/// verifying keys it uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    /// Every node, ordered by id `1..=n`.
    pub nodes: Vec<RosterNode>,
    /// BLAKE3 of the coordinator's TLS certificate's SubjectPublicKeyInfo (its key).
    #[serde(with = "serde_hex")]
    pub coordinator_tls_fingerprint: [u8; 32],
    /// Signers needed for a signature, `t` (`2 <= t <= n`).
    pub threshold: u16,
    /// The verifying keys proofs must be made for, at most one per backend. A backend
    /// without a pin has no valid proof.
    pub verifying_keys: Vec<PinnedKey>,
    /// The Bitcoin spend verifying keys, at most one per backend and size class. A class
    /// without a pin has no valid spend proof. Absent from records that pin none, so
    /// rosters written before spends existed keep their bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spend_keys: Vec<PinnedSpendKey>,
}

impl Roster {
    /// The node with id `id`.
    pub fn node(&self, id: u16) -> Option<&RosterNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Whether `id` is one of the roster's signers.
    pub fn has_signer(&self, id: u16) -> bool {
        self.node(id).is_some()
    }

    /// The fingerprint of the verifying key pinned for `backend`, if any.
    pub fn pinned_key(&self, backend: BackendId) -> Option<[u8; 32]> {
        self.verifying_keys
            .iter()
            .find(|k| k.backend == backend)
            .map(|k| k.fingerprint)
    }

    /// The fingerprint of the spend verifying key pinned for `backend` and the class of
    /// `slots` outputs, if any.
    pub fn pinned_spend_key(&self, backend: BackendId, slots: u16) -> Option<[u8; 32]> {
        self.spend_keys
            .iter()
            .find(|k| k.backend == backend && k.slots == slots)
            .map(|k| k.fingerprint)
    }

    /// Checks that the roster describes a cluster: ids `1..=n` in order, `2 <= t <= n`
    /// (FROST needs two signers at least, as `signer::Threshold` requires), `https` URLs,
    /// identity keys that are x-only points, and distinct keys and fingerprints. The error
    /// says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.nodes.len();
        if n == 0 {
            return Err("no nodes".into());
        }
        if n > usize::from(u16::MAX) {
            return Err(format!("{n} nodes is too many"));
        }
        if self.threshold < 2 || usize::from(self.threshold) > n {
            return Err(format!(
                "threshold {} is not within 2..={n}",
                self.threshold
            ));
        }
        for (i, pin) in self.verifying_keys.iter().enumerate() {
            if self.verifying_keys[..i]
                .iter()
                .any(|p| p.backend == pin.backend)
            {
                return Err(format!(
                    "more than one verifying key pinned for {}",
                    pin.backend.name()
                ));
            }
        }
        for (i, pin) in self.spend_keys.iter().enumerate() {
            if crate::keys::spend_class(usize::from(pin.slots)).is_err() {
                return Err(format!("{} is not a spend size class", pin.slots));
            }
            if self.spend_keys[..i]
                .iter()
                .any(|p| p.backend == pin.backend && p.slots == pin.slots)
            {
                return Err(format!(
                    "more than one {}-output spend key pinned for {}",
                    pin.slots,
                    pin.backend.name()
                ));
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if usize::from(node.id) != i + 1 {
                return Err(format!(
                    "nodes must be listed by id 1..={n}; entry {} has id {}",
                    i + 1,
                    node.id
                ));
            }
            let host = node.url.strip_prefix("https://").unwrap_or_default();
            if host.is_empty()
                || node.url.len() > MAX_URL_LEN
                || node.url.contains(char::is_whitespace)
            {
                return Err(format!(
                    "node {} url {:?} is not an https URL",
                    node.id, node.url
                ));
            }
            if crate::bip340::XOnlyPublicKey::from_bytes(&node.identity_key).is_err() {
                return Err(format!(
                    "node {} identity key {} is not a BIP-340 x-only key",
                    node.id,
                    hex::encode(node.identity_key)
                ));
            }
            for earlier in &self.nodes[..i] {
                let same = if earlier.identity_key == node.identity_key {
                    Some("identity key")
                } else if earlier.hpke_key == node.hpke_key {
                    Some("HPKE key")
                } else if earlier.tls_fingerprint == node.tls_fingerprint {
                    Some("TLS fingerprint")
                } else {
                    None
                };
                if let Some(what) = same {
                    return Err(format!(
                        "nodes {} and {} have the same {what}",
                        earlier.id, node.id
                    ));
                }
            }
            if node.tls_fingerprint == self.coordinator_tls_fingerprint {
                return Err(format!(
                    "node {} has the coordinator's TLS fingerprint",
                    node.id
                ));
            }
        }
        Ok(())
    }

    fn encode(&self, parts: &mut Vec<Vec<u8>>) {
        parts.push(self.threshold.to_le_bytes().to_vec());
        parts.push(self.coordinator_tls_fingerprint.to_vec());
        parts.push((self.nodes.len() as u64).to_le_bytes().to_vec());
        for node in &self.nodes {
            parts.push(node.id.to_le_bytes().to_vec());
            parts.push(node.url.as_bytes().to_vec());
            parts.push(node.identity_key.to_vec());
            parts.push(node.hpke_key.to_vec());
            parts.push(node.tls_fingerprint.to_vec());
        }
        parts.push((self.verifying_keys.len() as u64).to_le_bytes().to_vec());
        for pin in &self.verifying_keys {
            parts.push(vec![pin.backend.as_u8()]);
            parts.push(pin.fingerprint.to_vec());
        }
        // Only when present, like the JSON field: older rosters encode as before. The
        // parts are length-prefixed and this list comes last, so both forms stay unambiguous.
        if !self.spend_keys.is_empty() {
            parts.push(b"spend_keys".to_vec());
            parts.push((self.spend_keys.len() as u64).to_le_bytes().to_vec());
            for pin in &self.spend_keys {
                parts.push(vec![pin.backend.as_u8()]);
                parts.push(pin.slots.to_le_bytes().to_vec());
                parts.push(pin.fingerprint.to_vec());
            }
        }
    }
}

/// One signer's registered policy commitment for one key (or every key, [`WILDCARD_KEY`])
/// on one backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAssignment {
    /// The key id, or `"*"` for every key without an assignment of its own.
    pub key_id: String,
    /// The signer id.
    pub signer: u16,
    /// The proof backend the commitment is for (`P` differs per backend).
    #[serde(with = "serde_hex::backend")]
    pub backend: BackendId,
    /// `P`: the backend field element's canonical little-endian bytes.
    #[serde(with = "serde_hex")]
    pub commitment: [u8; 32],
}

/// The content of a policy record: one or more assignments, each for one signer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyAssignments {
    /// The assignments (at most one per `(key_id, signer, backend)`).
    pub assignments: Vec<PolicyAssignment>,
}

/// Whether `s` is a key id as the cluster accepts them (`[A-Za-z0-9._-]`, 1 to 64
/// characters, the rule of the root crate's `KeyId`) or the wildcard.
fn valid_key_id(s: &str) -> bool {
    s == WILDCARD_KEY
        || ((1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')))
}

/// Whether `bytes` is a canonical field element of `backend`'s statement field.
fn canonical_commitment(backend: BackendId, bytes: &[u8; 32]) -> bool {
    match backend {
        BackendId::Groth16Bn254 => {
            <Bn254 as Backend>::F::from_canonical_le_bytes32(bytes).is_some()
        }
        BackendId::Halo2Pasta => <Pasta as Backend>::F::from_canonical_le_bytes32(bytes).is_some(),
    }
}

impl PolicyAssignments {
    /// Checks the assignments on their own: at least one; key ids valid or `"*"`; signer
    /// ids non-zero; commitments canonical field elements of their backend; no two for the
    /// same `(key_id, signer, backend)`. (That each signer is in the roster is the
    /// registry's check.)
    pub fn validate(&self) -> Result<(), String> {
        if self.assignments.is_empty() {
            return Err("no assignments".into());
        }
        for (i, a) in self.assignments.iter().enumerate() {
            if !valid_key_id(&a.key_id) {
                return Err(format!(
                    "key id {:?} is neither \"*\" nor 1 to 64 characters from [A-Za-z0-9._-]",
                    a.key_id.chars().take(80).collect::<String>()
                ));
            }
            if a.signer == 0 {
                return Err("signer id 0 (ids start at 1)".into());
            }
            if !canonical_commitment(a.backend, &a.commitment) {
                return Err(format!(
                    "signer {} key {}: commitment {} is not a {} field element",
                    a.signer,
                    a.key_id,
                    hex::encode(a.commitment),
                    a.backend.short_name()
                ));
            }
            if self.assignments[..i]
                .iter()
                .any(|b| b.key_id == a.key_id && b.signer == a.signer && b.backend == a.backend)
            {
                return Err(format!(
                    "signer {} key {} backend {} is assigned twice",
                    a.signer,
                    a.key_id,
                    a.backend.short_name()
                ));
            }
        }
        Ok(())
    }

    fn encode(&self, parts: &mut Vec<Vec<u8>>) {
        parts.push((self.assignments.len() as u64).to_le_bytes().to_vec());
        for a in &self.assignments {
            parts.push(a.key_id.as_bytes().to_vec());
            parts.push(a.signer.to_le_bytes().to_vec());
            parts.push(vec![a.backend.as_u8()]);
            parts.push(a.commitment.to_vec());
        }
    }
}

/// The kind of a record, as signed and shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A [`Roster`].
    Roster,
    /// [`PolicyAssignments`] of the intent statement.
    Policy,
    /// [`PolicyAssignments`] of the Bitcoin spend statement (`P` of a
    /// [`circuits::spend::SpendPolicy`]).
    SpendPolicy,
}

impl RecordKind {
    /// `roster`, `policy` or `spend_policy`: the name in JSON and in the signed message.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecordKind::Roster => "roster",
            RecordKind::Policy => "policy",
            RecordKind::SpendPolicy => "spend_policy",
        }
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a record decides. In JSON, an object whose `kind` names the variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordContent {
    /// The cluster's membership.
    Roster(Roster),
    /// Policy commitments per signer and key.
    Policy(PolicyAssignments),
    /// Spend-policy commitments per signer and key (the Bitcoin spend statement's `P`).
    SpendPolicy(PolicyAssignments),
}

impl RecordContent {
    /// Its kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordContent::Roster(_) => RecordKind::Roster,
            RecordContent::Policy(_) => RecordKind::Policy,
            RecordContent::SpendPolicy(_) => RecordKind::SpendPolicy,
        }
    }

    /// The tagged hash of the canonical encoding (see the module docs).
    pub fn content_hash(&self) -> [u8; 32] {
        let mut parts = vec![self.kind().as_str().as_bytes().to_vec()];
        match self {
            RecordContent::Roster(r) => r.encode(&mut parts),
            RecordContent::Policy(p) | RecordContent::SpendPolicy(p) => p.encode(&mut parts),
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        tagged_hash(CONTENT_TAG, &refs)
    }
}

/// One governance decision: `(cluster, kind, version, content hash, effective_from)` and
/// the content itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceRecord {
    /// The cluster it is for (the trust root's name).
    pub cluster: String,
    /// Its place in the registry: 1 for the genesis roster, then one more per record.
    pub version: u64,
    /// Unix time (s) from which it is in force.
    pub effective_from: u64,
    /// The hash of `content` as proposed ([`RecordContent::content_hash`]); a content
    /// changed afterwards no longer matches it.
    #[serde(with = "serde_hex")]
    pub content_hash: [u8; 32],
    /// What it decides.
    pub content: RecordContent,
}

impl GovernanceRecord {
    /// A record with its content hash computed.
    pub fn new(
        cluster: impl Into<String>,
        version: u64,
        effective_from: u64,
        content: RecordContent,
    ) -> Self {
        Self {
            cluster: cluster.into(),
            version,
            effective_from,
            content_hash: content.content_hash(),
            content,
        }
    }

    /// Its kind (that of its content).
    pub fn kind(&self) -> RecordKind {
        self.content.kind()
    }

    /// [`GovernanceError::ContentHashMismatch`] unless the content hashes to
    /// `content_hash`.
    pub fn check_content_hash(&self) -> Result<(), GovernanceError> {
        if self.content.content_hash() == self.content_hash {
            Ok(())
        } else {
            Err(GovernanceError::ContentHashMismatch {
                version: self.version,
            })
        }
    }

    /// The 32-byte message admins sign with BIP-340: `tagged_hash(RECORD_TAG, [cluster,
    /// kind, version LE, content_hash, effective_from LE])`. It also names the record
    /// (the registry's head hash).
    pub fn signing_message(&self) -> [u8; 32] {
        tagged_hash(
            RECORD_TAG,
            &[
                self.cluster.as_bytes(),
                self.kind().as_str().as_bytes(),
                &self.version.to_le_bytes(),
                &self.content_hash,
                &self.effective_from.to_le_bytes(),
            ],
        )
    }
}

/// One admin's approval: a BIP-340 signature over [`GovernanceRecord::signing_message`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The admin's x-only key.
    #[serde(with = "serde_hex")]
    pub admin: [u8; 32],
    /// The signature.
    #[serde(with = "serde_hex")]
    pub signature: [u8; 64],
}

/// A record with the approvals collected so far: a proposal while it has fewer than `k`,
/// a decision once a registry accepted it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRecord {
    /// The record.
    pub record: GovernanceRecord,
    /// The approvals, in the order they were added.
    pub approvals: Vec<Approval>,
}

impl SignedRecord {
    /// A proposal: `record` with no approvals yet.
    pub fn new(record: GovernanceRecord) -> Self {
        Self {
            record,
            approvals: Vec::new(),
        }
    }

    /// Adds `approval`, replacing an earlier one by the same admin (so approving twice
    /// never counts twice, and a re-approval can fix a bad signature).
    pub fn add_approval(&mut self, approval: Approval) {
        self.approvals.retain(|a| a.admin != approval.admin);
        self.approvals.push(approval);
    }

    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Self, GovernanceError> {
        serde_json::from_str(text).map_err(|e| GovernanceError::Decode {
            what: "signed governance record",
            reason: e.to_string(),
        })
    }

    /// The compact JSON form: what is stored and sent; equal records give equal bytes.
    pub fn to_json(&self) -> String {
        // Strings, numbers and hex: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The pretty-printed JSON form (proposal files).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The record's signing message, which also identifies it.
    pub fn record_hash(&self) -> [u8; 32] {
        self.record.signing_message()
    }

    /// The distinct admins of `trust` whose approvals verify, in the order of the
    /// approvals. Fails on the first approval by a key that is not an admin
    /// ([`GovernanceError::NotAnAdmin`]) or whose signature does not verify
    /// ([`GovernanceError::BadSignature`]): a record carrying a forged approval is refused
    /// whole, not counted around. Whether there are enough is the caller's question
    /// ([`TrustRoot::threshold`]).
    pub fn approvers(&self, trust: &TrustRoot) -> Result<Vec<[u8; 32]>, GovernanceError> {
        let version = self.record.version;
        let message = self.record.signing_message();
        let mut seen: Vec<[u8; 32]> = Vec::new();
        for a in &self.approvals {
            if !trust.is_admin(&a.admin) {
                return Err(GovernanceError::NotAnAdmin {
                    version,
                    admin: hex::encode(a.admin),
                });
            }
            if verify_bip340(&a.admin, &message, &a.signature).is_err() {
                return Err(GovernanceError::BadSignature {
                    version,
                    admin: hex::encode(a.admin),
                });
            }
            if !seen.contains(&a.admin) {
                seen.push(a.admin);
            }
        }
        Ok(seen)
    }
}
