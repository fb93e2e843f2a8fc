//! Audit-log verification per record: `verify_record` one record at a time vs `verify_log`
//! (streaming, proofs batched per verifying key). The log is made by real coordinated
//! 2-of-3 Groth16 sessions; `ZKQ_AUDIT_RECORDS` sets its length (default 200 — generating a
//! record costs two proofs, so 1 000 records take ~5 minutes to build on 2 cores).

mod common;

use std::io::BufReader;
use std::sync::Arc;
use std::time::Duration;

use circuits::sample;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use prover::groth16::Groth16System;
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::local::Endpoint;
use signer::taproot::Taproot;
use verifier::audit::{verify_log, verify_record, AuditKeys, AuditRecord};
use zkquorum::coordinator::store::CoordinatorStore;

fn make_log(n: u64) -> (Vec<u8>, AuditKeys) {
    let system = Arc::new(Groth16System::setup(&mut OsRng).unwrap());
    let (nodes, coord, policies) = common::cluster(&system, 2, 3);
    let eps: Vec<&dyn Endpoint<Taproot>> =
        nodes.iter().map(|n| n as &dyn Endpoint<Taproot>).collect();
    let dir = tempfile::tempdir().unwrap();
    let log = CoordinatorStore::open(&dir.path().join("coordinator.db")).unwrap();
    for i in 0..n {
        let signed = coord
            .sign(&eps, &sample::intent(i), sample::NOW, &policies)
            .unwrap();
        let mut record = coord
            .audit_record(&signed, "bench", sample::NOW + i % 100)
            .unwrap();
        log.append_audit(&mut record).unwrap();
    }
    let bytes = log.audit_lines().unwrap().join("\n").into_bytes();
    let mut keys = AuditKeys::new().with_registry(Arc::new(policies));
    keys.add_groth16(system.verifying_key().clone());
    let keys = keys
        .with_key_record(&signer::local::key_record(
            &nodes,
            coord.public_key_package(),
            "bench",
            1,
        ))
        .unwrap();
    (bytes, keys)
}

fn bench(c: &mut Criterion) {
    let n: u64 = std::env::var("ZKQ_AUDIT_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let (log, keys) = make_log(n);
    let lines: Vec<&[u8]> = log
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let records: Vec<AuditRecord> = lines
        .iter()
        .map(|l| AuditRecord::from_line(l).unwrap())
        .collect();
    let mut g = c.benchmark_group(format!("audit/{n}-records"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("verify_record-one-by-one", |b| {
        b.iter(|| {
            for (i, r) in records.iter().enumerate() {
                let prev = i.checked_sub(1).map(|p| lines[p]);
                verify_record(r, prev, &keys).unwrap();
            }
        })
    });
    g.bench_function("verify_log-batched", |b| {
        b.iter(|| {
            let report = verify_log(BufReader::new(log.as_slice()), &keys);
            assert!(report.is_ok());
            report
        })
    });
    g.finish();
}

criterion_group! {
    name = audit;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(audit);
