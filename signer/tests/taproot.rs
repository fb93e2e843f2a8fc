//! Taproot (BIP-341): the tweak checked against the published BIP-341 vectors, and
//! threshold signatures under the tweaked output key verified with `k256::schnorr`.

mod common;

use std::collections::BTreeMap;

use common::*;
use frost_core::keys::PublicKeyPackage;
use frost_core::VerifyingKey;
use rand::rngs::OsRng;
use serde_json::Value;
use signer::keys::dealer;
use signer::taproot::{self, Taproot};
use signer::{SignerError, Threshold};

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vectors/bip341-wallet-test-vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("BIP-341 vectors in vectors/"))
        .unwrap()
}

fn hex32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn output_keys_match_bip341_vectors() {
    let v = vectors();
    let cases = v["scriptPubKey"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let internal = hex32(&case["given"]["internalPubkey"]);
        // An x-only key is the even-y point with that x.
        let mut sec1 = vec![0x02];
        sec1.extend_from_slice(&internal);
        let vk = VerifyingKey::<Taproot>::deserialize(&sec1).unwrap();
        let public = PublicKeyPackage::new(BTreeMap::new(), vk, None);
        assert_eq!(taproot::x_only_key(&public).unwrap(), internal);
        let root = match &case["intermediary"]["merkleRoot"] {
            Value::Null => None,
            r => Some(hex32(r)),
        };
        let expected = hex32(&case["intermediary"]["tweakedPubkey"]);
        assert_eq!(
            taproot::output_key(&public, root.as_ref()).unwrap(),
            expected
        );
        // The scriptPubKey is OP_1 <32-byte output key>.
        let spk = case["expected"]["scriptPubKey"].as_str().unwrap();
        assert_eq!(spk, format!("5120{}", hex::encode(expected)));
    }
}

fn taproot_session(merkle_root: Option<[u8; 32]>) {
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(3, 5).unwrap(), &mut OsRng).unwrap();
    let public = shares[0].public_key_package().clone();
    let signers = signers(shares);
    let subset = [1usize, 2, 4];
    let msg = [0x5a; 32];
    let (session, package) = round1(&signers, &subset, &msg);
    let shares: BTreeMap<_, _> = subset
        .iter()
        .map(|&i| {
            let s = &signers[i];
            (
                s.share().id(),
                s.round2_taproot(session, &package, merkle_root.as_ref())
                    .unwrap(),
            )
        })
        .collect();
    let sig = taproot::aggregate_taproot(&package, &shares, &public, merkle_root.as_ref()).unwrap();
    let out = taproot::output_key(&public, merkle_root.as_ref()).unwrap();
    let bytes = taproot::signature_bytes(&sig).unwrap();
    // Independent verification with k256 against the tweaked output key.
    let vk = k256::schnorr::VerifyingKey::from_bytes(&out).unwrap();
    vk.verify_raw(
        &msg,
        &k256::schnorr::Signature::try_from(bytes.as_slice()).unwrap(),
    )
    .unwrap();
    taproot::verify(&out, &msg, &bytes).unwrap();
    // It is not a signature under the untweaked key.
    let internal = taproot::x_only_key(&public).unwrap();
    assert!(taproot::verify(&internal, &msg, &bytes).is_err());
}

#[test]
fn threshold_signature_verifies_under_the_key_path_output_key() {
    taproot_session(None);
}

#[test]
fn threshold_signature_verifies_under_a_script_tree_output_key() {
    taproot_session(Some([0x42; 32]));
}

#[test]
fn untweaked_share_among_tweaked_ones_is_named() {
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap();
    let public = shares[0].public_key_package().clone();
    let signers = signers(shares);
    let root = [9u8; 32];
    let (session, package) = round1(&signers, &[0, 1], b"m");
    let mut shares = BTreeMap::new();
    shares.insert(
        id(1),
        signers[0]
            .round2_taproot(session, &package, Some(&root))
            .unwrap(),
    );
    shares.insert(id(2), signers[1].round2(session, &package).unwrap());
    match taproot::aggregate_taproot(&package, &shares, &public, Some(&root)) {
        Err(SignerError::InvalidSignatureShares(c)) => assert_eq!(c, vec![id(2)]),
        other => panic!("expected signer 2 named, got {other:?}"),
    }
}
