//! Backend-neutral behaviour: rules, policy files, intents, Merkle tree, digest, public
//! inputs. Hashes use the BN254 backend.

mod common;

use circuits::bn254::{poseidon_hash, Bn254, Fr};
use circuits::field::{Backend, BackendId, UnknownBackendId};
use circuits::hash::tagged_hash;
use circuits::merkle::{empty_roots, leaf_hash, node_hash, MerkleError, MAX_LEAVES};
use circuits::public::{PublicInputsError, BINDING_TAG};
use circuits::{
    check, Binding, Intent, IntentFields, IntentParseError, Policy, PolicyFields, PolicyFileError,
    PolicySalt, PolicySaltParseError, PolicyViolation, PublicInputs, Recipient, Rule, Salt,
    SignedDigest, StatementField, Witness, DOMAIN_INTENT, DOMAIN_LEAF, DOMAIN_NODE, DOMAIN_POLICY,
    TREE_DEPTH,
};
use common::*;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------- rules

#[test]
fn compliant_intent_passes() {
    assert_eq!(check(&intent(), &policy(), NOW), Ok(()));
}

#[test]
fn each_violation_names_rule_and_values() {
    let p = policy();
    let cases = [
        (
            check(
                &Intent {
                    version: 0,
                    ..intent()
                },
                &p,
                NOW,
            ),
            PolicyViolation::UnsupportedVersion {
                version: 0,
                supported: 1,
            },
            Rule::UnsupportedVersion,
        ),
        (
            check(
                &Intent {
                    asset: 9,
                    ..intent()
                },
                &p,
                NOW,
            ),
            PolicyViolation::AssetMismatch {
                intent: 9,
                policy: 7,
            },
            Rule::AssetMismatch,
        ),
        (
            check(
                &Intent {
                    amount: 1_000_001,
                    ..intent()
                },
                &p,
                NOW,
            ),
            PolicyViolation::AmountAboveLimit {
                amount: 1_000_001,
                max: 1_000_000,
            },
            Rule::AmountAboveLimit,
        ),
        (
            check(&intent(), &p, NOW - 51),
            PolicyViolation::NotYetValid {
                now: NOW - 51,
                valid_after: NOW - 50,
            },
            Rule::NotYetValid,
        ),
        (
            check(&intent(), &p, NOW + 51),
            PolicyViolation::Expired {
                now: NOW + 51,
                valid_before: NOW + 50,
            },
            Rule::Expired,
        ),
        (
            check(
                &Intent {
                    valid_after: 0,
                    ..intent()
                },
                &p,
                NOW - 101,
            ),
            PolicyViolation::TimeLocked {
                now: NOW - 101,
                not_before: NOW - 100,
            },
            Rule::TimeLocked,
        ),
        (
            check(
                &Intent {
                    recipient: recipient(1, 1),
                    ..intent()
                },
                &p,
                NOW,
            ),
            PolicyViolation::RecipientNotAllowlisted {
                recipient: recipient(1, 1),
            },
            Rule::RecipientNotAllowlisted,
        ),
    ];
    for (got, want, rule) in cases {
        assert_eq!(got, Err(want.clone()));
        assert_eq!(want.rule(), rule);
        // The message carries the values.
        let msg = want.to_string();
        assert!(!msg.is_empty());
    }
    let msg = PolicyViolation::AmountAboveLimit { amount: 5, max: 4 }.to_string();
    assert!(msg.contains('5') && msg.contains('4'), "{msg}");
}

#[test]
fn boundaries_are_inclusive() {
    let p = Policy::new(7, 100, 10, vec![recipient(1, 0)], policy_salt(1)).unwrap();
    let i = Intent {
        amount: 100,
        valid_after: 10,
        valid_before: 20,
        recipient: recipient(1, 0),
        ..intent()
    };
    assert_eq!(check(&i, &p, 10), Ok(()));
    assert_eq!(check(&i, &p, 20), Ok(()));
    assert!(check(&i, &p, 9).is_err());
    assert!(check(&i, &p, 21).is_err());
}

/// Reference: the list of every rule broken, in the documented order.
fn reference_violations(i: &Intent, p: &Policy, now: u64) -> Vec<Rule> {
    let mut v = Vec::new();
    if i.version != 1 {
        v.push(Rule::UnsupportedVersion);
    }
    if i.asset != p.asset() {
        v.push(Rule::AssetMismatch);
    }
    if i.amount > p.max_amount() {
        v.push(Rule::AmountAboveLimit);
    }
    if now < i.valid_after {
        v.push(Rule::NotYetValid);
    }
    if now > i.valid_before {
        v.push(Rule::Expired);
    }
    if now < p.not_before() {
        v.push(Rule::TimeLocked);
    }
    if !p.allowlist().contains(&i.recipient) {
        v.push(Rule::RecipientNotAllowlisted);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn check_agrees_with_reference(
        version in 0u8..3,
        asset in 0u32..3,
        p_asset in 0u32..3,
        amount in 0u64..200,
        max in 0u64..200,
        valid_after in 0u64..100,
        valid_before in 0u64..100,
        not_before in 0u64..100,
        now in 0u64..100,
        n in 1u8..6,
        pick in 0u8..8,
    ) {
        let p = Policy::new(
            p_asset, max, not_before, (0..n).map(|k| recipient(3, k)).collect(), policy_salt(3),
        )
        .unwrap();
        let i = Intent {
            version, asset, amount, valid_after, valid_before,
            recipient: recipient(3, pick),
            ..intent()
        };
        let expected = reference_violations(&i, &p, now);
        match check(&i, &p, now) {
            Ok(()) => prop_assert!(expected.is_empty()),
            Err(e) => prop_assert_eq!(Some(&e.rule()), expected.first()),
        }
    }
}

#[test]
fn witness_new_runs_check() {
    let err = Witness::<Bn254>::new(
        Intent {
            amount: u64::MAX,
            ..intent()
        },
        policy(),
        NOW,
        binding(),
    )
    .unwrap_err();
    assert_eq!(err.rule(), Rule::AmountAboveLimit);
    let w = Witness::<Bn254>::new(intent(), policy(), NOW, binding()).unwrap();
    assert_eq!(w.path().index, 3);
    assert_eq!(w.path().root_for::<Bn254>(w.leaf()), w.allowlist_root());
    let pi = w.public_inputs();
    assert_eq!(pi.intent_commitment, intent().commitment::<Bn254>());
    assert_eq!(pi.policy_commitment, policy().commitment::<Bn254>());
    assert_eq!(pi.now, NOW);
    assert_eq!(pi.binding, binding());
}

// ---------------------------------------------------------------- policy files

const R0: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const R1: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

const SALT: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn policy_toml(allowlist: &str) -> String {
    format!(
        "asset = 7\nmax_amount = 1000\nnot_before = 5\nallowlist = [{allowlist}]\nsalt = \"{SALT}\"\n"
    )
}

#[test]
fn policy_file_parses_and_round_trips() {
    let p = Policy::from_toml_str(&policy_toml(&format!("\"{R0}\", \"0x{R1}\""))).unwrap();
    assert_eq!(p.asset(), 7);
    assert_eq!(p.max_amount(), 1000);
    assert_eq!(p.not_before(), 5);
    assert_eq!(p.allowlist().len(), 2);
    assert_eq!(p.allowlist()[0].to_hex(), R0);
    assert_eq!(p.index_of(&R1.parse().unwrap()), Some(1));
    assert_eq!(p.index_of(&recipient(9, 9)), None);
    assert_eq!(p.salt().to_hex().as_str(), SALT);
    let written = p.to_toml_string().unwrap();
    assert!(written.contains(&format!("salt = \"{SALT}\"")), "{written}");
    let again = Policy::from_toml_str(&written).unwrap();
    assert_eq!(again, p);
    assert_eq!(again.salt(), p.salt());
    assert_eq!(again.commitment::<Bn254>(), p.commitment::<Bn254>());
    // A random salt round-trips too.
    let r = p.with_salt(PolicySalt::random(&mut rand::thread_rng()));
    let back = Policy::from_toml_str(&r.to_toml_string().unwrap()).unwrap();
    assert_eq!(back.salt(), r.salt());
    assert_eq!(
        back.commitment::<circuits::pasta::Pasta>(),
        r.commitment::<circuits::pasta::Pasta>()
    );
}

/// Issue 10: `salt` is required, and a salt that is not 64 hex characters is refused with
/// an error naming the field and the problem.
#[test]
fn policy_files_without_a_valid_salt_are_refused() {
    let good = policy_toml(&format!("\"{R0}\""));
    let without: String = good
        .lines()
        .filter(|l| !l.starts_with("salt"))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = Policy::from_toml_str(&without).unwrap_err();
    assert!(
        matches!(err, PolicyFileError::MissingField { field: "salt" }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "policy field `salt` is missing");

    let short = good.replace(SALT, &SALT[..40]);
    let err = Policy::from_toml_str(&short).unwrap_err();
    assert!(
        matches!(
            err,
            PolicyFileError::BadSalt(PolicySaltParseError::WrongLength { chars: 40 })
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("`salt`") && msg.contains("64 hex"), "{msg}");
    assert!(!msg.contains(&SALT[..40]), "the salt is not echoed: {msg}");

    let non_hex = good.replace(SALT, &format!("{}zz", &SALT[..62]));
    let err = Policy::from_toml_str(&non_hex).unwrap_err();
    assert!(
        matches!(
            err,
            PolicyFileError::BadSalt(PolicySaltParseError::NotHex { index: 62 })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("`salt`"), "{err}");

    let empty = good.replace(SALT, "");
    assert!(matches!(
        Policy::from_toml_str(&empty),
        Err(PolicyFileError::BadSalt(
            PolicySaltParseError::WrongLength { chars: 0 }
        ))
    ));
    // A syntax error on the salt's line names the line but does not quote it.
    let unterminated = good.replace(&format!("\"{SALT}\""), &format!("\"{SALT}"));
    match Policy::from_toml_str(&unterminated) {
        Err(PolicyFileError::Toml(m)) => {
            assert!(m.starts_with("line 5: "), "{m}");
            assert!(!m.contains(&SALT[..16]), "the salt is not echoed: {m}");
        }
        other => panic!("expected a TOML error, got {other:?}"),
    }
    // Not a string at all: refused by the TOML layer, which names the key.
    let number = good.replace(&format!("\"{SALT}\""), "5");
    match Policy::from_toml_str(&number) {
        Err(PolicyFileError::Toml(m)) => assert!(m.contains("salt"), "{m}"),
        other => panic!("expected a TOML error, got {other:?}"),
    }
}

#[test]
fn bad_policy_files_are_rejected_with_typed_errors() {
    assert!(matches!(
        Policy::from_toml_str(&policy_toml(&format!("\"{R0}\", \"zz{}\"", &R1[2..]))),
        Err(PolicyFileError::BadHex { index: 1, .. })
    ));
    assert!(matches!(
        Policy::from_toml_str(&policy_toml("\"0011\"")),
        Err(PolicyFileError::WrongLength { index: 0, len: 2 })
    ));
    assert!(matches!(
        Policy::from_toml_str(&policy_toml(&format!("\"{R0}\", \"{R1}\", \"{R0}\""))),
        Err(PolicyFileError::Duplicate {
            index: 2,
            first: 0,
            ..
        })
    ));
    assert!(matches!(
        Policy::from_toml_str(&policy_toml("")),
        Err(PolicyFileError::EmptyAllowlist)
    ));
    let unknown = format!("{}max_amout = 5\n", policy_toml(&format!("\"{R0}\"")));
    match Policy::from_toml_str(&unknown) {
        Err(PolicyFileError::UnknownField { field }) => assert_eq!(field, "max_amout"),
        other => panic!("expected UnknownField, got {other:?}"),
    }
    assert!(matches!(
        Policy::from_toml_str(&format!(
            "asset = 7\nmax_amount = 1\nallowlist = [\"{R0}\"]\nsalt = \"{SALT}\""
        )),
        Err(PolicyFileError::MissingField {
            field: "not_before"
        })
    ));
    assert!(matches!(
        Policy::from_toml_str(&policy_toml(&format!("\"{R0}\"")).replace("= 7", "= -7")),
        Err(PolicyFileError::Toml(_))
    ));
    assert!(matches!(
        Policy::from_toml_str("not toml ["),
        Err(PolicyFileError::Toml(_))
    ));
    assert!(matches!(
        Policy::from_file("/nonexistent/zkquorum/policy.toml"),
        Err(PolicyFileError::Io { .. })
    ));
}

#[test]
fn too_many_recipients_is_rejected() {
    let entries: Vec<String> = (0..=MAX_LEAVES as u32)
        .map(|k| {
            let mut r = [0u8; 32];
            r[..4].copy_from_slice(&k.to_be_bytes());
            format!("\"{}\"", hex::encode(r))
        })
        .collect();
    assert!(matches!(
        Policy::from_toml_str(&policy_toml(&entries.join(","))),
        Err(PolicyFileError::TooManyRecipients { count, max }) if count == MAX_LEAVES + 1 && max == MAX_LEAVES
    ));
}

#[test]
fn policy_file_from_disk() {
    let dir = std::env::temp_dir().join(format!("zkq-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.toml");
    std::fs::write(&path, policy_toml(&format!("\"{R0}\""))).unwrap();
    let p = Policy::from_file(&path).unwrap();
    assert_eq!(p.allowlist().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------- intents

#[test]
fn intent_json_and_toml_round_trip() {
    let i = intent();
    let json = i.to_json_string();
    assert_eq!(Intent::from_json_str(&json).unwrap(), i);
    let toml = i.to_toml_string().unwrap();
    assert_eq!(Intent::from_toml_str(&toml).unwrap(), i);
    assert!(json.contains(&"ab".repeat(31)), "recipient is hex: {json}");
}

#[test]
fn bad_intents_are_rejected() {
    let json = intent().to_json_string();
    let extra = json.replacen('{', "{\"memo\":1,", 1);
    assert!(matches!(
        Intent::from_json_str(&extra),
        Err(IntentParseError::Json(_))
    ));
    let short_salt = json.replace(&"5a".repeat(31), &"5a".repeat(30));
    assert!(matches!(
        Intent::from_json_str(&short_salt),
        Err(IntentParseError::Json(_))
    ));
    let bad_recipient = json.replace(&recipient(0xab, 3).to_hex(), "xyz");
    assert!(matches!(
        Intent::from_json_str(&bad_recipient),
        Err(IntentParseError::Json(_))
    ));
    assert!(matches!(
        Intent::from_toml_str("version = 1"),
        Err(IntentParseError::Toml(_))
    ));
    // u64 above i64::MAX cannot be written as TOML: a typed error, not a panic.
    assert!(matches!(
        Intent {
            amount: u64::MAX,
            ..intent()
        }
        .to_toml_string(),
        Err(IntentParseError::TomlWrite(_))
    ));
}

#[test]
fn salt_is_redacted_and_random() {
    let i = intent();
    let dbg = format!("{i:?}");
    assert!(dbg.contains("redacted"));
    assert!(
        !dbg.contains(&"5a".repeat(4)) && !dbg.contains("90, 90"),
        "{dbg}"
    );
    let mut rng = rand::thread_rng();
    let a = Salt::random(&mut rng);
    let b = Salt::random(&mut rng);
    assert_ne!(a, b);
    // Little-endian: byte 0 is the least significant.
    let mut one = [0u8; 31];
    one[0] = 1;
    assert_eq!(Salt::from_bytes(one).to_field::<Fr>(), Fr::from(1u64));
}

#[test]
fn recipient_limbs_are_big_endian_halves() {
    let mut r = [0u8; 32];
    r[15] = 1;
    r[31] = 2;
    r[0] = 0x80;
    let r = Recipient(r);
    assert_eq!(r.hi(), (0x80u128 << 120) | 1);
    assert_eq!(r.lo(), 2);
}

#[test]
fn intent_encoding_and_commitment() {
    let i = intent();
    let f = i.fields::<Fr>();
    let want = [
        Fr::from(1u64),
        Fr::from(1u64),
        Fr::from(7u64),
        Fr::from(250_000u64),
        Fr::from(i.recipient.hi()),
        Fr::from(i.recipient.lo()),
        Fr::from(NOW - 50),
        Fr::from(NOW + 50),
        Fr::from(42u64),
        Fr::from_le_bytes31(&[0x5a; 31]),
    ];
    assert_eq!(f.to_array(), want);
    // The names are the positions of the commitment order.
    assert_eq!(f.version, Fr::from(1u64));
    assert_eq!(f.network, Fr::from(1u64));
    assert_eq!(f.asset, Fr::from(7u64));
    assert_eq!(f.amount, Fr::from(250_000u64));
    assert_eq!(f.recipient_hi, Fr::from(i.recipient.hi()));
    assert_eq!(f.recipient_lo, Fr::from(i.recipient.lo()));
    assert_eq!(f.valid_after, Fr::from(NOW - 50));
    assert_eq!(f.valid_before, Fr::from(NOW + 50));
    assert_eq!(f.nonce, Fr::from(42u64));
    assert_eq!(f.salt, Fr::from_le_bytes31(&[0x5a; 31]));
    assert_eq!(
        i.commitment::<Bn254>().0,
        poseidon_hash(DOMAIN_INTENT, &want)
    );
    // map / try_map / getters visit the fields in the same order.
    let mut order = Vec::new();
    let _ = f.map(|x| order.push(*x));
    assert_eq!(order, want);
    let got: Vec<Fr> = IntentFields::getters()
        .to_array()
        .iter()
        .map(|g| g(&f))
        .collect();
    assert_eq!(got, want);
    assert_eq!(format!("{f:?}"), "IntentFields(<redacted>)");
    // Hiding: a different salt changes C.
    let j = Intent {
        salt: Salt::from_bytes([1; 31]),
        ..intent()
    };
    assert_ne!(j.commitment::<Bn254>(), i.commitment::<Bn254>());
    // Policy commitment.
    let p = policy();
    let root = p.allowlist_root::<Bn254>();
    let pf = p.fields::<Bn254>();
    // Salt 0x5b × 32: each limb is the u128 0x5b5b...5b.
    let limb = Fr::from(u128::from_le_bytes([0x5b; 16]));
    assert_eq!(
        pf,
        PolicyFields {
            asset: Fr::from(7u64),
            max_amount: Fr::from(1_000_000u64),
            not_before: Fr::from(NOW - 100),
            allowlist_root: root,
            salt_lo: limb,
            salt_hi: limb,
        }
    );
    assert_eq!(format!("{pf:?}"), "PolicyFields(<redacted>)");
    let got: Vec<Fr> = PolicyFields::getters()
        .to_array()
        .iter()
        .map(|g| g(&pf))
        .collect();
    assert_eq!(got, pf.to_array());
    assert_eq!(
        p.commitment::<Bn254>().0,
        poseidon_hash(
            DOMAIN_POLICY,
            &[
                Fr::from(7u64),
                Fr::from(1_000_000u64),
                Fr::from(NOW - 100),
                root,
                limb,
                limb
            ]
        )
    );
}

#[test]
fn salt_limbs_are_the_little_endian_halves() {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = i as u8 + 1;
    }
    let salt = PolicySalt::from_bytes(bytes);
    let (lo, hi): (Fr, Fr) = salt.limbs();
    let mut want_lo = [0u8; 16];
    want_lo.copy_from_slice(&bytes[..16]);
    let mut want_hi = [0u8; 16];
    want_hi.copy_from_slice(&bytes[16..]);
    assert_eq!(lo, Fr::from(u128::from_le_bytes(want_lo)));
    assert_eq!(hi, Fr::from(u128::from_le_bytes(want_hi)));
    // The same integers in the Pasta field.
    let (plo, phi): (circuits::pasta::Fp, circuits::pasta::Fp) = salt.limbs();
    assert_eq!(plo.to_le_bytes32()[..16], bytes[..16]);
    assert_eq!(phi.to_le_bytes32()[..16], bytes[16..]);
    assert_eq!(plo.to_le_bytes32()[16..], [0u8; 16]);
    // The largest salt stays below 2^128 per limb (no reduction).
    let (lo, hi): (Fr, Fr) = PolicySalt::from_bytes([0xff; 32]).limbs();
    assert_eq!(lo, Fr::from(u128::MAX));
    assert_eq!(hi, Fr::from(u128::MAX));
}

/// Issue 10: two policies with equal parameters and different salts have different `P`,
/// on both backends; the same salt gives the same `P`.
#[test]
fn equal_policies_with_different_salts_have_different_commitments() {
    let a = policy();
    let b = a.with_salt(policy_salt(0x5c));
    assert_eq!(
        (a.asset(), a.max_amount(), a.not_before(), a.allowlist()),
        (b.asset(), b.max_amount(), b.not_before(), b.allowlist())
    );
    assert_ne!(a, b);
    assert_ne!(a.commitment::<Bn254>(), b.commitment::<Bn254>());
    assert_ne!(
        a.commitment::<circuits::pasta::Pasta>(),
        b.commitment::<circuits::pasta::Pasta>()
    );
    // One bit of the salt's high half is enough.
    let mut bytes = [0x5b; 32];
    bytes[31] ^= 1;
    let c = a.with_salt(PolicySalt::from_bytes(bytes));
    assert_ne!(a.commitment::<Bn254>(), c.commitment::<Bn254>());
    assert_ne!(
        a.commitment::<circuits::pasta::Pasta>(),
        c.commitment::<circuits::pasta::Pasta>()
    );
    // Random salts (what `init` and the demo use) differ, and so do their commitments.
    let mut rng = rand::thread_rng();
    let r1 = a.with_salt(PolicySalt::random(&mut rng));
    let r2 = a.with_salt(PolicySalt::random(&mut rng));
    assert_ne!(r1.salt(), r2.salt());
    assert_ne!(r1.commitment::<Bn254>(), r2.commitment::<Bn254>());
    // Deterministic: the same salt, the same P.
    assert_eq!(
        a.commitment::<Bn254>(),
        policy().with_salt(policy_salt(0x5b)).commitment::<Bn254>()
    );
}

#[test]
fn policy_salt_is_redacted_and_parsed_strictly() {
    let hex64 = "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100";
    let salt: PolicySalt = hex64.parse().unwrap();
    assert_eq!(salt.to_hex().as_str(), hex64.to_lowercase());
    assert_eq!(salt.as_bytes()[0], 0x00);
    assert_eq!(salt.as_bytes()[16], 0xff);
    assert_eq!(format!("{salt:?}"), "PolicySalt(<redacted>)");
    // The policy's Debug shows the rules but not the salt.
    let p = policy().with_salt(salt);
    let dbg = format!("{p:?}");
    assert!(dbg.contains("PolicySalt(<redacted>)"), "{dbg}");
    assert!(!dbg.to_lowercase().contains("ffeeddcc"), "{dbg}");
    assert_eq!(
        PolicySalt::from_hex(&hex64[..62]),
        Err(PolicySaltParseError::WrongLength { chars: 62 })
    );
    assert_eq!(
        PolicySalt::from_hex(&format!("{hex64}00")),
        Err(PolicySaltParseError::WrongLength { chars: 66 })
    );
    assert_eq!(
        PolicySalt::from_hex(&format!("0x{}", &hex64[2..])),
        Err(PolicySaltParseError::NotHex { index: 1 })
    );
    assert_eq!(
        PolicySalt::from_hex(&format!("{}g", &hex64[..63])),
        Err(PolicySaltParseError::NotHex { index: 63 })
    );
    // A multi-byte character counts as one character, and is not hex.
    assert_eq!(
        PolicySalt::from_hex(&format!("é{}", &hex64[1..])),
        Err(PolicySaltParseError::NotHex { index: 0 })
    );
    // The message names the problem but never repeats the text.
    let msg = PolicySalt::from_hex(&format!("{}g", &hex64[..63]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("character 63"), "{msg}");
    assert!(!msg.contains("0011"), "{msg}");
}

// ---------------------------------------------------------------- merkle

#[test]
fn leaf_and_node_hashes_are_domain_separated() {
    let r = recipient(1, 2);
    assert_eq!(
        leaf_hash::<Bn254>(&r),
        poseidon_hash(DOMAIN_LEAF, &[Fr::from(r.hi()), Fr::from(r.lo())])
    );
    let (a, b) = (Fr::from(r.hi()), Fr::from(r.lo()));
    assert_eq!(
        node_hash::<Bn254>(a, b),
        poseidon_hash(DOMAIN_NODE, &[a, b])
    );
    assert_ne!(node_hash::<Bn254>(a, b), leaf_hash::<Bn254>(&r));
    assert_ne!(node_hash::<Bn254>(a, b), node_hash::<Bn254>(b, a));
}

/// Root over all 2^16 leaves, computed level by level without the sparse shortcut.
fn naive_root(leaves: &[Fr]) -> Fr {
    let mut level: Vec<Fr> = (0..MAX_LEAVES)
        .map(|i| leaves.get(i).copied().unwrap_or(Fr::zero()))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|c| node_hash::<Bn254>(c[0], c[1]))
            .collect();
    }
    level[0]
}

#[test]
fn sparse_root_matches_naive_root_and_paths() {
    let recips: Vec<Recipient> = (0..7).map(|i| recipient(0x42, i)).collect();
    let tree = circuits::MerkleTree::<Bn254>::from_recipients(&recips).unwrap();
    let leaves: Vec<Fr> = recips.iter().map(leaf_hash::<Bn254>).collect();
    assert_eq!(tree.root(), naive_root(&leaves));
    assert_eq!(tree.len(), 7);
    for (i, r) in recips.iter().enumerate() {
        let path = tree.path(i).unwrap();
        assert_eq!(path.index as usize, i);
        assert_eq!(path.is_right(0), i % 2 == 1);
        assert_eq!(path.root_for::<Bn254>(leaf_hash::<Bn254>(r)), tree.root());
        // Another leaf does not open at this position.
        let other = leaf_hash::<Bn254>(&recips[(i + 1) % recips.len()]);
        assert_ne!(path.root_for::<Bn254>(other), tree.root());
    }
    // Level-0 sibling of the last (unpaired, left) leaf 6 is the empty leaf.
    assert_eq!(tree.path(6).unwrap().siblings[0], Fr::zero());
    assert!(matches!(
        tree.path(7),
        Err(MerkleError::IndexOutOfRange { index: 7, len: 7 })
    ));
}

#[test]
fn empty_and_full_trees() {
    let empty = circuits::MerkleTree::<Bn254>::from_leaves(vec![]).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.root(), empty_roots::<Bn254>()[TREE_DEPTH]);
    assert!(matches!(
        circuits::MerkleTree::<Bn254>::from_leaves(vec![Fr::zero(); MAX_LEAVES + 1]),
        Err(MerkleError::TooManyLeaves { .. })
    ));
    // Order matters: the policy root commits to the list order.
    let a = Policy::new(
        1,
        1,
        0,
        vec![recipient(1, 0), recipient(1, 1)],
        policy_salt(1),
    )
    .unwrap();
    let b = Policy::new(
        1,
        1,
        0,
        vec![recipient(1, 1), recipient(1, 0)],
        policy_salt(1),
    )
    .unwrap();
    assert_ne!(a.allowlist_root::<Bn254>(), b.allowlist_root::<Bn254>());
    assert_ne!(a.commitment::<Bn254>(), b.commitment::<Bn254>());
}

#[test]
fn last_leaf_of_full_tree_has_all_right_bits() {
    let leaves: Vec<Fr> = (0..MAX_LEAVES as u64).map(Fr::from).collect();
    let tree = circuits::MerkleTree::<Bn254>::from_leaves(leaves).unwrap();
    let p = tree.path(MAX_LEAVES - 1).unwrap();
    assert_eq!(p.index, u16::MAX);
    assert!((0..TREE_DEPTH).all(|l| p.is_right(l)));
    assert_eq!(
        p.root_for::<Bn254>(Fr::from(MAX_LEAVES as u64 - 1)),
        tree.root()
    );
}

// ---------------------------------------------------------------- digest

#[test]
fn digest_is_the_tagged_hash_of_c() {
    let c = intent().commitment::<Bn254>();
    let d = intent().signed_digest::<Bn254>();
    let tag = Sha256::digest(b"zkquorum/intent/v1");
    let mut h = Sha256::new();
    h.update(tag);
    h.update(tag);
    h.update([1u8]);
    h.update(c.0.to_le_bytes32());
    let want: [u8; 32] = h.finalize().into();
    assert_eq!(d, SignedDigest(want));
    assert_eq!(d, SignedDigest::for_commitment::<Bn254>(&c));
    assert_eq!(d, intent().signed_digest::<Bn254>(), "deterministic");
}

#[test]
fn digest_is_domain_separated() {
    let c = intent().commitment::<Bn254>().to_le_bytes();
    let g = SignedDigest::from_parts(BackendId::Groth16Bn254, &c);
    let h = SignedDigest::from_parts(BackendId::Halo2Pasta, &c);
    assert_ne!(g, h, "backend id changes the digest");
    let mut c2 = c;
    c2[0] ^= 1;
    assert_ne!(g, SignedDigest::from_parts(BackendId::Groth16Bn254, &c2));
    let other = Intent {
        nonce: 43,
        ..intent()
    }
    .signed_digest::<Bn254>();
    assert_ne!(g, other);
}

#[test]
fn backend_ids() {
    assert_eq!(u8::from(BackendId::Groth16Bn254), 1);
    assert_eq!(u8::from(BackendId::Halo2Pasta), 2);
    assert_eq!(BackendId::try_from(1), Ok(BackendId::Groth16Bn254));
    assert_eq!(BackendId::try_from(2), Ok(BackendId::Halo2Pasta));
    assert_eq!(BackendId::try_from(0), Err(UnknownBackendId(0)));
    assert_eq!(BackendId::try_from(3), Err(UnknownBackendId(3)));
    assert_eq!(Bn254::ID, BackendId::Groth16Bn254);
    assert_eq!(serde_json::to_string(&BackendId::Halo2Pasta).unwrap(), "2");
    assert!(serde_json::from_str::<BackendId>("9").is_err());
}

// ---------------------------------------------------------------- public inputs

#[test]
fn binding_derivation() {
    let b = binding();
    assert_eq!(
        b,
        Binding::derive(&[9u8; 32], b"signer-1", b"group-key", b"round-1")
    );
    let mut h = blake3::Hasher::new();
    h.update(b"zkquorum/binding/v1");
    for part in [&[9u8; 32][..], b"signer-1", b"group-key", b"round-1"] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    assert_eq!(b.0[..], h.finalize().as_bytes()[..31]);
    // ... which is the crate's one tagged hash, truncated.
    let parts: [&[u8]; 4] = [&[9u8; 32], b"signer-1", b"group-key", b"round-1"];
    assert_eq!(b.0[..], tagged_hash(BINDING_TAG, &parts)[..31]);
    // Pinned bytes: a change of the construction changes every binding on the wire.
    assert_eq!(
        b.to_hex(),
        "d15ecd15c2a0d9a4682679e70252ce4a6223a5475e3d0532a0fff3f51a94d9"
    );
    // Length prefixes: moving bytes between parts changes the binding.
    assert_ne!(
        Binding::derive(&[0; 32], b"ab", b"c", b""),
        Binding::derive(&[0; 32], b"a", b"bc", b"")
    );
    assert_ne!(
        b,
        Binding::derive(&[9u8; 32], b"signer-2", b"group-key", b"round-1")
    );
    let json = serde_json::to_string(&b).unwrap();
    assert_eq!(serde_json::from_str::<Binding>(&json).unwrap(), b);
}

#[test]
fn public_inputs_order_and_codec() {
    let w = Witness::<Bn254>::new(intent(), policy(), NOW, binding()).unwrap();
    let pi = w.public_inputs();
    let f = pi.to_field_elements();
    assert_eq!(f[0], pi.intent_commitment.0);
    assert_eq!(f[1], pi.policy_commitment.0);
    assert_eq!(f[2], Fr::from(NOW));
    assert_eq!(f[3], Fr::from_le_bytes31(&binding().0));
    assert_eq!(PublicInputs::from_field_elements(&f), Ok(pi));
    assert_eq!(PublicInputs::<Fr>::from_le_bytes(&pi.to_le_bytes()), Ok(pi));

    let mut bad = f;
    bad[2] = Fr::from(u64::MAX) + Fr::from(1u64);
    assert_eq!(
        PublicInputs::from_field_elements(&bad),
        Err(PublicInputsError::NowOutOfRange)
    );
    let mut bad = f;
    bad[3] = -Fr::from(1u64);
    assert_eq!(
        PublicInputs::from_field_elements(&bad),
        Err(PublicInputsError::BindingOutOfRange)
    );
    let mut bytes = pi.to_le_bytes();
    bytes[1] = [0xff; 32];
    assert_eq!(
        PublicInputs::<Fr>::from_le_bytes(&bytes),
        Err(PublicInputsError::NonCanonical { index: 1 })
    );
}

#[test]
fn field_codec_bn254() {
    let x = Fr::from(u128::MAX);
    assert_eq!(Fr::from_canonical_le_bytes32(&x.to_le_bytes32()), Some(x));
    assert_eq!(Fr::from_u128(1 << 100).to_le_bytes32()[12], 1 << 4);
    // The modulus itself is not canonical.
    let p_minus_1 = -Fr::from(1u64);
    let mut p = p_minus_1.to_le_bytes32();
    p[0] += 1;
    assert_eq!(Fr::from_canonical_le_bytes32(&p), None);
    assert_eq!(<Bn254 as Backend>::hash(9, &[]), poseidon_hash(9, &[]));
}
