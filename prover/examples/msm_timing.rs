//! Quick wall-clock comparison of the variable-base and fixed-base MSMs (a development aid;
//! the criterion figures come from `benches/msm.rs`):
//! `cargo run -p prover --release --example msm_timing -- 12 14 16`.

use std::time::Instant;

use ark_bn254::Fr;
use prover::msm::glv::GlvCurve;
use prover::msm::{FixedBaseMsm, PippengerMsm};

/// Median wall-clock milliseconds of `reps` calls.
fn median_ms<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            std::hint::black_box(f());
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[reps / 2]
}

fn run<P: GlvCurve<ScalarField = Fr>>(name: &str, log: u32, widths: &[u32]) {
    let n = 1usize << log;
    let (p, s) = prover::test_util::msm_inputs::<P>(n, n as u64);
    let reps = if log >= 16 { 5 } else { 9 };
    let var = median_ms(reps, || PippengerMsm::new().msm::<P>(&p, &s));
    let mut line = format!("{name} 2^{log}: variable {var:.1} ms;");
    let auto = FixedBaseMsm::<P>::choose_window(n);
    for &c in std::iter::once(&auto).chain(widths) {
        let t = Instant::now();
        let table = FixedBaseMsm::with_window(&p, c);
        let build = t.elapsed().as_secs_f64();
        assert_eq!(table.msm(&s), PippengerMsm::new().msm::<P>(&p, &s));
        let f = median_ms(reps, || table.msm(&s));
        line += &format!(
            " fixed c{c} {f:.1} ms ({:.2}x, {:.0} MiB, build {build:.1} s);",
            f / var,
            table.memory_bytes() as f64 / (1 << 20) as f64
        );
    }
    println!("{line}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let widths: Vec<u32> = std::env::var("WIDTHS")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    if args.first().map(String::as_str) == Some("prove") {
        prove();
        return;
    }
    for a in &args {
        let log: u32 = a.parse().expect("log2 size");
        run::<ark_bn254::g1::Config>("G1", log, &widths);
        if std::env::var_os("G2").is_some() {
            run::<ark_bn254::g2::Config>("G2", log, &widths);
        }
    }
}

/// The v1 intent proof with and without fixed-base tables (same proving key).
fn prove() {
    use prover::groth16::{Groth16System, TablePlan};
    use prover::msm::TableBudget;
    use prover::ProofSystem;
    let pk = prover::test_util::groth16().proving_key().clone();
    let w = circuits::sample::witness(1);
    let variable =
        Groth16System::from_proving_key(pk.clone(), TablePlan::Now(&TableBudget::new(0))).unwrap();
    let t = Instant::now();
    let fixed =
        Groth16System::from_proving_key(pk, TablePlan::Now(&TableBudget::new(1 << 30))).unwrap();
    let build = t.elapsed().as_secs_f64();
    for _ in 0..3 {
        let v = median_ms(9, || variable.prove(&w, &mut rand::rngs::OsRng).unwrap());
        let f = median_ms(9, || fixed.prove(&w, &mut rand::rngs::OsRng).unwrap());
        println!(
            "intent prove: variable {v:.1} ms, fixed {f:.1} ms ({:.2}x; tables {:.1} MiB, built in {build:.1} s)",
            f / v,
            fixed.fixed_base_bytes() as f64 / (1 << 20) as f64
        );
    }
}
