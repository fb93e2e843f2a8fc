//! Pippenger's bucket method over signed-digit windows, parallel over windows.
//!
//! `Σ_i k_i·P_i = Σ_j 2^{jc}·Σ_i d_{ij}·P_i` with `d_{ij}` the signed digits of `k_i`
//! ([`super::digits`]). For each window `j`, the points go into buckets `|d_{ij}|` (negated
//! when `d_{ij} < 0`), and `Σ_i d_{ij}·P_i = Σ_b b·S_b` is a running sum over the buckets
//! (`2·2^{c−1}` additions). Windows are independent and run as rayon tasks on the current
//! pool; the window sums are combined by Horner's rule with `c` doublings each.
//!
//! Bucket accumulation is affine with batched inversion: for large windows into
//! cache-resident buckets, the points read in order ([`super::stream`]); for smaller ones as
//! per-bucket binary trees over the gathered points ([`super::batch_add`]); extended
//! Jacobian (ark-ec's `Bucket`) when a window has too few points to fill a batch.

use ark_ec::short_weierstrass::{Affine, Bucket, Projective, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, Zero};
use rayon::prelude::*;

use super::batch_add::{BucketSums, NEG};
use super::digits::{signed_digits, window_count};
use super::stream::StreamBuckets;
use super::Accumulation;

/// From this many points (GLV halves counted: 2^17 bases), [`Accumulation::Auto`] adds the
/// points in order into resident buckets ([`super::stream`]) instead of summing gathered
/// trees, whose copy of the points outgrows the caches. Measured on 2 vCPUs (alternating
/// runs, noisy): about even at 2^17 points, 0.85–0.9× the tree's time at 2^19 on G1 and G2,
/// slightly slower at 2^15.
pub const STREAM_FROM: usize = 1 << 18;

/// Below this many pairs in a round, the batched inversion does not pay for itself; the
/// rest of the bucket is added in extended Jacobian coordinates.
pub const MIN_BATCH: usize = 64;

/// Relative costs (in base-field multiplications) the window choice weighs: an affine bucket
/// addition with its share of the batched inversion and sorting, a mixed extended Jacobian
/// one, and one bucket of the running sum (a mixed and a full addition).
const AFFINE_ADD: usize = 7;
const JACOBIAN_ADD: usize = 10;
const RUNNING_SUM: usize = 20;

/// The window width for `m` points with `bits`-bit scalars on `threads` threads: the `c`
/// minimizing `⌈W/threads⌉·(m·add + 2^{c−1}·running)`, `W` the window count (windows run in
/// parallel, so a window count just over a multiple of the thread count costs a round).
pub fn choose_window(m: usize, bits: u32, threads: usize, acc: Accumulation) -> u32 {
    let threads = threads.max(1);
    (1..=22u32)
        .min_by_key(|&c| {
            let w = window_count(bits, c);
            let add = match acc {
                Accumulation::Projective => JACOBIAN_ADD,
                _ if m < (1usize << (c - 1)) + 2 * MIN_BATCH => JACOBIAN_ADD,
                _ => AFFINE_ADD,
            };
            w.div_ceil(threads) * (m * add + (1usize << (c - 1)) * RUNNING_SUM)
        })
        .expect("non-empty range")
}

/// `Σ k_i·P_i` for scalars `k_i < 2^bits` given as little-endian limbs; identity points are
/// skipped. Uses the first `min(bases.len(), scalars.len())` pairs.
pub fn msm<P: SWCurveConfig, const L: usize>(
    bases: &[Affine<P>],
    scalars: &[[u64; L]],
    bits: u32,
    c: u32,
    acc: Accumulation,
) -> Projective<P> {
    let n = bases.len().min(scalars.len());
    let (bases, scalars) = (&bases[..n], &scalars[..n]);
    if n == 0 {
        return Projective::zero();
    }
    assert!(n < NEG as usize, "too many points for u32 entries");
    let w = window_count(bits, c);
    // Scalar-major digits: `digits[i·w + j]` is digit `j` of scalar `i`.
    let mut digits = vec![0i32; n * w];
    digits
        .par_chunks_mut(w)
        .zip(scalars.par_iter())
        .zip(bases.par_iter())
        .for_each(|((out, s), p)| {
            if !p.is_zero() {
                signed_digits(s, c, out);
            }
        });
    let acc = match acc {
        Accumulation::Auto if n >= STREAM_FROM => Accumulation::Stream,
        other => other,
    };
    let sums: Vec<Bucket<P>> = (0..w)
        .into_par_iter()
        .map_init(
            || (BucketSums::default(), StreamBuckets::default()),
            |(trees, stream), j| {
                if acc == Accumulation::Stream {
                    stream_window_sum(bases, &digits, w, j, c, stream)
                } else {
                    window_sum(bases, &digits, w, j, c, acc, trees)
                }
            },
        )
        .collect();
    let mut total = Projective::<P>::zero();
    for s in sums.iter().rev() {
        for _ in 0..c {
            total.double_in_place();
        }
        total += s;
    }
    total
}

/// `Σ_i d_{ij}·P_i` for window `j`, the points read in order into cache-resident buckets.
fn stream_window_sum<P: SWCurveConfig>(
    bases: &[Affine<P>],
    digits: &[i32],
    w: usize,
    j: usize,
    c: u32,
    ws: &mut StreamBuckets<P>,
) -> Bucket<P> {
    let pairs = bases.iter().enumerate().filter_map(|(i, p)| {
        let d = digits[i * w + j];
        (d != 0).then(|| (d.unsigned_abs() - 1, if d < 0 { -*p } else { *p }))
    });
    ws.window_sum(1usize << (c - 1), pairs)
}

/// `Σ_i d_{ij}·P_i` for window `j`.
fn window_sum<P: SWCurveConfig>(
    bases: &[Affine<P>],
    digits: &[i32],
    w: usize,
    j: usize,
    c: u32,
    acc: Accumulation,
    ws: &mut BucketSums<P>,
) -> Bucket<P> {
    let nb = 1usize << (c - 1);
    let digit = |i: usize| digits[i * w + j];
    if acc != Accumulation::Projective {
        // Counting sort of the point indices by bucket: `starts[b]` = #digits with |d| ≤ b.
        let mut starts = vec![0usize; nb + 1];
        for i in 0..bases.len() {
            let d = digit(i);
            if d != 0 {
                starts[d.unsigned_abs() as usize] += 1;
            }
        }
        let mut pairs = 0;
        for b in 1..=nb {
            pairs += starts[b] / 2;
            starts[b] += starts[b - 1];
        }
        let min_batch = if acc == Accumulation::Affine {
            1
        } else {
            MIN_BATCH
        };
        if pairs >= min_batch {
            let mut cursor = starts.clone();
            let mut entries = vec![0u32; starts[nb]];
            for i in 0..bases.len() {
                let d = digit(i);
                if d != 0 {
                    let slot = &mut cursor[d.unsigned_abs() as usize - 1];
                    entries[*slot] = i as u32 | if d < 0 { NEG } else { 0 };
                    *slot += 1;
                }
            }
            return ws.window_sum(bases, &entries, &starts, min_batch);
        }
    }
    let mut buckets = vec![Bucket::<P>::ZERO; nb];
    for (i, p) in bases.iter().enumerate() {
        let d = digit(i);
        if d > 0 {
            buckets[d as usize - 1] += p;
        } else if d < 0 {
            buckets[(-d) as usize - 1] -= p;
        }
    }
    let mut running = Bucket::ZERO;
    let mut sum = Bucket::ZERO;
    for b in buckets.iter().rev() {
        running += b;
        sum += &running;
    }
    sum
}
