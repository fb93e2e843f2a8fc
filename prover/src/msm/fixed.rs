//! Fixed-base MSM: `Σ k_i·P_i` for a base set known in advance (a proving key's query), with
//! a precomputed table so that the whole MSM is one bucket pass.
//!
//! *Table.* For each base `P_i` and window `j < W` the table holds `T_{ij} = 2^{jc}·P_i`
//! (affine), `W = ⌊127/c⌋ + 1` the window count of a GLV half-scalar ([`super::digits`]).
//! `φ(T_{ij}) = 2^{jc}·φ(P_i)` is not stored: it is one base-field multiplication
//! (`φ(x, y) = (βx, y)`) when the point is fetched, which halves the table.
//!
//! *MSM.* Each scalar is reduced mod `r` and split by GLV into `k = k₁ + λk₂` with
//! `|k₁|, |k₂| < 2^127` ([`super::glv`]), signs folded into the points; each half-scalar is
//! written in signed digits `m = Σ_j d_j 2^{jc}` ([`super::digits`]). Then
//!
//! `k·P = ±Σ_j d_{1j}·T_{j} ± Σ_j d_{2j}·φ(T_{j})`,
//!
//! so the MSM is `Σ_b b·S_b` over ONE set of `2^{c−1}` buckets, bucket `b` collecting the
//! `2·n·W` (point, digit) pairs with `|d| = b` (negated when `d < 0`): no per-window bucket
//! reduction and no doublings, against `W` reductions of `2^{c−1}` buckets and `W·c`
//! doublings on the variable-base path. Saving those lets `c` be wider, which also shrinks
//! `W` (and the table). The buckets are summed affinely with batched inversion
//! ([`super::batch_add`]); for parallelism (and to bound the gathered copy of the points)
//! the bucket range is cut into chunks `lo..hi`, each summed on its own as
//! `Σ_{b<hi−lo} (b + 1)·S_{lo+b} + lo·Σ_b S_{lo+b} = Σ_{b<hi−lo} (lo + b + 1)·S_{lo+b}`, which is
//! exactly that chunk's share of `Σ_b (b + 1)·S_b` (bucket index `b` holds digit `b + 1`).
//!
//! *Correctness* rests on the same three facts as the variable-base path (GLV, the signed
//! digits' exact recomposition, complete bucket additions) plus the identity
//! `2^{jc}·(d·P) = d·(2^{jc}·P)`; identity bases and zero scalars contribute no pair. The
//! tests in `prover/tests/msm.rs` compare with ark-ec on random and edge inputs.
//!
//! *Memory.* `n·W` affine points: `W·72` bytes per G1 base and `W·136` per G2 base
//! (`W = 8` at `c = 16`: 576 and 1088 bytes), built once per key. Tables are opt-in by a
//! [`TableBudget`]: a constructor that would exceed it returns `None` and the caller keeps the
//! variable-base path. The process-wide default ([`TableBudget::global`]) is
//! [`DEFAULT_BUDGET_MB`] MiB, overridden by the environment variable `ZKQ_FIXED_BASE_MB`
//! (`0` turns tables off).

use std::mem::size_of;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use ark_bn254::Fr;
use ark_ec::short_weierstrass::{Affine, Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{AdditiveGroup, BigInteger, Zero};
use rayon::prelude::*;

use super::batch_add::{BucketSums, NEG};
use super::digits::{signed_digits, window_count};
use super::glv::{decompose, endomorphism, GlvCurve, HALF_BITS};
use super::pippenger::MIN_BATCH;
use super::{reduce, BigInt};

/// Default process-wide memory budget for fixed-base tables, in MiB: enough for every query
/// of a 2^16-constraint Groth16 key (~0.25 GiB), not for a 2^18 one (~1 GiB, partly).
pub const DEFAULT_BUDGET_MB: usize = 512;

/// The environment variable that overrides [`DEFAULT_BUDGET_MB`] (in MiB; `0` disables).
pub const BUDGET_ENV: &str = "ZKQ_FIXED_BASE_MB";

/// Entries to gather per bucket chunk at most (bounds the copy each thread holds:
/// 2^18 G1 points are 18 MiB).
const CHUNK_ENTRIES: usize = 1 << 18;

/// Bit 0 of an entry's index: the point is `φ` of the table point.
const PHI: u32 = 1;

/// A memory budget for fixed-base tables, shared by the tables built against it (clones
/// share it); a table gives its bytes back when dropped.
#[derive(Clone, Debug)]
pub struct TableBudget {
    left: Arc<AtomicUsize>,
}

impl TableBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        Self {
            left: Arc::new(AtomicUsize::new(bytes)),
        }
    }

    /// `ZKQ_FIXED_BASE_MB` MiB if set and a number, else [`DEFAULT_BUDGET_MB`].
    pub fn from_env() -> Self {
        let mb = std::env::var(BUDGET_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(DEFAULT_BUDGET_MB);
        Self::new(mb.saturating_mul(1 << 20))
    }

    /// The process-wide budget the provers build their key tables against
    /// ([`TableBudget::from_env`], read once).
    pub fn global() -> &'static TableBudget {
        static B: OnceLock<TableBudget> = OnceLock::new();
        B.get_or_init(TableBudget::from_env)
    }

    /// Bytes not yet reserved.
    pub fn available(&self) -> usize {
        self.left.load(Ordering::Acquire)
    }

    /// Takes `bytes` if that many are left.
    fn reserve(&self, bytes: usize) -> Option<Reservation> {
        self.left
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| {
                left.checked_sub(bytes)
            })
            .ok()
            .map(|_| Reservation {
                budget: Some(self.clone()),
                bytes,
            })
    }
}

/// Bytes held from a budget until dropped.
#[derive(Debug)]
struct Reservation {
    budget: Option<TableBudget>,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.left.fetch_add(self.bytes, Ordering::AcqRel);
        }
    }
}

/// Relative costs (base-field multiplications): an affine bucket addition with its share of
/// the batched inversion and sorting, plus the `φ` multiplication half the pairs need; one
/// bucket of the final running sum.
const FIXED_ADD: usize = 8;
const RUNNING_SUM: usize = 20;

/// A fixed base set with its table of `2^{jc}·P_i` (see the module docs).
#[derive(Debug)]
pub struct FixedBaseMsm<P: GlvCurve<ScalarField = Fr>> {
    /// `table[i·w + j] = 2^{jc}·P_i`.
    table: Vec<Affine<P>>,
    n: usize,
    c: u32,
    w: usize,
    _reservation: Reservation,
}

impl<P: GlvCurve<ScalarField = Fr>> FixedBaseMsm<P> {
    /// The window width for `n` bases: the `c` in `4..=20` minimizing
    /// `2n·W(c)·add + 2^{c−1}·running` (wider than the variable-base choice, as there is one
    /// bucket reduction instead of `W`).
    pub fn choose_window(n: usize) -> u32 {
        (4..=20u32)
            .min_by_key(|&c| {
                2 * n * window_count(HALF_BITS, c) * FIXED_ADD + (1usize << (c - 1)) * RUNNING_SUM
            })
            .expect("non-empty range")
    }

    /// Bytes of the table for `n` bases at width `c`.
    pub fn table_bytes(n: usize, c: u32) -> usize {
        n.saturating_mul(window_count(HALF_BITS, c))
            .saturating_mul(size_of::<Affine<P>>())
    }

    /// The table for `bases` at the width [`Self::choose_window`] picks, if its bytes fit in
    /// what is left of `budget` (which it then holds until dropped); `None` otherwise.
    pub fn within_budget(bases: &[Affine<P>], budget: &TableBudget) -> Option<Self> {
        let c = Self::choose_window(bases.len());
        let reservation = budget.reserve(Self::table_bytes(bases.len(), c))?;
        Some(Self::build_with(bases, c, reservation))
    }

    /// The table for `bases` at width `c` (`1..=20`), outside any budget (tests, benches).
    pub fn with_window(bases: &[Affine<P>], c: u32) -> Self {
        let unbudgeted = Reservation {
            budget: None,
            bytes: 0,
        };
        Self::build_with(bases, c, unbudgeted)
    }

    fn build_with(bases: &[Affine<P>], c: u32, reservation: Reservation) -> Self {
        assert!((1..=20).contains(&c), "window width {c} out of 1..=20");
        let n = bases.len();
        let w = window_count(HALF_BITS, c);
        // Entries are `(table index) << 1 | φ` below the `NEG` bit.
        assert!(
            n.checked_mul(w).is_some_and(|t| t < (NEG >> 1) as usize),
            "fixed-base table too large for u32 entries"
        );
        // Doublings in projective coordinates, one batched normalization per chunk of bases.
        let table: Vec<Affine<P>> = bases
            .par_chunks(1024)
            .flat_map_iter(|chunk| {
                let mut proj = Vec::with_capacity(chunk.len() * w);
                for p in chunk {
                    let mut cur = p.into_group();
                    for j in 0..w {
                        proj.push(cur);
                        if j + 1 < w {
                            for _ in 0..c {
                                cur.double_in_place();
                            }
                        }
                    }
                }
                Projective::normalize_batch(&proj)
            })
            .collect();
        Self {
            table,
            n,
            c,
            w,
            _reservation: reservation,
        }
    }

    /// Number of bases.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the base set is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The window width `c`.
    pub fn window(&self) -> u32 {
        self.c
    }

    /// Bytes the table holds.
    pub fn memory_bytes(&self) -> usize {
        self.table.len() * size_of::<Affine<P>>()
    }

    /// The bases (window 0 of the table).
    pub fn base(&self, i: usize) -> Affine<P> {
        self.table[i * self.w]
    }

    /// `Σ scalars[i]·P_i` over the first `min(len, scalars.len())` bases, on the current
    /// rayon pool. Scalars need not be reduced; zero scalars and identity bases add nothing.
    pub fn msm(&self, scalars: &[BigInt]) -> Projective<P> {
        let n = self.n.min(scalars.len());
        let (w, c) = (self.w, self.c);
        let nb = 1usize << (c - 1);
        // Scalar-major digits: `digits[i·2w + h·w + j]` is digit `j` of half `h` of scalar `i`,
        // its sign already combined with the half's GLV sign.
        let mut digits = vec![0i32; n * 2 * w];
        digits
            .par_chunks_mut(2 * w)
            .zip(scalars[..n].par_iter())
            .enumerate()
            .for_each(|(i, (out, s))| {
                if s.is_zero() || self.table[i * w].is_zero() {
                    return;
                }
                let k = reduce(*s);
                let ((m1, neg1), (m2, neg2)) = decompose(&k.0, &P::GLV);
                let (lo, hi) = out.split_at_mut(w);
                for (half, m, neg) in [(lo, m1, neg1), (hi, m2, neg2)] {
                    signed_digits(&[m as u64, (m >> 64) as u64], c, half);
                    if neg {
                        half.iter_mut().for_each(|d| *d = -*d);
                    }
                }
            });
        // Counting sort by bucket: `starts[b]` = #digits with |d| ≤ b, then bucket `b`
        // (digit magnitude `b + 1`) is `entries[starts[b]..starts[b + 1]]`.
        let mut starts = vec![0usize; nb + 1];
        for &d in &digits {
            if d != 0 {
                starts[d.unsigned_abs() as usize] += 1;
            }
        }
        for b in 1..=nb {
            starts[b] += starts[b - 1];
        }
        let total = starts[nb];
        if total == 0 {
            return Projective::zero();
        }
        let mut cursor = starts.clone();
        let mut entries = vec![0u32; total];
        for (i, ds) in digits.chunks_exact(2 * w).enumerate() {
            for (t, &d) in ds.iter().enumerate() {
                if d != 0 {
                    let (h, j) = (t / w, t % w);
                    let slot = &mut cursor[d.unsigned_abs() as usize - 1];
                    entries[*slot] =
                        (((i * w + j) as u32) << 1 | h as u32) | if d < 0 { NEG } else { 0 };
                    *slot += 1;
                }
            }
        }
        drop(digits);

        // Bucket chunks: at least one per thread, and few enough entries each to keep the
        // gathered copy small.
        let chunks = (rayon::current_num_threads() * 2)
            .max(total.div_ceil(CHUNK_ENTRIES))
            .min(nb);
        let table = &self.table;
        // Plain loads first (their addresses are random over the table, which outgrows the
        // caches), `φ` in the second pass: a 50/50 branch among the loads would stall them.
        let point = |e: u32| table[(e >> 1) as usize];
        let fix = |e: u32, p: &mut Affine<P>| {
            if e & PHI != 0 {
                *p = endomorphism(p);
            }
        };
        (0..chunks)
            .into_par_iter()
            .map_init(BucketSums::default, |ws, k| {
                let (lo, hi) = (k * nb / chunks, (k + 1) * nb / chunks);
                if starts[hi] == starts[lo] {
                    return Projective::zero();
                }
                let local: Vec<usize> = starts[lo..=hi].iter().map(|s| s - starts[lo]).collect();
                let (acc, sum) = ws.window_sum_by(
                    point,
                    fix,
                    &entries[starts[lo]..starts[hi]],
                    &local,
                    MIN_BATCH,
                );
                Projective::from(acc) + Projective::from(sum).mul_bigint([lo as u64])
            })
            .sum()
    }
}
