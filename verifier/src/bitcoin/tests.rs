//! The Bitcoin layer against BIP-341's published wallet vectors (every `keyPathSpending`
//! input, every key-path-only `scriptPubKey` case), frost's tweak against rust-bitcoin's,
//! and the PSBT checks on hand-built PSBTs. End-to-end spends signed by a FROST group and
//! checked by Bitcoin Core's consensus code are in the root package's `tests/bitcoin.rs`.

use std::collections::BTreeMap;

use ::bitcoin::absolute::LockTime;
use ::bitcoin::hashes::Hash;
use ::bitcoin::key::TapTweak;
use ::bitcoin::psbt::{raw, PsbtSighashType};
use ::bitcoin::secp256k1::Secp256k1;
use ::bitcoin::taproot::TapNodeHash;
use ::bitcoin::transaction::Version;
use ::bitcoin::{consensus, Amount, OutPoint, ScriptBuf, Sequence, TxIn, Witness};
use frost_core::keys::PublicKeyPackage;
use frost_core::VerifyingKey;
use frost_secp256k1_tr::keys::Tweak;
use frost_secp256k1_tr::Secp256K1Sha256TR;
use serde_json::Value;

use super::*;
use crate::bip340::XOnlyPublicKey;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vectors/bip341-wallet-test-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("BIP-341 vectors in vectors/");
    serde_json::from_str(&text).expect("vectors are JSON")
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn hex32(v: &Value) -> [u8; 32] {
    bytes(v).try_into().expect("32 bytes")
}

#[test]
fn bitcoin_sighash_matches_every_bip341_key_path_vector() {
    let v = vectors();
    let secp = Secp256k1::verification_only();
    let mut checked = 0;
    for case in v["keyPathSpending"].as_array().expect("keyPathSpending") {
        let tx: Transaction =
            consensus::deserialize(&bytes(&case["given"]["rawUnsignedTx"])).expect("tx");
        let prevouts: Vec<TxOut> = case["given"]["utxosSpent"]
            .as_array()
            .expect("utxosSpent")
            .iter()
            .map(|u| TxOut {
                value: Amount::from_sat(u["amountSats"].as_u64().expect("amount")),
                script_pubkey: ScriptBuf::from_bytes(bytes(&u["scriptPubKey"])),
            })
            .collect();
        for input in case["inputSpending"].as_array().expect("inputSpending") {
            let index = input["given"]["txinIndex"].as_u64().expect("index") as usize;
            let ty_byte = input["given"]["hashType"].as_u64().expect("hashType") as u32;
            let ty = TapSighashType::from_consensus_u8(ty_byte as u8).expect("valid type");
            let expected = hex32(&input["intermediary"]["sigHash"]);
            assert_eq!(
                key_spend_sighash(&tx, &prevouts, index, ty).expect("sighash"),
                expected,
                "input {index}"
            );

            // The output key: the internal key tweaked with the vector's merkle root.
            let internal = hex32(&input["intermediary"]["internalPubkey"]);
            let spent = prevouts[index].script_pubkey.as_bytes();
            let root = match &input["given"]["merkleRoot"] {
                Value::Null => None,
                r => Some(TapNodeHash::from_byte_array(hex32(r))),
            };
            let untweaked =
                ::bitcoin::key::UntweakedPublicKey::from_slice(&internal).expect("x-only");
            let (q, _) = untweaked.tap_tweak(&secp, root);
            let q = q.to_x_only_public_key().serialize();
            assert_eq!(spent[..2], [0x51, 0x20]);
            assert_eq!(spent[2..], q, "input {index} output key");
            if root.is_none() {
                let wallet = GroupWallet::from_internal_key(&internal).expect("wallet");
                assert_eq!(wallet.script_pubkey(), &prevouts[index].script_pubkey);
                assert_eq!(wallet.output_key(), q);
            }

            // The published signature verifies under Q for our sighash, with its type byte.
            let witness = bytes(&input["expected"]["witness"][0]);
            match witness.len() {
                64 => assert_eq!(ty, TapSighashType::Default),
                65 => assert_eq!(u32::from(witness[64]), ty_byte),
                n => panic!("witness element of {n} bytes"),
            }
            XOnlyPublicKey::from_bytes(&q)
                .expect("Q")
                .verify(&expected, &witness[..64])
                .expect("vector signature verifies");
            checked += 1;
        }
        // One shared cache computes the same hashes (the input types, all inputs).
        let types: Vec<_> = (0..tx.input.len()).map(|_| TapSighashType::All).collect();
        let all = key_spend_sighashes(&tx, &prevouts, &types).expect("all");
        for (i, h) in all.iter().enumerate() {
            assert_eq!(
                *h,
                key_spend_sighash(&tx, &prevouts, i, TapSighashType::All).expect("one")
            );
        }
    }
    assert_eq!(checked, 7, "every keyPathSpending input");
}

#[test]
fn bitcoin_wallet_matches_bip341_key_path_only_outputs_and_frost_tweak() {
    let v = vectors();
    let mut checked = 0;
    for case in v["scriptPubKey"].as_array().expect("scriptPubKey") {
        if !case["given"]["scriptTree"].is_null() {
            continue;
        }
        let internal = hex32(&case["given"]["internalPubkey"]);
        // As a frost public key package (x-only keys are the even-y point).
        let mut sec1 = vec![0x02];
        sec1.extend_from_slice(&internal);
        let vk = VerifyingKey::<Secp256K1Sha256TR>::deserialize(&sec1).expect("point");
        let package = PublicKeyPackage::new(BTreeMap::new(), vk, None);
        let wallet = GroupWallet::from_public_key_package(&package).expect("wallet");
        assert_eq!(wallet.internal_key(), internal);
        assert_eq!(
            wallet.output_key(),
            hex32(&case["intermediary"]["tweakedPubkey"])
        );
        // frost's own tweak (what round2_taproot/aggregate_taproot sign under) is Q.
        let frost_q = package
            .tweak::<&[u8]>(None)
            .verifying_key()
            .serialize()
            .expect("sec1");
        assert_eq!(frost_q[1..], wallet.output_key());
        assert_eq!(
            wallet.script_pubkey().as_bytes(),
            bytes(&case["expected"]["scriptPubKey"])
        );
        let address = case["expected"]["bip350Address"].as_str().expect("address");
        assert_eq!(wallet.address(Network::Bitcoin).to_string(), address);
        assert_eq!(
            parse_address(address, Network::Bitcoin).expect("mainnet address"),
            wallet.address(Network::Bitcoin)
        );
        assert!(matches!(
            parse_address(address, Network::Regtest),
            Err(AddressError::WrongNetwork { .. })
        ));
        assert!(wallet
            .address(Network::Regtest)
            .to_string()
            .starts_with("bcrt1p"));
        assert!(wallet
            .address(Network::Testnet)
            .to_string()
            .starts_with("tb1p"));
        checked += 1;
    }
    assert_eq!(checked, 1);
}

#[test]
fn bitcoin_network_names() {
    for (name, net) in NETWORKS {
        assert_eq!(parse_network(name), Ok(net));
        assert_eq!(network_name(net), name);
    }
    assert!(matches!(
        parse_network("mainnet"),
        Err(AddressError::UnknownNetwork(_))
    ));
    assert!(matches!(
        parse_address("bc1qnotanaddress", Network::Bitcoin),
        Err(AddressError::Malformed(_))
    ));
}

// --- PSBT checks on hand-built PSBTs (no signing) ---

fn wallet() -> GroupWallet {
    let v = vectors();
    GroupWallet::from_internal_key(&hex32(&v["scriptPubKey"][0]["given"]["internalPubkey"]))
        .expect("wallet")
}

fn other_wallet() -> GroupWallet {
    let v = vectors();
    GroupWallet::from_internal_key(&hex32(&v["scriptPubKey"][1]["given"]["internalPubkey"]))
        .expect("wallet")
}

/// A PSBT spending `n_in` outputs of `w` (1 BTC each) into `outs`.
fn psbt(w: &GroupWallet, n_in: u8, outs: &[(ScriptBuf, u64)]) -> Psbt {
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::from_consensus(800_000),
        input: (0..n_in)
            .map(|i| TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array([i + 1; 32]), u32::from(i)),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect(),
        output: outs
            .iter()
            .map(|(s, v)| TxOut {
                value: Amount::from_sat(*v),
                script_pubkey: s.clone(),
            })
            .collect(),
    };
    let mut p = Psbt::from_unsigned_tx(tx).expect("unsigned");
    for input in &mut p.inputs {
        input.witness_utxo = Some(TxOut {
            value: Amount::from_sat(100_000_000),
            script_pubkey: w.script_pubkey().clone(),
        });
        input.tap_internal_key = Some(w.untweaked_internal_key());
    }
    p
}

fn external() -> ScriptBuf {
    ScriptBuf::from_bytes(hex::decode("0014751e76e8199196d454941c45d1b3a323f1433bd6").expect("hex"))
}

#[test]
fn bitcoin_psbt_summary_classifies_outputs() {
    let w = wallet();
    let other = other_wallet();
    let p = psbt(
        &w,
        2,
        &[
            (external(), 50_000_000),
            (w.script_pubkey().clone(), 120_000_000),
            (other.script_pubkey().clone(), 29_990_000),
        ],
    );
    let b64 = p.to_string();
    let spend = SpendPsbt::from_base64(&b64, &w, Network::Regtest).expect("valid");
    assert_eq!(
        spend.output_classes(),
        [
            OutputClass::External,
            OutputClass::Change,
            OutputClass::External
        ]
    );
    let s = spend.summary().expect("summary");
    assert_eq!(s.fee, 10_000);
    assert_eq!(s.lock_time, 800_000);
    assert_eq!(s.sighashes.len(), 2);
    assert_ne!(s.sighashes[0], s.sighashes[1]);
    assert_eq!(s.change.len(), 1);
    assert_eq!(s.change[0].index, 1);
    // A P2TR output to another key is external.
    assert_eq!(s.external[1].index, 2);
    assert_eq!(
        s.external[1].script_pubkey,
        other.script_pubkey().to_bytes()
    );
    assert_eq!(s.txid, p.unsigned_tx.compute_txid());
    // Binary round trip.
    let again = SpendPsbt::from_bytes(&p.serialize(), &w, Network::Regtest).expect("bytes");
    assert_eq!(again.summary().expect("summary"), s);
}

#[test]
fn bitcoin_psbt_refusals_name_the_input() {
    let w = wallet();
    let outs = [(external(), 1_000)];
    let check = |p: Psbt| SpendPsbt::from_psbt(p, &w, Network::Regtest).map(|_| ());

    let mut p = psbt(&w, 3, &outs);
    p.inputs[2].witness_utxo = Some(TxOut {
        value: Amount::from_sat(5),
        script_pubkey: other_wallet().script_pubkey().clone(),
    });
    assert!(matches!(
        check(p),
        Err(PsbtError::ForeignInput { input: 2, .. })
    ));

    let mut p = psbt(&w, 3, &outs);
    p.inputs[1].witness_utxo = None;
    assert_eq!(check(p), Err(PsbtError::MissingWitnessUtxo { input: 1 }));

    let mut p = psbt(&w, 2, &outs);
    p.inputs[1].sighash_type = Some(PsbtSighashType::from_u32(0x82));
    assert_eq!(
        check(p),
        Err(PsbtError::SighashType {
            input: 1,
            found: 0x82
        })
    );
    for ok in [0x00, 0x01] {
        let mut p = psbt(&w, 1, &outs);
        p.inputs[0].sighash_type = Some(PsbtSighashType::from_u32(ok));
        assert_eq!(check(p), Ok(()));
    }

    let mut p = psbt(&w, 2, &outs);
    p.inputs[0].tap_internal_key = Some(other_wallet().untweaked_internal_key());
    assert!(matches!(
        check(p),
        Err(PsbtError::InternalKey { input: 0, .. })
    ));

    let mut p = psbt(&w, 2, &outs);
    p.inputs[1].tap_merkle_root = Some(TapNodeHash::from_byte_array([7; 32]));
    assert_eq!(check(p), Err(PsbtError::ScriptPath { input: 1 }));

    let mut p = psbt(&w, 2, &outs);
    p.inputs[1].final_script_witness = Some(Witness::from_slice(&[vec![1u8; 64], vec![0x50, 1]]));
    assert_eq!(check(p), Err(PsbtError::Annex { input: 1 }));

    let mut p = psbt(&w, 2, &outs);
    p.inputs[0].final_script_witness = Some(Witness::from_slice(&[vec![1u8; 64]]));
    assert_eq!(check(p), Err(PsbtError::AlreadyFinalized { input: 0 }));

    let mut p = psbt(&w, 2, &outs);
    p.inputs[1].unknown.insert(
        raw::Key {
            type_value: 0x7e,
            key: vec![],
        },
        vec![0x50],
    );
    assert_eq!(
        check(p),
        Err(PsbtError::UnknownInputField {
            input: 1,
            key_type: 0x7e
        })
    );

    let mut p = psbt(&w, 2, &outs);
    p.unsigned_tx.input[1].previous_output = p.unsigned_tx.input[0].previous_output;
    assert!(matches!(
        check(p),
        Err(PsbtError::DuplicateInput {
            input: 1,
            first: 0,
            ..
        })
    ));

    let p = psbt(&w, 1, &[(external(), 100_000_001)]);
    assert_eq!(
        check(p),
        Err(PsbtError::OutputsExceedInputs {
            inputs: 100_000_000,
            outputs: 100_000_001
        })
    );

    assert!(matches!(
        SpendPsbt::from_base64("cHNidP8B!!", &w, Network::Regtest),
        Err(PsbtError::Base64(_))
    ));
    assert!(matches!(
        SpendPsbt::from_bytes(b"psbt\xff\x01\x00", &w, Network::Regtest),
        Err(PsbtError::Decode(_))
    ));
}

#[test]
fn bitcoin_finalize_refuses_bad_signatures() {
    let w = wallet();
    let mut spend = SpendPsbt::from_psbt(psbt(&w, 2, &[(external(), 1_000)]), &w, Network::Regtest)
        .expect("valid");
    assert_eq!(
        spend.add_signatures(&[[1; 64]]),
        Err(FinalizeError::SignatureCount {
            found: 1,
            inputs: 2
        })
    );
    assert!(matches!(
        spend.add_signatures(&[[1; 64], [2; 64]]),
        Err(FinalizeError::BadSignature { input: 0, .. })
    ));
    assert_eq!(
        spend.clone().finalize().map(|_| ()),
        Err(FinalizeError::MissingSignature { input: 0 })
    );
}

#[test]
fn bitcoin_psbt_refuses_disagreeing_previous_tx_and_other_network_xpubs() {
    use std::str::FromStr;

    use ::bitcoin::bip32::{DerivationPath, Fingerprint, Xpub};

    let w = wallet();
    let outs = [(external(), 1_000)];
    // non_witness_utxo whose txid is not the outpoint's.
    let mut p = psbt(&w, 2, &outs);
    let prev = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![],
        output: vec![TxOut {
            value: Amount::from_sat(100_000_000),
            script_pubkey: w.script_pubkey().clone(),
        }],
    };
    p.inputs[1].non_witness_utxo = Some(prev.clone());
    assert_eq!(
        SpendPsbt::from_psbt(p, &w, Network::Regtest).map(|_| ()),
        Err(PsbtError::UtxoMismatch { input: 1 })
    );
    // The same previous transaction, now the one the outpoint names: accepted.
    let mut p = psbt(&w, 1, &outs);
    p.unsigned_tx.input[0].previous_output = OutPoint::new(prev.compute_txid(), 0);
    p.inputs[0].non_witness_utxo = Some(prev);
    assert!(SpendPsbt::from_psbt(p, &w, Network::Regtest).is_ok());

    // A mainnet xpub (BIP-32 test vector 1's master key) in a regtest spend.
    let xpub = Xpub::from_str(
        "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
    )
    .expect("xpub");
    let mut p = psbt(&w, 1, &outs);
    p.xpub
        .insert(xpub, (Fingerprint::default(), DerivationPath::master()));
    assert!(SpendPsbt::from_psbt(p.clone(), &w, Network::Bitcoin).is_ok());
    assert!(matches!(
        SpendPsbt::from_psbt(p, &w, Network::Regtest),
        Err(PsbtError::WrongNetwork { .. })
    ));
}
