//! The Bitcoin spend statement per size class and backend: prove and verify, plus stock
//! `ark_groth16::Groth16::prove` on the same circuit and keys as the baseline, and the
//! intent statement's Groth16 prove in the same run (the 2-output proof's target is 1.5x
//! of it).
//!
//! Then a whole 3-of-5 spend session in process (`SpendCoordinator` over in-memory signers:
//! three Groth16 spend proofs proved at once, checked, one FROST signature per input,
//! finalized) for a 1-input spend with one external output (2-output class) and, with the
//! 256 class, one with 256 external outputs.
//!
//! Classes 2 and 16 by default; `ZKQ_BENCH_256=1` adds the 256-output class on Groth16
//! (562 081 constraints: half a minute of setup and a few GiB), and
//! `ZKQ_BENCH_HALO2_256=1` on halo2 too (k = 17: minutes of keygen, about a minute per proof).

use std::sync::Arc;
use std::time::Duration;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use circuits::bn254::{Bn254 as B, SpendCircuit};
use circuits::pasta::Pasta;
use circuits::sample::{self, spend as s};
use circuits::spend::SizeClass;
use criterion::{criterion_group, criterion_main, Criterion};
use prover::spend::{Groth16Spend, Halo2Spend, SpendKeys};
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::local::spend::{hold_spend_policy, SpendNode};
use signer::session::spend::{SpendCoordinator, SpendEndpoint};
use signer::taproot::Taproot;
use verifier::bitcoin::{network_code, GroupWallet, Network};

#[path = "../tests/common/btc.rs"]
#[allow(dead_code)]
mod btc;

fn classes() -> Vec<SizeClass> {
    let mut v = vec![SizeClass::Two, SizeClass::Sixteen];
    if std::env::var_os("ZKQ_BENCH_256").is_some() {
        v.push(SizeClass::TwoFiftySix);
    }
    v
}

fn bench(c: &mut Criterion) {
    // The intent statement, as the reference for the 2-output target.
    let intent = prover::groth16::Groth16System::setup(&mut OsRng).unwrap();
    let w = sample::witness::<B>(1);
    let mut g = c.benchmark_group("spend/groth16/intent-reference");
    g.sample_size(10);
    g.bench_function("prove", |b| {
        b.iter(|| intent.prove(&w, &mut OsRng).unwrap())
    });
    g.finish();

    let intent = Arc::new(intent);
    for class in classes() {
        let keys = Groth16Spend::setup(class, &mut OsRng).unwrap();
        let w = s::witness::<B>(class, 1);
        let env = keys.prove(&w, &mut OsRng).unwrap();
        let public = w.public_inputs();
        let mut g = c.benchmark_group(format!("spend/groth16/{class}"));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        g.bench_function("prove", |b| b.iter(|| keys.prove(&w, &mut OsRng).unwrap()));
        g.bench_function("prove-stock-ark-groth16", |b| {
            b.iter(|| {
                Groth16::<Bn254>::prove(keys.proving_key(), SpendCircuit::new(&w), &mut OsRng)
                    .unwrap()
            })
        });
        g.bench_function("verify", |b| {
            b.iter(|| keys.verifier().verify_spend(&env, &public).unwrap())
        });
        g.finish();
        if class != SizeClass::Sixteen {
            session(c, &intent, class, keys);
        }

        if class == SizeClass::TwoFiftySix && std::env::var_os("ZKQ_BENCH_HALO2_256").is_none() {
            continue;
        }
        let keys = Halo2Spend::setup(class).unwrap();
        let w = s::witness::<Pasta>(class, 1);
        let env = keys.prove(&w, &mut OsRng).unwrap();
        let public = w.public_inputs();
        let mut g = c.benchmark_group(format!("spend/halo2/{class}"));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(10));
        g.bench_function("prove", |b| b.iter(|| keys.prove(&w, &mut OsRng).unwrap()));
        g.bench_function("verify", |b| {
            b.iter(|| keys.verifier().verify_spend(&env, &public).unwrap())
        });
        g.finish();
    }
}

/// A 3-of-5 spend session in process: one input, `class.slots() - 1` external outputs (one
/// for the 2 class) and change.
fn session(
    c: &mut Criterion,
    intent: &Arc<prover::groth16::Groth16System>,
    class: SizeClass,
    keys: Groth16Spend,
) {
    let keys = SpendKeys::new(vec![keys]);
    let shares =
        signer::local::dkg::<Taproot, _>(signer::Threshold::new(3, 5).unwrap(), &mut OsRng)
            .unwrap();
    let public = shares[0].public_key_package().clone();
    let wallet = GroupWallet::from_public_key_package(&public).unwrap();
    let (nodes, roster, registered) =
        signer::local::session_signers(shares, &sample::policy(), intent, &mut OsRng);
    let outputs = if class == SizeClass::Two {
        1
    } else {
        class.slots()
    };
    let policy = circuits::spend::SpendPolicy::new(
        network_code(Network::Regtest),
        u64::MAX / 2,
        10_000,
        sample::NOW - 10,
        (0..outputs)
            .map(|i| circuits::spend::script_hash(btc::external(i).as_bytes()))
            .collect(),
        circuits::PolicySalt::from_bytes([3; 32]),
    )
    .unwrap();
    let (nodes, spend) = hold_spend_policy(nodes, registered, &policy);
    // A fresh transaction per iteration: a signer signs a transaction again only within its
    // retry window, and the 256 class's iterations outlast it.
    let fresh = std::cell::Cell::new(0u64);
    let psbt = || {
        fresh.set(fresh.get() + 1);
        let fund = btc::funding(wallet.script_pubkey(), &[10_000_000 + fresh.get()]);
        let mut pays: Vec<_> = (0..outputs)
            .map(|i| btc::pay(btc::external(i), 1_000))
            .collect();
        pays.push(btc::pay(
            wallet.script_pubkey().clone(),
            10_000_000 - 1_000 * outputs as u64 - 5_000,
        ));
        btc::spend_psbt(&wallet, &[fund], pays, 0).serialize()
    };
    let coordinator = SpendCoordinator {
        public: &public,
        threshold: 3,
        roster: &roster,
        network: Network::Regtest,
        policies: &spend,
        verifiers: vec![(class, keys.class(class).unwrap().verifier())],
    };
    let endpoints: Vec<SpendNode<'_, _, _, _>> = nodes
        .iter()
        .map(|signer| SpendNode {
            signer,
            keys: &keys,
        })
        .collect();
    let endpoints: Vec<&dyn SpendEndpoint> =
        endpoints.iter().map(|e| e as &dyn SpendEndpoint).collect();
    let mut g = c.benchmark_group(format!("spend/session-3-of-5/{class}"));
    g.sample_size(10);
    g.bench_function("sign", |b| {
        b.iter_batched(
            psbt,
            |psbt| {
                coordinator
                    .sign(&endpoints, &psbt, sample::NOW, &mut OsRng)
                    .unwrap()
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
