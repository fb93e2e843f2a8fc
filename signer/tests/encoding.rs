//! Decoders refuse bad input with typed errors: shares, encrypted files, protocol messages.

mod common;

use common::*;
use frost_core::round1::SigningCommitments;
use frost_core::round2::SignatureShare;
use rand::rngs::OsRng;
use serde_json::Value;
use signer::keys::dealer;
use signer::keys::dkg::{DkgParticipant, DkgRound1Message};
use signer::{taproot::Taproot, wire, KdfParams, KeyShare, SignerError, Threshold};

type C = Taproot;

/// Cheapest accepted KDF cost, so tests stay fast; the default is tested once below.
const FAST: KdfParams = KdfParams {
    m_cost: 8 * 1024,
    t_cost: 1,
    p_cost: 1,
};

fn share() -> KeyShare<C> {
    dealer::trusted_dealer::<C, _>(Threshold::new(2, 3).unwrap(), &mut OsRng)
        .unwrap()
        .remove(0)
}

fn edit(json: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(json).unwrap();
    f(&mut v);
    v.to_string()
}

#[test]
fn share_json_round_trips_and_debug_redacts() {
    let s = share();
    let back = KeyShare::<C>::from_json(&s.to_json().unwrap()).unwrap();
    assert_eq!(back, s);
    let dbg = format!("{s:?}");
    let secret = hex::encode(s.key_package().signing_share().serialize());
    assert!(dbg.contains("redacted") && !dbg.contains(&secret));
}

#[test]
fn tampered_share_files_are_refused() {
    let s = share();
    let json = s.to_json().unwrap().to_string();
    let decode = |what: &'static str| move |e: &SignerError| matches!(e, SignerError::Decode { what: w, .. } if *w == what);
    let inconsistent = |reason: &'static str| {
        move |e: &SignerError| *e == SignerError::InconsistentShare(reason.into())
    };
    type Check = Box<dyn Fn(&SignerError) -> bool>;
    let cases: Vec<(&str, String, Check)> = vec![
        (
            "version",
            edit(&json, |v| v["version"] = 2.into()),
            Box::new(|e| {
                matches!(
                    e,
                    SignerError::UnsupportedVersion {
                        what: "key share",
                        found: 2,
                        supported: 1
                    }
                )
            }),
        ),
        (
            "format",
            edit(&json, |v| v["format"] = "other".into()),
            Box::new(
                |e| matches!(e, SignerError::Decode { what: "key share", reason } if reason.contains("\"other\"")),
            ),
        ),
        (
            "ciphersuite",
            edit(&json, |v| {
                v["ciphersuite"] = "FROST-secp256k1-SHA256-v1".into()
            }),
            Box::new(|e| {
                *e == SignerError::CiphersuiteMismatch {
                    expected: "FROST-secp256k1-SHA256-TR-v1".into(),
                    found: "FROST-secp256k1-SHA256-v1".into(),
                }
            }),
        ),
        (
            "zero signer",
            edit(&json, |v| v["signer"] = 0.into()),
            Box::new(|e| *e == SignerError::ZeroIdentifier),
        ),
        (
            "signer not own",
            edit(&json, |v| v["signer"] = 2.into()),
            Box::new(inconsistent(
                "key package identifier is not that of signer #2",
            )),
        ),
        (
            "duplicate participant",
            edit(&json, |v| {
                v["participants"] = serde_json::json!([1, 1, 2, 3])
            }),
            Box::new(|e| *e == SignerError::DuplicateIdentifier(id(1))),
        ),
        (
            "zero participant",
            edit(&json, |v| v["participants"] = serde_json::json!([0, 1, 2])),
            Box::new(|e| *e == SignerError::ZeroIdentifier),
        ),
        (
            "participant list mismatch",
            edit(&json, |v| v["participants"] = serde_json::json!([1, 2, 4])),
            Box::new(inconsistent(
                "public key package participants differ from the participant list",
            )),
        ),
        (
            "unknown field",
            edit(&json, |v| v["extra"] = 1.into()),
            Box::new(
                |e| matches!(e, SignerError::Decode { what: "key share", reason } if reason.contains("unknown field `extra`")),
            ),
        ),
        (
            "bad hex",
            edit(&json, |v| v["key_package"] = "zz".into()),
            Box::new(decode("key package")),
        ),
        (
            "truncated package",
            edit(&json, |v| {
                let kp = v["key_package"].as_str().unwrap().to_string();
                v["key_package"] = kp[..kp.len() - 4].to_string().into();
            }),
            Box::new(decode("key package")),
        ),
        (
            "swapped public package",
            {
                let other = share().to_json().unwrap().to_string();
                let o: Value = serde_json::from_str(&other).unwrap();
                edit(&json, |v| {
                    v["public_key_package"] = o["public_key_package"].clone()
                })
            },
            Box::new(inconsistent(
                "group key differs between key package and public key package",
            )),
        ),
        ("not json", "{".to_string(), Box::new(decode("key share"))),
    ];
    for (name, bad, check) in cases {
        let err = KeyShare::<C>::from_json(&bad).expect_err(name);
        assert!(check(&err), "{name}: {err:?}");
    }
}

/// Rewrites the min_signers byte (the last byte) of the share's key package.
fn with_threshold(json: &str, t: u8) -> String {
    edit(json, |v| {
        let kp = v["key_package"].as_str().unwrap().to_string();
        v["key_package"] = format!("{}{:02x}", &kp[..kp.len() - 2], t).into();
    })
}

#[test]
fn thresholds_out_of_range_are_refused() {
    let json = share().to_json().unwrap().to_string();
    assert_eq!(
        KeyShare::<C>::from_json(&with_threshold(&json, 1)).unwrap_err(),
        SignerError::InvalidThreshold { t: 1, n: 3 }
    );
    assert_eq!(
        KeyShare::<C>::from_json(&with_threshold(&json, 4)).unwrap_err(),
        SignerError::InvalidThreshold { t: 4, n: 3 }
    );
    assert!(KeyShare::<C>::from_json(&with_threshold(&json, 2)).is_ok());
}

#[test]
fn encrypted_export_round_trips() {
    let s = share();
    let file = s
        .export_encrypted(b"correct horse", FAST, &mut OsRng)
        .unwrap();
    assert!(!file.contains(&hex::encode(s.key_package().signing_share().serialize())));
    assert_eq!(
        KeyShare::<C>::import_encrypted(&file, b"correct horse").unwrap(),
        s
    );
}

#[test]
fn default_kdf_parameters_work() {
    let s = share();
    let file = s
        .export_encrypted(b"pw", KdfParams::default(), &mut OsRng)
        .unwrap();
    assert_eq!(KeyShare::<C>::import_encrypted(&file, b"pw").unwrap(), s);
}

#[test]
fn wrong_passphrase_and_tampering_are_told_apart() {
    let file = share().export_encrypted(b"pw", FAST, &mut OsRng).unwrap();
    assert_eq!(
        KeyShare::<C>::import_encrypted(&file, b"wrong").unwrap_err(),
        SignerError::WrongPassphrase
    );
    // Flip one ciphertext byte.
    let flipped = edit(&file, |v| {
        let ct = v["ciphertext"].as_str().unwrap();
        let first = u8::from_str_radix(&ct[..2], 16).unwrap() ^ 1;
        v["ciphertext"] = format!("{first:02x}{}", &ct[2..]).into();
    });
    assert!(matches!(
        KeyShare::<C>::import_encrypted(&flipped, b"pw"),
        Err(SignerError::Tampered(_))
    ));
    // Change the nonce (authenticated as associated data).
    let renonced = edit(&file, |v| v["nonce"] = hex::encode([7u8; 24]).into());
    assert!(matches!(
        KeyShare::<C>::import_encrypted(&renonced, b"pw"),
        Err(SignerError::Tampered(_))
    ));
    // Truncated ciphertext, wrong-length nonce.
    let truncated = edit(&file, |v| v["ciphertext"] = "00".into());
    assert!(matches!(
        KeyShare::<C>::import_encrypted(&truncated, b"pw"),
        Err(SignerError::Tampered(_))
    ));
    let short_nonce = edit(&file, |v| v["nonce"] = "0011".into());
    assert!(matches!(
        KeyShare::<C>::import_encrypted(&short_nonce, b"pw"),
        Err(SignerError::Tampered(_))
    ));
    // Raised or absurd KDF costs are refused before any work is done.
    let huge = edit(&file, |v| v["kdf"]["m_cost"] = 4_000_000.into());
    assert!(matches!(
        KeyShare::<C>::import_encrypted(&huge, b"pw"),
        Err(SignerError::KdfParams(_))
    ));
    let weak = edit(&file, |v| v["kdf"]["t_cost"] = 0.into());
    assert!(matches!(
        KeyShare::<C>::import_encrypted(&weak, b"pw"),
        Err(SignerError::KdfParams(_))
    ));
    let v2 = edit(&file, |v| v["version"] = 9.into());
    assert!(matches!(
        KeyShare::<C>::import_encrypted(&v2, b"pw"),
        Err(SignerError::UnsupportedVersion { found: 9, .. })
    ));
    assert!(matches!(
        KeyShare::<C>::import_encrypted("[]", b"pw"),
        Err(SignerError::Decode { .. })
    ));
}

fn commitments_json() -> String {
    let signers = signers(vec![share()]);
    let c = signers[0]
        .round1(signer::SessionId::random(&mut OsRng), &mut OsRng)
        .unwrap();
    wire::encode("commitments", &c).unwrap()
}

#[test]
fn points_that_are_identity_off_curve_or_wrong_length_are_refused() {
    let json = commitments_json();
    assert!(wire::decode::<SigningCommitments<C>>("commitments", &json).is_ok());
    let bad_points = [
        "00".to_string(),                        // identity encoding
        "00".repeat(33),                         // all zero
        format!("02{}", "ff".repeat(32)),        // x >= p
        format!("02{}", "00".repeat(31) + "05"), // x = 5: no point on the curve
        format!("04{}", "11".repeat(32)),        // uncompressed tag, short
        format!("02{}", "11".repeat(31)),        // 32 bytes
        format!("02{}", "11".repeat(33)),        // 34 bytes
    ];
    for bad in bad_points {
        let tampered = edit(&json, |v| v["hiding"] = bad.clone().into());
        let err = wire::decode::<SigningCommitments<C>>("commitments", &tampered).expect_err(&bad);
        assert!(
            matches!(
                err,
                SignerError::Decode {
                    what: "commitments",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
}

#[test]
fn scalars_that_are_not_canonical_are_refused() {
    // The group order n; n and above are not canonical scalars.
    let n = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    let ok = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140";
    let share = |hex: &str| {
        wire::decode::<SignatureShare<C>>("signature share", &format!("{{\"header\":{{\"version\":0,\"ciphersuite\":\"FROST-secp256k1-SHA256-TR-v1\"}},\"share\":\"{hex}\"}}"))
    };
    assert!(share(ok).is_ok());
    for bad in [
        n.to_string(),
        "ff".repeat(32),
        "00".repeat(31),
        "00".repeat(33),
    ] {
        assert!(
            matches!(share(&bad), Err(SignerError::Decode { .. })),
            "{bad}"
        );
    }
}

#[test]
fn dkg_messages_with_bad_fields_are_refused() {
    let (_, m) =
        DkgParticipant::start::<C, _>(id(1), Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap();
    let json = wire::encode("dkg round 1", &m).unwrap();
    assert_eq!(
        wire::decode::<DkgRound1Message<C>>("dkg round 1", &json).unwrap(),
        m
    );
    let cases = [
        edit(&json, |v| v["from"] = 0.into()),
        edit(&json, |v| v["from"] = 70000.into()),
        edit(&json, |v| v["package"]["commitment"][0] = "00".into()),
        edit(&json, |v| {
            v["package"]["commitment"][1] = format!("02{}", "ff".repeat(32)).into()
        }),
        edit(&json, |v| {
            v["package"]["proof_of_knowledge"] = "0011".into()
        }),
        edit(&json, |v| {
            v["package"]["header"]["ciphersuite"] = "FROST-ED25519-SHA512-v1".into()
        }),
    ];
    for bad in cases {
        assert!(
            matches!(
                wire::decode::<DkgRound1Message<C>>("dkg round 1", &bad),
                Err(SignerError::Decode {
                    what: "dkg round 1",
                    ..
                })
            ),
            "{bad}"
        );
    }
    // Oversized input is refused before parsing.
    let huge = " ".repeat(wire::MAX_MESSAGE_BYTES + 1);
    assert!(matches!(
        wire::decode::<DkgRound1Message<C>>("dkg round 1", &huge),
        Err(SignerError::Decode { .. })
    ));
}

#[test]
fn session_ids_parse_strictly() {
    assert!(signer::SessionId::from_hex(&"ab".repeat(32)).is_ok());
    assert!(signer::SessionId::from_hex(&"ab".repeat(31)).is_err());
    assert!(signer::SessionId::from_hex("xyz").is_err());
}

#[test]
fn encrypted_export_is_byte_identical_to_format_v1() {
    use rand::SeedableRng;
    // Same seed, same share, same salt and nonce: the file the pre-`keys::seal` exporter
    // wrote for this input hashed to this value.
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let share = dealer::trusted_dealer::<C, _>(Threshold::new(2, 3).unwrap(), &mut rng)
        .unwrap()
        .remove(0);
    let file = share
        .export_encrypted(b"correct horse", FAST, &mut rng)
        .unwrap();
    assert_eq!(
        blake3::hash(file.as_bytes()).to_hex().as_str(),
        "dfb06d219730c5ecaa48f5935e315c3007f71dabb6f09f11d039ebd95ae2087d"
    );
    assert_eq!(
        KeyShare::<C>::import_encrypted(&file, b"correct horse").unwrap(),
        share
    );
}
