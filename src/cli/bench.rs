//! `zkquorum bench-backends`: the backend comparison table.
//!
//! Measures, per backend, on the embedded sample statement: circuit size, key setup,
//! proving latency (median of `--samples` runs), `prove_batch` throughput over `--batch`
//! proofs, verification (median), batch verification of the same proofs (per proof), proof
//! size, key sizes, peak memory and the threads proofs ran on (`--threads N`: the Groth16
//! prover's own pool of `N`, and a rayon pool of `N` around the rest, halo2 included; by
//! default `RAYON_NUM_THREADS`, else the available cores). Each backend runs in its own
//! child process so its peak resident memory (`VmHWM`) is its own; the parent prints one
//! Markdown table with both backends side by side. Criterion benches (`cargo bench --bench
//! proofs`) give the statistically careful figures; this command gives the overview.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use circuits::public::Witness;
use circuits::sample;
use circuits::spend::SizeClass;
use circuits::BackendId;
use clap::Args;
use prover::groth16::{Groth16System, ProverPool};
use prover::halo2::Halo2System;
use prover::{CircuitSize, ProofSystem};
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use verifier::StatementVerifier;

/// Which backend(s) to measure: one, or `all` (each in its own process; a CLI-only
/// choice, so it is not a [`BackendId`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    /// One backend.
    One(BackendId),
    /// Both, each in its own process.
    All,
}

impl std::str::FromStr for BackendChoice {
    type Err = circuits::UnknownBackendName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(BackendChoice::All),
            other => other.parse().map(BackendChoice::One),
        }
    }
}

/// Options of `zkquorum bench-backends`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Backend(s) to measure: `groth16`, `halo2` or `all`.
    #[arg(long, default_value = "all")]
    backend: BackendChoice,
    /// Proving and verification runs per median.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    samples: u32,
    /// Proofs in the batch-verification measurement.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    batch: u32,
    /// Print one JSON report instead of the table (used by the parent process).
    #[arg(long, hide = true)]
    json: bool,
    /// Also measure the Bitcoin spend statement for these size classes (2, 16, 256; comma
    /// separated): constraints / `k`, setup, one proof and verification per backend
    /// (`--backend groth16` skips halo2, whose 256 class takes about three minutes). The
    /// 256 class takes minutes and a few GiB.
    #[arg(long, value_delimiter = ',', value_parser = super::parse_spend_class)]
    spend: Vec<SizeClass>,
    /// Threads to prove on: the Groth16 prover's pool (`with_threads`) and a rayon pool of
    /// that size around everything else (halo2 proving, verification). Default:
    /// `RAYON_NUM_THREADS`, else the available cores.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    threads: Option<u32>,
}

/// How `--threads` reaches a backend's prover.
trait Threads: ProofSystem {
    /// The system, proving on `threads` threads from now on.
    fn on_threads(self, threads: usize) -> Self;
    /// The threads its proofs run on.
    fn proving_threads(&self) -> usize;
    /// [`ProofSystem::warm`] (what the first proof would do once: Groth16's fixed-base
    /// tables), so the proofs measured are all alike, reporting what it built.
    fn warm_and_report(&self) {
        self.warm();
    }
}

impl Threads for Groth16System {
    fn on_threads(self, threads: usize) -> Self {
        self.with_threads(threads)
    }

    /// The prover's own pool, whatever the surrounding rayon pool.
    fn proving_threads(&self) -> usize {
        self.threads()
    }

    fn warm_and_report(&self) {
        let t = Instant::now();
        self.warm();
        eprintln!(
            "  fixed-base tables: {:.1} MiB in {:.2} s (once per key, not in the proof times)",
            self.fixed_base_bytes() as f64 / (1 << 20) as f64,
            t.elapsed().as_secs_f64()
        );
    }
}

impl Threads for Halo2System {
    /// halo2 proves on the current rayon pool, which [`run_one`] sizes.
    fn on_threads(self, _threads: usize) -> Self {
        self
    }

    fn proving_threads(&self) -> usize {
        rayon::current_num_threads()
    }
}

/// One backend's figures.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    backend: String,
    size: String,
    setup_ms: f64,
    prove_ms: f64,
    verify_ms: f64,
    batch: u32,
    batch_prove_per_proof_ms: f64,
    batch_verify_per_proof_ms: f64,
    proof_bytes: usize,
    pk_bytes: usize,
    vk_bytes: usize,
    peak_rss_mib: f64,
    threads: usize,
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn measure<S: Threads>(name: &str, args: &BenchArgs) -> Result<Report> {
    let t = Instant::now();
    let mut system = S::setup(&mut OsRng)?;
    let setup_ms = t.elapsed().as_secs_f64() * 1e3;
    if let Some(n) = args.threads {
        system = system.on_threads(n as usize);
    }
    system.warm_and_report();
    let witnesses: Vec<Witness<S::Backend>> = (0..args.batch.max(args.samples) as u64)
        .map(sample::witness)
        .collect();
    let mut prove_times = Vec::new();
    let mut proofs = Vec::new();
    for w in witnesses.iter().take(args.samples as usize) {
        let t = Instant::now();
        proofs.push(system.prove(w, &mut OsRng)?);
        prove_times.push(t.elapsed());
    }
    let mut verify_times = Vec::new();
    for (p, w) in proofs.iter().zip(&witnesses) {
        let t = Instant::now();
        system.verifier().verify(p, &w.public_inputs())?;
        verify_times.push(t.elapsed());
    }
    // The batch: proved in parallel (throughput), then verified as one batch.
    let t = Instant::now();
    let batch: Vec<_> = system
        .prove_batch(&witnesses[..args.batch as usize])
        .into_iter()
        .collect::<Result<_, _>>()?;
    let batch_prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let publics: Vec<_> = witnesses.iter().map(|w| w.public_inputs()).collect();
    let items: Vec<_> = batch.iter().zip(&publics).collect();
    let mut batch_times = Vec::new();
    for _ in 0..args.samples.min(5) {
        let t = Instant::now();
        system.verifier().verify_batch(&items)?;
        batch_times.push(t.elapsed());
    }
    let (pk_bytes, vk_bytes) = system.key_sizes();
    let size = match system.circuit_size() {
        CircuitSize::Constraints(c) => format!("{c} R1CS constraints"),
        CircuitSize::Rows { used, k } => format!("{used} rows (k = {k})"),
    };
    Ok(Report {
        backend: name.into(),
        size,
        setup_ms,
        prove_ms: median(prove_times),
        verify_ms: median(verify_times),
        batch: args.batch,
        batch_prove_per_proof_ms: batch_prove_ms / f64::from(args.batch),
        batch_verify_per_proof_ms: median(batch_times) / f64::from(args.batch),
        proof_bytes: proofs[0].proof.len(),
        pk_bytes,
        vk_bytes,
        peak_rss_mib: peak_rss_mib(),
        threads: system.proving_threads(),
    })
}

/// Peak resident set size of this process (Linux `VmHWM`), 0 where unavailable.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn run_one(backend: BackendChoice, args: &BenchArgs) -> Result<Report> {
    in_pool(args.threads, || match backend {
        BackendChoice::One(BackendId::Groth16Bn254) => {
            measure::<Groth16System>("Groth16 / BN254", args)
        }
        BackendChoice::One(BackendId::Halo2Pasta) => {
            measure::<Halo2System>("halo2 / IPA (Pasta)", args)
        }
        BackendChoice::All => bail!("run_one takes a single backend"),
    })
}

/// Runs `f` on a rayon pool of `threads` threads (the global pool when `None`).
fn in_pool<T: Send>(threads: Option<u32>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build()
            .with_context(|| format!("starting a pool of {n} threads"))?
            .install(f),
        None => f(),
    }
}

fn child(backend: &str, args: &BenchArgs) -> Result<Report> {
    let exe = std::env::current_exe().context("locating the zkquorum binary")?;
    let out = Command::new(exe)
        .args(["bench-backends", "--json", "--backend", backend])
        .args(["--samples", &args.samples.to_string()])
        .args(["--batch", &args.batch.to_string()])
        .args(
            args.threads
                .iter()
                .flat_map(|n| ["--threads".to_string(), n.to_string()]),
        )
        .output()
        .context("running the measurement process")?;
    if !out.status.success() {
        bail!(
            "measuring {backend} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("reading the measurement report")
}

/// How one table row renders a report.
type Cell = fn(&Report) -> String;

fn table(reports: &[Report]) -> String {
    let mut s = String::from("| | ");
    s += &reports
        .iter()
        .map(|r| r.backend.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    s += " |\n|---|";
    s += &"---|".repeat(reports.len());
    s += "\n";
    let rows: [(&str, Cell); 11] = [
        ("circuit", |r| r.size.clone()),
        ("setup", |r| format!("{:.0} ms", r.setup_ms)),
        ("prove (median)", |r| format!("{:.1} ms", r.prove_ms)),
        ("prove_batch, per proof", |r| {
            format!(
                "{:.1} ms ({:.1} proofs/s, batch of {})",
                r.batch_prove_per_proof_ms,
                1e3 / r.batch_prove_per_proof_ms,
                r.batch
            )
        }),
        ("verify (median)", |r| format!("{:.2} ms", r.verify_ms)),
        ("batch verify, per proof", |r| {
            format!(
                "{:.2} ms (batch of {})",
                r.batch_verify_per_proof_ms, r.batch
            )
        }),
        ("proof size", |r| format!("{} B", r.proof_bytes)),
        ("proving key", |r| {
            format!("{:.1} KiB", r.pk_bytes as f64 / 1024.0)
        }),
        ("verifying key", |r| {
            format!("{:.1} KiB", r.vk_bytes as f64 / 1024.0)
        }),
        ("peak memory (RSS)", |r| {
            format!("{:.0} MiB", r.peak_rss_mib)
        }),
        ("threads", |r| r.threads.to_string()),
    ];
    for (name, f) in rows {
        s += &format!("| {name} | ");
        s += &reports.iter().map(f).collect::<Vec<_>>().join(" | ");
        s += " |\n";
    }
    s
}

/// Runs the comparison and prints the table (or one JSON report with `--json`).
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.json {
        let report = run_one(args.backend, args)?;
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let backends: &[BackendId] = match &args.backend {
        BackendChoice::One(b) => std::slice::from_ref(b),
        BackendChoice::All => &[BackendId::Groth16Bn254, BackendId::Halo2Pasta],
    };
    let mut reports = Vec::new();
    for b in backends {
        eprintln!(
            "measuring {} ({} samples, batch of {}) …",
            b.short_name(),
            args.samples,
            args.batch
        );
        reports.push(child(b.short_name(), args)?);
    }
    println!("{}", table(&reports));
    if !args.spend.is_empty() {
        println!(
            "{}",
            in_pool(args.threads, || spend_table(&args.spend, args))?
        );
    }
    Ok(())
}

/// One proof of `class`'s sample spend with `keys` and the median of `samples`
/// verifications of it (ms): the figures both backends report.
fn prove_and_verify<Q: prover::spend::SpendProver>(
    keys: &Q,
    class: SizeClass,
    samples: u32,
) -> Result<(Duration, f64)> {
    let w = sample::spend::witness::<Q::Backend>(class, 1);
    let t = Instant::now();
    let env = keys.prove(&w, &mut OsRng)?;
    let prove = t.elapsed();
    let public = w.public_inputs();
    let verify = median(
        (0..samples)
            .map(|_| {
                let t = Instant::now();
                verifier::SpendVerifier::verify(keys.verifier(), &env, &public).map(|_| t.elapsed())
            })
            .collect::<Result<Vec<_>, _>>()?,
    );
    Ok((prove, verify))
}

/// halo2's spend figures for `class`: setup, one proof, verification (median of
/// `samples`, ms).
fn halo2_spend(class: SizeClass, samples: u32) -> Result<(Duration, Duration, f64)> {
    let t = Instant::now();
    let h = prover::spend::Halo2Spend::setup(class)?;
    let setup = t.elapsed();
    let (prove, verify) = prove_and_verify(&h, class, samples)?;
    Ok((setup, prove, verify))
}

/// The spend statement per class: sizes, setup, one proof, verification (median of
/// `--samples`), on both backends, in this process (on `--threads` threads, see [`run`]).
fn spend_table(classes: &[SizeClass], args: &BenchArgs) -> Result<String> {
    use prover::spend::{Groth16Spend, SpendProver};
    let samples = args.samples;
    let groth16_threads = args
        .threads
        .map_or_else(ProverPool::default_threads, |n| n as usize);
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let ms = |f: f64| format!("{f:.2} ms");
    let mut s = String::from(
        "| spend class | Groth16 constraints | setup | prove | verify | halo2 k | setup | prove | verify |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for &class in classes {
        eprintln!(
            "measuring the {class}-output spend class (Groth16 on {groth16_threads} threads, \
             halo2 on {}) …",
            rayon::current_num_threads()
        );
        let t = Instant::now();
        let mut g = Groth16Spend::setup(class, &mut OsRng)?;
        let g_setup = t.elapsed();
        if let Some(n) = args.threads {
            g = g.with_threads(n as usize);
        }
        let t = Instant::now();
        g.warm();
        eprintln!(
            "  {class}-output fixed-base tables: {:.1} MiB in {:.2} s (not in the proof time)",
            g.fixed_base_bytes() as f64 / (1 << 20) as f64,
            t.elapsed().as_secs_f64()
        );
        let (g_prove, g_verify) = prove_and_verify(&g, class, samples)?;
        let constraints = match g.circuit_size() {
            CircuitSize::Constraints(n) => n,
            CircuitSize::Rows { used, .. } => used,
        };
        drop(g);
        let halo2 = match args.backend {
            BackendChoice::One(BackendId::Groth16Bn254) => None,
            _ => Some(halo2_spend(class, samples)?),
        };
        let (k, h_setup, h_prove, h_verify) = match halo2 {
            Some((setup, prove, verify)) => (
                circuits::pasta::SpendCircuit::k(class).to_string(),
                secs(setup),
                secs(prove),
                ms(verify),
            ),
            None => Default::default(),
        };
        s += &format!(
            "| {class} outputs | {constraints} | {} | {} | {} | {k} | {h_setup} | {h_prove} | {h_verify} |\n",
            secs(g_setup),
            secs(g_prove),
            ms(g_verify),
        );
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn threads(args: &[&str]) -> Result<Option<u32>, String> {
        let argv = ["zkquorum", "bench-backends"].iter().chain(args);
        match Cli::try_parse_from(argv)
            .map_err(|e| e.to_string())?
            .command
        {
            Command::BenchBackends(a) => Ok(a.threads),
            _ => Err("parsed as another command".into()),
        }
    }

    #[test]
    fn threads_is_optional_and_at_least_one() {
        assert_eq!(threads(&[]), Ok(None));
        assert_eq!(threads(&["--threads", "2"]), Ok(Some(2)));
        for bad in ["0", "-1", "two", "1025"] {
            let err = threads(&[&format!("--threads={bad}")]).unwrap_err();
            assert!(
                err.contains("invalid value") && err.contains("--threads"),
                "{bad}: {err}"
            );
        }
        assert!(threads(&["--threads", "0"])
            .unwrap_err()
            .contains("0 is not in 1..=1024"));
    }
}
