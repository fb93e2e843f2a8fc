//! Verification of audit records and whole logs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;

use circuits::public::{Binding, PublicInputs, PublicInputsError};
use circuits::{BackendId, SignedDigest};
use rand::rngs::OsRng;
use rayon::prelude::*;

use super::keys::AuditKeys;
use super::record::{attestation_message, chain_hash, AuditRecord, AUDIT_VERSION};
use crate::bip340::{verify_bip340, Bip340Error};
use crate::envelope::ProofEnvelope;
use crate::error::{EnvelopeError, ProofError};
use crate::fingerprint::VkFingerprint;

/// Records whose proofs and signatures are verified together in [`verify_log`].
pub const CHUNK_RECORDS: usize = 256;

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
    /// A signer proved another intent commitment than the first signer.
    #[error("signer {signer_id} proved another intent commitment than the first signer")]
    CommitmentMismatch {
        /// The signer.
        signer_id: u16,
    },
    /// A signer proved at another time than the first signer.
    #[error("signer {signer_id} proved at now = {found}, the first signer at {expected}")]
    NowMismatch {
        /// The signer.
        signer_id: u16,
        /// The first signer's `now`.
        expected: u64,
        /// This signer's `now`.
        found: u64,
    },
    /// The public inputs are not canonical field elements of the backend.
    #[error("signer {signer_id}: {error}")]
    PublicInputs {
        /// The signer.
        signer_id: u16,
        /// Why.
        error: PublicInputsError,
    },
    /// The binding is not derived from this session, signer, group key and commitments.
    #[error("signer {signer_id}: binding {found} is not {expected} (derived from session, signer, group key and commitments)")]
    BindingMismatch {
        /// The signer.
        signer_id: u16,
        /// The derived binding, hex.
        expected: String,
        /// The public input, hex.
        found: String,
    },
    /// The attestation does not verify under the signer's identity key.
    #[error("signer {signer_id}: attestation rejected: {error}")]
    BadAttestation {
        /// The signer.
        signer_id: u16,
        /// Why.
        error: Bip340Error,
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
    /// The proof envelope does not decode.
    #[error("signer {signer_id}: {error}")]
    Envelope {
        /// The signer.
        signer_id: u16,
        /// Why.
        error: EnvelopeError,
    },
    /// The proof envelope names another backend or key than the record.
    #[error("signer {signer_id}: proof is for {found_backend}/{found_fingerprint}, the record names {backend}/{fingerprint}")]
    EnvelopeMismatch {
        /// The signer.
        signer_id: u16,
        /// The record's backend.
        backend: BackendId,
        /// The record's fingerprint.
        fingerprint: VkFingerprint,
        /// The proof's backend.
        found_backend: BackendId,
        /// The proof's fingerprint.
        found_fingerprint: VkFingerprint,
    },
    /// The proof does not verify with its public inputs.
    #[error("signer {signer_id}: proof rejected: {error}")]
    InvalidProof {
        /// The signer.
        signer_id: u16,
        /// Why.
        error: ProofError,
    },
    /// The group key is not a 33-byte SEC1 compressed point (prefix 0x02 or 0x03).
    #[error("group key must be SEC1 compressed (prefix 0x02 or 0x03), starts with {0:#04x}")]
    GroupKeyPrefix(u8),
    /// The final signature does not verify under the x-only group key over the digest.
    #[error("final signature rejected: {0}")]
    InvalidSignature(Bip340Error),
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

/// What [`verify_log`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Lines read.
    pub records: u64,
    /// Distinct group keys.
    pub keys: usize,
    /// Distinct (group key, signer id) pairs.
    pub signers: usize,
    /// Records per backend id.
    pub backends: BTreeMap<u8, u64>,
    /// [`chain_hash`] of the last line: compare it with a head published elsewhere to
    /// detect a truncated or rewritten tail (the chain alone cannot).
    pub head: Option<[u8; 32]>,
    /// Every failure, by record index.
    pub failures: Vec<AuditFailure>,
}

impl AuditReport {
    /// Whether the log verified with no failure.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }
}

/// A proof waiting for (batch) verification.
struct PendingProof {
    index: u64,
    signer_id: u16,
    envelope: ProofEnvelope,
    inputs: [[u8; 32]; 4],
}

/// A BIP-340 signature waiting for verification.
struct PendingSig {
    index: u64,
    /// `None`: the final signature; `Some(id)`: signer `id`'s attestation.
    signer_id: Option<u16>,
    key: [u8; 32],
    message: [u8; 32],
    signature: [u8; 64],
}

/// Proofs and signatures of up to [`CHUNK_RECORDS`] records.
#[derive(Default)]
struct Pending {
    proofs: BTreeMap<(u8, VkFingerprint), Vec<PendingProof>>,
    sigs: Vec<PendingSig>,
}

/// Checks everything that needs no curve work, and queues proofs and signatures.
fn prepare(
    index: u64,
    rec: &AuditRecord,
    keys: &AuditKeys,
    pending: &mut Pending,
    out: &mut Vec<AuditFailure>,
) {
    let mut fail = |reason| out.push(AuditFailure { index, reason });
    if rec.version != AUDIT_VERSION {
        fail(AuditError::UnsupportedVersion(rec.version));
        return;
    }
    // The final signature.
    // frost-secp256k1-tr serializes the group key as it is (either parity) and signs for
    // its x coordinate, as BIP-340 does: the x-only key is bytes 1..33 either way.
    if !matches!(rec.group_key[0], 0x02 | 0x03) {
        fail(AuditError::GroupKeyPrefix(rec.group_key[0]));
    } else {
        let mut key = [0u8; 32];
        key.copy_from_slice(&rec.group_key[1..]);
        pending.sigs.push(PendingSig {
            index,
            signer_id: None,
            key,
            message: rec.digest,
            signature: rec.signature,
        });
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
        return;
    };
    // Every signer proved the same C at the same time; the digest is C's.
    let (c, now) = (first.public_inputs[0], first.public_inputs[2]);
    for s in &rec.signers[1..] {
        if s.public_inputs[0] != c {
            fail(AuditError::CommitmentMismatch {
                signer_id: s.signer_id,
            });
        }
        if s.public_inputs[2] != now {
            fail(AuditError::NowMismatch {
                signer_id: s.signer_id,
                expected: le_u64(&now),
                found: le_u64(&s.public_inputs[2]),
            });
        }
    }
    let backend = match BackendId::try_from(rec.backend) {
        Ok(b) => b,
        Err(_) => {
            fail(AuditError::UnknownBackend(rec.backend));
            return;
        }
    };
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
    for s in &rec.signers {
        let signer_id = s.signer_id;
        // Inputs are canonical for the backend's field, and the binding is this session's.
        let decoded = match backend {
            BackendId::Groth16Bn254 => {
                PublicInputs::<ark_bn254::Fr>::from_le_bytes(&s.public_inputs).map(|p| p.binding)
            }
            BackendId::Halo2Pasta => {
                PublicInputs::<pasta_curves::Fp>::from_le_bytes(&s.public_inputs).map(|p| p.binding)
            }
        };
        let binding = match decoded {
            Ok(b) => b,
            Err(error) => {
                fail(AuditError::PublicInputs { signer_id, error });
                continue;
            }
        };
        let derived = Binding::derive(
            &rec.session_id,
            &signer_id.to_le_bytes(),
            &rec.group_key,
            &s.commitments,
        );
        if derived != binding {
            fail(AuditError::BindingMismatch {
                signer_id,
                expected: derived.to_hex(),
                found: binding.to_hex(),
            });
        }
        pending.sigs.push(PendingSig {
            index,
            signer_id: Some(signer_id),
            key: s.identity_key,
            message: attestation_message(
                &rec.session_id,
                signer_id,
                &s.commitments,
                &s.proof,
                &s.public_inputs,
            ),
            signature: s.attestation,
        });
        let envelope = match ProofEnvelope::from_bytes(&s.proof) {
            Ok(e) => e,
            Err(error) => {
                fail(AuditError::Envelope { signer_id, error });
                continue;
            }
        };
        if envelope.backend != backend || envelope.vk_fingerprint != fingerprint {
            fail(AuditError::EnvelopeMismatch {
                signer_id,
                backend,
                fingerprint,
                found_backend: envelope.backend,
                found_fingerprint: envelope.vk_fingerprint,
            });
            continue;
        }
        if known {
            pending
                .proofs
                .entry((backend.as_u8(), fingerprint))
                .or_default()
                .push(PendingProof {
                    index,
                    signer_id,
                    envelope,
                    inputs: s.public_inputs,
                });
        }
    }
}

fn le_u64(b: &[u8; 32]) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[..8]);
    u64::from_le_bytes(x)
}

/// Verifies the queued proofs (one batch per backend and key) and signatures.
fn flush(pending: &mut Pending, keys: &AuditKeys, out: &mut Vec<AuditFailure>) {
    let proofs = std::mem::take(&mut pending.proofs);
    for ((backend, fp), items) in proofs {
        let batch_failures: Vec<(usize, ProofError)> = match BackendId::try_from(backend) {
            Ok(BackendId::Groth16Bn254) => {
                let Some(key) = keys.groth16(&fp) else {
                    continue;
                };
                // Queued inputs decoded once already: decoding cannot fail here.
                let inputs: Vec<PublicInputs<ark_bn254::Fr>> = items
                    .iter()
                    .map(|p| PublicInputs::from_le_bytes(&p.inputs).expect("checked in prepare"))
                    .collect();
                let batch: Vec<_> = items.iter().map(|p| &p.envelope).zip(&inputs).collect();
                key.verify_batch(&batch, &mut OsRng)
                    .err()
                    .map(|e| e.failures)
                    .unwrap_or_default()
            }
            Ok(BackendId::Halo2Pasta) => {
                let Some(key) = keys.halo2(&fp) else {
                    continue;
                };
                let inputs: Vec<PublicInputs<pasta_curves::Fp>> = items
                    .iter()
                    .map(|p| PublicInputs::from_le_bytes(&p.inputs).expect("checked in prepare"))
                    .collect();
                let batch: Vec<_> = items.iter().map(|p| &p.envelope).zip(&inputs).collect();
                key.verify_batch(&batch)
                    .err()
                    .map(|e| e.failures)
                    .unwrap_or_default()
            }
            Err(_) => continue,
        };
        for (i, error) in batch_failures {
            let p = &items[i];
            out.push(AuditFailure {
                index: p.index,
                reason: AuditError::InvalidProof {
                    signer_id: p.signer_id,
                    error,
                },
            });
        }
    }
    let sigs = std::mem::take(&mut pending.sigs);
    let sig_failures: Vec<AuditFailure> = sigs
        .par_iter()
        .filter_map(|s| {
            let error = verify_bip340(&s.key, &s.message, &s.signature).err()?;
            Some(AuditFailure {
                index: s.index,
                reason: match s.signer_id {
                    None => AuditError::InvalidSignature(error),
                    Some(signer_id) => AuditError::BadAttestation { signer_id, error },
                },
            })
        })
        .collect();
    out.extend(sig_failures);
}

/// Checks the chain link of line `index`.
/// `index` names the failures; `expected` is the index the record must have.
fn check_chain(
    index: u64,
    expected_index: u64,
    rec: &AuditRecord,
    prev_line: Option<&[u8]>,
) -> Vec<AuditFailure> {
    let mut out = Vec::new();
    if rec.index != expected_index {
        out.push(AuditFailure {
            index,
            reason: AuditError::IndexMismatch {
                expected: expected_index,
                found: rec.index,
            },
        });
    }
    let expected = prev_line.map(chain_hash).unwrap_or([0u8; 32]);
    if rec.prev != expected {
        out.push(AuditFailure {
            index,
            reason: AuditError::BrokenChain {
                expected: hex::encode(expected),
                found: hex::encode(rec.prev),
            },
        });
    }
    out
}

/// Verifies one record on its own: its chain link (`prev_line` is the exact previous line,
/// `None` for record 0, whose `prev` must be zeros and `index` 0; otherwise `index` must
/// follow the previous record's), and every check of the module docs. Failures are named
/// by the record's own `index`. Cross-record checks (identity keys) are [`verify_log`]'s.
pub fn verify_record(
    record: &AuditRecord,
    prev_line: Option<&[u8]>,
    keys: &AuditKeys,
) -> Result<(), Vec<AuditFailure>> {
    let index = record.index;
    let expected_index = match prev_line {
        None => 0,
        Some(line) => match AuditRecord::from_line(line) {
            Ok(p) => p.index.saturating_add(1),
            // An unparsable previous line still links by its bytes.
            Err(_) => record.index,
        },
    };
    let mut out = check_chain(index, expected_index, record, prev_line);
    let mut pending = Pending::default();
    prepare(index, record, keys, &mut pending, &mut out);
    flush(&mut pending, keys, &mut out);
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// Streams a log (one record per line), verifying the chain as it goes and the proofs and
/// signatures in chunks of [`CHUNK_RECORDS`] records: one batch per (backend, key), with
/// per-proof fallback naming every bad one. Never panics on malformed input: a line that
/// does not parse is a failure with its index (and still links the chain by its bytes).
pub fn verify_log(mut reader: impl BufRead, keys: &AuditKeys) -> AuditReport {
    let mut report = AuditReport::default();
    let mut pending = Pending::default();
    let mut in_chunk = 0usize;
    let mut prev: Option<Vec<u8>> = None;
    let mut group_keys: HashSet<[u8; 33]> = HashSet::new();
    let mut identities: HashMap<([u8; 33], u16), [u8; 32]> = HashMap::new();
    let mut sessions: HashMap<[u8; 32], u64> = HashMap::new();
    let mut index = 0u64;
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                report.failures.push(AuditFailure {
                    index,
                    reason: AuditError::Io(e.to_string()),
                });
                break;
            }
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        report.records += 1;
        match AuditRecord::from_line(&line) {
            Err(e) => report.failures.push(AuditFailure {
                index,
                reason: AuditError::Malformed(e.to_string()),
            }),
            Ok(rec) => {
                report
                    .failures
                    .extend(check_chain(index, index, &rec, prev.as_deref()));
                let first = *sessions.entry(rec.session_id).or_insert(index);
                if first != index {
                    report.failures.push(AuditFailure {
                        index,
                        reason: AuditError::DuplicateSession {
                            session_id: hex::encode(rec.session_id),
                            first,
                        },
                    });
                }
                group_keys.insert(rec.group_key);
                *report.backends.entry(rec.backend).or_default() += 1;
                for s in &rec.signers {
                    let first = identities
                        .entry((rec.group_key, s.signer_id))
                        .or_insert(s.identity_key);
                    if *first != s.identity_key {
                        report.failures.push(AuditFailure {
                            index,
                            reason: AuditError::IdentityKeyChanged {
                                signer_id: s.signer_id,
                                group_key: hex::encode(rec.group_key),
                                first: hex::encode(*first),
                                found: hex::encode(s.identity_key),
                            },
                        });
                    }
                }
                prepare(index, &rec, keys, &mut pending, &mut report.failures);
                in_chunk += 1;
                if in_chunk == CHUNK_RECORDS {
                    flush(&mut pending, keys, &mut report.failures);
                    in_chunk = 0;
                }
            }
        }
        prev = Some(std::mem::take(&mut line));
        index += 1;
    }
    flush(&mut pending, keys, &mut report.failures);
    report.head = prev.as_deref().map(chain_hash);
    report.keys = group_keys.len();
    report.signers = identities.len();
    report.failures.sort_by_key(|f| f.index);
    report
}
