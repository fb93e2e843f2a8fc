//! The full Groth16 prove on synthetic R1CS circuits of a realistic shape
//! (`prover::test_util::SyntheticCircuit`), same keys for every prover:
//!
//! - group `groth16_prove`, per size `2^log` constraints (the QAP domain, exactly):
//!   `stock/<log>` is `ark_groth16::Groth16::<Bn254>::prove`; `ours_variable/<log>` our
//!   `Groth16Prover` without fixed-base tables (`TableBudget::new(0)`: every MSM
//!   variable-base); `ours_fixed/<log>` ours with tables built within a 2 GiB budget (the
//!   tables' bytes are printed). Logs 13, 16 and 18 by default; `ZKQ_PROVE_MAX_LOG=20` adds
//!   2^20 (keys and tables then take several GiB), `ZKQ_PROVE_MIN_LOG`
//!   skips the smaller sizes (their keys are generated even when a criterion filter leaves
//!   them out).
//! - group `groth16_batch`, at 2^13 on the tabled prover: `prove_batch_with` of 4 proofs on a
//!   pool of 1 thread (`batch4_threads1/13`) and of 2 (`batch4_threads2/13`: one proof per
//!   thread), and a single `prove` on 1 thread (`single_threads1/13`), the single-core
//!   baseline. Throughput is in proofs per second.
//!
//! Our provers run on their own pool of `RAYON_NUM_THREADS` threads, else the available
//! cores, as stock proving runs on rayon's global pool of the same size. Before any timing,
//! each prover's proof is checked with `Groth16::verify_with_processed_vk`, so a broken
//! prover fails the bench instead of being timed.
//!
//! `cargo bench --bench prover`; peak memory per size is not measured here (criterion runs
//! everything in one process) but by `prover/examples/prove_peak.rs`.

use std::time::{Duration, Instant};

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey};
use ark_snark::SNARK;
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode,
    Throughput,
};
use prover::groth16::{Groth16Prover, TablePlan};
use prover::msm::TableBudget;
use prover::test_util::SyntheticCircuit;
use rand::rngs::OsRng;

/// The budget of `ours_fixed`: all of a 2^18 key's tables (558 MiB); at 2^20 (about four
/// times that) those that fit, in the prover's order (the `h` query first).
const FIXED_BUDGET: usize = 2 << 30;

/// Log size of the batch group.
const BATCH_LOG: u32 = 13;

/// Proofs per batch.
const BATCH: usize = 4;

fn env_log(name: &str, default: u32) -> u32 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a log2 size such as 20")),
        Err(_) => default,
    }
}

fn logs() -> Vec<u32> {
    let (min, max) = (
        env_log("ZKQ_PROVE_MIN_LOG", 13),
        env_log("ZKQ_PROVE_MAX_LOG", 18),
    );
    [13, 16, 18, 20]
        .into_iter()
        .filter(|l| (min..=max).contains(l))
        .collect()
}

/// One size's keys and statement, shared by every prover of the size.
struct Keys {
    log: u32,
    constraints: usize,
    pk: ProvingKey<Bn254>,
    pvk: PreparedVerifyingKey<Bn254>,
    inputs: [Fr; SyntheticCircuit::INPUTS],
}

impl Keys {
    fn new(log: u32) -> Self {
        let constraints = SyntheticCircuit::constraints_for_domain(log);
        let t = Instant::now();
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(
            SyntheticCircuit::blank(constraints),
            &mut OsRng,
        )
        .expect("groth16 setup of the synthetic circuit");
        eprintln!(
            "2^{log}: {constraints} constraints, keys generated in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        Self {
            log,
            constraints,
            pk,
            pvk: ark_groth16::prepare_verifying_key(&vk),
            inputs: [0u8; SyntheticCircuit::INPUTS].map(|_| Fr::rand(&mut OsRng)),
        }
    }

    fn circuit(&self) -> SyntheticCircuit {
        SyntheticCircuit::new(self.constraints, self.inputs)
    }

    /// Panics unless `proof` verifies for this size's statement (and not for another).
    fn check(&self, who: &str, proof: &Proof<Bn254>) {
        let public = self.circuit().public_inputs();
        assert!(
            Groth16::<Bn254>::verify_with_processed_vk(&self.pvk, &public, proof).unwrap(),
            "{who} at 2^{}: the proof does not verify",
            self.log
        );
        let mut wrong = public;
        wrong[0] += Fr::from(1u8);
        assert!(
            !Groth16::<Bn254>::verify_with_processed_vk(&self.pvk, &wrong, proof).unwrap(),
            "{who} at 2^{}: the proof verifies for other inputs",
            self.log
        );
    }

    /// Our prover on these keys, its tables built now within `budget` bytes, on `threads`
    /// threads (the default pool when `None`); prints the tables' size.
    fn ours(&self, name: &str, budget: usize, threads: Option<usize>) -> Groth16Prover {
        let t = Instant::now();
        let prover = Groth16Prover::new(
            self.pk.clone(),
            SyntheticCircuit::blank(self.constraints),
            TablePlan::Now(&TableBudget::new(budget)),
        )
        .expect("our prover for the synthetic circuit");
        let prover = match threads {
            Some(n) => prover.with_threads(n),
            None => prover,
        };
        eprintln!(
            "2^{}: {name}: {} constraints, fixed_base_bytes {} ({:.1} MiB, built in {:.1} s), {} threads",
            self.log,
            prover.num_constraints(),
            prover.fixed_base_bytes(),
            prover.fixed_base_bytes() as f64 / (1 << 20) as f64,
            t.elapsed().as_secs_f64(),
            prover.threads()
        );
        prover
    }
}

/// Sample counts and times: a proof takes from a fraction of a second (2^13) to tens of
/// seconds (2^20), so each sample is one proof (flat sampling), and from 2^16 on criterion's
/// minimum of 10 samples (it then runs past the short target time rather than take fewer).
fn configure(g: &mut BenchmarkGroup<'_, WallTime>, log: u32) {
    g.sampling_mode(SamplingMode::Flat);
    if log >= 16 {
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
    } else {
        g.sample_size(20)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(10));
    }
}

fn bench_prove(c: &mut Criterion) {
    let mut batch_keys = None;
    for log in logs() {
        let keys = Keys::new(log);
        let mut g = c.benchmark_group("groth16_prove");
        configure(&mut g, log);
        g.throughput(Throughput::Elements(keys.constraints as u64));

        keys.check(
            "stock",
            &Groth16::<Bn254>::prove(&keys.pk, keys.circuit(), &mut OsRng).unwrap(),
        );
        g.bench_function(BenchmarkId::new("stock", log), |b| {
            b.iter(|| Groth16::<Bn254>::prove(&keys.pk, keys.circuit(), &mut OsRng).unwrap())
        });

        // One of our provers at a time, so that the largest size holds one key copy and one
        // set of tables beside the shared keys.
        for (name, budget) in [("ours_variable", 0), ("ours_fixed", FIXED_BUDGET)] {
            let prover = keys.ours(name, budget, None);
            keys.check(name, &prover.prove(keys.circuit(), &mut OsRng).unwrap());
            g.bench_function(BenchmarkId::new(name, log), |b| {
                b.iter(|| prover.prove(keys.circuit(), &mut OsRng).unwrap())
            });
        }
        g.finish();
        if log == BATCH_LOG {
            batch_keys = Some(keys);
        }
    }
    batch(c, batch_keys.unwrap_or_else(|| Keys::new(BATCH_LOG)));
}

/// `prove_batch_with` of [`BATCH`] proofs on 1 and 2 threads, and one `prove` on 1 thread.
fn batch(c: &mut Criterion, keys: Keys) {
    let log = keys.log;
    let prove_batch = |prover: &Groth16Prover| {
        prover
            .prove_batch_with(BATCH, |_| keys.circuit())
            .into_iter()
            .map(|p| p.unwrap())
            .collect::<Vec<_>>()
    };
    let mut g = c.benchmark_group("groth16_batch");
    configure(&mut g, log);

    let prover = keys.ours("batch", FIXED_BUDGET, Some(1));
    for proof in prove_batch(&prover) {
        keys.check("batch, 1 thread", &proof);
    }
    keys.check(
        "single, 1 thread",
        &prover.prove(keys.circuit(), &mut OsRng).unwrap(),
    );
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(BenchmarkId::new("batch4_threads1", log), |b| {
        b.iter(|| prove_batch(&prover))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("single_threads1", log), |b| {
        b.iter(|| prover.prove(keys.circuit(), &mut OsRng).unwrap())
    });

    // The same prover and tables on a pool of 2: one proof per thread.
    let prover = prover.with_threads(2);
    for proof in prove_batch(&prover) {
        keys.check("batch, 2 threads", &proof);
    }
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(BenchmarkId::new("batch4_threads2", log), |b| {
        b.iter(|| prove_batch(&prover))
    });
    g.finish();
}

criterion_group!(benches, bench_prove);
criterion_main!(benches);
