//! Proof-backend benches on the sample statement, per backend: key setup, prove,
//! `prove_batch` of 1, 2, 8 and 32 (rayon), verify, and batch verify of 1, 8 and 64; plus
//! stock `ark_groth16::Groth16::prove` on the same circuit and keys as the baseline our
//! Groth16 prover must beat.
//!
//! `ZKQ_BENCH_QUICK=1` drops the largest batch sizes (for a smoke run).

use std::time::Duration;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use circuits::bn254::PolicyCircuit;
use circuits::public::Witness;
use circuits::sample;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use prover::groth16::Groth16System;
use prover::ProofSystem;
use rand::rngs::OsRng;
use verifier::StatementVerifier;

fn witnesses<S: ProofSystem>(n: usize) -> Vec<Witness<S::Backend>> {
    (0..n as u64).map(sample::witness).collect()
}

fn quick() -> bool {
    std::env::var_os("ZKQ_BENCH_QUICK").is_some()
}

fn bench_backend<S: ProofSystem>(c: &mut Criterion, name: &str) {
    let mut g = c.benchmark_group(format!("{name}/setup"));
    g.sample_size(10);
    g.bench_function("setup", |b| b.iter(|| S::setup(&mut OsRng).unwrap()));
    g.finish();

    let system = S::setup(&mut OsRng).unwrap();
    let ws = witnesses::<S>(64);

    let mut g = c.benchmark_group(format!("{name}/prove"));
    g.sample_size(10);
    g.bench_function("single", |b| {
        b.iter(|| system.prove(&ws[0], &mut OsRng).unwrap())
    });
    let batch_sizes: &[usize] = if quick() { &[1, 2, 8] } else { &[1, 2, 8, 32] };
    for &n in batch_sizes {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("batch", n), &n, |b, &n| {
            b.iter(|| {
                let out = system.prove_batch(&ws[..n]);
                assert!(out.iter().all(Result::is_ok));
                out
            })
        });
    }
    g.finish();

    let proofs: Vec<_> = system
        .prove_batch(&ws)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let publics: Vec<_> = ws.iter().map(|w| w.public_inputs()).collect();
    let mut g = c.benchmark_group(format!("{name}/verify"));
    g.bench_function("single", |b| {
        b.iter(|| system.verifier().verify(&proofs[0], &publics[0]).unwrap())
    });
    for n in [1usize, 8, 64] {
        let items: Vec<_> = proofs[..n].iter().zip(&publics[..n]).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("batch", n), &n, |b, _| {
            b.iter(|| system.verifier().verify_batch(&items).unwrap())
        });
    }
    g.finish();
}

fn groth16(c: &mut Criterion) {
    bench_backend::<Groth16System>(c, "groth16");
    // Baseline: stock ark-groth16 proving, same keys, same circuit, no pre-check.
    let system = Groth16System::setup(&mut OsRng).unwrap();
    let w = &witnesses::<Groth16System>(1)[0];
    let mut g = c.benchmark_group("groth16/prove");
    g.sample_size(10);
    g.bench_function("stock-ark-groth16", |b| {
        b.iter(|| {
            Groth16::<Bn254>::prove(system.proving_key(), PolicyCircuit::new(w), &mut OsRng)
                .unwrap()
        })
    });
    g.finish();
}

fn halo2(c: &mut Criterion) {
    bench_backend::<prover::halo2::Halo2System>(c, "halo2");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    targets = groth16, halo2
}
criterion_main!(benches);
