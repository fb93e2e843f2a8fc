//! The key record: a threshold key as every node attested it at keygen, appended to the
//! audit log before any signature under it.
//!
//! At the end of a DKG each node signs, with its identity key (BIP-340), the
//! [`key_attestation_message`] over what it computed itself: the key id, the proof backend,
//! the threshold, the number of participants, the version of the roster it ran the DKG
//! under and the serialized FROST public key package (group key and every verifying
//! share). The coordinator keeps all `n` signatures and appends them as one
//! [`KeyRecord`]; it cannot substitute the group key, lower the threshold or drop a
//! participant without every node's signature breaking.
//!
//! The auditor ([`check_key_record`]) checks each signature against the identity key the
//! admins rostered for that signer, and the threshold and participant count against the
//! roster in force; signing records under the key then take their threshold, signer ids
//! and identity keys from here ([`KeyFacts`]), never from the signing record itself.

use std::collections::{BTreeMap, BTreeSet};

use circuits::hash::tagged_hash;
use frost_secp256k1_tr::keys::PublicKeyPackage;
use frost_secp256k1_tr::Identifier;
use serde::{Deserialize, Serialize};

use super::error::AuditError;
use super::keys::AuditKeys;
use super::record::{hex_bytes, hex_vec};
use crate::bip340::verify_bip340;
use crate::registered::Rostered;

/// Format version of [`KeyRecord`].
pub const KEY_RECORD_VERSION: u32 = 1;
/// Domain tag of [`key_attestation_message`].
pub const KEY_ATTEST_TAG: &[u8] = b"zkquorum/attest/key/v1";

/// A key as the coordinator appends it to the audit log (`"type": "key"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// Record format version ([`KEY_RECORD_VERSION`]).
    pub version: u32,
    /// Position in the log, 0-based; equals the line number.
    pub index: u64,
    /// The coordinator's name for the key.
    pub key_id: String,
    /// Proof backend id of the key's sessions (1 = groth16-bn254, 2 = halo2-pasta).
    pub backend: u8,
    /// Signers each signature needs.
    pub threshold: u16,
    /// Signers holding a share (every rostered node).
    pub participants: u16,
    /// Version of the governance record holding the roster the DKG ran under.
    pub roster_version: u64,
    /// The FROST group key, 33-byte SEC1 (either parity).
    #[serde(with = "hex_bytes")]
    pub group_key: [u8; 33],
    /// `PublicKeyPackage::serialize()` bytes: the group key and every verifying share.
    #[serde(with = "hex_vec")]
    pub public_key_package: Vec<u8>,
    /// Every participant's signature over [`KeyRecord::attestation_message`].
    pub attestations: Vec<KeyAttestation>,
    /// Unix seconds at which the record was appended.
    pub time: u64,
    /// Chain hash of the previous line; 32 zero bytes for record 0.
    #[serde(with = "hex_bytes")]
    pub prev: [u8; 32],
}

/// One node's signature over the key it computed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyAttestation {
    /// The node's FROST identifier.
    pub signer_id: u16,
    /// The node identity key (x-only BIP-340) that signed.
    #[serde(with = "hex_bytes")]
    pub identity_key: [u8; 32],
    /// BIP-340 signature over [`KeyRecord::attestation_message`] for this signer.
    #[serde(with = "hex_bytes")]
    pub signature: [u8; 64],
}

/// What a node attests about a key it helped make: everything but the signatures of a
/// [`KeyRecord`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyStatement<'a> {
    /// The key id.
    pub key_id: &'a str,
    /// Proof backend id.
    pub backend: u8,
    /// Signers needed.
    pub threshold: u16,
    /// Participants.
    pub participants: u16,
    /// Roster version the DKG ran under.
    pub roster_version: u64,
    /// `PublicKeyPackage::serialize()` bytes.
    pub public_key_package: &'a [u8],
}

/// `tagged_hash("zkquorum/attest/key/v1", [key_id, signer u16 LE, backend, threshold u16
/// LE, participants u16 LE, roster_version u64 LE, public key package])`, each part
/// length-prefixed: what node `signer` signs at the end of a DKG.
pub fn key_attestation_message(statement: &KeyStatement<'_>, signer: u16) -> [u8; 32] {
    tagged_hash(
        KEY_ATTEST_TAG,
        &[
            statement.key_id.as_bytes(),
            &signer.to_le_bytes(),
            &[statement.backend],
            &statement.threshold.to_le_bytes(),
            &statement.participants.to_le_bytes(),
            &statement.roster_version.to_le_bytes(),
            statement.public_key_package,
        ],
    )
}

impl KeyRecord {
    /// What the participants sign ([`KeyStatement`]).
    pub fn statement(&self) -> KeyStatement<'_> {
        KeyStatement {
            key_id: &self.key_id,
            backend: self.backend,
            threshold: self.threshold,
            participants: self.participants,
            roster_version: self.roster_version,
            public_key_package: &self.public_key_package,
        }
    }

    /// The message participant `signer` signs.
    pub fn attestation_message(&self, signer: u16) -> [u8; 32] {
        key_attestation_message(&self.statement(), signer)
    }

    /// The record as one log line (no newline), tagged `"type": "key"`.
    pub fn to_line(&self) -> String {
        super::record::entry_line(super::record::EntryRef::Key(self))
    }
}

/// The faults of a signing record against its key's record: the same group key, backend
/// and threshold, every signer a participant attesting with the identity key it attested
/// the key with.
pub(super) fn key_mismatches(rec: &super::AuditRecord, facts: &KeyFacts) -> Vec<AuditError> {
    let signers: Vec<(u16, [u8; 32])> = rec
        .signers
        .iter()
        .map(|s| (s.signer_id, s.identity_key))
        .collect();
    mismatches(
        &rec.key_id,
        (&rec.group_key, rec.threshold, rec.backend),
        &signers,
        facts,
    )
}

/// [`key_mismatches`] of a spend record.
pub(super) fn spend_key_mismatches(rec: &super::SpendRecord, facts: &KeyFacts) -> Vec<AuditError> {
    let signers: Vec<(u16, [u8; 32])> = rec
        .signers
        .iter()
        .map(|s| (s.signer_id, s.identity_key))
        .collect();
    mismatches(
        &rec.key_id,
        (&rec.group_key, rec.threshold, rec.backend),
        &signers,
        facts,
    )
}

/// A record's (group key, threshold, backend) and signers against its key's facts.
fn mismatches(
    key_id: &str,
    (group_key, threshold, backend): (&[u8; 33], u16, u8),
    signers: &[(u16, [u8; 32])],
    facts: &KeyFacts,
) -> Vec<AuditError> {
    let mut out = Vec::new();
    let bad = |reason: String| AuditError::KeyMismatch {
        key_id: key_id.to_string(),
        reason,
    };
    if *group_key != facts.group_key {
        out.push(bad(format!(
            "group key {}, the key record's is {}",
            hex::encode(group_key),
            hex::encode(facts.group_key)
        )));
    }
    if threshold != facts.threshold {
        out.push(bad(format!(
            "threshold {}, the key record's is {}",
            threshold, facts.threshold
        )));
    }
    if backend != facts.backend {
        out.push(bad(format!(
            "backend {}, the key record's is {}",
            backend, facts.backend
        )));
    }
    for (signer_id, identity_key) in signers {
        match facts.identities.get(signer_id) {
            None => out.push(bad(format!(
                "signer {signer_id} is not a participant of the key"
            ))),
            Some(k) if k != identity_key => out.push(bad(format!(
                "signer {} attests with identity key {}, it attested the key with {}",
                signer_id,
                hex::encode(identity_key),
                hex::encode(k)
            ))),
            Some(_) => {}
        }
    }
    out
}

/// What signing records under a key are checked against, taken from its verified
/// [`KeyRecord`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFacts {
    /// The log index of the key record (`None` for one the auditor was given beforehand).
    pub index: Option<u64>,
    /// The group key.
    pub group_key: [u8; 33],
    /// The backend.
    pub backend: u8,
    /// Signers needed.
    pub threshold: u16,
    /// Each participant's identity key, by signer id.
    pub identities: BTreeMap<u16, [u8; 32]>,
}

/// Checks a key record: version, the package (it decodes; its group key is the record's;
/// it has a verifying share for exactly the attesting signers; its `min_signers`, when
/// set, is the threshold), one valid signature per participant, each by the identity key
/// the admins rostered for it at the record's time, and threshold, participants and roster
/// version matching the roster in force (when the auditor keeps a registry). Returns the
/// facts signing records are checked against, or every failure found.
pub fn check_key_record(rec: &KeyRecord, keys: &AuditKeys) -> Result<KeyFacts, Vec<AuditError>> {
    let mut out = Vec::new();
    if rec.version != KEY_RECORD_VERSION {
        return Err(vec![AuditError::UnsupportedVersion(rec.version)]);
    }
    let bad = |reason: String| AuditError::KeyRecord {
        key_id: rec.key_id.clone(),
        reason,
    };
    if circuits::BackendId::try_from(rec.backend).is_err() {
        out.push(AuditError::UnknownBackend(rec.backend));
    }
    let package = match PublicKeyPackage::deserialize(&rec.public_key_package) {
        Ok(p) => p,
        Err(e) => return Err(vec![bad(format!("public key package: {e}"))]),
    };
    match package.verifying_key().serialize() {
        Ok(k) if k[..] == rec.group_key[..] => {}
        _ => out.push(bad("the package's group key is not the record's".into())),
    }
    if let Some(min) = package.min_signers() {
        if min != rec.threshold {
            out.push(bad(format!(
                "the package needs {min} signers, the record says {}",
                rec.threshold
            )));
        }
    }
    if rec.threshold == 0 || rec.threshold > rec.participants {
        out.push(bad(format!(
            "threshold {} of {} participants",
            rec.threshold, rec.participants
        )));
    }
    let shares: BTreeSet<Identifier> = package.verifying_shares().keys().copied().collect();
    let mut identities = BTreeMap::new();
    for a in &rec.attestations {
        let Ok(id) = Identifier::try_from(a.signer_id) else {
            out.push(AuditError::ZeroSignerId);
            continue;
        };
        if identities.insert(a.signer_id, a.identity_key).is_some() {
            out.push(AuditError::DuplicateSigner(a.signer_id));
            continue;
        }
        if !shares.contains(&id) {
            out.push(bad(format!(
                "signer {} attests but holds no verifying share",
                a.signer_id
            )));
        }
        if let Err(e) = verify_bip340(
            &a.identity_key,
            &rec.attestation_message(a.signer_id),
            &a.signature,
        ) {
            out.push(AuditError::KeyAttestation {
                signer_id: a.signer_id,
                reason: e.to_string(),
            });
        }
        match keys.rostered_identity(a.signer_id, rec.time) {
            Rostered::Untracked => {}
            Rostered::Absent => out.push(AuditError::NotRostered {
                signer_id: a.signer_id,
                now: rec.time,
            }),
            Rostered::Member(k) if k != a.identity_key => {
                out.push(AuditError::IdentityNotRostered {
                    signer_id: a.signer_id,
                    found: hex::encode(a.identity_key),
                    rostered: hex::encode(k),
                })
            }
            Rostered::Member(_) => {}
        }
    }
    if shares.len() != usize::from(rec.participants) || identities.len() != shares.len() {
        out.push(bad(format!(
            "{} participants, {} verifying shares, {} attestations: every participant must attest",
            rec.participants,
            shares.len(),
            identities.len()
        )));
    }
    if let Some(shape) = keys.roster_shape(rec.time) {
        if (shape.version, shape.threshold, shape.participants)
            != (rec.roster_version, rec.threshold, rec.participants)
        {
            out.push(bad(format!(
                "made under roster v{} as {}-of-{}, but the roster in force is v{} ({}-of-{})",
                rec.roster_version,
                rec.threshold,
                rec.participants,
                shape.version,
                shape.threshold,
                shape.participants
            )));
        }
    }
    if out.is_empty() {
        Ok(KeyFacts {
            index: Some(rec.index),
            group_key: rec.group_key,
            backend: rec.backend,
            threshold: rec.threshold,
            identities,
        })
    } else {
        Err(out)
    }
}
