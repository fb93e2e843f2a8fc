//! The audit log end to end: real proof-carrying signatures (dealer keys, FROST rounds,
//! Groth16 and halo2 proofs bound to the round-1 commitments, node identity attestations)
//! written as a hash-chained log, then verified intact and after every kind of tampering.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use circuits::public::PublicInputs;
use circuits::{sample, Backend, Binding};
use common::{groth16, halo2};
use k256::schnorr::SigningKey;
use prover::ProofSystem;
use rand::rngs::OsRng;
use rand::RngCore;
use signer::keys::dealer;
use signer::round::signing;
use signer::taproot::{self, Taproot};
use signer::{MemoryNonceStore, SessionId, Signer, Threshold};
use verifier::audit::{
    attestation_message, chain_hash, verify_log, verify_record, AuditError, AuditKeys, AuditRecord,
    AuditReport, KeyAttestation, KeyRecord, LogEntry, SignerEntry, AUDIT_VERSION,
    KEY_RECORD_VERSION,
};
use verifier::contribution::{ContributionError, ContributionFault};

const RECORDS: usize = 5;

/// Keys for both backends (the Groth16 key and the transparent halo2 key) and the key
/// records of both logs, given beforehand (their signing records start at line 0).
fn keys() -> &'static AuditKeys {
    static K: OnceLock<AuditKeys> = OnceLock::new();
    K.get_or_init(|| {
        let mut k = AuditKeys::new()
            .with_transparent_halo2()
            .unwrap()
            .with_registry(prover::test_util::sample_registry());
        k.add_groth16(groth16().verifier().clone());
        k.with_key_record(&groth16_log().key)
            .unwrap()
            .with_key_record(&halo2_log().key)
            .unwrap()
    })
}

/// A log's signing records, the key record of their key (every node's signature over the
/// public key package) and the node identity keys.
struct Log {
    lines: Vec<String>,
    key: KeyRecord,
    identities: BTreeMap<u16, SigningKey>,
}

impl Log {
    /// The log as the coordinator writes it: the key record at line 0, then `lines` (these
    /// records or tampered ones) re-indexed and re-linked after it.
    fn with_key(&self, lines: &[String]) -> Vec<String> {
        with_key_record(&self.key, lines)
    }
}

/// `key`'s line, then `lines` re-indexed and re-linked after it.
fn with_key_record(key: &KeyRecord, lines: &[String]) -> Vec<String> {
    let mut out = vec![key.to_line()];
    for l in lines {
        let mut r = parse(l);
        r.index = out.len() as u64;
        r.prev = chain_hash(out.last().unwrap().as_bytes());
        out.push(r.to_line());
    }
    out
}

fn sign_attestation(key: &SigningKey, msg: &[u8; 32]) -> [u8; 64] {
    let mut aux = [0u8; 32];
    OsRng.fill_bytes(&mut aux);
    key.sign_raw(msg, &aux).unwrap().to_bytes()
}

/// `records` proof-carrying 2-of-3 signatures on backend `S`, signer sets rotating (and
/// record 1 signed by all three), each appended to a hash-chained log. The group key's
/// SEC1 prefix is `prefix` (0x02 even y, 0x03 odd y: frost-secp256k1-tr keeps either).
fn make_log<S: ProofSystem>(system: &S, records: usize, prefix: u8) -> Log {
    make_log_of(system, records, prefix, |i| i as u64)
}

/// [`make_log`] with record `i` signing `sample::intent(nonce(i))`.
fn make_log_of<S: ProofSystem>(
    system: &S,
    records: usize,
    prefix: u8,
    nonce: impl Fn(usize) -> u64,
) -> Log {
    let shares = loop {
        let shares =
            dealer::trusted_dealer::<Taproot, _>(Threshold::new(2, 3).unwrap(), &mut OsRng)
                .unwrap();
        if shares[0].group_key_bytes()[0] == prefix {
            break shares;
        }
    };
    let public = shares[0].public_key_package().clone();
    let group: [u8; 33] = shares[0].group_key_bytes().try_into().unwrap();
    let x_only = taproot::x_only_key(&public).unwrap();
    let signers: Vec<_> = shares
        .into_iter()
        .map(|s| Signer::new(s, MemoryNonceStore::new()))
        .collect();
    let identities: BTreeMap<u16, SigningKey> = signers
        .iter()
        .map(|s| (s.share().id().get(), SigningKey::random(&mut OsRng)))
        .collect();
    let key_id = match S::Backend::ID {
        circuits::BackendId::Groth16Bn254 => "treasury",
        circuits::BackendId::Halo2Pasta => "ops",
    };
    let mut key = KeyRecord {
        version: KEY_RECORD_VERSION,
        index: 0,
        key_id: key_id.into(),
        backend: S::Backend::ID.as_u8(),
        threshold: 2,
        participants: 3,
        roster_version: 1,
        group_key: group,
        public_key_package: public.serialize().unwrap(),
        attestations: Vec::new(),
        time: sample::NOW - 60,
        prev: [0; 32],
    };
    key.attestations = identities
        .iter()
        .map(|(id, k)| KeyAttestation {
            signer_id: *id,
            identity_key: k.verifying_key().to_bytes().into(),
            signature: sign_attestation(k, &key.attestation_message(*id)),
        })
        .collect();
    let mut lines: Vec<String> = Vec::new();
    for i in 0..records {
        let subset: Vec<usize> = if i == 1 {
            vec![0, 1, 2]
        } else {
            vec![i % 3, (i + 1) % 3]
        };
        let intent = sample::intent(nonce(i));
        let digest = intent.signed_digest::<S::Backend>();
        let session = SessionId::random(&mut OsRng);
        let mut commitments = BTreeMap::new();
        let mut entries = Vec::new();
        for &k in &subset {
            let s = &signers[k];
            let id = s.share().id();
            let c = s.round1(session, &mut OsRng).unwrap();
            let c_bytes = c.serialize().unwrap();
            let binding = Binding::derive(
                session.as_bytes(),
                &id.get().to_le_bytes(),
                &group,
                &c_bytes,
            );
            let proof = system
                .prove_statement(
                    intent.clone(),
                    sample::policy(),
                    sample::NOW,
                    binding,
                    &mut OsRng,
                )
                .unwrap()
                .to_bytes();
            let inputs = PublicInputs::<<S::Backend as Backend>::F> {
                intent_commitment: intent.commitment::<S::Backend>(),
                policy_commitment: sample::policy().commitment::<S::Backend>(),
                now: sample::NOW,
                binding,
            }
            .to_le_bytes();
            let msg = attestation_message(session.as_bytes(), id.get(), &c_bytes, &proof, &inputs);
            let identity = &identities[&id.get()];
            entries.push(SignerEntry {
                signer_id: id.get(),
                identity_key: identity.verifying_key().to_bytes().into(),
                commitments: c_bytes,
                proof,
                public_inputs: inputs,
                attestation: sign_attestation(identity, &msg),
                share: Vec::new(),
                share_attestation: [0; 64],
            });
            commitments.insert(id, c);
        }
        let package = signing::signing_package(&commitments, digest.as_bytes());
        let shares: BTreeMap<_, _> = subset
            .iter()
            .map(|&k| {
                let s = &signers[k];
                (s.share().id(), s.round2(session, &package).unwrap())
            })
            .collect();
        for e in &mut entries {
            let id = signer::SignerId::new(e.signer_id).unwrap();
            e.share = shares[&id].serialize();
            let msg = verifier::audit::share_attestation_message(
                session.as_bytes(),
                e.signer_id,
                &e.share,
            );
            e.share_attestation = sign_attestation(&identities[&e.signer_id], &msg);
        }
        let sig =
            taproot::signature_bytes(&signing::aggregate(&package, &shares, &public).unwrap())
                .unwrap();
        verifier::verify_bip340(&x_only, digest.as_bytes(), &sig).unwrap();
        let record = AuditRecord {
            version: AUDIT_VERSION,
            index: i as u64,
            session_id: *session.as_bytes(),
            key_id: key_id.into(),
            group_key: group,
            threshold: 2,
            digest: digest.0,
            backend: S::Backend::ID.as_u8(),
            vk_fingerprint: system.fingerprint().0,
            signers: entries,
            signature: sig,
            time: sample::NOW + i as u64,
            prev: lines
                .last()
                .map(|l| chain_hash(l.as_bytes()))
                .unwrap_or([0; 32]),
        };
        lines.push(record.to_line());
    }
    Log {
        lines,
        key,
        identities,
    }
}

fn groth16_log() -> &'static Log {
    static L: OnceLock<Log> = OnceLock::new();
    L.get_or_init(|| make_log(groth16().as_ref(), RECORDS, 0x03))
}

fn halo2_log() -> &'static Log {
    static L: OnceLock<Log> = OnceLock::new();
    L.get_or_init(|| make_log(halo2().as_ref(), 2, 0x02))
}

fn text(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn verify(lines: &[String]) -> AuditReport {
    verify_log(text(lines).as_bytes(), keys())
}

fn parse(line: &str) -> AuditRecord {
    AuditRecord::from_line(line.as_bytes()).unwrap()
}

/// Applies `f` to record `i` and, as an attacker rewriting the tail would, re-links every
/// later record, so that only the tampered record itself can fail.
fn tamper(lines: &[String], i: usize, f: impl FnOnce(&mut AuditRecord)) -> Vec<String> {
    let mut out = lines.to_vec();
    let mut rec = parse(&out[i]);
    f(&mut rec);
    out[i] = rec.to_line();
    for j in i + 1..out.len() {
        let mut r = parse(&out[j]);
        r.prev = chain_hash(out[j - 1].as_bytes());
        out[j] = r.to_line();
    }
    out
}

/// The indices of the failures, sorted and deduplicated.
fn failing(report: &AuditReport) -> Vec<u64> {
    let mut v: Vec<u64> = report.failures.iter().map(|f| f.index).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The signer and fault of a contribution failure.
fn fault(reason: &AuditError) -> Option<(u16, &ContributionFault)> {
    match reason {
        AuditError::Contribution(ContributionError { signer_id, fault }) => {
            Some((*signer_id, fault))
        }
        _ => None,
    }
}

fn reasons_at(report: &AuditReport, index: u64) -> Vec<&AuditError> {
    report
        .failures
        .iter()
        .filter(|f| f.index == index)
        .map(|f| &f.reason)
        .collect()
}

#[test]
fn intact_logs_verify_with_right_counts() {
    let report = verify(&groth16_log().lines);
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!(report.records, RECORDS as u64);
    assert_eq!(report.keys, 1);
    assert_eq!(report.signers, 3);
    assert_eq!(report.backends, BTreeMap::from([(1u8, RECORDS as u64)]));
    assert_eq!(
        report.head,
        Some(chain_hash(groth16_log().lines.last().unwrap().as_bytes()))
    );

    let report = verify(&halo2_log().lines);
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!((report.records, report.keys), (2, 1));
    assert_eq!(report.backends, BTreeMap::from([(2u8, 2)]));

    // Both logs concatenated are one log once re-linked: two keys, six signers.
    let mut both = groth16_log().lines.clone();
    for l in &halo2_log().lines {
        let mut r = parse(l);
        r.index = both.len() as u64;
        r.prev = chain_hash(both.last().unwrap().as_bytes());
        both.push(r.to_line());
    }
    let report = verify(&both);
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!((report.records, report.keys, report.signers), (7, 2, 6));
}

#[test]
fn verify_record_checks_one_record_and_its_link() {
    let lines = &groth16_log().lines;
    verify_record(&parse(&lines[0]), None, keys()).unwrap();
    verify_record(&parse(&lines[3]), Some(lines[2].as_bytes()), keys()).unwrap();
    let err = verify_record(&parse(&lines[3]), Some(lines[1].as_bytes()), keys()).unwrap_err();
    assert!(err
        .iter()
        .any(|f| matches!(f.reason, AuditError::BrokenChain { .. })));
    assert!(err.iter().all(|f| f.index == 3));
    // Record 3 after record 1's line: the index does not follow either.
    assert!(err.iter().any(|f| f.reason
        == AuditError::IndexMismatch {
            expected: 2,
            found: 3
        }));
    // Record 0 must have zero `prev` and index 0.
    let err = verify_record(&parse(&lines[1]), None, keys()).unwrap_err();
    assert!(err
        .iter()
        .any(|f| matches!(f.reason, AuditError::BrokenChain { .. })));
}

#[test]
fn modified_record_breaks_the_next_link_or_the_head() {
    let lines = &groth16_log().lines;
    // Time changed in place: record 2's own content is not signed, the link of 3 breaks.
    let mut edited = lines.clone();
    let mut r = parse(&edited[2]);
    r.time += 1;
    edited[2] = r.to_line();
    let report = verify(&edited);
    assert_eq!(failing(&report), vec![3]);
    assert!(matches!(
        reasons_at(&report, 3)[..],
        [AuditError::BrokenChain { .. }]
    ));
    // Re-linking the tail hides it from the chain, but the head changes.
    let relinked = tamper(lines, 2, |r| r.time += 1);
    let report = verify(&relinked);
    assert!(report.is_ok());
    assert_ne!(report.head, verify(lines).head);
}

#[test]
fn removed_inserted_and_swapped_records_are_named() {
    let lines = &groth16_log().lines;

    let mut removed = lines.clone();
    removed.remove(2);
    let report = verify(&removed);
    // Record 3, now at line 2, does not follow record 1; record 4 follows record 3's
    // bytes but not its line number.
    assert_eq!(failing(&report), vec![2, 3]);
    assert!(matches!(
        reasons_at(&report, 2)[..],
        [
            AuditError::IndexMismatch {
                expected: 2,
                found: 3
            },
            AuditError::BrokenChain { .. }
        ]
    ));
    assert_eq!(
        reasons_at(&report, 3),
        [&AuditError::IndexMismatch {
            expected: 3,
            found: 4
        }]
    );

    let mut inserted = lines.clone();
    inserted.insert(3, lines[2].clone());
    let report = verify(&inserted);
    // The copy at line 3 is a replay of record 2 and does not link; records 3 and 4 link
    // to the copy's identical bytes but sit one line further.
    assert_eq!(failing(&report), vec![3, 4, 5]);
    assert!(matches!(
        reasons_at(&report, 3)[..],
        [
            AuditError::IndexMismatch {
                expected: 3,
                found: 2
            },
            AuditError::BrokenChain { .. },
            AuditError::DuplicateSession { first: 2, .. },
            AuditError::RepeatedDigest { first: 2, .. }
        ]
    ));
    for i in [4, 5] {
        assert_eq!(
            reasons_at(&report, i),
            [&AuditError::IndexMismatch {
                expected: i,
                found: i - 1
            }]
        );
    }
    assert_eq!(report.records, RECORDS as u64 + 1);

    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    let report = verify(&swapped);
    assert_eq!(failing(&report), vec![1, 2, 3]);
    for (i, found) in [(1, 2), (2, 1)] {
        assert!(matches!(
            reasons_at(&report, i)[..],
            [AuditError::IndexMismatch { expected, found: f }, AuditError::BrokenChain { .. }]
                if *expected == i && *f == found
        ));
    }
    assert!(matches!(
        reasons_at(&report, 3)[..],
        [AuditError::BrokenChain { .. }]
    ));
}

#[test]
fn proof_swapped_between_signers_is_caught() {
    let log = groth16_log();
    // Swap the proofs of record 1's first two signers.
    let tampered = tamper(&log.lines, 1, |r| {
        let p0 = r.signers[0].proof.clone();
        r.signers[0].proof = std::mem::replace(&mut r.signers[1].proof, p0);
    });
    let report = verify(&tampered);
    assert_eq!(failing(&report), vec![1]);
    let reasons = reasons_at(&report, 1);
    let ids: Vec<u16> = parse(&log.lines[1])
        .signers
        .iter()
        .map(|s| s.signer_id)
        .collect();
    for id in &ids[..2] {
        assert!(reasons.iter().any(|r| matches!(
            fault(r),
            Some((s, ContributionFault::BadAttestation(_))) if s == *id
        )));
    }

    // Even with the attestations re-signed (a compromised node), each proof is bound to
    // its own signer's commitments and fails for the other signer's public inputs.
    let resigned = tamper(&log.lines, 1, |r| {
        let p0 = r.signers[0].proof.clone();
        r.signers[0].proof = std::mem::replace(&mut r.signers[1].proof, p0);
        for s in &mut r.signers {
            s.attestation = sign_attestation(
                &log.identities[&s.signer_id],
                &s.attestation_message(&r.session_id),
            );
        }
    });
    let report = verify(&resigned);
    assert_eq!(failing(&report), vec![1]);
    let reasons = reasons_at(&report, 1);
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    for id in &ids[..2] {
        assert!(reasons.iter().any(|r| matches!(
            fault(r),
            Some((s, ContributionFault::InvalidProof(_))) if s == *id
        )));
    }
}

#[test]
fn round2_shares_carry_their_signers_attestation() {
    let log = groth16_log();
    // A share swapped between two signers: neither attestation covers the other's share.
    let swapped = tamper(&log.lines, 1, |r| {
        let s0 = r.signers[0].share.clone();
        r.signers[0].share = std::mem::replace(&mut r.signers[1].share, s0);
    });
    let report = verify(&swapped);
    assert_eq!(failing(&report), vec![1]);
    let ids: Vec<u16> = parse(&log.lines[1])
        .signers
        .iter()
        .map(|s| s.signer_id)
        .collect();
    for id in &ids[..2] {
        assert!(report.failures.iter().any(|f| matches!(f.reason,
            AuditError::ShareAttestation { signer_id, .. } if signer_id == *id)));
    }
    // A share attestation by another key.
    let other = SigningKey::random(&mut OsRng);
    let forged = tamper(&log.lines, 3, |r| {
        let msg = verifier::audit::share_attestation_message(
            &r.session_id,
            r.signers[0].signer_id,
            &r.signers[0].share,
        );
        r.signers[0].share_attestation = sign_attestation(&other, &msg);
    });
    let report = verify(&forged);
    assert_eq!(failing(&report), vec![3]);
    assert!(matches!(
        reasons_at(&report, 3)[..],
        [AuditError::ShareAttestation { .. }]
    ));
}

#[test]
fn altered_signature_is_caught() {
    // In s: the signature no longer verifies.
    let tampered = tamper(&groth16_log().lines, 3, |r| r.signature[40] ^= 1);
    let report = verify(&tampered);
    assert_eq!(failing(&report), vec![3]);
    assert!(matches!(
        reasons_at(&report, 3)[..],
        [AuditError::InvalidSignature(_)]
    ));
    // In R: nor is it the R of the listed commitments.
    let tampered = tamper(&groth16_log().lines, 3, |r| r.signature[5] ^= 1);
    let report = verify(&tampered);
    assert_eq!(failing(&report), vec![3]);
    assert!(matches!(
        reasons_at(&report, 3)[..],
        [
            AuditError::InvalidSignature(_),
            AuditError::CommitmentMismatch { .. }
        ]
    ));
}

#[test]
fn listed_signers_must_be_the_ones_who_signed() {
    let lines = &groth16_log().lines;
    // Record 1 was signed by all three signers of the 2-of-3 key. A coordinator that drops
    // one from the list leaves a record that still meets the threshold, with valid proofs
    // and a valid signature, but the remaining commitments do not give the signature's R.
    let dropped = tamper(lines, 1, |r| {
        assert_eq!(r.signers.len(), 3);
        r.signers.pop();
    });
    let report = verify(&dropped);
    assert_eq!(failing(&report), vec![1]);
    assert!(matches!(
        reasons_at(&report, 1)[..],
        [AuditError::CommitmentMismatch { .. }]
    ));
    // Another record's signer list (valid proofs for another session) under this signature.
    let moved = tamper(lines, 2, |r| r.signers = parse(&lines[0]).signers);
    let reasons = reasons_at(&verify(&moved), 2)
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert!(reasons
        .iter()
        .any(|r| matches!(r, AuditError::CommitmentMismatch { .. })));
    // Commitments that do not decode are named, never a panic.
    let garbled = tamper(lines, 0, |r| r.signers[0].commitments = vec![1, 2, 3]);
    assert!(reasons_at(&verify(&garbled), 0)
        .iter()
        .any(|r| matches!(r, AuditError::GroupCommitment(_))));
}

#[test]
fn altered_public_input_is_caught() {
    let log = groth16_log();
    let tampered = tamper(&log.lines, 4, |r| {
        // `now` + 1 for every signer, attestations re-signed: only the proofs can tell.
        for s in &mut r.signers {
            s.public_inputs[2][0] ^= 1;
            s.attestation = sign_attestation(
                &log.identities[&s.signer_id],
                &s.attestation_message(&r.session_id),
            );
        }
    });
    let report = verify(&tampered);
    assert_eq!(failing(&report), vec![4]);
    let reasons = reasons_at(&report, 4);
    assert!(!reasons.is_empty());
    assert!(reasons
        .iter()
        .all(|r| matches!(fault(r), Some((_, ContributionFault::InvalidProof(_))))));

    // One signer's `now` altered, attestation left: all three checks fire, for that signer.
    let id = parse(&log.lines[4]).signers[1].signer_id;
    let tampered = tamper(&log.lines, 4, |r| r.signers[1].public_inputs[2][0] ^= 1);
    let reasons: Vec<AuditError> = verify(&tampered)
        .failures
        .into_iter()
        .inspect(|f| assert_eq!(f.index, 4))
        .map(|f| f.reason)
        .collect();
    for kind in ["now", "attestation", "proof"] {
        assert!(
            reasons.iter().any(|r| match fault(r) {
                Some((s, f)) if s == id => matches!(
                    (kind, f),
                    ("now", ContributionFault::NowMismatch { .. })
                        | ("attestation", ContributionFault::BadAttestation(_))
                        | ("proof", ContributionFault::InvalidProof(_))
                ),
                _ => false,
            }),
            "no {kind} failure for signer {id}: {reasons:?}"
        );
    }
}

#[test]
fn wrong_attestations_and_identity_keys_are_caught() {
    let log = groth16_log();
    // Signed by another key.
    let other = SigningKey::random(&mut OsRng);
    let tampered = tamper(&log.lines, 0, |r| {
        let msg = r.signers[1].attestation_message(&r.session_id);
        r.signers[1].attestation = sign_attestation(&other, &msg);
    });
    let report = verify(&tampered);
    let id = parse(&log.lines[0]).signers[1].signer_id;
    assert_eq!(failing(&report), vec![0]);
    assert!(matches!(
        reasons_at(&report, 0)[..],
        [AuditError::Contribution(ContributionError {
            signer_id,
            fault: ContributionFault::BadAttestation(_)
        })] if *signer_id == id
    ));

    // A valid attestation by another identity key than the signer used before.
    let tampered = tamper(&log.lines, 3, |r| {
        r.signers[0].identity_key = other.verifying_key().to_bytes().into();
        let msg = r.signers[0].attestation_message(&r.session_id);
        r.signers[0].attestation = sign_attestation(&other, &msg);
        let msg = verifier::audit::share_attestation_message(
            &r.session_id,
            r.signers[0].signer_id,
            &r.signers[0].share,
        );
        r.signers[0].share_attestation = sign_attestation(&other, &msg);
    });
    let report = verify(&tampered);
    assert_eq!(failing(&report), vec![3]);
    // Nor is it the identity key the signer attested the key with.
    assert!(matches!(
        reasons_at(&report, 3)[..],
        [
            AuditError::KeyMismatch { .. },
            AuditError::IdentityKeyChanged { .. }
        ]
    ));
}

/// Both backends' keys and the sample registry, but no key record given beforehand.
fn keys_without_key_records() -> AuditKeys {
    let mut k = AuditKeys::new()
        .with_transparent_halo2()
        .unwrap()
        .with_registry(prover::test_util::sample_registry());
    k.add_groth16(groth16().verifier().clone());
    k
}

#[test]
fn key_records_vouch_for_the_signing_records_after_them() {
    let log = groth16_log();
    let bare = keys_without_key_records();
    let full = log.with_key(&log.lines);
    assert!(matches!(
        LogEntry::from_line(full[0].as_bytes()).unwrap(),
        LogEntry::Key(_)
    ));
    assert!(full[0].starts_with("{\"type\":\"key\""), "{}", full[0]);
    assert!(full[1].starts_with("{\"type\":\"signing\""), "{}", full[1]);
    let report = verify_log(text(&full).as_bytes(), &bare);
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!((report.records, report.keys), (RECORDS as u64 + 1, 1));

    // Signing records without their key record: each names the missing key.
    let report = verify_log(text(&log.lines).as_bytes(), &bare);
    assert_eq!(failing(&report), (0..RECORDS as u64).collect::<Vec<_>>());
    assert!(report.failures.iter().all(|f| f.reason
        == AuditError::UnknownKey {
            key_id: "treasury".into()
        }));
    // A key record after the signatures it would vouch for does not count.
    let mut late: Vec<LogEntry> = log
        .lines
        .iter()
        .map(|l| LogEntry::from_line(l.as_bytes()).unwrap())
        .collect();
    late.push(LogEntry::Key(log.key.clone()));
    let mut relinked: Vec<String> = Vec::new();
    for mut e in late {
        let at = (
            relinked.len() as u64,
            relinked
                .last()
                .map(|p| chain_hash(p.as_bytes()))
                .unwrap_or([0; 32]),
        );
        match &mut e {
            LogEntry::Key(k) => (k.index, k.prev) = at,
            LogEntry::Signing(r) => (r.index, r.prev) = at,
            LogEntry::Spend(r) => (r.index, r.prev) = at,
        }
        relinked.push(e.to_line());
    }
    let report = verify_log(text(&relinked).as_bytes(), &bare);
    assert_eq!(failing(&report), (0..RECORDS as u64).collect::<Vec<_>>());

    // The same key id recorded twice: the second is named.
    let mut twice = full.clone();
    let mut again = log.key.clone();
    again.index = twice.len() as u64;
    again.prev = chain_hash(twice.last().unwrap().as_bytes());
    twice.push(again.to_line());
    let report = verify_log(text(&twice).as_bytes(), &bare);
    assert_eq!(failing(&report), vec![RECORDS as u64 + 1]);
    assert!(matches!(
        reasons_at(&report, RECORDS as u64 + 1)[..],
        [AuditError::KeyIdReused { first: 0, .. }]
    ));

    // A signing record moved under another key id: no key record for it.
    let renamed = log.with_key(&tamper(&log.lines, 2, |r| r.key_id = "ops2".into()));
    let report = verify_log(text(&renamed).as_bytes(), &bare);
    assert_eq!(failing(&report), vec![3]);
    assert!(reasons_at(&report, 3).contains(&&AuditError::UnknownKey {
        key_id: "ops2".into()
    }));
}

#[test]
fn a_substituted_group_key_lowered_threshold_or_dropped_attestation_is_caught() {
    let log = groth16_log();
    let bare = keys_without_key_records();
    let check = |key: KeyRecord| {
        let lines = with_key_record(&key, &log.lines);
        let report = verify_log(text(&lines).as_bytes(), &bare);
        // A key record that fails vouches for nothing: every signing record under it fails.
        assert_eq!(
            failing(&report),
            (0..=RECORDS as u64).collect::<Vec<_>>(),
            "{:?}",
            report.failures
        );
        reasons_at(&report, 0)
            .into_iter()
            .cloned()
            .collect::<Vec<_>>()
    };
    let bad_attestations = |r: &[AuditError]| {
        r.iter()
            .filter(|e| matches!(e, AuditError::KeyAttestation { .. }))
            .count()
    };

    // The coordinator substitutes a key of its own (package and group key): no node signed it.
    let other =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap();
    let mut key = log.key.clone();
    key.public_key_package = other[0].public_key_package().serialize().unwrap();
    key.group_key = other[0].group_key_bytes().try_into().unwrap();
    let reasons = check(key);
    assert_eq!(bad_attestations(&reasons), 3, "{reasons:?}");
    // Only the group key field replaced: it is not the package's.
    let mut key = log.key.clone();
    key.group_key = other[0].group_key_bytes().try_into().unwrap();
    let reasons = check(key);
    assert!(
        reasons
            .iter()
            .any(|e| matches!(e, AuditError::KeyRecord { reason, .. }
        if reason.contains("group key"))),
        "{reasons:?}"
    );
    // A lowered threshold: the signatures and the package both say 2.
    let mut key = log.key.clone();
    key.threshold = 1;
    let reasons = check(key);
    assert_eq!(bad_attestations(&reasons), 3, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|e| matches!(e, AuditError::KeyRecord { reason, .. }
        if reason.contains("needs 2 signers"))),
        "{reasons:?}"
    );
    // A dropped attestation: every participant must sign.
    let mut key = log.key.clone();
    key.attestations.pop();
    let reasons = check(key);
    assert!(
        reasons
            .iter()
            .any(|e| matches!(e, AuditError::KeyRecord { reason, .. }
        if reason.contains("every participant must attest"))),
        "{reasons:?}"
    );
    // An attestation by a key that is not the participant's.
    let mut key = log.key.clone();
    let stranger = SigningKey::random(&mut OsRng);
    key.attestations[1].signature = sign_attestation(&stranger, &key.attestation_message(2));
    let reasons = check(key);
    assert!(
        matches!(
            reasons[..],
            [AuditError::KeyAttestation { signer_id: 2, .. }]
        ),
        "{reasons:?}"
    );
}

#[test]
fn other_record_checks() {
    let lines = &groth16_log().lines;
    // A digest that is not C's.
    let report = verify(&tamper(lines, 2, |r| r.digest[0] ^= 1));
    assert!(reasons_at(&report, 2)
        .iter()
        .any(|r| matches!(r, AuditError::DigestMismatch { .. })));
    // Below threshold.
    let report = verify(&tamper(lines, 0, |r| r.threshold = 3));
    assert_eq!(failing(&report), vec![0]);
    assert!(matches!(
        reasons_at(&report, 0)[..],
        [
            AuditError::KeyMismatch { .. },
            AuditError::BelowThreshold {
                signers: 2,
                threshold: 3
            }
        ]
    ));
    // A duplicated signer.
    let report = verify(&tamper(lines, 0, |r| {
        let s = r.signers[0].clone();
        r.signers.push(s)
    }));
    assert!(reasons_at(&report, 0)
        .iter()
        .any(|r| matches!(r, AuditError::DuplicateSigner(_))));
    // A group key that is not SEC1 compressed.
    let report = verify(&tamper(lines, 0, |r| r.group_key[0] = 0x04));
    assert!(reasons_at(&report, 0).contains(&&AuditError::GroupKeyPrefix(4)));
    // The other parity: the same x-only key (the signature verifies), but the bindings
    // were derived from the real encoding; and it is not the key record's group key.
    let report = verify(&tamper(lines, 0, |r| r.group_key[0] = 0x02));
    let reasons = reasons_at(&report, 0);
    assert!(matches!(reasons[0], AuditError::KeyMismatch { .. }));
    assert!(reasons[1..].iter().all(|r| matches!(
        fault(r),
        Some((_, ContributionFault::BindingMismatch { .. }))
    )));
    assert_eq!(reasons.len(), 3);
    // Malformed lines are failures with their index, never panics.
    let mut bad = lines.clone();
    bad[1] = bad[1].replace("\"version\":1", "\"version\":1,\"extra\":0");
    bad[2] = "not json".into();
    bad[3] = bad[3].replacen("\"signature\":\"", "\"signature\":\"zz", 1);
    let report = verify(&bad);
    for i in 1..=3 {
        assert!(reasons_at(&report, i)
            .iter()
            .any(|r| matches!(r, AuditError::Malformed(_))));
    }
}

#[test]
fn a_policy_commitment_other_than_the_registered_one_is_named() {
    // The registry holds another P for signer 2 (e.g. the governed policy, while signer 2
    // proved under one it set itself): every record signer 2 contributed to fails, naming
    // signer 2; the others pass.
    let sample = sample::policy()
        .commitment::<circuits::bn254::Bn254>()
        .to_le_bytes();
    let mut registered: verifier::RegisteredPolicies = (1..=3).map(|s| (s, sample)).collect();
    registered.insert(2, [9; 32]);
    let mut k = AuditKeys::new().with_registry(Arc::new(registered));
    k.add_groth16(groth16().verifier().clone());
    let k = k.with_key_record(&groth16_log().key).unwrap();
    let lines = &groth16_log().lines;
    let report = verify_log(text(lines).as_bytes(), &k);
    let with_2: Vec<u64> = lines
        .iter()
        .map(|l| parse(l))
        .filter(|r| r.signers.iter().any(|s| s.signer_id == 2))
        .map(|r| r.index)
        .collect();
    assert!(!with_2.is_empty() && with_2.len() < RECORDS);
    assert_eq!(failing(&report), with_2);
    for f in &report.failures {
        assert!(
            matches!(
                fault(&f.reason),
                Some((2, ContributionFault::UnregisteredPolicy { registered: Some(r), .. }))
                    if *r == hex::encode([9u8; 32])
            ),
            "{f:?}"
        );
    }
    // No registry at all: nothing is registered, every record fails.
    let mut bare = AuditKeys::new();
    bare.add_groth16(groth16().verifier().clone());
    let bare = bare.with_key_record(&groth16_log().key).unwrap();
    let report = verify_log(text(lines).as_bytes(), &bare);
    assert_eq!(failing(&report), (0..RECORDS as u64).collect::<Vec<_>>());
}

#[test]
fn a_replayed_intent_and_a_skewed_time_are_named() {
    // Record 2 signs record 0's intent again, in a new session: a valid signature and
    // valid proofs, but the same digest under the same key.
    let log = make_log_of(groth16().as_ref(), 3, 0x02, |i| {
        if i == 2 {
            0
        } else {
            i as u64
        }
    });
    let own = keys_without_key_records()
        .with_key_record(&log.key)
        .unwrap();
    let report = verify_log(text(&log.lines).as_bytes(), &own);
    assert_eq!(failing(&report), vec![2], "{:?}", report.failures);
    assert!(matches!(
        reasons_at(&report, 2)[..],
        [AuditError::RepeatedDigest { first: 0, .. }]
    ));
    // A record whose append time is far from its session time (the proofs' `now`).
    let late = sample::NOW + verifier::audit::DEFAULT_MAX_SKEW_SECS + 1;
    let report = verify(&tamper(&groth16_log().lines, 1, |r| r.time = late));
    assert_eq!(failing(&report), vec![1]);
    assert!(matches!(
        reasons_at(&report, 1)[..],
        [AuditError::TimeSkew { now: sample::NOW, time, max: verifier::audit::DEFAULT_MAX_SKEW_SECS }] if *time == late
    ));
    // Within the allowed skew it passes; a stricter auditor refuses it.
    let ok = tamper(&groth16_log().lines, 1, |r| r.time = sample::NOW + 100);
    assert!(verify(&ok).is_ok());
    let strict = keys().clone().with_max_skew(30);
    let report = verify_log(text(&ok).as_bytes(), &strict);
    assert_eq!(failing(&report), vec![1]);
}

#[test]
fn unknown_fingerprint_is_named() {
    // Keys without the Groth16 key: every Groth16 record fails with UnknownVerifyingKey.
    let halo2_only = AuditKeys::new()
        .with_transparent_halo2()
        .unwrap()
        .with_registry(prover::test_util::sample_registry())
        .with_key_record(&groth16_log().key)
        .unwrap();
    let report = verify_log(text(&groth16_log().lines).as_bytes(), &halo2_only);
    assert_eq!(failing(&report), (0..RECORDS as u64).collect::<Vec<_>>());
    assert!(report
        .failures
        .iter()
        .all(|f| matches!(f.reason, AuditError::UnknownVerifyingKey { .. })));
    // A record naming another fingerprint: no key for it, and its proofs name another one.
    let report = verify(&tamper(&groth16_log().lines, 2, |r| {
        r.vk_fingerprint = [7; 32]
    }));
    assert_eq!(failing(&report), vec![2]);
    let reasons = reasons_at(&report, 2);
    assert!(reasons
        .iter()
        .any(|r| matches!(r, AuditError::UnknownVerifyingKey { .. })));
    assert!(reasons.iter().any(|r| matches!(
        fault(r),
        Some((_, ContributionFault::EnvelopeMismatch { .. }))
    )));
}

#[test]
fn records_hold_no_private_data() {
    let intent = sample::intent(0);
    let policy = sample::policy();
    // Decimal values are looked for outside the hex strings (a 6-digit decimal would turn
    // up inside kilobytes of random hex now and then); hex needles are 16+ characters.
    let decimals = [intent.amount.to_string(), policy.max_amount().to_string()];
    let mut needles: Vec<String> = vec![
        hex::encode(intent.amount.to_le_bytes()),
        hex::encode(intent.amount.to_be_bytes()),
        hex::encode(intent.recipient.0),
        hex::encode(policy.max_amount().to_le_bytes()),
        hex::encode(policy.max_amount().to_be_bytes()),
    ];
    for i in 0..5u8 {
        needles.push(hex::encode(sample::recipient(i).0));
    }
    for log in [groth16_log(), halo2_log()] {
        for (i, line) in log.lines.iter().enumerate() {
            let salt = sample::intent(i as u64).salt;
            let mut all = needles.clone();
            all.push(hex::encode(salt.as_bytes()));
            for n in &all {
                assert!(!line.contains(n.as_str()), "record {i} contains {n}");
            }
            let mut outside_hex = line.clone();
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            strip_strings(&value, &mut outside_hex);
            for d in &decimals {
                assert!(!outside_hex.contains(d.as_str()), "record {i} contains {d}");
            }
            let raw = line.as_bytes();
            for bytes in [
                &intent.amount.to_le_bytes()[..],
                &intent.amount.to_be_bytes()[..],
                &intent.recipient.0[..],
                &salt.as_bytes()[..],
            ] {
                assert!(!raw.windows(bytes.len()).any(|w| w == bytes));
            }
        }
    }
}

/// Removes every string value of `v` from `line` (leaving keys, numbers and punctuation).
fn strip_strings(v: &serde_json::Value, line: &mut String) {
    match v {
        serde_json::Value::String(s) if s.len() > 8 => *line = line.replace(s.as_str(), ""),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strip_strings(x, line)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strip_strings(x, line)),
        _ => {}
    }
}

#[test]
fn long_logs_are_verified_across_chunks() {
    // Records 0..5 repeated (re-linked) past one chunk: the repeats are replayed sessions,
    // and a signature altered in the second chunk is still named by its index.
    let base = &groth16_log().lines;
    let n = verifier::audit::CHUNK_RECORDS + 20;
    let mut lines: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let mut r = parse(&base[i % base.len()]);
        r.index = i as u64;
        r.prev = lines
            .last()
            .map(|l| chain_hash(l.as_bytes()))
            .unwrap_or([0; 32]);
        if i == n - 3 {
            r.signature[9] ^= 1;
        }
        lines.push(r.to_line());
    }
    let report = verify(&lines);
    assert_eq!(report.records, n as u64);
    let other: Vec<_> = report
        .failures
        .iter()
        .filter(|f| {
            !matches!(
                f.reason,
                AuditError::DuplicateSession { .. } | AuditError::RepeatedDigest { .. }
            )
        })
        .collect();
    assert_eq!(other.len(), 2, "{other:?}");
    assert!(other.iter().all(|f| f.index == n as u64 - 3));
    assert!(matches!(other[0].reason, AuditError::InvalidSignature(_)));
    assert!(matches!(
        other[1].reason,
        AuditError::CommitmentMismatch { .. }
    ));
    let replays: Vec<u64> = report
        .failures
        .iter()
        .filter(|f| matches!(f.reason, AuditError::DuplicateSession { .. }))
        .map(|f| f.index)
        .collect();
    assert_eq!(replays, (RECORDS as u64..n as u64).collect::<Vec<_>>());
    let repeated: Vec<u64> = report
        .failures
        .iter()
        .filter(|f| matches!(f.reason, AuditError::RepeatedDigest { .. }))
        .map(|f| f.index)
        .collect();
    assert_eq!(repeated, replays);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zkquorum-audit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `zkquorum audit verify args`, with `--allow-unwitnessed` unless checkpoints are given.
fn cli(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkquorum"));
    cmd.arg("audit").arg("verify").args(args);
    if !args.iter().any(|a| *a == "--checkpoints") {
        cmd.arg("--allow-unwitnessed");
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A trust root (one admin) and a registry export in `dir` rostering the identities of `log`
/// and registering the sample policy for signers 1..=3 of every key on both backends; the CLI
/// arguments naming them.
fn governance_files(dir: &std::path::Path, log: &Log) -> Vec<std::ffi::OsString> {
    governance_files_of(dir, log, 3)
}

/// [`governance_files`] with only signers `1..=nodes` rostered.
fn governance_files_of(dir: &std::path::Path, log: &Log, nodes: u16) -> Vec<std::ffi::OsString> {
    governance_files_pinning(dir, log, nodes, None)
}

/// [`governance_files_of`], the roster pinning `pinned_groth16` as the Groth16 key (default:
/// the key the logs were proved with) and the transparent halo2 key.
fn governance_files_pinning(
    dir: &std::path::Path,
    log: &Log,
    nodes: u16,
    pinned_groth16: Option<[u8; 32]>,
) -> Vec<std::ffi::OsString> {
    use verifier::governance::{
        Approval, GovernanceRecord, PolicyAssignment, PolicyAssignments, RecordContent, Roster,
        RosterNode, SignedRecord, TrustRoot,
    };
    let admin = SigningKey::random(&mut OsRng);
    let trust = TrustRoot::new(
        "audit-test",
        vec![admin.verifying_key().to_bytes().into()],
        1,
    )
    .unwrap();
    let approve = |version, content| {
        let mut signed =
            SignedRecord::new(GovernanceRecord::new("audit-test", version, 0, content));
        let sig = sign_attestation(&admin, &signed.record.signing_message());
        signed.add_approval(Approval {
            admin: admin.verifying_key().to_bytes().into(),
            signature: sig,
        });
        signed
    };
    let roster = Roster {
        nodes: (1..=nodes)
            .map(|id| RosterNode {
                id,
                url: format!("https://node-{id}:7700"),
                identity_key: log.identities[&id].verifying_key().to_bytes().into(),
                hpke_key: [id as u8; 32],
                tls_fingerprint: [id as u8; 32],
            })
            .collect(),
        coordinator_tls_fingerprint: [9; 32],
        threshold: 2,
        spend_keys: Vec::new(),
        verifying_keys: vec![
            verifier::governance::PinnedKey {
                backend: circuits::BackendId::Groth16Bn254,
                fingerprint: pinned_groth16.unwrap_or(groth16().fingerprint().0),
            },
            verifier::governance::PinnedKey {
                backend: circuits::BackendId::Halo2Pasta,
                fingerprint: halo2().fingerprint().0,
            },
        ],
    };
    let assignments = [
        circuits::BackendId::Groth16Bn254,
        circuits::BackendId::Halo2Pasta,
    ]
    .into_iter()
    .flat_map(|backend| {
        let p = prover::test_util::sample_registry()
            .policies("any", backend, 0)
            .get(1)
            .copied()
            .unwrap();
        (1..=nodes).map(move |signer| PolicyAssignment {
            key_id: "*".into(),
            signer,
            backend,
            commitment: p,
        })
    })
    .collect();
    let records = vec![
        approve(1, RecordContent::Roster(roster)),
        approve(2, RecordContent::Policy(PolicyAssignments { assignments })),
    ];
    let trust_path = dir.join("trust-root.json");
    std::fs::write(&trust_path, trust.to_json()).unwrap();
    let registry = dir.join("registry.json");
    std::fs::write(&registry, serde_json::to_string(&records).unwrap()).unwrap();
    vec![
        "--trust-root".into(),
        trust_path.into_os_string(),
        "--registry".into(),
        registry.into_os_string(),
    ]
}

#[test]
fn cli_verifies_and_names_failures() {
    let dir = temp_dir("cli");
    let keys = dir.join("keys");
    groth16().save(&keys).unwrap();
    let gov = governance_files(&dir, groth16_log());
    let cli = |args: &[&std::ffi::OsStr]| {
        let mut all: Vec<&std::ffi::OsStr> = args.to_vec();
        all.extend(gov.iter().map(|a| a.as_os_str()));
        cli(&all)
    };
    // The logs as the coordinator writes them: the key record first.
    let g = groth16_log();
    let intact = dir.join("intact.log");
    std::fs::write(&intact, text(&g.with_key(&g.lines))).unwrap();
    let (ok, out) = cli(&[intact.as_os_str(), "--keys".as_ref(), keys.as_os_str()]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("records:   {}", RECORDS + 1)),
        "{out}"
    );
    assert!(out.contains("groth16-bn254: 5"), "{out}");

    let tampered = dir.join("tampered.log");
    std::fs::write(
        &tampered,
        text(&g.with_key(&tamper(&g.lines, 2, |r| r.signature[0] ^= 1))),
    )
    .unwrap();
    let (ok, out) = cli(&[tampered.as_os_str(), "--keys".as_ref(), keys.as_os_str()]);
    assert!(!ok, "{out}");
    assert!(out.contains("record 3: final signature rejected"), "{out}");

    // The admins pinned another Groth16 key than the one the log's proofs name (a key
    // substituted behind their back, handed to the auditor as a file): every record fails.
    let foreign = temp_dir("cli-foreign");
    let foreign_gov = governance_files_pinning(&foreign, g, 3, Some([7; 32]));
    let (ok, out) = self::cli(&[
        intact.as_os_str(),
        "--keys".as_ref(),
        keys.as_os_str(),
        foreign_gov[0].as_os_str(),
        foreign_gov[1].as_os_str(),
        foreign_gov[2].as_os_str(),
        foreign_gov[3].as_os_str(),
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("record 1: verifying key"), "{out}");
    assert!(out.contains("is not the pinned one"), "{out}");
    let _ = std::fs::remove_dir_all(&foreign);

    // Without its key record, no signing record verifies.
    let keyless = dir.join("keyless.log");
    std::fs::write(&keyless, text(&g.lines)).unwrap();
    let (ok, out) = cli(&[keyless.as_os_str(), "--keys".as_ref(), keys.as_os_str()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("record 0: no key record for key treasury precedes this signing record"),
        "{out}"
    );

    // Without --keys only halo2 can be checked.
    let (ok, out) = cli(&[intact.as_os_str()]);
    assert!(!ok);
    assert!(out.contains("record 1: no verifying key"), "{out}");
    let halo2_path = dir.join("halo2.log");
    let h = halo2_log();
    std::fs::write(&halo2_path, text(&h.with_key(&h.lines))).unwrap();
    // The halo2 log's signers attest with other identity keys than the roster names.
    let (ok, out) = cli(&[halo2_path.as_os_str()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("record 0: signer 1 attests with identity key")
            && out.contains("the roster names"),
        "{out}"
    );
    // A signer the roster in force does not list is named.
    let two = temp_dir("cli-two");
    let two_gov = governance_files_of(&two, halo2_log(), 2);
    let (ok, out) = self::cli(&[
        halo2_path.as_os_str(),
        two_gov[0].as_os_str(),
        two_gov[1].as_os_str(),
        two_gov[2].as_os_str(),
        two_gov[3].as_os_str(),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("signer 3 is not in the roster in force"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&two);
    // Under a roster of its own identities it verifies.
    let other = temp_dir("cli-other");
    let other_gov = governance_files(&other, halo2_log());
    let (ok, out) = self::cli(&[
        halo2_path.as_os_str(),
        other_gov[0].as_os_str(),
        other_gov[1].as_os_str(),
        other_gov[2].as_os_str(),
        other_gov[3].as_os_str(),
    ]);
    assert!(ok, "{out}");
    // A registry that does not verify against the trust root is refused outright.
    let (ok, out) = self::cli(&[
        halo2_path.as_os_str(),
        gov[0].as_os_str(),
        gov[1].as_os_str(),
        other_gov[2].as_os_str(),
        other_gov[3].as_os_str(),
    ]);
    assert!(!ok);
    assert!(
        out.contains("does not verify against the trust root"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&other);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each identity of `log` signing the state of `lines` at `size` (`None`: all of it).
fn witnessed_by(log: &Log, lines: &[String], size: Option<usize>) -> verifier::audit::Witnesses {
    let size = size.unwrap_or(lines.len());
    let head = chain_hash(lines[size - 1].as_bytes());
    verifier::audit::Witnesses {
        log_id: "audit-test".into(),
        signatures: log
            .identities
            .iter()
            .map(|(id, k)| {
                let mut w = verifier::audit::WitnessSignature {
                    signer_id: *id,
                    identity_key: k.verifying_key().to_bytes().into(),
                    size: size as u64,
                    head,
                    time: sample::NOW,
                    signature: [0; 64],
                };
                w.signature = sign_attestation(k, &w.message("audit-test"));
                w
            })
            .collect(),
    }
}

#[test]
fn only_the_prefix_the_nodes_witnessed_is_accepted() {
    let log = groth16_log();
    let full = log.with_key(&log.lines);
    let n = full.len() as u64;
    let witnessed = |w: verifier::audit::Witnesses, min: usize, lines: &[String]| {
        let keys = keys_without_key_records().with_witnesses(w, min);
        verify_log(text(lines).as_bytes(), &keys)
    };
    let signed = witnessed_by(log, &full, None);
    let report = witnessed(signed.clone(), 2, &full);
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!(report.witnessed, Some(n));

    // The re-link forgery: record 2's time changed and the tail re-linked. The records
    // verify on their own, but the head is not the one the nodes signed.
    let relinked = log.with_key(&tamper(&log.lines, 2, |r| r.time += 1));
    let report = witnessed(signed.clone(), 2, &relinked);
    assert_eq!(report.witnessed, Some(0));
    let rewritten = report
        .failures
        .iter()
        .filter(|f| matches!(&f.reason, AuditError::Witness { reason, .. } if reason.contains("rewritten or forked")))
        .count();
    assert_eq!(rewritten, 3, "{:?}", report.failures);
    assert!(report.failures.iter().any(|f| f.reason
        == AuditError::Unwitnessed {
            from: 0,
            records: n,
            min: 2
        }));

    // A truncated tail: the nodes signed more than the log holds.
    let report = witnessed(signed.clone(), 2, &full[..full.len() - 1]);
    assert!(!report.is_ok());
    assert!(report.failures.iter().any(|f| matches!(&f.reason,
        AuditError::Witness { reason, .. } if reason.contains("truncated"))));

    // A fork shown to a second auditor: the same size, another record at line 3. Only the
    // log the nodes signed carries their signatures.
    let mut fork_records = log.lines.clone();
    fork_records[2] = parse(&halo2_log().lines[0]).to_line();
    let fork = log.with_key(&fork_records);
    assert_eq!(fork.len(), full.len());
    let report = witnessed(signed.clone(), 2, &fork);
    assert_eq!(report.witnessed, Some(0));
    assert!(failing(&report).contains(&3));

    // Records appended after the last checkpoint are named as unwitnessed.
    let older = witnessed_by(log, &full, Some(full.len() - 2));
    let report = witnessed(older, 2, &full);
    assert_eq!(report.witnessed, Some(n - 2));
    assert_eq!(
        report.failures,
        vec![verifier::audit::AuditFailure {
            index: n - 2,
            reason: AuditError::Unwitnessed {
                from: n - 2,
                records: n,
                min: 2
            }
        }]
    );

    // Too few witnesses: three signed, four required.
    let report = witnessed(signed.clone(), 4, &full);
    assert_eq!(report.witnessed, Some(0));

    // A forged witness signature does not count, and is named.
    let mut forged = signed.clone();
    forged.signatures[0].signature[3] ^= 1;
    let report = witnessed(forged.clone(), 3, &full);
    assert_eq!(report.witnessed, Some(0));
    assert!(report.failures.iter().any(|f| matches!(f.reason,
        AuditError::Witness { signer_id, .. } if signer_id == forged.signatures[0].signer_id)));
    let report = witnessed(forged, 2, &full);
    assert_eq!(report.witnessed, Some(n));
}

/// The sample policies, and a roster of `ids` from which `removed` is dropped at `at`.
struct RosterUntil {
    ids: BTreeMap<u16, [u8; 32]>,
    removed: u16,
    at: u64,
}

impl verifier::PolicyRegistry for RosterUntil {
    fn policies(
        &self,
        key_id: &str,
        backend: circuits::BackendId,
        now: u64,
    ) -> verifier::RegisteredPolicies {
        prover::test_util::sample_registry().policies(key_id, backend, now)
    }

    fn spend_policies(
        &self,
        key_id: &str,
        backend: circuits::BackendId,
        now: u64,
    ) -> verifier::RegisteredPolicies {
        prover::test_util::sample_registry().spend_policies(key_id, backend, now)
    }

    fn rostered_identity(&self, signer: u16, now: u64) -> verifier::Rostered {
        match self.ids.get(&signer) {
            Some(_) if signer == self.removed && now >= self.at => verifier::Rostered::Absent,
            Some(k) => verifier::Rostered::Member(*k),
            None => verifier::Rostered::Absent,
        }
    }
}

/// A witness dropped from the roster cannot vouch for records written after its removal,
/// whatever time it puts on its signature: its identity must be rostered at the time of
/// the last record it covers as well.
#[test]
fn a_removed_witness_cannot_vouch_for_records_after_its_removal() {
    let log = groth16_log();
    let full = log.with_key(&log.lines);
    let record_time = |i: usize| LogEntry::from_line(full[i].as_bytes()).map(|e| e.time());
    let last = record_time(full.len() - 1).unwrap();
    let witness = SigningKey::random(&mut OsRng);
    let mut ids: BTreeMap<u16, [u8; 32]> = log
        .identities
        .iter()
        .map(|(id, k)| (*id, k.verifying_key().to_bytes().into()))
        .collect();
    ids.insert(9, witness.verifying_key().to_bytes().into());
    // Node 9 is removed just before the last record; it signs with a time before that.
    let registry = RosterUntil {
        ids,
        removed: 9,
        at: last,
    };
    let sign = |size: usize| {
        let mut w = verifier::audit::WitnessSignature {
            signer_id: 9,
            identity_key: witness.verifying_key().to_bytes().into(),
            size: size as u64,
            head: chain_hash(full[size - 1].as_bytes()),
            time: last - 1,
            signature: [0; 64],
        };
        w.signature = sign_attestation(&witness, &w.message("audit-test"));
        w
    };
    let verify = |w: verifier::audit::WitnessSignature| {
        let mut keys = AuditKeys::new().with_registry(Arc::new(RosterUntil {
            ids: registry.ids.clone(),
            ..registry
        }));
        keys.add_groth16(groth16().verifier().clone());
        let keys = keys.with_witnesses(
            verifier::audit::Witnesses {
                log_id: "audit-test".into(),
                signatures: vec![w],
            },
            1,
        );
        verify_log(text(&full).as_bytes(), &keys)
    };
    // Up to the record before its removal, its word counts.
    let before = full.len() - 1;
    assert!(record_time(before - 1).unwrap() < last);
    let report = verify(sign(before));
    assert_eq!(
        report.witnessed,
        Some(before as u64),
        "{:?}",
        report.failures
    );
    // Over the whole log it does not: the last record is after its removal.
    let report = verify(sign(full.len()));
    assert_eq!(report.witnessed, Some(0));
    assert!(
        report.failures.iter().any(|f| matches!(&f.reason,
            AuditError::Witness { signer_id: 9, reason } if reason.contains("roster in force then does not name"))),
        "{:?}",
        report.failures
    );
}
