//! The networked service against the same session in process (3-of-5, Groth16):
//!
//! - `in-process`: `Coordinator::sign` over five in-memory `SessionSigner`s;
//! - `tls-one`: one `POST /v1/sign` through the coordinator's client API, the coordinator
//!   calling the five nodes over loopback mutual TLS, every node writing its nonce rows to
//!   SQLite (synchronous=FULL) and the coordinator its audit record;
//! - `tls-one-settled`: the same request, timed only after the nodes finished witnessing
//!   the previous record (untimed `GET /v1/audit/checkpoints?wait=true` in between): the
//!   latency a client sees when the witnesses' verification does not compete with the
//!   next session's proving for the same two cores (as on separate hosts);
//! - `tls-8-concurrent`: eight requests at once (throughput = 8 / time).
//!
//! The ratio tls-one / in-process is the cost of transport, durable storage and (on this
//! one machine) the background witness rounds sharing the provers' cores; tls-one-settled /
//! in-process the cost a session itself pays.

mod common;

use std::sync::Arc;
use std::time::Duration;

use circuits::sample;
use circuits::BackendId;
use criterion::{criterion_group, criterion_main, Criterion};
use prover::groth16::Groth16System;
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::local::Endpoint;
use signer::taproot::Taproot;
use zkquorum::cluster::local::LocalCluster;
use zkquorum::ids::KeyId;
use zkquorum::net::api::SignRequest;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("network/groth16");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));

    // In process.
    let system = Arc::new(Groth16System::setup(&mut OsRng).unwrap());
    let (nodes, coord, policies) = common::cluster(&system, 3, 5);
    let eps: Vec<&dyn Endpoint<Taproot>> =
        nodes.iter().map(|n| n as &dyn Endpoint<Taproot>).collect();
    let mut n = 0u64;
    g.bench_function("in-process", |b| {
        b.iter(|| {
            n += 1;
            coord
                .sign(&eps, &sample::intent(n), sample::NOW, &policies)
                .unwrap()
        })
    });

    // Over loopback mutual TLS, with SQLite on both sides.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let local = rt
        .block_on(LocalCluster::start::<Groth16System>(
            &tmp.path().join("c"),
            BackendId::Groth16Bn254,
            3,
            5,
            signer::KdfParams::RECOMMENDED,
        ))
        .unwrap();
    let client = local.client().unwrap();
    // The checkpoints route answers the auditor's certificate only.
    let auditor = local
        .client_as(zkquorum::net::roles::Role::Auditor)
        .unwrap();
    let key = KeyId::new("bench").unwrap();
    rt.block_on(client.create_key(&key)).unwrap();
    let t = zkquorum::clock::unix_now();
    // Each node holds its own (salted) policy, and 2 of the 3 admins register their
    // commitments for the key: nodes prove only under a registered policy.
    let mut policies = Vec::new();
    for id in 1..=5 {
        let policy = zkquorum::cluster::example_policy(t);
        rt.block_on(local.set_policy(id, policy.clone())).unwrap();
        policies.push((id, policy));
    }
    rt.block_on(local.govern_policies(key.as_str(), &policies, 2))
        .unwrap();
    let request = |nonce: u64| SignRequest {
        key_id: key.clone(),
        intent: zkquorum::cluster::example_intent(t, nonce),
        request_id: None,
    };
    g.bench_function("tls-one", |b| {
        b.iter(|| {
            n += 1;
            rt.block_on(client.sign(&request(n))).unwrap()
        })
    });
    g.bench_function("tls-one-settled", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(auditor.checkpoints()).unwrap();
                n += 1;
                let start = std::time::Instant::now();
                rt.block_on(client.sign(&request(n))).unwrap();
                total += start.elapsed();
            }
            total
        })
    });
    g.bench_function("tls-8-concurrent", |b| {
        b.iter(|| {
            let calls: Vec<_> = (0..8)
                .map(|_| {
                    n += 1;
                    let (client, req) = (client.clone(), request(n));
                    rt.spawn(async move { client.sign(&req).await })
                })
                .collect();
            rt.block_on(async {
                for call in calls {
                    call.await.unwrap().unwrap();
                }
            })
        })
    });
    g.finish();
    rt.block_on(local.shutdown());
}

criterion_group!(benches, bench);
criterion_main!(benches);
