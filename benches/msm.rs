//! MSM on BN254 G1 and G2: ours (`prover::msm::PippengerMsm`) against ark-ec's
//! `VariableBaseMSM::msm_bigint` (`prover::msm::ArkMsm`) and halo2curves 0.10's `msm_best`
//! (batch-affine Pippenger, `asm`; inputs converted outside the timing) on the same random
//! inputs, and our
//! fixed-base tables (`prover::msm::FixedBaseMsm`, table built outside the timing; its size
//! is printed) on the same bases, at
//! 2^10, 2^12, 2^14 and 2^16 points (`ZKQ_MSM_MAX_LOG=20` goes on to 2^20,
//! `ZKQ_MSM_MIN_LOG` starts later). Both run on the
//! global rayon pool (ark-ec builds its own 2-thread pools inside).
//!
//! `cargo bench --bench msm -- fq/` measures the arithmetic a bucket addition is made of:
//! one BN254 `Fq` multiplication (ark-ff, what our MSM uses; a dependent chain for its
//! latency, eight interleaved chains for its throughput) and one inversion.
//!
//! `ZKQ_MSM_SWEEP=1` instead prints a quick window-width sweep (GLV on and off,
//! affine and Jacobian buckets; CPU ms per call) that calibrates `pippenger::choose_window`
//! (`ZKQ_MSM_SWEEP_STREAM=1`: the cache-resident accumulation with GLV only).

use std::time::{Duration, Instant};

use ark_bn254::Fr;
use ark_ec::short_weierstrass::Affine;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use prover::msm::{Accumulation, ArkMsm, FixedBaseMsm, MsmBackend, PippengerMsm};

fn max_log() -> u32 {
    std::env::var("ZKQ_MSM_MAX_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

fn logs() -> Vec<u32> {
    let min: u32 = std::env::var("ZKQ_MSM_MIN_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    (min..=max_log()).step_by(2).collect()
}

fn bench_msm(c: &mut Criterion) {
    if std::env::var_os("ZKQ_MSM_SWEEP").is_some() {
        sweep();
        return;
    }
    let ours = PippengerMsm::new();
    let ours_noglv = PippengerMsm::new().glv(false);
    for group in ["g1", "g2"] {
        let mut g = c.benchmark_group(format!("msm_{group}"));
        g.sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for log in logs() {
            let n = 1usize << log;
            g.throughput(Throughput::Elements(n as u64));
            if group == "g1" {
                let (p, s) = prover::test_util::msm_inputs::<ark_bn254::g1::Config>(n, log as u64);
                assert_eq!(ours.msm_g1(&p, &s), ArkMsm.msm_g1(&p, &s));
                g.bench_with_input(BenchmarkId::new("ark", log), &log, |b, _| {
                    b.iter(|| ArkMsm.msm_g1(&p, &s))
                });
                g.bench_with_input(BenchmarkId::new("ours", log), &log, |b, _| {
                    b.iter(|| ours.msm_g1(&p, &s))
                });
                g.bench_with_input(BenchmarkId::new("ours-noglv", log), &log, |b, _| {
                    b.iter(|| ours_noglv.msm_g1(&p, &s))
                });
                halo2curves_bench(&mut g, log, &p, &s, ours.msm_g1(&p, &s));
                let table = fixed_table(&p);
                assert_eq!(table.msm(&s), ArkMsm.msm_g1(&p, &s));
                g.bench_with_input(BenchmarkId::new("fixed", log), &log, |b, _| {
                    b.iter(|| table.msm(&s))
                });
            } else {
                let (p, s) = prover::test_util::msm_inputs::<ark_bn254::g2::Config>(n, log as u64);
                assert_eq!(ours.msm_g2(&p, &s), ArkMsm.msm_g2(&p, &s));
                g.bench_with_input(BenchmarkId::new("ark", log), &log, |b, _| {
                    b.iter(|| ArkMsm.msm_g2(&p, &s))
                });
                g.bench_with_input(BenchmarkId::new("ours", log), &log, |b, _| {
                    b.iter(|| ours.msm_g2(&p, &s))
                });
                g.bench_with_input(BenchmarkId::new("ours-noglv", log), &log, |b, _| {
                    b.iter(|| ours_noglv.msm_g2(&p, &s))
                });
                halo2curves_bench(&mut g, log, &p, &s, ours.msm_g2(&p, &s));
                let table = fixed_table(&p);
                assert_eq!(table.msm(&s), ArkMsm.msm_g2(&p, &s));
                g.bench_with_input(BenchmarkId::new("fixed", log), &log, |b, _| {
                    b.iter(|| table.msm(&s))
                });
            }
        }
        g.finish();
    }
}

/// halo2curves' `msm_best` on `points` and `scalars` (converted first), after checking that
/// it computes `expected`, our sum.
fn halo2curves_bench<P: h2c::Convert>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    log: u32,
    points: &[Affine<P>],
    scalars: &[prover::msm::BigInt],
    expected: ark_ec::short_weierstrass::Projective<P>,
) {
    let (bases, coeffs) = h2c::inputs(points, scalars);
    let theirs = halo2curves::msm::msm_best(&coeffs, &bases);
    assert!(
        h2c::same(expected, theirs),
        "halo2curves disagrees at 2^{log}"
    );
    g.bench_with_input(BenchmarkId::new("halo2curves", log), &log, |b, _| {
        b.iter(|| halo2curves::msm::msm_best(&coeffs, &bases))
    });
}

/// The same points and scalars as halo2curves' bn256 types (canonical little-endian
/// coordinates; G2's `Fq2` as `c0 + c1·u` in both libraries).
mod h2c {
    use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::{BigInteger, PrimeField};
    use halo2curves::bn256 as hc;
    use halo2curves::group::prime::PrimeCurveAffine;
    use halo2curves::group::Curve;
    use halo2curves::CurveAffine;

    /// A halo2curves prime field element from canonical little-endian bytes.
    fn field<F: halo2curves::ff::PrimeField>(le: &[u8]) -> F {
        let mut repr = F::Repr::default();
        repr.as_mut().copy_from_slice(le);
        F::from_repr(repr).expect("a canonical field element")
    }

    fn fq(x: &ark_bn254::Fq) -> hc::Fq {
        field(&x.into_bigint().to_bytes_le())
    }

    /// A BN254 group whose affine points have a halo2curves counterpart.
    pub trait Convert: SWCurveConfig {
        type Theirs: CurveAffine<ScalarExt = hc::Fr>;
        fn base(x: &Self::BaseField) -> <Self::Theirs as CurveAffine>::Base;

        fn point(p: &Affine<Self>) -> Self::Theirs {
            match p.xy() {
                None => Self::Theirs::identity(),
                Some((x, y)) => Self::Theirs::from_xy(Self::base(&x), Self::base(&y))
                    .expect("a point on the curve"),
            }
        }
    }

    impl Convert for ark_bn254::g1::Config {
        type Theirs = hc::G1Affine;
        fn base(x: &ark_bn254::Fq) -> hc::Fq {
            fq(x)
        }
    }

    impl Convert for ark_bn254::g2::Config {
        type Theirs = hc::G2Affine;
        fn base(x: &ark_bn254::Fq2) -> hc::Fq2 {
            hc::Fq2::new(fq(&x.c0), fq(&x.c1))
        }
    }

    /// `points` and `scalars` as halo2curves takes them.
    pub fn inputs<P: Convert>(
        points: &[Affine<P>],
        scalars: &[prover::msm::BigInt],
    ) -> (Vec<P::Theirs>, Vec<hc::Fr>) {
        (
            points.iter().map(P::point).collect(),
            scalars.iter().map(|s| field(&s.to_bytes_le())).collect(),
        )
    }

    /// Whether our sum and theirs are the same point.
    pub fn same<P: Convert>(
        ours: Projective<P>,
        theirs: <P::Theirs as PrimeCurveAffine>::Curve,
    ) -> bool {
        P::point(&ours.into_affine()) == theirs.to_affine()
    }
}

/// The fixed-base table of `bases` at the chosen width; prints its size and build time.
fn fixed_table<P: prover::msm::glv::GlvCurve<ScalarField = Fr>>(
    bases: &[Affine<P>],
) -> FixedBaseMsm<P> {
    let t = Instant::now();
    let table = FixedBaseMsm::with_window(bases, FixedBaseMsm::<P>::choose_window(bases.len()));
    eprintln!(
        "fixed-base table: {} bases, c = {}, {:.1} MiB, built in {:.2} s",
        bases.len(),
        table.window(),
        table.memory_bytes() as f64 / (1 << 20) as f64,
        t.elapsed().as_secs_f64()
    );
    table
}

/// This process's user + system CPU time in ms (`/proc/self/stat`, 10 ms ticks).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() * 10.0
}

/// CPU milliseconds per call (all threads; robust to a loaded machine, unlike wall time):
/// repeats until 300 ms of CPU time are spent.
fn median_ms<T>(mut f: impl FnMut() -> T) -> f64 {
    let (c0, mut k) = (cpu_ms(), 0u32);
    let wall = Instant::now();
    while cpu_ms() - c0 < 300.0 && wall.elapsed() < Duration::from_secs(20) {
        std::hint::black_box(f());
        k += 1;
    }
    (cpu_ms() - c0) / k as f64
}

/// Window-width sweep: one line per (group, size, glv, accumulation), ms per width.
fn sweep() {
    let widths: Vec<u32> = std::env::var("ZKQ_MSM_WIDTHS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| (8..=16).collect());
    for log in logs() {
        let n = 1usize << log;
        let (p1, s1) = prover::test_util::msm_inputs::<ark_bn254::g1::Config>(n, 1);
        let (p2, s2) = prover::test_util::msm_inputs::<ark_bn254::g2::Config>(n, 2);
        println!(
            "2^{log} ark: g1 {:.1} ms, g2 {:.1} ms; ours auto: g1 {:.1} ms, g2 {:.1} ms",
            median_ms(|| ArkMsm.msm_g1(&p1, &s1)),
            median_ms(|| ArkMsm.msm_g2(&p2, &s2)),
            median_ms(|| PippengerMsm::new().msm_g1(&p1, &s1)),
            median_ms(|| PippengerMsm::new().msm_g2(&p2, &s2)),
        );
        let mut line = format!("2^{log} fixed:");
        for &c in &widths {
            let t1 = FixedBaseMsm::with_window(&p1, c);
            let t2 = FixedBaseMsm::with_window(&p2, c);
            line += &format!(
                " c{c}={:.1}/{:.1}",
                median_ms(|| t1.msm(&s1)),
                median_ms(|| t2.msm(&s2))
            );
        }
        println!("{line}");
        let only_glv_stream = std::env::var_os("ZKQ_MSM_SWEEP_STREAM").is_some();
        for glv in [true, false] {
            for acc in [
                Accumulation::Affine,
                Accumulation::Stream,
                Accumulation::Projective,
            ] {
                if only_glv_stream && !(glv && acc == Accumulation::Stream) {
                    continue;
                }
                let mut line = format!("2^{log} glv={glv} {acc:?}:");
                for &c in &widths {
                    let m = PippengerMsm::new().glv(glv).accumulation(acc).window(c);
                    let t1 = median_ms(|| m.msm_g1(&p1, &s1));
                    let t2 = median_ms(|| m.msm_g2(&p2, &s2));
                    line += &format!(" c{c}={t1:.1}/{t2:.1}");
                }
                println!("{line}");
            }
        }
    }
}

/// One `Fq` multiplication and inversion (module docs): the unit of the cost-per-addition
/// note in BENCHMARKS.md.
fn bench_field(c: &mut Criterion) {
    use ark_bn254::Fq;
    use ark_ff::{Field, UniformRand};
    use std::hint::black_box;
    let mut rng = rand::thread_rng();
    let y = Fq::rand(&mut rng);
    let xs: [Fq; 8] = core::array::from_fn(|_| Fq::rand(&mut rng));
    let mut g = c.benchmark_group("fq");
    g.throughput(Throughput::Elements(1024));
    g.bench_function("mul/latency", |b| {
        b.iter(|| {
            let mut a = black_box(xs[0]);
            for _ in 0..1024 {
                a *= y;
            }
            a
        })
    });
    g.bench_function("mul/throughput", |b| {
        b.iter(|| {
            let mut a = black_box(xs);
            for _ in 0..128 {
                for v in a.iter_mut() {
                    *v *= y;
                }
            }
            a
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("inverse", |b| b.iter(|| black_box(xs[1]).inverse()));
    g.finish();
}

criterion_group!(benches, bench_msm, bench_field);
criterion_main!(benches);
