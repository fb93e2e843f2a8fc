//! The checks of audit records other than their chain link: record-level checks (version,
//! signer set, digest, key, final signature), each signer entry through
//! [the contribution check](crate::contribution), and the proofs of many records verified
//! in one batch per (backend, key).

use std::collections::{BTreeMap, HashSet};

use circuits::bn254::Bn254;
use circuits::pasta::Pasta;
use circuits::{Backend, BackendId, SignedDigest};
use rayon::prelude::*;

use super::commitment::group_commitment_x;
use super::error::{AuditError, AuditFailure};
use super::keys::AuditKeys;
use super::record::{share_attestation_message, AuditRecord, AUDIT_VERSION};
use crate::bip340::verify_bip340;
use crate::contribution::{
    contribution_faults, verify_contribution_proofs, Checked, Contribution, ContributionError,
    Expected,
};
use crate::fingerprint::VkFingerprint;
use crate::registered::{Pinned, Rostered};
use crate::statement::{PublicOf, StatementVerifier};

/// Contributions on backend `B` whose proofs wait for their batch, by key, each with its
/// record's index.
type Queue<B> = BTreeMap<VkFingerprint, Vec<(u64, Checked<PublicOf<B>>)>>;

/// Proofs that passed the cheap checks, by backend.
#[derive(Default)]
struct Proofs {
    groth16: Queue<Bn254>,
    halo2: Queue<Pasta>,
}

impl Proofs {
    fn extend(&mut self, other: Proofs) {
        for (fp, items) in other.groth16 {
            self.groth16.entry(fp).or_default().extend(items);
        }
        for (fp, items) in other.halo2 {
            self.halo2.entry(fp).or_default().extend(items);
        }
    }

    /// One batch per key held (records naming an unknown key queue no proofs).
    fn verify(self, keys: &AuditKeys, out: &mut Vec<AuditFailure>) {
        for (fp, items) in &self.groth16 {
            if let Some(key) = keys.groth16(fp) {
                verify_batch(key, items, out);
            }
        }
        for (fp, items) in &self.halo2 {
            if let Some(key) = keys.halo2(fp) {
                verify_batch(key, items, out);
            }
        }
    }
}

/// Verifies `items` as one batch, naming every failing proof by record and signer.
fn verify_batch<V: StatementVerifier>(
    key: &V,
    items: &[(u64, Checked<PublicOf<V::Backend>>)],
    out: &mut Vec<AuditFailure>,
) {
    let batch: Vec<_> = items.iter().map(|(_, c)| c.as_item()).collect();
    if let Err(failures) = verify_contribution_proofs(key, &batch) {
        out.extend(failures.into_iter().map(|(i, e)| AuditFailure {
            index: items[i].0,
            reason: AuditError::Contribution(e),
        }));
    }
}

/// Checks every record of a chunk (in parallel), then verifies their proofs in batches.
/// Failures come grouped by record, then the proof failures.
pub(super) fn check_records(records: &[(u64, AuditRecord)], keys: &AuditKeys) -> Vec<AuditFailure> {
    let outcomes: Vec<(Vec<AuditFailure>, Proofs)> = records
        .par_iter()
        .map(|(index, rec)| check_record(*index, rec, keys))
        .collect();
    let mut out = Vec::new();
    let mut proofs = Proofs::default();
    for (failures, p) in outcomes {
        out.extend(failures);
        proofs.extend(p);
    }
    proofs.verify(keys, &mut out);
    out
}

/// Every check of one record but its chain link and its proofs, which it queues.
fn check_record(index: u64, rec: &AuditRecord, keys: &AuditKeys) -> (Vec<AuditFailure>, Proofs) {
    let mut out = Vec::new();
    let mut proofs = Proofs::default();
    let mut fail = |reason| out.push(AuditFailure { index, reason });
    if rec.version != AUDIT_VERSION {
        fail(AuditError::UnsupportedVersion(rec.version));
        return (out, proofs);
    }
    // The final signature.
    // frost-secp256k1-tr serializes the group key as it is (either parity) and signs for
    // its x coordinate, as BIP-340 does: the x-only key is bytes 1..33 either way.
    if !matches!(rec.group_key[0], 0x02 | 0x03) {
        fail(AuditError::GroupKeyPrefix(rec.group_key[0]));
    } else if let Err(e) = verify_bip340(&rec.group_key[1..], &rec.digest, &rec.signature) {
        fail(AuditError::InvalidSignature(e));
    }
    // The signer set.
    let mut ids = HashSet::new();
    for s in &rec.signers {
        if s.signer_id == 0 {
            fail(AuditError::ZeroSignerId);
        } else if !ids.insert(s.signer_id) {
            fail(AuditError::DuplicateSigner(s.signer_id));
        }
    }
    if ids.len() < rec.threshold as usize {
        fail(AuditError::BelowThreshold {
            signers: ids.len(),
            threshold: rec.threshold,
        });
    }
    let Some(first) = rec.signers.first() else {
        fail(AuditError::NoSigners);
        return (out, proofs);
    };
    // The listed commitments must be the ones that made the signature's R.
    let listed: Vec<(u16, &[u8])> = rec
        .signers
        .iter()
        .map(|s| (s.signer_id, s.commitments.as_slice()))
        .collect();
    match group_commitment_x(&rec.group_key, &rec.digest, &listed) {
        Ok(x) if x[..] == rec.signature[..32] => {}
        Ok(x) => fail(AuditError::CommitmentMismatch {
            recomputed: hex::encode(x),
            signature: hex::encode(&rec.signature[..32]),
        }),
        Err(e) => fail(AuditError::GroupCommitment(e)),
    }
    let Ok(backend) = BackendId::try_from(rec.backend) else {
        fail(AuditError::UnknownBackend(rec.backend));
        return (out, proofs);
    };
    // The digest is C's; every signer must have proved the first signer's C and now.
    let c = first.public_inputs[0];
    let expected = SignedDigest::from_parts(backend, &c);
    if expected.0 != rec.digest {
        fail(AuditError::DigestMismatch {
            expected: expected.to_hex(),
            found: hex::encode(rec.digest),
        });
    }
    let fingerprint = VkFingerprint(rec.vk_fingerprint);
    let known = match backend {
        BackendId::Groth16Bn254 => keys.groth16(&fingerprint).is_some(),
        BackendId::Halo2Pasta => keys.halo2(&fingerprint).is_some(),
    };
    if !known {
        fail(AuditError::UnknownVerifyingKey {
            backend,
            fingerprint,
        });
    }
    let mut now = [0u8; 8];
    now.copy_from_slice(&first.public_inputs[2][..8]);
    let now = u64::from_le_bytes(now);
    // Only the key the admins pinned counts, whatever keys the auditor was handed.
    match keys.pinned_key(backend, now) {
        Pinned::Untracked => {}
        Pinned::Key(fp) if fp == fingerprint.0 => {}
        Pinned::Key(fp) => fail(AuditError::UnpinnedVerifyingKey {
            backend,
            fingerprint,
            pinned: Some(VkFingerprint(fp)),
        }),
        Pinned::Nothing => fail(AuditError::UnpinnedVerifyingKey {
            backend,
            fingerprint,
            pinned: None,
        }),
    }
    if now.abs_diff(rec.time) > keys.max_skew() {
        fail(AuditError::TimeSkew {
            now,
            time: rec.time,
            max: keys.max_skew(),
        });
    }
    // Each round-2 share must carry its signer's signature over this session and share.
    for s in &rec.signers {
        let msg = share_attestation_message(&rec.session_id, s.signer_id, &s.share);
        if let Err(e) = verify_bip340(&s.identity_key, &msg, &s.share_attestation) {
            fail(AuditError::ShareAttestation {
                signer_id: s.signer_id,
                reason: e.to_string(),
            });
        }
    }
    // Each attestation must come from the identity key the admins rostered for its signer
    // at the session's time, not from whatever key the record names.
    for s in &rec.signers {
        match keys.rostered_identity(s.signer_id, now) {
            Rostered::Untracked => {}
            Rostered::Absent => fail(AuditError::NotRostered {
                signer_id: s.signer_id,
                now,
            }),
            Rostered::Member(k) if k != s.identity_key => fail(AuditError::IdentityNotRostered {
                signer_id: s.signer_id,
                found: hex::encode(s.identity_key),
                rostered: hex::encode(k),
            }),
            Rostered::Member(_) => {}
        }
    }
    let policies = keys.registered_policies(&rec.key_id, backend, now);
    let session = Expected {
        session_id: &rec.session_id,
        group_key: &rec.group_key,
        derived: std::slice::from_ref(&c),
        now,
        vk_fingerprint: fingerprint,
        policies: &policies,
    };
    let errors = match backend {
        BackendId::Groth16Bn254 => {
            let (errors, checked) = check_signers::<Bn254>(rec, &session);
            if known {
                proofs.groth16.insert(fingerprint, tag(index, checked));
            }
            errors
        }
        BackendId::Halo2Pasta => {
            let (errors, checked) = check_signers::<Pasta>(rec, &session);
            if known {
                proofs.halo2.insert(fingerprint, tag(index, checked));
            }
            errors
        }
    };
    out.extend(errors.into_iter().map(|e| AuditFailure {
        index,
        reason: AuditError::Contribution(e),
    }));
    (out, proofs)
}

fn tag<T>(index: u64, items: Vec<T>) -> Vec<(u64, T)> {
    items.into_iter().map(|x| (index, x)).collect()
}

/// The contribution check of every signer entry: all faults, and the proofs to verify.
fn check_signers<B: Backend>(
    rec: &AuditRecord,
    session: &Expected,
) -> (Vec<ContributionError>, Vec<Checked<PublicOf<B>>>) {
    let mut errors = Vec::new();
    let mut checked = Vec::new();
    for s in &rec.signers {
        let contribution = Contribution {
            signer_id: s.signer_id,
            identity_key: Some(&s.identity_key),
            commitments: &s.commitments,
            proof: &s.proof,
            public_inputs: &s.public_inputs,
            attestation: &s.attestation,
        };
        let (c, faults) = contribution_faults::<B>(&contribution, session);
        errors.extend(faults.into_iter().map(|fault| ContributionError {
            signer_id: s.signer_id,
            fault,
        }));
        checked.extend(c);
    }
    (errors, checked)
}
