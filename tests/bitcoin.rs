//! Bitcoin spends end to end, checked by Bitcoin Core's consensus code: a 3-of-5 FROST key
//! made by DKG, synthetic funding transactions paying its regtest P2TR address, PSBTs
//! spending them (1-in/2-out, 3-in/16-out, 1-in/256-out) validated and summarised by
//! `verifier::bitcoin`, every input's sighash signed by three of the five signers with the
//! Taproot-tweaked round 2 and aggregation, finalized, and every input of every signed
//! transaction verified by `bitcoinconsensus::verify_with_flags` (Taproot, all spent
//! outputs). Then the refusals, each with its typed error naming the input.
//!
//! Also the tweak finding the wallet rests on: frost-secp256k1-tr's DKG stores
//! `P = D + H_TapTweak(D)·G` (its `post_dkg`), `P` is the internal key, spends are signed
//! under `Q = P + H_TapTweak(P)·G`, and a plain (untweaked) FROST signature does not spend.

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bitcoin::key::{TapTweak, UntweakedPublicKey};
use bitcoin::psbt::PsbtSighashType;
use bitcoin::secp256k1::Secp256k1;
use bitcoin::{consensus, Amount, Psbt, Transaction, TxOut, Witness};
use common::btc::{consensus_check, external, funding};
use frost_core::keys::PublicKeyPackage;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use rand::rngs::OsRng;
use signer::keys::dkg::{DkgParticipant, DkgRound2Message};
use signer::taproot::{self, Taproot};
use signer::{KeyShare, MemoryNonceStore, SessionId, Signer, SignerId, Threshold};
use verifier::bitcoin::{
    parse_address, AddressError, FinalizeError, GroupWallet, Network, OutputClass, PsbtError,
    SignedSpend, SpendPsbt,
};

type Node = Signer<Taproot, MemoryNonceStore<Taproot>>;

struct Group {
    signers: Vec<Node>,
    public: PublicKeyPackage<Taproot>,
    wallet: GroupWallet,
    /// The DKG's untweaked sum of the participants' constant terms, `D` (SEC1).
    dkg_sum: [u8; 33],
}

/// A 3-of-5 key by DKG (the same messages as `signer::local::dkg`, keeping the round-1
/// broadcasts to recompute `D`), once per test binary.
fn group() -> &'static Group {
    static GROUP: OnceLock<Group> = OnceLock::new();
    GROUP.get_or_init(|| {
        let threshold = Threshold::new(3, 5).expect("3 of 5");
        let (states, bcasts): (Vec<_>, Vec<_>) = SignerId::range(5)
            .map(|me| {
                DkgParticipant::start::<Taproot, _>(me, threshold, &mut OsRng).expect("start")
            })
            .unzip();
        let mut round2 = Vec::new();
        let mut private: Vec<DkgRound2Message<Taproot>> = Vec::new();
        for (i, st) in states.into_iter().enumerate() {
            let (st, out) = st
                .receive(signer::local::others(&bcasts, i))
                .expect("round 1");
            round2.push(st);
            private.extend(out);
        }
        let shares: Vec<KeyShare<Taproot>> = round2
            .into_iter()
            .zip(bcasts.iter().map(|b| b.from))
            .map(|(st, me)| {
                st.finish(private.iter().filter(|m| m.to == me).cloned().collect())
                    .expect("round 2")
            })
            .collect();
        let d = bcasts
            .iter()
            .map(|b| {
                let whole = b
                    .package
                    .commitment()
                    .serialize_whole()
                    .expect("commitment");
                k256::PublicKey::from_sec1_bytes(&whole[..33])
                    .expect("constant term")
                    .to_projective()
            })
            .fold(k256::ProjectivePoint::IDENTITY, |acc, p| acc + p);
        let dkg_sum: [u8; 33] = d
            .to_affine()
            .to_encoded_point(true)
            .as_bytes()
            .try_into()
            .expect("33 bytes");
        let public = shares[0].public_key_package().clone();
        let wallet = GroupWallet::from_public_key_package(&public).expect("wallet");
        let signers = shares
            .into_iter()
            .map(|s| Signer::new(s, MemoryNonceStore::new()))
            .collect();
        Group {
            signers,
            public,
            wallet,
            dkg_sum,
        }
    })
}

/// One FROST session per message by signers `subset` (indices): the Taproot-tweaked
/// round 2 and aggregation (under `Q`), or, with `tweaked == false`, plain FROST (under `P`).
fn frost_sign(messages: &[[u8; 32]], subset: &[usize], tweaked: bool) -> Vec<[u8; 64]> {
    let g = group();
    messages
        .iter()
        .map(|msg| {
            let session = SessionId::random(&mut OsRng);
            let commitments: BTreeMap<_, _> = subset
                .iter()
                .map(|&i| {
                    let s = &g.signers[i];
                    (
                        s.share().id(),
                        s.round1(session, &mut OsRng).expect("round 1"),
                    )
                })
                .collect();
            let package = signer::round::signing::signing_package(&commitments, msg);
            let shares: BTreeMap<_, _> = subset
                .iter()
                .map(|&i| {
                    let s = &g.signers[i];
                    let share = if tweaked {
                        s.round2_taproot(session, &package, None)
                    } else {
                        s.round2(session, &package)
                    };
                    (s.share().id(), share.expect("round 2"))
                })
                .collect();
            let sig = if tweaked {
                taproot::aggregate_taproot(&package, &shares, &g.public, None)
            } else {
                signer::round::signing::aggregate(&package, &shares, &g.public)
            }
            .expect("aggregate");
            taproot::signature_bytes(&sig).expect("64 bytes")
        })
        .collect()
}

/// A PSBT spending every output of `funds` into `outputs` (lock time 840 000).
fn spend_psbt(funds: &[Transaction], outputs: Vec<TxOut>) -> Psbt {
    common::btc::spend_psbt(&group().wallet, funds, outputs, 840_000)
}

/// Validates, summarises, signs (signers `subset`), finalizes and consensus-checks a spend.
fn sign_and_check(psbt: Psbt, subset: &[usize]) -> SignedSpend {
    let g = group();
    let b64 = psbt.to_string();
    let mut spend = SpendPsbt::from_base64(&b64, &g.wallet, Network::Regtest).expect("valid spend");
    let summary = spend.summary().expect("summary");
    assert_eq!(summary.sighashes.len(), psbt.inputs.len());
    let sigs = frost_sign(&summary.sighashes, subset, true);
    spend
        .add_signatures(&sigs)
        .expect("signatures verify under Q");
    let spent = spend.prevouts().to_vec();
    let signed = spend.finalize().expect("finalized");
    assert_eq!(signed.txid, summary.txid, "segwit: signing keeps the txid");
    assert_eq!(signed.raw_tx, consensus::serialize(&signed.tx));
    assert_eq!(
        consensus::deserialize::<Transaction>(&signed.raw_tx).expect("raw tx decodes"),
        signed.tx
    );
    for (i, input) in signed.psbt.inputs.iter().enumerate() {
        let w = input.final_script_witness.as_ref().expect("final witness");
        assert_eq!(w.len(), 1, "input {i}: key path, one element");
        assert_eq!(
            w.nth(0).map(<[u8]>::len),
            Some(64),
            "input {i}: SIGHASH_DEFAULT"
        );
        assert!(input.tap_key_sig.is_none() && input.tap_internal_key.is_none());
        assert!(input.witness_utxo.is_some());
    }
    consensus_check(&signed.tx, &spent).unwrap_or_else(|(i, e)| {
        panic!(
            "Bitcoin consensus refused input {i} of {}: {e}",
            signed.txid
        )
    });
    // The finalized PSBT round-trips through base64 and extracts the same transaction.
    let again: Psbt = signed.psbt_base64().parse().expect("finalized PSBT parses");
    assert_eq!(again.extract_tx_unchecked_fee_rate(), signed.tx);
    signed
}

#[test]
fn dkg_key_is_the_internal_key_and_spends_sign_under_its_taproot_tweak() {
    let g = group();
    let secp = Secp256k1::verification_only();
    // post_dkg: the stored key is P = D + H_TapTweak(D)·G, not the DKG sum D itself.
    let d = UntweakedPublicKey::from_slice(&g.dkg_sum[1..]).expect("x(D)");
    let (p, _) = d.tap_tweak(&secp, None);
    let stored = taproot::x_only_key(&g.public).expect("x-only");
    assert_ne!(stored, d.serialize(), "frost tweaked the DKG output");
    assert_eq!(
        stored,
        p.to_x_only_public_key().serialize(),
        "stored key = TapTweak(D)"
    );
    // P is the wallet's internal key; Q = TapTweak(P) is frost's `tweak(None)` of it.
    assert_eq!(g.wallet.internal_key(), stored);
    assert_eq!(
        g.wallet.output_key(),
        taproot::output_key(&g.public, None).expect("Q")
    );
    let address = g.wallet.address(Network::Regtest).to_string();
    assert!(address.starts_with("bcrt1p"), "{address}");
    assert_eq!(
        parse_address(&address, Network::Regtest)
            .expect("regtest")
            .script_pubkey(),
        *g.wallet.script_pubkey()
    );
}

#[test]
fn one_input_two_outputs_spend_passes_bitcoin_consensus() {
    let g = group();
    let fund = funding(g.wallet.script_pubkey(), &[50_000]);
    let psbt = spend_psbt(
        &[fund],
        vec![
            TxOut {
                value: Amount::from_sat(30_000),
                script_pubkey: external(0),
            },
            TxOut {
                value: Amount::from_sat(19_000),
                script_pubkey: g.wallet.script_pubkey().clone(),
            },
        ],
    );
    let spend = SpendPsbt::from_psbt(psbt.clone(), &g.wallet, Network::Regtest).expect("valid");
    let s = spend.summary().expect("summary");
    assert_eq!(s.fee, 1_000);
    assert_eq!(s.lock_time, 840_000);
    assert_eq!(s.external.len(), 1);
    assert_eq!((s.external[0].index, s.external[0].amount), (0, 30_000));
    assert_eq!((s.change[0].index, s.change[0].amount), (1, 19_000));
    sign_and_check(psbt, &[0, 2, 4]);
}

#[test]
fn three_inputs_sixteen_outputs_spend_passes_bitcoin_consensus() {
    let g = group();
    // Two funding transactions: one with two outputs to the group, one with one.
    let funds = [
        funding(g.wallet.script_pubkey(), &[400_000, 250_000]),
        funding(g.wallet.script_pubkey(), &[350_000]),
    ];
    let mut outputs: Vec<TxOut> = (0..15)
        .map(|i| TxOut {
            value: Amount::from_sat(60_000),
            script_pubkey: external(i),
        })
        .collect();
    outputs.push(TxOut {
        value: Amount::from_sat(95_000),
        script_pubkey: g.wallet.script_pubkey().clone(),
    });
    let mut psbt = spend_psbt(&funds, outputs);
    // One input names SIGHASH_ALL explicitly (65-byte witness signature), another carries
    // its full previous transaction too.
    psbt.inputs[1].sighash_type = Some(PsbtSighashType::from_u32(0x01));
    psbt.inputs[2].non_witness_utxo = Some(funds[1].clone());
    let b64 = psbt.to_string();
    let mut spend = SpendPsbt::from_base64(&b64, &g.wallet, Network::Regtest).expect("valid");
    let s = spend.summary().expect("summary");
    assert_eq!(s.fee, 1_000_000 - 15 * 60_000 - 95_000);
    assert_eq!(s.external.len(), 15);
    assert_eq!(s.change.len(), 1);
    let sigs = frost_sign(&s.sighashes, &[1, 2, 3], true);
    spend.add_signatures(&sigs).expect("valid signatures");
    let spent = spend.prevouts().to_vec();
    let signed = spend.finalize().expect("finalized");
    let w1 = signed.psbt.inputs[1]
        .final_script_witness
        .as_ref()
        .expect("witness");
    assert_eq!(w1.nth(0).map(<[u8]>::len), Some(65));
    assert_eq!(w1.nth(0).and_then(|s| s.last()).copied(), Some(0x01));
    consensus_check(&signed.tx, &spent).expect("consensus accepts every input");
    // Each input is checked for itself: a transaction with one witness swapped is refused
    // at that input.
    let mut bad = signed.tx.clone();
    bad.input.swap(0, 2);
    let mut bad_spent = spent.clone();
    bad_spent.swap(0, 2);
    bad.input[0].witness = signed.tx.input[0].witness.clone();
    bad.input[2].witness = signed.tx.input[2].witness.clone();
    assert_eq!(consensus_check(&bad, &bad_spent).map_err(|e| e.0), Err(0));
}

#[test]
fn one_input_two_hundred_fifty_six_outputs_spend_passes_bitcoin_consensus() {
    let g = group();
    let fund = funding(g.wallet.script_pubkey(), &[10_000_000]);
    let outputs: Vec<TxOut> = (0..256)
        .map(|i| TxOut {
            value: Amount::from_sat(38_000),
            script_pubkey: external(i),
        })
        .collect();
    let psbt = spend_psbt(&[fund], outputs);
    let signed = sign_and_check(psbt, &[4, 3, 0]);
    assert_eq!(signed.tx.output.len(), 256);
}

#[test]
fn a_signature_under_the_untweaked_key_is_refused_and_consensus_agrees() {
    let g = group();
    let fund = funding(g.wallet.script_pubkey(), &[80_000]);
    let psbt = spend_psbt(
        &[fund],
        vec![TxOut {
            value: Amount::from_sat(79_000),
            script_pubkey: external(7),
        }],
    );
    let mut spend = SpendPsbt::from_psbt(psbt, &g.wallet, Network::Regtest).expect("valid");
    let s = spend.summary().expect("summary");
    // Plain FROST signs under the internal key P: a valid BIP-340 signature, for P.
    let plain = frost_sign(&s.sighashes, &[0, 1, 2], false);
    verifier::verify_bip340(&g.wallet.internal_key(), &s.sighashes[0], &plain[0])
        .expect("valid under P");
    assert!(matches!(
        spend.add_signatures(&plain),
        Err(FinalizeError::BadSignature { input: 0, .. })
    ));
    // Forced into the PSBT anyway, finalize refuses it; and Bitcoin consensus refuses the
    // transaction such a witness makes.
    let mut forced = spend.clone().into_psbt();
    forced.inputs[0].tap_key_sig = Some(bitcoin::taproot::Signature {
        signature: bitcoin::secp256k1::schnorr::Signature::from_slice(&plain[0]).expect("64"),
        sighash_type: bitcoin::TapSighashType::Default,
    });
    let forced_spend =
        SpendPsbt::from_psbt(forced.clone(), &g.wallet, Network::Regtest).expect("still valid");
    assert!(matches!(
        forced_spend.finalize(),
        Err(FinalizeError::BadSignature { input: 0, .. })
    ));
    let mut tx = forced.unsigned_tx.clone();
    tx.input[0].witness = Witness::from_slice(&[plain[0]]);
    assert!(consensus_check(&tx, spend.prevouts()).is_err());
    // The tweaked signature over the same sighash goes through.
    let tweaked = frost_sign(&s.sighashes, &[0, 1, 2], true);
    spend.add_signatures(&tweaked).expect("valid under Q");
    let signed = spend.clone().finalize().expect("finalized");
    consensus_check(&signed.tx, spend.prevouts()).expect("consensus accepts");
}

#[test]
fn refusals_are_typed_and_name_the_input() {
    let g = group();
    let other = GroupWallet::from_internal_key(&[
        0xd6, 0x88, 0x9c, 0xb0, 0x81, 0x03, 0x6e, 0x0f, 0xae, 0xfa, 0x3a, 0x35, 0x15, 0x7a, 0xd7,
        0x10, 0x86, 0xb1, 0x23, 0xb2, 0xb1, 0x44, 0xb6, 0x49, 0x79, 0x8b, 0x49, 0x4c, 0x30, 0x0a,
        0x96, 0x1d,
    ])
    .expect("another key");
    let funds = [funding(
        g.wallet.script_pubkey(),
        &[100_000, 100_000, 100_000],
    )];
    let outs = || {
        vec![TxOut {
            value: Amount::from_sat(250_000),
            script_pubkey: external(1),
        }]
    };
    let check = |p: Psbt| SpendPsbt::from_psbt(p, &g.wallet, Network::Regtest).map(|_| ());

    // A foreign input: input 1 spends another key's P2TR output.
    let mut p = spend_psbt(&funds, outs());
    p.inputs[1].witness_utxo = Some(TxOut {
        value: Amount::from_sat(100_000),
        script_pubkey: other.script_pubkey().clone(),
    });
    match check(p) {
        Err(PsbtError::ForeignInput {
            input: 1,
            script_pubkey,
        }) => {
            assert_eq!(script_pubkey, hex::encode(other.script_pubkey().as_bytes()))
        }
        r => panic!("{r:?}"),
    }

    // A missing witness_utxo (input 2 has only its previous transaction).
    let mut p = spend_psbt(&funds, outs());
    p.inputs[2].witness_utxo = None;
    p.inputs[2].non_witness_utxo = Some(funds[0].clone());
    assert_eq!(check(p), Err(PsbtError::MissingWitnessUtxo { input: 2 }));

    // SIGHASH_NONE|ANYONECANPAY on input 0.
    let mut p = spend_psbt(&funds, outs());
    p.inputs[0].sighash_type = Some(PsbtSighashType::from_u32(0x82));
    let err = check(p).expect_err("refused");
    assert_eq!(
        err,
        PsbtError::SighashType {
            input: 0,
            found: 0x82
        }
    );
    assert!(err.to_string().contains("input 0"), "{err}");

    // Malformed base64, malformed PSBT bytes (valid base64 of a truncated PSBT).
    let good = spend_psbt(&funds, outs());
    assert!(matches!(
        SpendPsbt::from_base64("not base64 at all!", &g.wallet, Network::Regtest),
        Err(PsbtError::Base64(_))
    ));
    let bytes = good.serialize();
    let truncated = bitcoin::base64::Engine::encode(
        &bitcoin::base64::engine::general_purpose::STANDARD,
        &bytes[..bytes.len() / 2],
    );
    assert!(matches!(
        SpendPsbt::from_base64(&truncated, &g.wallet, Network::Regtest),
        Err(PsbtError::Decode(_))
    ));
    assert!(matches!(
        SpendPsbt::from_bytes(b"not a psbt", &g.wallet, Network::Regtest),
        Err(PsbtError::Decode(_))
    ));

    // Another network's address: the group's mainnet address is refused on regtest.
    let mainnet = g.wallet.address(Network::Bitcoin).to_string();
    assert!(mainnet.starts_with("bc1p"));
    assert_eq!(
        parse_address(&mainnet, Network::Regtest),
        Err(AddressError::WrongNetwork {
            address: mainnet.clone(),
            expected: "regtest".into()
        })
    );
    assert!(parse_address(&mainnet, Network::Bitcoin).is_ok());

    // Change to a key that is not the group's counts as external, even when the PSBT's
    // output fields claim the group's internal key for it.
    let mut p = spend_psbt(
        &funds,
        vec![
            TxOut {
                value: Amount::from_sat(100_000),
                script_pubkey: external(2),
            },
            TxOut {
                value: Amount::from_sat(150_000),
                script_pubkey: other.script_pubkey().clone(),
            },
            TxOut {
                value: Amount::from_sat(40_000),
                script_pubkey: g.wallet.script_pubkey().clone(),
            },
        ],
    );
    p.outputs[1].tap_internal_key = Some(g.wallet.untweaked_internal_key());
    let spend = SpendPsbt::from_psbt(p, &g.wallet, Network::Regtest).expect("valid");
    assert_eq!(
        spend.output_classes(),
        [
            OutputClass::External,
            OutputClass::External,
            OutputClass::Change
        ]
    );
    let s = spend.summary().expect("summary");
    assert_eq!(
        s.external.iter().map(|o| o.index).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(
        s.external[1].script_pubkey,
        other.script_pubkey().to_bytes()
    );
    assert_eq!(s.change.len(), 1);
    assert_eq!(s.fee, 10_000);
}
