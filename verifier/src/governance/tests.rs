//! Unit tests of the trust root, the records and the registry.

use circuits::BackendId;
use k256::schnorr::SigningKey;
use rand::rngs::OsRng;

use super::*;

const CLUSTER: &str = "test-cluster";
const G16: BackendId = BackendId::Groth16Bn254;

struct Admins {
    keys: Vec<SigningKey>,
    trust: TrustRoot,
}

/// `m` admins with threshold `k`.
fn admins(m: usize, k: u16) -> Admins {
    let keys: Vec<SigningKey> = (0..m).map(|_| SigningKey::random(&mut OsRng)).collect();
    let trust = TrustRoot::new(CLUSTER, keys.iter().map(public).collect(), k).unwrap();
    Admins { keys, trust }
}

fn public(key: &SigningKey) -> [u8; 32] {
    key.verifying_key().to_bytes().into()
}

fn approve(signed: &mut SignedRecord, key: &SigningKey) {
    let aux: [u8; 32] = rand::random();
    let sig = key
        .sign_raw(&signed.record.signing_message(), &aux)
        .unwrap();
    signed.add_approval(Approval {
        admin: public(key),
        signature: sig.to_bytes(),
    });
}

fn signed_by(record: GovernanceRecord, keys: &[SigningKey]) -> SignedRecord {
    let mut s = SignedRecord::new(record);
    for k in keys {
        approve(&mut s, k);
    }
    s
}

fn roster(n: u16, t: u16) -> Roster {
    Roster {
        nodes: (1..=n)
            .map(|id| RosterNode {
                id,
                url: format!("https://127.0.0.1:{}", 7700 + id),
                identity_key: public(&SigningKey::random(&mut OsRng)),
                hpke_key: [id as u8; 32],
                tls_fingerprint: [0x40 + id as u8; 32],
            })
            .collect(),
        coordinator_tls_fingerprint: [0xcc; 32],
        threshold: t,
        spend_keys: Vec::new(),
        verifying_keys: vec![super::PinnedKey {
            backend: BackendId::Groth16Bn254,
            fingerprint: [0xf1; 32],
        }],
    }
}

fn roster_record(version: u64, effective_from: u64) -> GovernanceRecord {
    GovernanceRecord::new(
        CLUSTER,
        version,
        effective_from,
        RecordContent::Roster(roster(5, 3)),
    )
}

/// `P` = the small integer `v` (a canonical element of both fields).
fn p(v: u8) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0] = v;
    b
}

fn assign(key_id: &str, signer: u16, commitment: [u8; 32]) -> PolicyAssignment {
    PolicyAssignment {
        key_id: key_id.into(),
        signer,
        backend: G16,
        commitment,
    }
}

fn policy_record(
    version: u64,
    effective_from: u64,
    assignments: Vec<PolicyAssignment>,
) -> GovernanceRecord {
    GovernanceRecord::new(
        CLUSTER,
        version,
        effective_from,
        RecordContent::Policy(PolicyAssignments { assignments }),
    )
}

/// A registry holding the genesis roster (version 1, in force from time 0).
fn genesis(a: &Admins) -> Registry {
    let mut reg = Registry::new(a.trust.clone());
    reg.apply(signed_by(roster_record(1, 0), &a.keys[..2]))
        .unwrap();
    reg
}

#[test]
fn trust_root_is_validated() {
    let a = admins(3, 2);
    let keys = a.trust.admins().to_vec();
    assert_eq!(
        TrustRoot::new("", keys.clone(), 2),
        Err(GovernanceError::EmptyCluster)
    );
    for k in [0, 4] {
        assert_eq!(
            TrustRoot::new(CLUSTER, keys.clone(), k),
            Err(GovernanceError::BadAdminThreshold {
                threshold: k,
                admins: 3
            })
        );
    }
    let dup = vec![keys[0], keys[1], keys[0]];
    assert!(matches!(
        TrustRoot::new(CLUSTER, dup, 2),
        Err(GovernanceError::DuplicateAdmin { admin }) if admin == hex::encode(keys[0])
    ));
    // x = p - 1 is not on the curve's x-only keys (and 0xff… is not a field element).
    assert!(matches!(
        TrustRoot::new(CLUSTER, vec![keys[0], [0xff; 32]], 1),
        Err(GovernanceError::InvalidAdminKey { .. })
    ));
    // JSON round trip, unknown fields refused.
    let back = TrustRoot::from_json(&a.trust.to_json()).unwrap();
    assert_eq!(back, a.trust);
    let extra = a.trust.to_json().replacen('{', "{\"extra\": 1,", 1);
    assert!(matches!(
        TrustRoot::from_json(&extra),
        Err(GovernanceError::Decode { .. })
    ));
    let bad_k = a
        .trust
        .to_json()
        .replace("\"threshold\": 2", "\"threshold\": 9");
    assert!(matches!(
        TrustRoot::from_json(&bad_k),
        Err(GovernanceError::BadAdminThreshold { threshold: 9, .. })
    ));
}

#[test]
fn k_minus_one_approvals_are_refused_and_k_accepted() {
    let a = admins(3, 2);
    let mut reg = Registry::new(a.trust.clone());
    let one = signed_by(roster_record(1, 0), &a.keys[..1]);
    assert_eq!(
        reg.apply(one.clone()),
        Err(GovernanceError::TooFewApprovals {
            version: 1,
            have: 1,
            need: 2
        })
    );
    assert_eq!(reg.head(), 0);
    // The same admin approving twice still counts once.
    let mut twice = one.clone();
    twice.approvals.push(twice.approvals[0].clone());
    assert!(matches!(
        reg.apply(twice),
        Err(GovernanceError::TooFewApprovals {
            have: 1,
            need: 2,
            ..
        })
    ));
    let mut two = one;
    approve(&mut two, &a.keys[2]);
    reg.apply(two.clone()).unwrap();
    assert_eq!(reg.head(), 1);
    assert_eq!(reg.head_hash(), Some(two.record_hash()));
    assert_eq!(reg.records(), &[two.clone()]);
    // Rebuilt from its records, the same registry.
    assert_eq!(Registry::from_records(a.trust.clone(), [two]).unwrap(), reg);
}

#[test]
fn an_approval_by_a_non_admin_key_is_refused() {
    let a = admins(3, 2);
    let outsider = SigningKey::random(&mut OsRng);
    let mut reg = Registry::new(a.trust.clone());
    let mut s = signed_by(roster_record(1, 0), &a.keys[..2]);
    approve(&mut s, &outsider);
    assert_eq!(
        reg.apply(s),
        Err(GovernanceError::NotAnAdmin {
            version: 1,
            admin: hex::encode(public(&outsider))
        })
    );
    // k approvals all by outsiders: refused as well, not counted.
    let s = signed_by(
        roster_record(1, 0),
        &[outsider.clone(), SigningKey::random(&mut OsRng)],
    );
    assert!(matches!(
        reg.apply(s),
        Err(GovernanceError::NotAnAdmin { .. })
    ));
    assert_eq!(reg.head(), 0);
}

#[test]
fn a_bad_signature_is_refused_naming_the_admin() {
    let a = admins(3, 2);
    let mut reg = Registry::new(a.trust.clone());
    let mut s = signed_by(roster_record(1, 0), &a.keys);
    s.approvals[1].signature[10] ^= 1;
    let err = reg.apply(s.clone()).unwrap_err();
    assert_eq!(
        err,
        GovernanceError::BadSignature {
            version: 1,
            admin: hex::encode(public(&a.keys[1]))
        }
    );
    assert!(err.to_string().contains(&hex::encode(public(&a.keys[1]))));
    // A signature by admin 0 presented as admin 1's.
    s.approvals[1].signature = s.approvals[0].signature;
    assert!(matches!(
        reg.apply(s),
        Err(GovernanceError::BadSignature { .. })
    ));
}

#[test]
fn a_replayed_record_is_refused() {
    let a = admins(3, 2);
    let mut reg = genesis(&a);
    let policy = signed_by(
        policy_record(2, 0, vec![assign("*", 1, p(1))]),
        &a.keys[..2],
    );
    reg.apply(policy.clone()).unwrap();
    assert_eq!(
        reg.apply(policy),
        Err(GovernanceError::Replayed {
            version: 2,
            head: 2
        })
    );
    // The genesis roster again, freshly signed: a replay too.
    assert_eq!(
        reg.apply(signed_by(roster_record(1, 0), &a.keys)),
        Err(GovernanceError::Replayed {
            version: 1,
            head: 2
        })
    );
    assert_eq!(reg.head(), 2);
}

#[test]
fn a_reordered_record_is_refused() {
    let a = admins(3, 2);
    let mut reg = genesis(&a);
    let v2 = signed_by(
        policy_record(2, 0, vec![assign("*", 1, p(1))]),
        &a.keys[..2],
    );
    let v3 = signed_by(
        policy_record(3, 0, vec![assign("*", 1, p(2))]),
        &a.keys[..2],
    );
    assert_eq!(
        reg.apply(v3.clone()),
        Err(GovernanceError::OutOfOrder {
            version: 3,
            expected: 2
        })
    );
    // Stored out of order: the rebuild names the record at fault.
    let stored = vec![reg.records()[0].clone(), v3.clone(), v2.clone()];
    assert!(matches!(
        Registry::from_records(a.trust.clone(), stored),
        Err(GovernanceError::OutOfOrder {
            version: 3,
            expected: 2
        })
    ));
    reg.apply(v2).unwrap();
    reg.apply(v3).unwrap();
    assert_eq!(reg.head(), 3);
    assert_eq!(reg.since(3).len(), 1);
    assert_eq!(reg.since(0).len(), 3);
    assert!(reg.since(9).is_empty());
    assert_eq!(reg.record(2).unwrap().record.version, 2);
    assert!(reg.record(0).is_none());
}

#[test]
fn another_clusters_record_is_refused() {
    let a = admins(3, 2);
    let mut reg = Registry::new(a.trust.clone());
    let mut record = roster_record(1, 0);
    record.cluster = "other".into();
    let s = signed_by(record, &a.keys);
    assert_eq!(
        reg.apply(s),
        Err(GovernanceError::WrongCluster {
            expected: CLUSTER.into(),
            found: "other".into(),
            version: 1
        })
    );
    // Changing the cluster after signing: still refused (and the signatures would not
    // verify either).
    let mut s = signed_by(roster_record(1, 0), &a.keys);
    s.record.cluster = "other".into();
    assert!(matches!(
        reg.apply(s),
        Err(GovernanceError::WrongCluster { .. })
    ));
}

#[test]
fn content_tampered_after_signing_is_refused() {
    let a = admins(3, 2);
    let mut reg = genesis(&a);
    let mut s = signed_by(policy_record(2, 0, vec![assign("*", 1, p(1))]), &a.keys);
    // A looser policy swapped in after the admins signed.
    let RecordContent::Policy(ref mut assignments) = s.record.content else {
        unreachable!()
    };
    assignments.assignments[0].commitment = p(66);
    assert_eq!(
        reg.apply(s.clone()),
        Err(GovernanceError::ContentHashMismatch { version: 2 })
    );
    // Re-hashing the tampered content changes the signed message: the approvals fail.
    s.record.content_hash = s.record.content.content_hash();
    assert!(matches!(
        reg.apply(s.clone()),
        Err(GovernanceError::BadSignature { version: 2, .. })
    ));
    // Moving `effective_from` (part of the signed tuple) also breaks every approval.
    let mut moved = signed_by(policy_record(2, 100, vec![assign("*", 1, p(1))]), &a.keys);
    moved.record.effective_from = 0;
    assert!(matches!(
        reg.apply(moved),
        Err(GovernanceError::BadSignature { .. })
    ));
    assert_eq!(reg.head(), 1);
}

#[test]
fn a_record_not_yet_in_force_does_not_apply() {
    let a = admins(3, 2);
    let mut reg = genesis(&a);
    reg.apply(signed_by(
        policy_record(2, 100, vec![assign("*", 1, p(1))]),
        &a.keys[..2],
    ))
    .unwrap();
    reg.apply(signed_by(
        policy_record(3, 200, vec![assign("*", 1, p(2))]),
        &a.keys[..2],
    ))
    .unwrap();
    assert!(reg.policies("k1", G16, 99).is_empty());
    assert_eq!(reg.policies("k1", G16, 100).get(1), Some(&p(1)));
    assert_eq!(reg.policies("k1", G16, 199).get(1), Some(&p(1)));
    assert_eq!(reg.policies("k1", G16, 200).get(1), Some(&p(2)));
    // The other backend has no assignment.
    assert!(reg.policies("k1", BackendId::Halo2Pasta, 300).is_empty());

    // A roster in the future is not in force yet; before the genesis roster, none is.
    let mut bigger = roster(7, 4);
    bigger.coordinator_tls_fingerprint = [0xdd; 32];
    reg.apply(signed_by(
        GovernanceRecord::new(CLUSTER, 4, 500, RecordContent::Roster(bigger.clone())),
        &a.keys[1..],
    ))
    .unwrap();
    assert_eq!(reg.roster_at(499).unwrap().nodes.len(), 5);
    assert_eq!(reg.roster_at(500), Some(&bigger));
    assert_eq!(reg.latest_roster(), Some(&bigger));
    let mut late = Registry::new(a.trust.clone());
    late.apply(signed_by(roster_record(1, 50), &a.keys[..2]))
        .unwrap();
    assert!(late.roster_at(49).is_none());
    assert!(late.policies("k1", G16, 49).is_empty());

    // A record cannot take effect before the one it follows: it would change what was in
    // force in between (at 499, signer 1's P stays p(2)).
    let err = reg
        .apply(signed_by(
            policy_record(5, 450, vec![assign("*", 1, p(3))]),
            &a.keys[..2],
        ))
        .unwrap_err();
    assert_eq!(
        err,
        GovernanceError::EffectiveBeforePrevious {
            version: 5,
            effective_from: 450,
            previous: 4,
            previous_from: 500,
        }
    );
    assert_eq!(reg.head(), 4);
    assert_eq!(reg.policies("k1", G16, 499).get(1), Some(&p(2)));
}

#[test]
fn a_key_specific_assignment_overrides_the_wildcard() {
    let a = admins(3, 2);
    let mut reg = genesis(&a);
    // One record assigning several signers.
    reg.apply(signed_by(
        policy_record(
            2,
            0,
            vec![
                assign("*", 1, p(1)),
                assign("*", 2, p(2)),
                assign("*", 3, p(3)),
            ],
        ),
        &a.keys[..2],
    ))
    .unwrap();
    reg.apply(signed_by(
        policy_record(3, 0, vec![assign("k1", 2, p(22))]),
        &a.keys[..2],
    ))
    .unwrap();
    // A later wildcard does not override the key's own entry.
    reg.apply(signed_by(
        policy_record(4, 0, vec![assign("*", 2, p(32))]),
        &a.keys[..2],
    ))
    .unwrap();
    let k1: Vec<_> = reg
        .policies("k1", G16, 10)
        .iter()
        .map(|(s, p)| (s, *p))
        .collect();
    assert_eq!(k1, vec![(1, p(1)), (2, p(22)), (3, p(3))]);
    let k2: Vec<_> = reg
        .policies("k2", G16, 10)
        .iter()
        .map(|(s, p)| (s, *p))
        .collect();
    assert_eq!(k2, vec![(1, p(1)), (2, p(32)), (3, p(3))]);
}

#[test]
fn invalid_contents_are_refused() {
    let a = admins(3, 2);
    let mut reg = Registry::new(a.trust.clone());
    // A policy before any roster.
    assert!(matches!(
        reg.apply(signed_by(
            policy_record(1, 0, vec![assign("*", 1, p(1))]),
            &a.keys
        )),
        Err(GovernanceError::InvalidPolicy { version: 1, .. })
    ));
    type Edit = Box<dyn Fn(&mut Roster)>;
    let bad_rosters: Vec<(Edit, &str)> = vec![
        (Box::new(|r| r.threshold = 1), "threshold"),
        (Box::new(|r| r.threshold = 6), "threshold"),
        (Box::new(|r| r.nodes.swap(0, 1)), "by id"),
        (Box::new(|r| r.nodes[2].url = "http://x:1".into()), "https"),
        (
            Box::new(|r| r.nodes[3].identity_key = r.nodes[0].identity_key),
            "identity key",
        ),
        (
            Box::new(|r| r.nodes[1].tls_fingerprint = [0xcc; 32]),
            "coordinator",
        ),
        (Box::new(|r| r.nodes.clear()), "no nodes"),
    ];
    for (edit, what) in bad_rosters {
        let mut r = roster(5, 3);
        edit(&mut r);
        let s = signed_by(
            GovernanceRecord::new(CLUSTER, 1, 0, RecordContent::Roster(r)),
            &a.keys,
        );
        match reg.apply(s) {
            Err(GovernanceError::InvalidRoster { version: 1, reason }) => {
                assert!(reason.contains(what), "{reason} should mention {what}")
            }
            other => panic!("expected InvalidRoster ({what}), got {other:?}"),
        }
    }
    let mut reg = genesis(&a);
    let not_field = [0xff; 32];
    for (assignments, what) in [
        (vec![], "no assignments"),
        (vec![assign("*", 9, p(1))], "not in the roster"),
        (vec![assign("*", 0, p(1))], "signer id 0"),
        (vec![assign("bad key!", 1, p(1))], "key id"),
        (vec![assign("*", 1, not_field)], "field element"),
        (vec![assign("k", 1, p(1)), assign("k", 1, p(2))], "twice"),
    ] {
        let s = signed_by(policy_record(2, 0, assignments), &a.keys);
        match reg.apply(s) {
            Err(GovernanceError::InvalidPolicy { version: 2, reason }) => {
                assert!(reason.contains(what), "{reason} should mention {what}")
            }
            other => panic!("expected InvalidPolicy ({what}), got {other:?}"),
        }
    }
    assert_eq!(reg.head(), 1);
}

#[test]
fn json_round_trip_and_hash_independent_of_json() {
    let a = admins(3, 2);
    let s = signed_by(
        policy_record(2, 7, vec![assign("*", 1, p(1)), assign("k1", 2, p(2))]),
        &a.keys[..2],
    );
    let json = s.to_json();
    assert!(json.contains("\"kind\":\"policy\""), "{json}");
    assert!(json.contains("\"backend\":\"groth16\""), "{json}");
    let back = SignedRecord::from_json(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(SignedRecord::from_json(&s.to_json_pretty()).unwrap(), s);
    // Unknown fields, short hex and unknown kinds are refused.
    for bad in [
        json.replacen("\"cluster\"", "\"extra\":1,\"cluster\"", 1),
        json.replacen(&hex::encode(p(1)), "00", 1),
        json.replace("\"kind\":\"policy\"", "\"kind\":\"threshold\""),
        json.replace("\"groth16\"", "\"plonk\""),
    ] {
        assert!(
            matches!(
                SignedRecord::from_json(&bad),
                Err(GovernanceError::Decode { .. })
            ),
            "{bad}"
        );
    }
    // The content hash is over the canonical encoding: pinned tag, kind and fields.
    let r = roster_record(1, 0);
    assert_eq!(r.kind(), RecordKind::Roster);
    let mut other = r.clone();
    other.content = RecordContent::Roster(roster(5, 3));
    assert_ne!(r.content.content_hash(), other.content.content_hash());
    let RecordContent::Policy(pa) = &s.record.content else {
        unreachable!()
    };
    let mut parts: Vec<Vec<u8>> = vec![b"policy".to_vec(), 2u64.to_le_bytes().to_vec()];
    for x in &pa.assignments {
        parts.push(x.key_id.as_bytes().to_vec());
        parts.push(x.signer.to_le_bytes().to_vec());
        parts.push(vec![x.backend.as_u8()]);
        parts.push(x.commitment.to_vec());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    assert_eq!(
        s.record.content_hash,
        circuits::hash::tagged_hash(record::CONTENT_TAG, &refs)
    );
    assert_eq!(
        s.record.signing_message(),
        circuits::hash::tagged_hash(
            record::RECORD_TAG,
            &[
                CLUSTER.as_bytes(),
                b"policy",
                &2u64.to_le_bytes(),
                &s.record.content_hash,
                &7u64.to_le_bytes()
            ]
        )
    );
}

#[test]
fn approvers_lists_each_admin_once() {
    let a = admins(3, 2);
    let mut s = SignedRecord::new(roster_record(1, 0));
    assert!(s.approvers(&a.trust).unwrap().is_empty());
    approve(&mut s, &a.keys[2]);
    approve(&mut s, &a.keys[2]);
    assert_eq!(
        s.approvals.len(),
        1,
        "a re-approval replaces the earlier one"
    );
    approve(&mut s, &a.keys[0]);
    assert_eq!(
        s.approvers(&a.trust).unwrap(),
        vec![public(&a.keys[2]), public(&a.keys[0])]
    );
}
