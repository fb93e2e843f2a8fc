//! Groth16 over BN254 (arkworks 0.6), with a prover that beats stock `Groth16::prove`.
//!
//! Stock arkworks proving re-synthesizes the whole constraint system with matrices and
//! inlines every linear combination for each proof; for this circuit that is most of the
//! proving time. Here the R1CS matrices are built once, when keys are made or loaded, and
//! each proof only computes the witness (`construct_matrices: false`, ~2 ms), checks it
//! against the cached matrices (so an unsatisfied witness is refused instead of producing a
//! proof that cannot verify), runs ark-groth16's QAP witness map, and composes the proof with
//! the same formulas as ark-groth16's prover — but with sparse MSMs: the indices of the
//! non-identity points of each query are found once per key, and each MSM only takes the
//! pairs whose point is not the identity and whose scalar is not zero. 39% of the G2 query
//! (variables that never appear in `B`) and ~10% of every assignment (zero bits) drop out.
//! The MSMs are ours ([`crate::msm::PippengerMsm`]: GLV, signed digits, batch-affine
//! Pippenger), on the caller's rayon pool; ark-ec's stays the cross-check in the tests.
//! When keys are made or loaded, each query (its non-identity points) also gets a fixed-base
//! table ([`crate::msm::FixedBaseMsm`]: one bucket pass instead of one per window; ~0.8–0.9×
//! the variable-base time from 2^12 to 2^18 points) while the process-wide
//! [`TableBudget::global`] allows (default 512 MiB, `ZKQ_FIXED_BASE_MB`); a query without a
//! table takes the variable-base path. Both compute the same sums, so a proof does not
//! depend on which ran.
//! Tests check every proof with ark-groth16's verifier.
//!
//! *Threads.* Each prover owns one rayon pool ([`ProverPool`]) of an explicit size
//! ([`Groth16System::with_threads`]; by default `RAYON_NUM_THREADS`, else the available
//! cores), and runs all of a proof on it: witness synthesis, the satisfiability check,
//! ark-poly's FFTs in the QAP witness map (rayon's `par_iter`s run on the pool they are called
//! from) and the MSMs (ours, on the current pool; no ark-ec MSM is on this path, so none of
//! ark-ec's internal pools). The five MSMs run concurrently (`rayon::join`). A batch of at
//! least as many proofs as threads is proved one proof per thread, each on a single-threaded
//! pool of its own, so the inner work does not split and throughput scales with threads; the
//! remainder (fewer proofs than threads) shares the prover's pool.
//!
//! Setup is circuit-specific: whoever runs [`ProofSystem::setup`] learns the toxic waste and
//! could forge proofs, so Groth16 keys are trusted exactly as much as their generator (a
//! multi-party setup is a later feature). Keys are stored compressed; the verifying key is
//! fully validated on load, the proving key is checked by its blake3 checksum (a corrupted
//! proving key can only make the prover's own proofs fail, never make a bad proof verify).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ark_bn254::{g1, g2, Bn254, Fr, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{PrimeField, UniformRand, Zero};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_groth16::{Groth16, Proof, ProvingKey};
use ark_poly::GeneralEvaluationDomain;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use circuits::bn254::{Bn254 as Bn254Backend, PolicyCircuit};
use circuits::public::Witness;
use circuits::BackendId;
use rand::rngs::OsRng;
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use verifier::groth16::{encode_proof, Groth16VerifyingKey};
use verifier::keys::{
    Manifest, GROTH16_NAME as NAME, GROTH16_PK_FILE as PK_FILE, GROTH16_VK_FILE as VK_FILE,
};
use verifier::ProofEnvelope;

use crate::error::{KeyStoreError, ProveError};
use crate::keystore;
use crate::msm::glv::GlvCurve;
use crate::msm::{FixedBaseMsm, MsmBackend, PippengerMsm, TableBudget};
use crate::{CircuitSize, ProofSystem};

/// Groth16/BN254 keys for the v1 statement.
pub struct Groth16System {
    keys: Groth16Keys,
}

/// A statement's keys: its prover and the verifying key its proofs name.
/// [`Groth16System`] is the intent statement's; [`crate::spend::Groth16Spend`] a spend
/// class's.
pub(crate) struct Groth16Keys {
    prover: Groth16Prover,
    vk: Groth16VerifyingKey,
}

/// Our Groth16 prover for one R1CS circuit (any circuit: the statements', the benchmarks'
/// synthetic ones): its proving key, its R1CS matrices (synthesized once), the non-identity
/// indices of the key's queries, their fixed-base tables and its thread pool.
pub struct Groth16Prover {
    pk: ProvingKey<Bn254>,
    r1cs: R1cs,
    sparse: SparseQueries,
    /// Built at construction ([`TablePlan::Now`]) or by the first proof.
    tables: OnceLock<FixedTables>,
    pool: ProverPool,
}

/// When a prover builds its fixed-base tables.
#[derive(Clone, Copy, Debug)]
pub enum TablePlan<'a> {
    /// At construction, within this budget (benchmarks, tests).
    Now(&'a TableBudget),
    /// At the first proof, within [`TableBudget::global`]: loading keys stays cheap, and a
    /// process that only verifies (a coordinator, an auditor) never holds tables.
    OnFirstProof,
}

/// The rayon pool a prover runs its proofs on, and its thread count.
#[derive(Clone, Debug)]
pub struct ProverPool {
    pool: Arc<ThreadPool>,
    threads: usize,
}

impl ProverPool {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let pool = ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("groth16-prover-{i}"))
            .build()
            .expect("build the prover's thread pool");
        Self {
            pool: Arc::new(pool),
            threads,
        }
    }

    /// The default thread count: `RAYON_NUM_THREADS` if set to a positive number (as rayon's
    /// global pool reads it), else the available cores.
    pub fn default_threads() -> usize {
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// The pool's thread count.
    pub fn threads(&self) -> usize {
        self.threads
    }
}

impl Default for ProverPool {
    fn default() -> Self {
        Self::new(Self::default_threads())
    }
}

/// Fixed-base tables of the queries' non-identity points (in [`SparseQueries`] order), each
/// present if it fitted in the budget when the keys were built.
#[derive(Default)]
struct FixedTables {
    h: Option<FixedBaseMsm<g1::Config>>,
    a: Option<FixedBaseMsm<g1::Config>>,
    b_g1: Option<FixedBaseMsm<g1::Config>>,
    l: Option<FixedBaseMsm<g1::Config>>,
    b_g2: Option<FixedBaseMsm<g2::Config>>,
}

impl FixedTables {
    /// Tables in order of the work they save per byte (the dense `h` query first; G2 last,
    /// its points twice the bytes), each while `budget` has room.
    fn build(pk: &ProvingKey<Bn254>, q: &SparseQueries, budget: &TableBudget) -> Self {
        fn pick<G: Copy>(query: &[G], indices: &[usize]) -> Vec<G> {
            indices.iter().map(|&i| query[i]).collect()
        }
        Self {
            h: FixedBaseMsm::within_budget(&pk.h_query, budget),
            a: FixedBaseMsm::within_budget(&pick(&pk.a_query, &q.a), budget),
            b_g1: FixedBaseMsm::within_budget(&pick(&pk.b_g1_query, &q.b_g1), budget),
            l: FixedBaseMsm::within_budget(&pick(&pk.l_query, &q.l), budget),
            b_g2: FixedBaseMsm::within_budget(&pick(&pk.b_g2_query, &q.b_g2), budget),
        }
    }

    /// Bytes held by the tables.
    fn bytes(&self) -> usize {
        [&self.h, &self.a, &self.b_g1, &self.l]
            .iter()
            .filter_map(|t| t.as_ref().map(|t| t.memory_bytes()))
            .sum::<usize>()
            + self.b_g2.as_ref().map_or(0, |t| t.memory_bytes())
    }
}

/// For each variable-indexed query of the proving key, the indices whose point is not the
/// identity (variables absent from a matrix have identity points).
struct SparseQueries {
    a: Vec<usize>,
    b_g1: Vec<usize>,
    b_g2: Vec<usize>,
    l: Vec<usize>,
}

impl SparseQueries {
    fn new(pk: &ProvingKey<Bn254>) -> Self {
        fn nonzero<G: AffineRepr>(q: &[G]) -> Vec<usize> {
            (0..q.len()).filter(|&i| !q[i].is_zero()).collect()
        }
        Self {
            a: nonzero(&pk.a_query),
            b_g1: nonzero(&pk.b_g1_query),
            b_g2: nonzero(&pk.b_g2_query),
            l: nonzero(&pk.l_query),
        }
    }
}

/// `Σ scalars[i]·bases[i]` over the precomputed non-identity `indices`, skipping zero scalars
/// ([`PippengerMsm`], ours: ~0.7x ark-ec's time on G1 and G2 from 2^10 to 2^16 points).
fn sparse_msm<P: GlvCurve<ScalarField = Fr>>(
    bases: &[Affine<P>],
    scalars: &[Fr],
    indices: &[usize],
) -> Projective<P> {
    let (b, s): (Vec<Affine<P>>, Vec<<Fr as PrimeField>::BigInt>) = indices
        .iter()
        .filter(|&&i| !scalars[i].is_zero())
        .map(|&i| (bases[i], scalars[i].into_bigint()))
        .unzip();
    PippengerMsm::new().msm::<P>(&b, &s)
}

/// A query's MSM: through its fixed-base table if it has one (scalars gathered in the table's
/// order, zeros skipped inside), else [`sparse_msm`].
fn query_msm<P: GlvCurve<ScalarField = Fr>>(
    table: Option<&FixedBaseMsm<P>>,
    bases: &[Affine<P>],
    scalars: &[Fr],
    indices: &[usize],
) -> Projective<P> {
    match table {
        Some(t) => {
            let s: Vec<_> = indices.iter().map(|&i| scalars[i].into_bigint()).collect();
            t.msm(&s)
        }
        None => sparse_msm(bases, scalars, indices),
    }
}

/// The circuit's R1CS matrices, synthesized once exactly as the Groth16 generator does.
struct R1cs {
    /// `[A, B, C]`, one row per constraint, `(coefficient, variable index)` entries.
    matrices: Vec<Matrix<Fr>>,
    /// Instance variables including the constant one.
    num_inputs: usize,
    num_witnesses: usize,
    num_constraints: usize,
}

impl R1cs {
    fn synthesize(blank: impl ConstraintSynthesizer<Fr>) -> Result<Self, ProveError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        blank
            .generate_constraints(cs.clone())
            .map_err(backend_err)?;
        cs.finalize();
        let mut all = cs.to_matrices().map_err(backend_err)?;
        let matrices = all
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or_else(|| backend_err("circuit has no R1CS constraints"))?;
        if matrices.len() != 3 || all.values().any(|m| m.iter().any(|x| !x.is_empty())) {
            return Err(backend_err("circuit is not plain R1CS"));
        }
        Ok(Self {
            matrices,
            num_inputs: cs.num_instance_variables(),
            num_witnesses: cs.num_witness_variables(),
            num_constraints: cs.num_constraints(),
        })
    }

    /// The full assignment `[1, inputs.., witnesses..]`, computed without building matrices.
    fn assign(&self, circuit: impl ConstraintSynthesizer<Fr>) -> Result<Vec<Fr>, ProveError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        circuit
            .generate_constraints(cs.clone())
            .map_err(backend_err)?;
        let cs = cs
            .into_inner()
            .ok_or_else(|| backend_err("constraint system still shared"))?;
        let mut z = cs.instance_assignment().map_err(backend_err)?.to_vec();
        z.extend_from_slice(cs.witness_assignment().map_err(backend_err)?);
        if z.len() != self.num_inputs + self.num_witnesses {
            return Err(backend_err(format!(
                "assignment has {} variables, the key's circuit {}",
                z.len(),
                self.num_inputs + self.num_witnesses
            )));
        }
        Ok(z)
    }

    /// The QAP quotient's coefficients for the assignment `z` (ark-groth16's witness map).
    fn witness_map(&self, z: &[Fr]) -> Result<Vec<Fr>, ProveError> {
        LibsnarkReduction::witness_map_from_matrices::<Fr, GeneralEvaluationDomain<Fr>>(
            &self.matrices,
            self.num_inputs,
            self.num_constraints,
            z,
        )
        .map_err(backend_err)
    }

    /// `⟨A_i,z⟩·⟨B_i,z⟩ = ⟨C_i,z⟩` for every constraint `i`.
    fn is_satisfied(&self, z: &[Fr]) -> bool {
        let row = |m: &Matrix<Fr>, i: usize| -> Fr { m[i].iter().map(|(c, j)| *c * z[*j]).sum() };
        let (a, b, c) = (&self.matrices[0], &self.matrices[1], &self.matrices[2]);
        (0..self.num_constraints)
            .into_par_iter()
            .all(|i| row(a, i) * row(b, i) == row(c, i))
    }
}

fn backend_err(e: impl ToString) -> ProveError {
    ProveError::Backend {
        backend: "groth16",
        reason: e.to_string(),
    }
}

impl Groth16Keys {
    /// The keys for `pk`, a key for the circuit `blank` (the circuit without witness) whose
    /// verifying key `vk` wraps, with fixed-base tables built as `tables` says.
    pub(crate) fn new(
        pk: ProvingKey<Bn254>,
        vk: Groth16VerifyingKey,
        blank: impl ConstraintSynthesizer<Fr>,
        tables: TablePlan<'_>,
    ) -> Result<Self, ProveError> {
        Ok(Self {
            prover: Groth16Prover::new(pk, blank, tables)?,
            vk,
        })
    }

    /// The keys whose proving key is `file` in `dir` (read through `manifest`, so its
    /// checksum is checked), for the verifying key `vk` already loaded: the proving key must
    /// embed `vk` and fit the circuit `blank`. Tables are built at the first proof.
    pub(crate) fn load(
        dir: &Path,
        manifest: &Manifest,
        file: &str,
        vk: Groth16VerifyingKey,
        blank: impl ConstraintSynthesizer<Fr>,
    ) -> Result<Self, KeyStoreError> {
        let malformed = |reason: String| KeyStoreError::Malformed {
            path: dir.join(file),
            reason,
        };
        let pk_bytes = manifest.read_file(dir, file)?;
        let pk = ProvingKey::<Bn254>::deserialize_with_mode(
            pk_bytes.as_slice(),
            Compress::Yes,
            Validate::No,
        )
        .map_err(|e| malformed(e.to_string()))?;
        if pk.vk != *vk.key() {
            return Err(malformed(
                "proving key embeds a different verifying key".into(),
            ));
        }
        Self::new(pk, vk, blank, TablePlan::OnFirstProof).map_err(|e| malformed(e.to_string()))
    }

    /// Runs proofs on `pool` from now on.
    pub(crate) fn set_pool(&mut self, pool: ProverPool) {
        self.prover.pool = pool;
    }

    /// The pool proofs run on.
    pub(crate) fn pool(&self) -> &ProverPool {
        &self.prover.pool
    }

    /// Builds the fixed-base tables now if they are not yet ([`Groth16Prover::warm`]).
    pub(crate) fn warm(&self) {
        self.prover.warm();
    }

    /// Bytes of fixed-base tables these keys hold (0 when none fitted the budget).
    pub(crate) fn table_bytes(&self) -> usize {
        self.prover.fixed_base_bytes()
    }

    fn envelope(&self, proof: Proof<Bn254>) -> ProofEnvelope {
        ProofEnvelope {
            backend: BackendId::Groth16Bn254,
            vk_fingerprint: self.vk.fingerprint(),
            proof: encode_proof(&proof),
        }
    }

    /// [`Groth16Prover::prove`], as an envelope naming the verifying key.
    pub(crate) fn prove_circuit<R: RngCore + CryptoRng>(
        &self,
        circuit: impl ConstraintSynthesizer<Fr> + Send,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        Ok(self.envelope(self.prover.prove(circuit, rng)?))
    }

    /// [`Groth16Prover::prove_batch_with`], as envelopes.
    pub(crate) fn prove_batch_with<C: ConstraintSynthesizer<Fr> + Send>(
        &self,
        count: usize,
        make: impl Fn(usize) -> C + Sync,
    ) -> Vec<Result<ProofEnvelope, ProveError>> {
        self.prover
            .prove_batch_with(count, make)
            .into_iter()
            .map(|p| p.map(|p| self.envelope(p)))
            .collect()
    }

    pub(crate) fn proving_key(&self) -> &ProvingKey<Bn254> {
        self.prover.proving_key()
    }

    pub(crate) fn verifying_key(&self) -> &Groth16VerifyingKey {
        &self.vk
    }

    pub(crate) fn num_constraints(&self) -> usize {
        self.prover.num_constraints()
    }
}

impl Groth16Prover {
    /// The prover for `pk`, a key for the circuit `blank` (the circuit without witness; only
    /// its shape is used), with fixed-base tables built as `tables` says, on a pool of
    /// [`ProverPool::default_threads`] threads.
    pub fn new(
        pk: ProvingKey<Bn254>,
        blank: impl ConstraintSynthesizer<Fr>,
        tables: TablePlan<'_>,
    ) -> Result<Self, ProveError> {
        let r1cs = R1cs::synthesize(blank)?;
        // The key's query vectors are sized by the circuit it was made for.
        if pk.a_query.len() != r1cs.num_inputs + r1cs.num_witnesses {
            return Err(backend_err(format!(
                "proving key is for a circuit with {} variables, this one has {}",
                pk.a_query.len(),
                r1cs.num_inputs + r1cs.num_witnesses
            )));
        }
        let sparse = SparseQueries::new(&pk);
        let prover = Self {
            pk,
            r1cs,
            sparse,
            tables: OnceLock::new(),
            pool: ProverPool::default(),
        };
        if let TablePlan::Now(budget) = tables {
            prover.tables_within(budget);
        }
        Ok(prover)
    }

    /// The tables, built within `budget` if they are not yet (on the prover's pool: building
    /// is the heaviest part of making a prover).
    fn tables_within(&self, budget: &TableBudget) -> &FixedTables {
        self.tables.get_or_init(|| {
            self.pool
                .pool
                .install(|| FixedTables::build(&self.pk, &self.sparse, budget))
        })
    }

    /// Builds the tables now if the plan was [`TablePlan::OnFirstProof`] (a node warms its
    /// prover before its first session with it).
    pub fn warm(&self) {
        self.tables_within(TableBudget::global());
    }

    /// Runs proofs on a pool of `threads` threads from now on.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.pool = ProverPool::new(threads);
        self
    }

    /// Threads proofs run on.
    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// Bytes of fixed-base tables this prover holds (0 when none fitted the budget).
    pub fn fixed_base_bytes(&self) -> usize {
        self.tables.get().map_or(0, FixedTables::bytes)
    }

    /// ark-groth16's proof composition (`create_proof_with_assignment`) over sparse MSMs, for
    /// `z = [1, inputs.., witnesses..]`. The QAP witness map (its FFTs) only feeds the `h`
    /// MSM, so it runs alongside the four MSMs that need only `z`.
    fn compose(&self, z: &[Fr], r: Fr, s: Fr) -> Result<Proof<Bn254>, ProveError> {
        let pk = &self.pk;
        let q = &self.sparse;
        let t = self.tables_within(TableBudget::global());
        let aux = &z[self.r1cs.num_inputs..];
        let (h_acc, (l_acc, ((a_acc, b1_acc), b2_acc))) = rayon::join(
            || -> Result<_, ProveError> {
                let h = self.r1cs.witness_map(z)?;
                let hb: Vec<_> = h.par_iter().map(|x| x.into_bigint()).collect();
                Ok(match &t.h {
                    Some(table) => table.msm(&hb),
                    None => PippengerMsm::new().msm_g1(&pk.h_query, &hb),
                })
            },
            || {
                rayon::join(
                    || query_msm(t.l.as_ref(), &pk.l_query, aux, &q.l),
                    || {
                        rayon::join(
                            || {
                                rayon::join(
                                    || query_msm(t.a.as_ref(), &pk.a_query, z, &q.a),
                                    || query_msm(t.b_g1.as_ref(), &pk.b_g1_query, z, &q.b_g1),
                                )
                            },
                            || query_msm(t.b_g2.as_ref(), &pk.b_g2_query, z, &q.b_g2),
                        )
                    },
                )
            },
        );
        let h_acc = h_acc?;
        // The queries include the constant-one variable at index 0, so `a_acc` already holds
        // ark's `query[0] + Σ query[1..]·assignment`.
        let g_a = pk.delta_g1 * r + a_acc + pk.vk.alpha_g1;
        let g1_b = pk.delta_g1 * s + b1_acc + pk.beta_g1;
        let g2_b: G2Projective = pk.vk.delta_g2 * s + b2_acc + pk.vk.beta_g2;
        let g_c = g_a * s + g1_b * r - pk.delta_g1 * (r * s) + l_acc + h_acc;
        Ok(Proof {
            a: g_a.into_affine(),
            b: g2_b.into_affine(),
            c: g_c.into_affine(),
        })
    }

    /// Proves `circuit` (an assignment of the key's circuit) on the prover's pool: witness,
    /// satisfiability check against the cached matrices, QAP witness map, MSMs.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        circuit: impl ConstraintSynthesizer<Fr> + Send,
        rng: &mut R,
    ) -> Result<Proof<Bn254>, ProveError> {
        // r and s are non-zero with overwhelming probability; ark's prover relies on the same.
        let (r, s) = (Fr::rand(rng), Fr::rand(rng));
        self.warm();
        self.pool.pool.install(|| self.prove_here(circuit, r, s))
    }

    /// Proves `count` circuits, `make(i)` the `i`-th, with OS randomness; results in order.
    /// `⌊count/t⌋·t` of them (`t` the pool's threads, when `t > 1`) run one per thread, each
    /// on a single-threaded pool; the rest concurrently on the prover's pool.
    pub fn prove_batch_with<C: ConstraintSynthesizer<Fr> + Send>(
        &self,
        count: usize,
        make: impl Fn(usize) -> C + Sync,
    ) -> Vec<Result<Proof<Bn254>, ProveError>> {
        // Tables first, on the whole pool, before the proofs split the threads.
        self.warm();
        let t = self.pool.threads;
        let whole = if t > 1 { count / t * t } else { 0 };
        let prove = |i: usize| {
            let mut rng = OsRng;
            let (r, s) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
            self.prove_here(make(i), r, s)
        };
        let done = Mutex::new(Vec::with_capacity(count));
        if whole > 0 {
            let next = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..t {
                    scope.spawn(|| {
                        // Each thread's rayon calls (FFTs, MSMs) stay on its own single thread.
                        let one = ThreadPoolBuilder::new()
                            .num_threads(1)
                            .build()
                            .expect("build a single-threaded pool");
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= whole {
                                break;
                            }
                            let out = one.install(|| prove(i));
                            done.lock().expect("no panics while held").push((i, out));
                        }
                    });
                }
            });
        }
        let rest: Vec<_> = self.pool.pool.install(|| {
            (whole..count)
                .into_par_iter()
                .map(|i| (i, prove(i)))
                .collect()
        });
        let mut done = done.into_inner().expect("no panics while held");
        done.extend(rest);
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, out)| out).collect()
    }

    /// [`Self::prove`]'s work, on the current pool.
    fn prove_here(
        &self,
        circuit: impl ConstraintSynthesizer<Fr>,
        r: Fr,
        s: Fr,
    ) -> Result<Proof<Bn254>, ProveError> {
        let z = self.r1cs.assign(circuit)?;
        // ark-groth16 only debug-asserts satisfiability; check it here, always. The check
        // runs alongside the proof (which it only discards), as nearly every witness passes.
        let (satisfied, proof) =
            rayon::join(|| self.r1cs.is_satisfied(&z), || self.compose(&z, r, s));
        if !satisfied {
            return Err(ProveError::Unsatisfied("groth16"));
        }
        proof
    }

    /// The proving key.
    pub fn proving_key(&self) -> &ProvingKey<Bn254> {
        &self.pk
    }

    /// R1CS constraints of the circuit.
    pub fn num_constraints(&self) -> usize {
        self.r1cs.num_constraints
    }
}

impl Groth16System {
    fn from_pk(pk: ProvingKey<Bn254>) -> Result<Self, ProveError> {
        Self::from_proving_key(pk, TablePlan::OnFirstProof)
    }

    /// The system for an existing proving key of the v1 statement, with fixed-base tables for
    /// its queries built as `tables` says (`setup` and `load` build them at the first proof
    /// within [`TableBudget::global`]; `TablePlan::Now(&TableBudget::new(0))` keeps every MSM
    /// variable-base).
    pub fn from_proving_key(
        pk: ProvingKey<Bn254>,
        tables: TablePlan<'_>,
    ) -> Result<Self, ProveError> {
        let vk = Groth16VerifyingKey::new(pk.vk.clone()).map_err(backend_err)?;
        Ok(Self {
            keys: Groth16Keys::new(pk, vk, PolicyCircuit::blank(), tables)?,
        })
    }

    /// Bytes of fixed-base tables this prover holds (0 when none fitted its budget, or
    /// before the first proof).
    pub fn fixed_base_bytes(&self) -> usize {
        self.keys.table_bytes()
    }

    /// Runs proofs on a pool of `threads` threads (instead of the default,
    /// [`ProverPool::default_threads`]); `prove` uses at most that many, and `prove_batch`
    /// proves that many at once.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.keys.set_pool(ProverPool::new(threads));
        self
    }

    /// Threads proofs run on.
    pub fn threads(&self) -> usize {
        self.keys.pool().threads()
    }

    /// The proving key (for benchmarks against stock `ark_groth16` and for tests that force
    /// proofs out of unsatisfied witnesses).
    pub fn proving_key(&self) -> &ProvingKey<Bn254> {
        self.keys.proving_key()
    }

    /// The verifying key, as the `verifier` crate holds it.
    pub fn verifying_key(&self) -> &Groth16VerifyingKey {
        self.keys.verifying_key()
    }

    fn pk_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.proving_key()
            .serialize_compressed(&mut out)
            .expect("serialize to Vec");
        out
    }
}

impl ProofSystem for Groth16System {
    type Backend = Bn254Backend;
    type Verifier = Groth16VerifyingKey;
    type Spend = crate::spend::Groth16Spend;

    fn setup<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self, ProveError> {
        let (pk, _) = Groth16::<Bn254>::circuit_specific_setup(PolicyCircuit::blank(), rng)
            .map_err(backend_err)?;
        Self::from_pk(pk)
    }

    fn save(&self, dir: &Path) -> Result<(), KeyStoreError> {
        let pk = self.pk_bytes();
        let vk = self.verifying_key().to_bytes();
        keystore::save(
            dir,
            NAME,
            BackendId::Groth16Bn254,
            self.verifying_key().fingerprint(),
            &[(PK_FILE, &pk), (VK_FILE, &vk)],
            BTreeMap::new(),
        )
    }

    /// The verifying key through `verifier`'s loader (checksum, fingerprint), then the
    /// proving key (checksum, and it must embed that verifying key).
    fn load(dir: &Path) -> Result<Self, KeyStoreError> {
        let manifest = Manifest::read(dir, NAME, BackendId::Groth16Bn254)?;
        let vk = Groth16VerifyingKey::load_with(dir, &manifest)?;
        Ok(Self {
            keys: Groth16Keys::load(dir, &manifest, PK_FILE, vk, PolicyCircuit::blank())?,
        })
    }

    fn verifier(&self) -> &Groth16VerifyingKey {
        self.verifying_key()
    }

    fn circuit_size(&self) -> CircuitSize {
        CircuitSize::Constraints(self.keys.num_constraints())
    }

    /// Builds the fixed-base tables now instead of at the first proof (a node before its
    /// first session, a benchmark before it starts the clock).
    fn warm(&self) {
        self.keys.warm();
    }

    fn key_sizes(&self) -> (usize, usize) {
        (
            self.proving_key().compressed_size(),
            self.verifying_key().key().compressed_size(),
        )
    }

    fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &Witness<Self::Backend>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        self.keys.prove_circuit(PolicyCircuit::new(witness), rng)
    }

    /// One proof per thread of the prover's pool when the batch has at least as many
    /// statements as threads (see the module docs); results in input order.
    fn prove_batch(
        &self,
        witnesses: &[Witness<Self::Backend>],
    ) -> Vec<Result<ProofEnvelope, ProveError>> {
        self.keys
            .prove_batch_with(witnesses.len(), |i| PolicyCircuit::new(&witnesses[i]))
    }
}
