//! Signing-session costs through the `signer` API next to direct frost-secp256k1-tr calls,
//! so the wrapper's overhead shows as a ratio (target: <= 1.2x).
//!
//! Per group size: `round1` (nonce generation + commitment; the API also stores the nonces
//! single-use), `round2` (one signer's share; the API also consumes the nonces and checks
//! the package), `aggregate` (all t shares into a verified signature).

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use frost_secp256k1_tr as frost;
use rand::rngs::OsRng;
use signer::keys::dealer;
use signer::round::signing;
use signer::{taproot::Taproot, MemoryNonceStore, SessionId, Signer, Threshold};

const SIZES: [(u16, u16); 4] = [(2, 3), (3, 5), (7, 10), (67, 100)];
const MSG: [u8; 32] = [0x11; 32];

struct Setup {
    signers: Vec<Signer<Taproot, MemoryNonceStore<Taproot>>>,
    public: frost::keys::PublicKeyPackage,
}

fn setup(t: u16, n: u16) -> Setup {
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(t, n).unwrap(), &mut OsRng).unwrap();
    let public = shares[0].public_key_package().clone();
    let signers = shares
        .into_iter()
        .take(t as usize)
        .map(|s| Signer::new(s, MemoryNonceStore::new()))
        .collect();
    Setup { signers, public }
}

/// A full round 1 by every signer: the session, the package, and the raw nonces (for the
/// direct-frost side).
fn round1_all(s: &Setup) -> (SessionId, frost::SigningPackage) {
    let session = SessionId::random(&mut OsRng);
    let commitments: BTreeMap<_, _> = s
        .signers
        .iter()
        .map(|sg| (sg.share().id(), sg.round1(session, &mut OsRng).unwrap()))
        .collect();
    (session, signing::signing_package(&commitments, &MSG))
}

fn direct_round1_all(
    s: &Setup,
) -> (
    BTreeMap<frost::Identifier, frost::round1::SigningNonces>,
    frost::SigningPackage,
) {
    let mut nonces = BTreeMap::new();
    let mut commitments = BTreeMap::new();
    for sg in &s.signers {
        let kp = sg.share().key_package();
        let (n, c) = frost::round1::commit(kp.signing_share(), &mut OsRng);
        nonces.insert(*kp.identifier(), n);
        commitments.insert(*kp.identifier(), c);
    }
    (nonces, frost::SigningPackage::new(commitments, &MSG))
}

fn bench(c: &mut Criterion) {
    for (t, n) in SIZES {
        let s = setup(t, n);
        let label = format!("{t}-of-{n}");
        let first = &s.signers[0];
        let kp = first.share().key_package().clone();

        let mut g = c.benchmark_group("round1");
        g.bench_function(BenchmarkId::new("signer", &label), |b| {
            b.iter(|| {
                first
                    .round1(SessionId::random(&mut OsRng), &mut OsRng)
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("frost", &label), |b| {
            b.iter(|| frost::round1::commit(kp.signing_share(), &mut OsRng))
        });
        g.finish();

        let mut g = c.benchmark_group("round2");
        g.bench_function(BenchmarkId::new("signer", &label), |b| {
            b.iter_batched(
                || round1_all(&s),
                |(session, package)| first.round2(session, &package).unwrap(),
                BatchSize::SmallInput,
            )
        });
        g.bench_function(BenchmarkId::new("frost", &label), |b| {
            b.iter_batched(
                || direct_round1_all(&s),
                |(nonces, package)| {
                    frost::round2::sign(&package, &nonces[kp.identifier()], &kp).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();

        let (session, package) = round1_all(&s);
        let shares: BTreeMap<_, _> = s
            .signers
            .iter()
            .map(|sg| (sg.share().id(), sg.round2(session, &package).unwrap()))
            .collect();
        let frost_shares: BTreeMap<_, _> = shares
            .iter()
            .map(|(id, sh)| (id.to_frost::<Taproot>(), *sh))
            .collect();
        let mut g = c.benchmark_group("aggregate");
        g.bench_function(BenchmarkId::new("signer", &label), |b| {
            b.iter(|| signing::aggregate(&package, &shares, &s.public).unwrap())
        });
        g.bench_function(BenchmarkId::new("frost", &label), |b| {
            b.iter(|| frost::aggregate(&package, &frost_shares, &s.public).unwrap())
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
