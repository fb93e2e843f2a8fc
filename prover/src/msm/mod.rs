//! Variable-base multi-scalar multiplication (MSM) on BN254 G1 and G2: `Σ k_i·P_i`.
//!
//! [`MsmBackend`] is the interface the prover calls; [`ArkMsm`] is ark-ec's
//! `VariableBaseMSM` (the baseline and the cross-check), [`PippengerMsm`] is ours:
//!
//! 1. **Scalars.** Any `BigInt` is reduced to `k < r` (`k·P` only depends on `k mod r` on the
//!    order-`r` groups).
//! 2. **GLV** ([`glv`], default on): `k = k₁ + λk₂ (mod r)` with `|k₁|, |k₂| < 2^127`, signs
//!    folded into the points, so `n` 254-bit scalars become `2n` 127-bit ones over
//!    `P_i, φ(P_i)`; the decomposition is fixed-width `u64`/`i128` arithmetic with
//!    precomputed lattice constants (the bound is argued in [`glv`]).
//! 3. **Signed digits** ([`digits`]): `W = ⌊bits/c⌋ + 1` windows of `c` bits, digits in
//!    `[−(2^{c−1} − 1), 2^{c−1}]`, no carry out of the last window; `2^{c−1}` buckets.
//! 4. **Pippenger** ([`pippenger`]): each window sorts its points into buckets and sums them
//!    affinely with batched inversion ([`batch_add`]) when the window is large enough to fill
//!    the batches, else in extended Jacobian coordinates; from 2^18 points it instead reads
//!    the points in order into cache-resident affine buckets ([`stream`]), so no window copies
//!    all `n` points; a running sum gives the window sum,
//!    and Horner's rule the total. Windows run in parallel on the [`PippengerMsm`]'s rayon
//!    pool (or the caller's, when it has none). The width `c` is chosen per size by a cost
//!    model (`pippenger::choose_window`), checked against the sweep of `benches/msm.rs`
//!    (`ZKQ_MSM_SWEEP=1`).
//!
//! Correctness of the whole: step 1 preserves `k·P`; step 2 gives `k₁·P + k₂·φ(P) = k·P`
//! since `φ = [λ]` on the subgroup; step 3 writes each (half-)scalar exactly as `Σ d_j 2^{jc}`;
//! step 4 computes `Σ_j 2^{jc} Σ_i d_{ij}·P_i` with complete addition formulas (the identity,
//! doubling and `P + (−P)` are handled explicitly in the affine adder). The tests compare with
//! ark-ec on random and edge inputs.
//!
//! For a base set known in advance (a proving key's query), [`fixed::FixedBaseMsm`] trades a
//! precomputed table of `2^{jc}·P_i` (within a [`fixed::TableBudget`]) for a single bucket pass
//! with no per-window reductions or doublings.

pub mod batch_add;
pub mod digits;
pub mod fixed;
pub mod glv;
pub mod pippenger;
pub mod stream;

use std::sync::Arc;

use ark_bn254::{g1, g2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::short_weierstrass::{Affine, Projective};
use ark_ec::{AffineRepr, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField};
use rayon::prelude::*;
use rayon::ThreadPool;

pub use fixed::{FixedBaseMsm, TableBudget};
use glv::{decompose, endomorphism, GlvCurve, HALF_BITS};

/// A scalar as the MSMs take it: `Fr`'s canonical integer (`PrimeField::into_bigint`).
pub type BigInt = <Fr as PrimeField>::BigInt;

/// A multi-scalar multiplication backend for BN254 (the prover's MSMs go through one).
///
/// Both methods use the first `min(bases.len(), scalars.len())` pairs, as ark-ec's
/// `msm_bigint` does; identity points and zero scalars contribute nothing.
pub trait MsmBackend: Send + Sync {
    /// `Σ scalars[i]·bases[i]` in G1.
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[BigInt]) -> G1Projective;
    /// `Σ scalars[i]·bases[i]` in G2.
    fn msm_g2(&self, bases: &[G2Affine], scalars: &[BigInt]) -> G2Projective;
}

/// ark-ec's `VariableBaseMSM::msm_bigint`: the baseline.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArkMsm;

impl MsmBackend for ArkMsm {
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[BigInt]) -> G1Projective {
        G1Projective::msm_bigint(bases, scalars)
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[BigInt]) -> G2Projective {
        G2Projective::msm_bigint(bases, scalars)
    }
}

/// How bucket additions are done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Accumulation {
    /// By size: buckets kept in cache ([`Accumulation::Stream`]) from
    /// [`pippenger::STREAM_FROM`] points, affine trees with batched inversion below that
    /// where a window has enough points, else Jacobian.
    #[default]
    Auto,
    /// Points read in order into cache-resident affine buckets, batched inversions
    /// ([`stream`]).
    Stream,
    /// Affine with batched inversion whenever a round has at least one pair (for tests).
    Affine,
    /// Extended Jacobian (ark-ec's `Bucket`) only.
    Projective,
}

/// Our MSM: GLV, signed-digit windows, batch-affine Pippenger, parallel over windows.
#[derive(Clone, Debug, Default)]
pub struct PippengerMsm {
    pool: Option<Arc<ThreadPool>>,
    no_glv: bool,
    window: Option<u32>,
    accumulation: Accumulation,
}

impl PippengerMsm {
    /// Runs on the caller's rayon pool (the global one outside any pool), with GLV and the
    /// window width chosen by size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs every MSM on `pool` (so its thread count bounds the MSM's parallelism).
    pub fn with_pool(pool: ThreadPool) -> Self {
        Self {
            pool: Some(Arc::new(pool)),
            ..Self::default()
        }
    }

    /// Turns the GLV decomposition on (the default) or off.
    pub fn glv(mut self, on: bool) -> Self {
        self.no_glv = !on;
        self
    }

    /// Fixes the window width `c` (1..=22) instead of choosing it by size.
    pub fn window(mut self, c: u32) -> Self {
        assert!((1..=22).contains(&c), "window width {c} out of 1..=22");
        self.window = Some(c);
        self
    }

    /// Chooses how buckets are accumulated ([`Accumulation::Auto`] by default).
    pub fn accumulation(mut self, acc: Accumulation) -> Self {
        self.accumulation = acc;
        self
    }

    /// `Σ k_i·P_i` on a curve with a GLV endomorphism.
    pub fn msm<P: GlvCurve<ScalarField = Fr>>(
        &self,
        bases: &[Affine<P>],
        scalars: &[BigInt],
    ) -> Projective<P> {
        let run = || {
            let n = bases.len().min(scalars.len());
            let (bases, scalars) = (&bases[..n], &scalars[..n]);
            let threads = rayon::current_num_threads();
            if self.no_glv {
                let limbs: Vec<[u64; 4]> = scalars.par_iter().map(|s| reduce(*s).0).collect();
                let c = self.window.unwrap_or_else(|| {
                    pippenger::choose_window(n, Fr::MODULUS_BIT_SIZE, threads, self.accumulation)
                });
                pippenger::msm(bases, &limbs, Fr::MODULUS_BIT_SIZE, c, self.accumulation)
            } else {
                let (points, halves): (Vec<Affine<P>>, Vec<[u64; 2]>) = bases
                    .par_iter()
                    .zip(scalars.par_iter())
                    .filter(|(p, s)| !p.is_zero() && !s.is_zero())
                    .flat_map_iter(|(p, s)| {
                        let k = reduce(*s);
                        let ((m1, neg1), (m2, neg2)) = decompose(&k.0, &P::GLV);
                        let e = endomorphism(p);
                        let p1 = if neg1 { -*p } else { *p };
                        let p2 = if neg2 { -e } else { e };
                        let limbs = |m: u128| [m as u64, (m >> 64) as u64];
                        [(p1, limbs(m1)), (p2, limbs(m2))]
                    })
                    .unzip();
                let m = points.len();
                let c = self.window.unwrap_or_else(|| {
                    pippenger::choose_window(m, HALF_BITS, threads, self.accumulation)
                });
                pippenger::msm(&points, &halves, HALF_BITS, c, self.accumulation)
            }
        };
        match &self.pool {
            Some(pool) => pool.install(run),
            None => run(),
        }
    }
}

impl MsmBackend for PippengerMsm {
    fn msm_g1(&self, bases: &[G1Affine], scalars: &[BigInt]) -> G1Projective {
        self.msm::<g1::Config>(bases, scalars)
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[BigInt]) -> G2Projective {
        self.msm::<g2::Config>(bases, scalars)
    }
}

/// `s mod r` (a `BigInt` below `2^256 < 6r` needs at most five subtractions).
fn reduce(mut s: BigInt) -> BigInt {
    while s >= Fr::MODULUS {
        s.sub_with_borrow(&Fr::MODULUS);
    }
    s
}
