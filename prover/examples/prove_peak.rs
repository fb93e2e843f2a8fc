//! Peak memory of one Groth16 prove on a synthetic circuit of `2^N` constraints
//! (`prover::test_util::SyntheticCircuit`; a development aid for the per-size memory figures,
//! which criterion cannot give as it runs every benchmark in one process):
//!
//! ```sh
//! cargo run --release -p prover --example prove_peak -- --log 16 --mode fixed
//! ```
//!
//! `--mode stock` proves with `ark_groth16::Groth16::<Bn254>::prove`, `variable` with our
//! `Groth16Prover` without fixed-base tables, `fixed` with ours and tables within a 2 GiB
//! budget (as `benches/prover.rs`). It generates keys, builds the prover (and its tables),
//! proves once, checks the proof, and prints the prove's wall time and the process's peak
//! resident set size (`VmHWM` in `/proc/self/status`) before and after proving. Key
//! generation peaks higher than proving, so before proving the peak is reset (`5` written to
//! `/proc/self/clear_refs`, Linux 4.0 on): the peak after proving is then the prove's own,
//! and its excess over the resident size at the start is what proving adds. Threads:
//! `RAYON_NUM_THREADS`, else the available cores (ours and stock alike). Linux only.

use std::process::ExitCode;
use std::time::Instant;

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::Groth16;
use ark_snark::SNARK;
use prover::groth16::{Groth16Prover, TablePlan};
use prover::msm::TableBudget;
use prover::test_util::SyntheticCircuit;
use rand::rngs::OsRng;

/// `ours_fixed`'s table budget in `benches/prover.rs`.
const FIXED_BUDGET: usize = 2 << 30;

const USAGE: &str = "usage: prove_peak --log N --mode stock|variable|fixed  (N in 3..=22)";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Stock,
    Variable,
    Fixed,
}

impl Mode {
    /// As `--mode` spells it.
    fn name(self) -> &'static str {
        match self {
            Mode::Stock => "stock",
            Mode::Variable => "variable",
            Mode::Fixed => "fixed",
        }
    }
}

/// What proves: stock ark-groth16 with its key, or ours (holding the key).
enum Prover {
    Stock(Box<ark_groth16::ProvingKey<Bn254>>),
    Ours(Box<Groth16Prover>),
}

fn parse(args: &[String]) -> Result<(u32, Mode), String> {
    let (mut log, mut mode) = (None, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--log" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| format!("--log {value}: not a number"))?;
                // 2^3 is the least domain with room for the inputs; 2^22 keys alone take GiBs.
                if !(3..=22).contains(&n) {
                    return Err(format!("--log {n}: out of 3..=22"));
                }
                log = Some(n);
            }
            "--mode" => {
                mode = Some(match value.as_str() {
                    "stock" => Mode::Stock,
                    "variable" => Mode::Variable,
                    "fixed" => Mode::Fixed,
                    other => return Err(format!("--mode {other}: stock, variable or fixed")),
                })
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((
        log.ok_or("--log is required")?,
        mode.ok_or("--mode is required")?,
    ))
}

/// A `kB` field of `/proc/self/status` (`VmHWM`, `VmRSS`), in MiB.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "unavailable".into(), |m| format!("{m:.0} MiB"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (log, mode) = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("prove_peak: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let n = SyntheticCircuit::constraints_for_domain(log);
    let t = Instant::now();
    let (pk, vk) =
        match Groth16::<Bn254>::circuit_specific_setup(SyntheticCircuit::blank(n), &mut OsRng) {
            Ok(keys) => keys,
            Err(e) => {
                eprintln!("prove_peak: key generation failed: {e}");
                return ExitCode::FAILURE;
            }
        };
    println!(
        "2^{log}: {n} constraints, mode {}, keys generated in {:.1} s",
        mode.name(),
        t.elapsed().as_secs_f64()
    );
    // The key moves into our prover, so a run holds one copy of it, as stock proving does.
    let prover = match mode {
        Mode::Stock => Prover::Stock(Box::new(pk)),
        Mode::Variable | Mode::Fixed => {
            let budget = if mode == Mode::Fixed { FIXED_BUDGET } else { 0 };
            let t = Instant::now();
            let prover = match Groth16Prover::new(
                pk,
                SyntheticCircuit::blank(n),
                TablePlan::Now(&TableBudget::new(budget)),
            ) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("prove_peak: building the prover failed: {e}");
                    return ExitCode::FAILURE;
                }
            };
            println!(
                "prover: {} threads, fixed_base_bytes {} ({:.1} MiB), built in {:.1} s",
                prover.threads(),
                prover.fixed_base_bytes(),
                prover.fixed_base_bytes() as f64 / (1 << 20) as f64,
                t.elapsed().as_secs_f64()
            );
            Prover::Ours(Box::new(prover))
        }
    };
    let inputs = [0u8; SyntheticCircuit::INPUTS].map(|_| Fr::rand(&mut OsRng));
    let circuit = SyntheticCircuit::new(n, inputs);
    let public = circuit.public_inputs();

    let hwm_setup = status_mib("VmHWM:");
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_start = status_mib("VmRSS:");
    let t = Instant::now();
    let proof = match &prover {
        Prover::Ours(prover) => prover.prove(circuit, &mut OsRng).map_err(|e| e.to_string()),
        Prover::Stock(pk) => {
            Groth16::<Bn254>::prove(pk, circuit, &mut OsRng).map_err(|e| e.to_string())
        }
    };
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let hwm_prove = status_mib("VmHWM:");
    let proof = match proof {
        Ok(p) => p,
        Err(e) => {
            eprintln!("prove_peak: proving failed: {e}");
            return ExitCode::FAILURE;
        }
    };

    println!("prove: {prove_ms:.1} ms");
    println!(
        "peak RSS before proving (key generation, prover): {}",
        mib(hwm_setup)
    );
    if reset {
        println!("resident at the start of the prove: {}", mib(rss_start));
        println!(
            "peak RSS after proving (since the reset): {}; proving adds {}",
            mib(hwm_prove),
            mib(hwm_prove.zip(rss_start).map(|(h, r)| h - r))
        );
    } else {
        // Without the reset the peak may still be key generation's.
        println!(
            "peak RSS after proving: {} (the peak could not be reset: it includes key generation)",
            mib(hwm_prove)
        );
    }

    let pvk = ark_groth16::prepare_verifying_key(&vk);
    match Groth16::<Bn254>::verify_with_processed_vk(&pvk, &public, &proof) {
        Ok(true) => {
            println!("proof verifies");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("prove_peak: the proof does not verify ({other:?})");
            ExitCode::FAILURE
        }
    }
}
