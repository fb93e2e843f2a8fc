//! Verification of audit records and whole logs: the chain, cross-record checks (replayed
//! sessions, identity keys) and, chunk by chunk, every check of [`super::check`].

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use super::check::check_records;
use super::error::{AuditError, AuditFailure, AuditReport};
use super::key_record::{check_key_record, key_mismatches, spend_key_mismatches, KeyFacts};
use super::keys::AuditKeys;
use super::record::{chain_hash, AuditRecord, LogEntry};
use super::spend_record::{spend_record_faults, SpendRecord, SPEND_RECORD_VERSION};
use super::witness::WitnessCheck;

/// Records whose proofs and signatures are verified together in [`verify_log`].
pub const CHUNK_RECORDS: usize = 256;

/// Checks the chain link of line `index`.
/// `index` names the failures; `expected` is the index the record must have.
fn check_chain(
    index: u64,
    expected_index: u64,
    (found_index, found_prev): (u64, &[u8; 32]),
    expected: [u8; 32],
) -> Vec<AuditFailure> {
    let mut out = Vec::new();
    if found_index != expected_index {
        out.push(AuditFailure {
            index,
            reason: AuditError::IndexMismatch {
                expected: expected_index,
                found: found_index,
            },
        });
    }
    if *found_prev != expected {
        out.push(AuditFailure {
            index,
            reason: AuditError::BrokenChain {
                expected: hex::encode(expected),
                found: hex::encode(found_prev),
            },
        });
    }
    out
}

/// The faults of a signing record against its key's record (`None`: no verified key
/// record for its key id).
fn key_failures(index: u64, rec: &AuditRecord, facts: Option<&KeyFacts>) -> Vec<AuditFailure> {
    let errors = match facts {
        None => vec![AuditError::UnknownKey {
            key_id: rec.key_id.clone(),
        }],
        Some(f) => key_mismatches(rec, f),
    };
    errors
        .into_iter()
        .map(|reason| AuditFailure { index, reason })
        .collect()
}

/// Verifies one record on its own: its chain link (`prev_line` is the exact previous line,
/// `None` for record 0, whose `prev` must be zeros and `index` 0; otherwise `index` must
/// follow the previous record's), and every check of the module docs. Failures are named
/// by the record's own `index`. The key record of `record.key_id` must have been given to
/// `keys` ([`AuditKeys::with_key_record`]). Cross-record checks (identity keys,
/// replays) are [`verify_log`]'s.
pub fn verify_record(
    record: &AuditRecord,
    prev_line: Option<&[u8]>,
    keys: &AuditKeys,
) -> Result<(), Vec<AuditFailure>> {
    let index = record.index;
    let expected_index = match prev_line {
        None => 0,
        Some(line) => match LogEntry::from_line(line) {
            Ok(p) => p.index().saturating_add(1),
            // An unparsable previous line still links by its bytes.
            Err(_) => record.index,
        },
    };
    let mut out = check_chain(
        index,
        expected_index,
        (record.index, &record.prev),
        prev_line.map(chain_hash).unwrap_or([0; 32]),
    );
    out.extend(key_failures(index, record, keys.known_key(&record.key_id)));
    out.extend(check_records(&[(index, record.clone())], keys));
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
///
/// With witnesses ([`AuditKeys::with_witnesses`]) only the prefix at least `min` rostered
/// nodes signed is accepted (see [`super::checkpoint`]): a signature whose head is not the
/// log's at its size, or whose size the log does not reach, is a failure naming the
/// signer, and the records after the witnessed prefix fail as [`AuditError::Unwitnessed`].
pub fn verify_log(reader: impl BufRead, keys: &AuditKeys) -> AuditReport {
    verify_log_from(reader, keys, 0, [0; 32])
}

/// [`verify_log`] of a segment of a log: its first line is record `start`, whose `prev`
/// must be `prev_head` (the chain hash of record `start - 1`). A witness checks the records
/// it has not seen this way, from the state it signed last; key records of earlier
/// segments are given to `keys` ([`AuditKeys::with_key_record`]).
pub fn verify_log_from(
    mut reader: impl BufRead,
    keys: &AuditKeys,
    start: u64,
    prev_head: [u8; 32],
) -> AuditReport {
    let mut report = AuditReport::default();
    let mut chunk: Vec<(u64, AuditRecord)> = Vec::with_capacity(CHUNK_RECORDS);
    let mut head = prev_head;
    let mut witness = WitnessCheck::new(keys, &mut report.failures);
    let mut group_keys: HashSet<[u8; 33]> = HashSet::new();
    let mut identities: HashMap<([u8; 33], u16), [u8; 32]> = HashMap::new();
    let mut sessions: HashMap<[u8; 32], u64> = HashMap::new();
    let mut digests: HashMap<([u8; 33], [u8; 32]), u64> = HashMap::new();
    // Key id -> index of its (first) key record, and the facts of those that verified.
    let mut key_records: HashMap<String, u64> = HashMap::new();
    let mut facts: HashMap<String, KeyFacts> = HashMap::new();
    let mut index = start;
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
        let mut time = None;
        match LogEntry::from_line(&line) {
            Err(e) => report.failures.push(AuditFailure {
                index,
                reason: AuditError::Malformed(e.to_string()),
            }),
            Ok(LogEntry::Key(rec)) => {
                time = Some(rec.time);
                report.key_records += 1;
                report
                    .failures
                    .extend(check_chain(index, index, (rec.index, &rec.prev), head));
                let fail = |reason| AuditFailure { index, reason };
                if let Some(first) = key_records.get(&rec.key_id) {
                    report.failures.push(fail(AuditError::KeyIdReused {
                        key_id: rec.key_id.clone(),
                        first: *first,
                    }));
                } else {
                    key_records.insert(rec.key_id.clone(), index);
                    group_keys.insert(rec.group_key);
                    match check_key_record(&rec, keys) {
                        Ok(f) => {
                            facts.insert(rec.key_id.clone(), f);
                        }
                        Err(errors) => report.failures.extend(errors.into_iter().map(fail)),
                    }
                }
            }
            Ok(LogEntry::Signing(rec)) => {
                time = Some(rec.time);
                report
                    .failures
                    .extend(check_chain(index, index, (rec.index, &rec.prev), head));
                let f = key_facts(&facts, &key_records, keys, &rec.key_id);
                report.failures.extend(key_failures(index, &rec, f));
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
                let first = *digests.entry((rec.group_key, rec.digest)).or_insert(index);
                if first != index {
                    report.failures.push(AuditFailure {
                        index,
                        reason: AuditError::RepeatedDigest {
                            digest: hex::encode(rec.digest),
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
                chunk.push((index, rec));
                if chunk.len() == CHUNK_RECORDS {
                    report.failures.extend(check_records(&chunk, keys));
                    chunk.clear();
                }
            }
            Ok(LogEntry::Spend(rec)) => {
                time = Some(rec.time);
                report
                    .failures
                    .extend(check_chain(index, index, (rec.index, &rec.prev), head));
                let f = key_facts(&facts, &key_records, keys, &rec.key_id);
                let fail = |reason| AuditFailure { index, reason };
                match f {
                    None => report.failures.push(fail(AuditError::UnknownKey {
                        key_id: rec.key_id.clone(),
                    })),
                    Some(f) => report
                        .failures
                        .extend(spend_key_mismatches(&rec, f).into_iter().map(fail)),
                }
                let first = *sessions.entry(rec.session_id).or_insert(index);
                if first != index {
                    report.failures.push(fail(AuditError::DuplicateSession {
                        session_id: hex::encode(rec.session_id),
                        first,
                    }));
                }
                group_keys.insert(rec.group_key);
                report.txids.push(rec.txid.clone());
                report
                    .failures
                    .extend(check_spend(&rec, keys).into_iter().map(fail));
            }
        }
        head = chain_hash(&line);
        witness.line(index, &head, time, keys, &mut report.failures);
        index += 1;
    }
    report.failures.extend(check_records(&chunk, keys));
    report.head = (index > start).then_some(head);
    report.witnessed = witness.finish(index, &mut report.failures);
    report.keys = group_keys.len();
    report.signers = identities.len();
    report.failures.sort_by_key(|f| f.index);
    report
}

/// The facts of `key_id`'s key: from its key record in this log, or given to the auditor
/// beforehand. A key whose record in this log failed is unknown: its signatures fail too.
fn key_facts<'a>(
    facts: &'a HashMap<String, KeyFacts>,
    key_records: &HashMap<String, u64>,
    keys: &'a AuditKeys,
    key_id: &str,
) -> Option<&'a KeyFacts> {
    facts
        .get(key_id)
        .or_else(|| match key_records.contains_key(key_id) {
            true => None,
            false => keys.known_key(key_id),
        })
}

/// Every fault of a spend record on its own: version, its proofs' time against the record's,
/// the roster identities of its signers at that time, the proofs' verifying key (held) and
/// every check of
/// [`spend_record_faults`].
fn check_spend(rec: &SpendRecord, keys: &AuditKeys) -> Vec<AuditError> {
    use crate::registered::Rostered;
    if rec.version != SPEND_RECORD_VERSION {
        return vec![AuditError::UnsupportedVersion(rec.version)];
    }
    let mut out = Vec::new();
    let now = super::spend_record::session_now(rec);
    if now.abs_diff(rec.time) > keys.max_skew() {
        out.push(AuditError::TimeSkew {
            now,
            time: rec.time,
            max: keys.max_skew(),
        });
    }
    for s in &rec.signers {
        match keys.rostered_identity(s.signer_id, now) {
            Rostered::Absent => out.push(AuditError::NotRostered {
                signer_id: s.signer_id,
                now,
            }),
            Rostered::Member(k) if k != s.identity_key => {
                out.push(AuditError::IdentityNotRostered {
                    signer_id: s.signer_id,
                    found: hex::encode(s.identity_key),
                    rostered: hex::encode(k),
                })
            }
            _ => {}
        }
    }
    let Ok(backend) = circuits::BackendId::try_from(rec.backend) else {
        out.push(AuditError::UnknownBackend(rec.backend));
        return out;
    };
    // Only a spend key the admins pinned counts, whatever keys the auditor was handed. Any
    // class's pin will do: a proof made under another class's key does not verify for the
    // statement the auditor derives from the transaction (its `O` is padded to the class).
    let fingerprint = crate::VkFingerprint(rec.vk_fingerprint);
    let pins: Vec<crate::Pinned> = circuits::spend::SizeClass::ALL
        .iter()
        .map(|c| keys.pinned_spend_key(backend, c.slots() as u16, now))
        .collect();
    if !pins.contains(&crate::Pinned::Untracked)
        && !pins.contains(&crate::Pinned::Key(rec.vk_fingerprint))
    {
        out.push(AuditError::UnpinnedVerifyingKey {
            backend,
            fingerprint,
            pinned: None,
        });
    }
    let policies = keys.registered_spend_policies(&rec.key_id, backend, now);
    let unknown = || AuditError::UnknownSpendKey {
        backend: rec.backend,
        fingerprint: hex::encode(rec.vk_fingerprint),
    };
    match backend {
        circuits::BackendId::Groth16Bn254 => match keys.spend_groth16(&fingerprint) {
            Some(v) => out.extend(spend_record_faults(rec, v, &policies)),
            None => out.push(unknown()),
        },
        circuits::BackendId::Halo2Pasta => match keys.spend_halo2(&fingerprint) {
            Some(v) => out.extend(spend_record_faults(rec, v, &policies)),
            None => out.push(unknown()),
        },
    }
    out
}
