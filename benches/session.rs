//! A full in-process 3-of-5 proof-carrying session per backend (coordinator + five
//! `SessionSigner`s), next to the sum of its proving work (three proofs, sequential), so the
//! protocol's overhead beyond proving shows as a ratio (target: within 10%); and the same
//! session with its policy lookups in a governance registry, against a fixed map (the
//! registry's cost; target: within 5%).

mod common;

use std::sync::Arc;
use std::time::Duration;

use circuits::public::Witness;
use circuits::sample;
use criterion::{criterion_group, criterion_main, Criterion};
use prover::groth16::Groth16System;
use prover::halo2::Halo2System;
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::local::Endpoint;
use signer::taproot::Taproot;

fn bench_backend<P: ProofSystem>(c: &mut Criterion, name: &str) {
    let system = Arc::new(P::setup(&mut OsRng).unwrap());
    let (nodes, coord, policies) = common::cluster(&system, 3, 5);
    let fixed = policies.clone();
    let eps: Vec<&dyn Endpoint<Taproot>> =
        nodes.iter().map(|n| n as &dyn Endpoint<Taproot>).collect();
    let mut g = c.benchmark_group(format!("session/{name}"));
    g.sample_size(10);
    let mut n = 0u64;
    g.bench_function("full-3-of-5", |b| {
        b.iter(|| {
            n += 1;
            coord
                .sign(&eps, &sample::intent(n), sample::NOW, &policies)
                .unwrap()
        })
    });
    // The same session with every registry lookup going to a governance registry as nodes
    // and the coordinator keep it (behind its lock, 200 earlier policy records for other
    // keys): the coordinator looks the session's policies up, every signer its own and
    // every co-signer's. Against `full-3-of-5`, whose lookups hit a fixed map, this is the
    // registry's cost (target: at most 5%).
    drop(eps);
    let roster: signer::session::Roster = nodes
        .iter()
        .map(|n| (n.id(), n.identity().public_key()))
        .collect();
    let governed = Arc::new(std::sync::RwLock::new(common::governed_registry::<P>(
        &roster,
        3,
        &sample::policy(),
        200,
        system.fingerprint(),
    )));
    let nodes: Vec<common::Node<P>> = nodes
        .into_iter()
        .map(|node| {
            node.with_registered(signer::session::Registered {
                key_id: "bench".into(),
                registry: governed.clone(),
            })
        })
        .collect();
    let eps: Vec<&dyn Endpoint<Taproot>> =
        nodes.iter().map(|n| n as &dyn Endpoint<Taproot>).collect();
    g.bench_function("full-3-of-5-governed-registry", |b| {
        b.iter(|| {
            n += 1;
            let policies = verifier::PolicyRegistry::policies(
                &*governed,
                "bench",
                <P::Backend as circuits::Backend>::ID,
                sample::NOW,
            );
            assert_eq!(policies, fixed);
            coord
                .sign(&eps, &sample::intent(n), sample::NOW, &policies)
                .unwrap()
        })
    });
    // The registry lookups of one 3-of-5 session alone, on the same governed registry: the
    // coordinator's policies lookup, each of the three signers' own and co-signer lookups
    // (1 + 3 + 3 `policies`), and each signer checking the two others' and its own identity
    // against the roster (9 `rostered_identity`). Against a session's median this is the
    // registry's share, free of the run-to-run noise of whole sessions.
    g.bench_function("registry-lookups-of-one-session", |b| {
        b.iter(|| {
            for _ in 0..7 {
                criterion::black_box(verifier::PolicyRegistry::policies(
                    &*governed,
                    "bench",
                    <P::Backend as circuits::Backend>::ID,
                    sample::NOW,
                ));
            }
            for id in 1..=9u16 {
                criterion::black_box(verifier::PolicyRegistry::rostered_identity(
                    &*governed,
                    1 + id % 3,
                    sample::NOW,
                ));
            }
        })
    });
    let witnesses: Vec<Witness<P::Backend>> = (0..3).map(sample::witness).collect();
    g.bench_function("proving-only-3-proofs", |b| {
        b.iter(|| {
            for w in &witnesses {
                system.prove(w, &mut OsRng).unwrap();
            }
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_backend::<Groth16System>(c, "groth16");
    bench_backend::<Halo2System>(c, "halo2");
}

criterion_group! {
    name = session;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(session);
