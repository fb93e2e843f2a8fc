//! The Bitcoin spend statement per size class and backend: prove and verify, plus stock
//! `ark_groth16::Groth16::prove` on the same circuit and keys as the baseline, and the
//! intent statement's Groth16 prove in the same run (the 2-output proof's target is 1.5x
//! of it).
//!
//! Classes 2 and 16 by default; `ZKQ_BENCH_256=1` adds the 256-output class (Groth16 setup
//! for ~1.2 million constraints takes minutes and several GiB; halo2 at k = 19 likewise).

use std::time::Duration;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use circuits::bn254::{Bn254 as B, SpendCircuit};
use circuits::pasta::Pasta;
use circuits::sample::{self, spend as s};
use circuits::spend::SizeClass;
use criterion::{criterion_group, criterion_main, Criterion};
use prover::spend::{Groth16Spend, Halo2Spend};
use prover::ProofSystem;
use rand::rngs::OsRng;

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

criterion_group!(benches, bench);
criterion_main!(benches);
