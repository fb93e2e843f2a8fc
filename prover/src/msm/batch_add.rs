//! Bucket accumulation in affine coordinates with batched inversion (Montgomery's trick).
//!
//! Adding two affine points costs one inversion, two multiplications and a squaring:
//! `λ = (y₂ − y₁)/(x₂ − x₁)`, `x₃ = λ² − x₁ − x₂`, `y₃ = λ(x₁ − x₃) − y₁`. Inverting many
//! denominators together costs one inversion plus three multiplications each
//! ([`batch_inverse`]), so an addition is ~6 multiplications, against ~10 for the mixed
//! extended-Jacobian addition ark-ec's buckets do — but only if each batch holds many
//! independent additions. [`BucketSums`] gets them by summing all buckets of a window at once
//! as binary trees: each round pairs up the points of every bucket (`L` points become
//! `⌈L/2⌉`), one batched inversion for the whole round, until the round is too small to
//! amortize the inversion; what is left is summed in extended Jacobian coordinates.
//!
//! Special cases are decided per pair before the inversion, so every denominator is
//! non-zero: an identity operand (a bucket where `P` met `−P` earlier) returns the other
//! operand; equal `x` with equal non-zero `y` is a doubling (`λ = (3x² + a)/(2y)`); equal `x`
//! otherwise (`Q = −P`) gives the identity. Those pairs get denominator 1 and ignore their
//! inverse.

use ark_ec::short_weierstrass::{Affine, Bucket, SWCurveConfig};
use ark_ec::AffineRepr;
use ark_ff::{AdditiveGroup, Field, Zero};

/// Replaces each element of `v` by its inverse, with one field inversion (Montgomery's trick):
/// prefix products `p_i = v_0⋯v_{i−1}`, `t = (v_0⋯v_{n−1})^{-1}`, then backwards
/// `v_i^{-1} = p_i·t` and `t ← t·v_i`. Every element must be non-zero. `scratch` is reused.
pub fn batch_inverse<F: Field>(v: &mut [F], scratch: &mut Vec<F>) {
    scratch.clear();
    let mut acc = F::ONE;
    for x in v.iter() {
        scratch.push(acc);
        acc *= x;
    }
    let mut t = acc.inverse().expect("batch_inverse: zero element");
    for (x, p) in v.iter_mut().zip(scratch.iter()).rev() {
        let inv = *p * t;
        t *= &*x;
        *x = inv;
    }
}

/// How a pair of affine points is added (decided before the batched inversion).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PairKind {
    /// `x₁ ≠ x₂`: the chord, denominator `x₂ − x₁`.
    Chord,
    /// `P + P`, `y ≠ 0`: the tangent, denominator `2y`.
    Double,
    /// The result is the other operand (one is the identity) or the identity (`Q = −P`).
    Trivial,
}

#[inline]
pub(super) fn classify<P: SWCurveConfig>(p: &Affine<P>, q: &Affine<P>) -> (PairKind, P::BaseField) {
    if p.is_zero() || q.is_zero() {
        (PairKind::Trivial, P::BaseField::ONE)
    } else if p.x == q.x {
        if p.y == q.y && !p.y.is_zero() {
            (PairKind::Double, p.y.double())
        } else {
            (PairKind::Trivial, P::BaseField::ONE)
        }
    } else {
        (PairKind::Chord, q.x - p.x)
    }
}

/// `p + q` given the pair's kind and the inverse of the denominator, as [`classify`] returned
/// them.
#[inline]
pub(super) fn add_with_inverse<P: SWCurveConfig>(
    p: &Affine<P>,
    q: &Affine<P>,
    kind: PairKind,
    inv: &P::BaseField,
) -> Affine<P> {
    let lambda = match kind {
        PairKind::Trivial => {
            return if p.is_zero() {
                *q
            } else if q.is_zero() {
                *p
            } else {
                Affine::identity()
            };
        }
        PairKind::Chord => (q.y - p.y) * inv,
        PairKind::Double => {
            let xx = p.x.square();
            let mut num = xx.double() + xx;
            if !P::COEFF_A.is_zero() {
                num += P::COEFF_A;
            }
            num * inv
        }
    };
    let x3 = lambda.square() - p.x - q.x;
    let y3 = lambda * (p.x - x3) - p.y;
    Affine::new_unchecked(x3, y3)
}

/// Top bit of an entry: the point is subtracted.
pub const NEG: u32 = 1 << 31;

/// Per-window workspace of the affine bucket accumulation (reused across windows a thread
/// handles).
pub struct BucketSums<P: SWCurveConfig> {
    points: Vec<Affine<P>>,
    dens: Vec<P::BaseField>,
    scratch: Vec<P::BaseField>,
    /// Each pair's kind, decided once with its denominator.
    kinds: Vec<PairKind>,
    active: Vec<u32>,
    lens: Vec<usize>,
}

impl<P: SWCurveConfig> Default for BucketSums<P> {
    fn default() -> Self {
        Self {
            points: Vec::new(),
            dens: Vec::new(),
            scratch: Vec::new(),
            kinds: Vec::new(),
            active: Vec::new(),
            lens: Vec::new(),
        }
    }
}

impl<P: SWCurveConfig> BucketSums<P> {
    /// The window sum `Σ_b (b + 1)·S_b` of the bucket sums `S_b`. Bucket `b` is
    /// `entries[starts[b]..starts[b + 1]]`: indices into `bases`, with [`NEG`] set for a
    /// subtracted point. Rounds of pairwise affine additions run while a round has at least
    /// `min_batch` pairs; the few points left per bucket are added in extended Jacobian
    /// coordinates, and the running sum over buckets (highest first) gives the window sum.
    pub fn window_sum(
        &mut self,
        bases: &[Affine<P>],
        entries: &[u32],
        starts: &[usize],
        min_batch: usize,
    ) -> Bucket<P> {
        self.window_sum_by(|i| bases[i as usize], |_, _| {}, entries, starts, min_batch)
            .0
    }

    /// [`Self::window_sum`] with the points fetched by `point(index)` (the entry without its
    /// [`NEG`] bit) and then adjusted by `fix(index, &mut point)` in a separate pass (so that
    /// data-dependent branches there do not stall the loads), returning `(Σ_b (b + 1)·S_b, Σ_b S_b)`: the fixed-base MSM
    /// ([`super::fixed`]) derives its points from a table and sums a range of buckets
    /// `lo..hi` as `Σ_b (b + 1)·S_{lo+b} + lo·Σ_b S_{lo+b}`.
    pub fn window_sum_by(
        &mut self,
        point: impl Fn(u32) -> Affine<P>,
        fix: impl Fn(u32, &mut Affine<P>),
        entries: &[u32],
        starts: &[usize],
        min_batch: usize,
    ) -> (Bucket<P>, Bucket<P>) {
        let buckets = starts.len() - 1;
        let min_batch = min_batch.max(1);
        // `lens[b]`: points of bucket `b` still to be added, at `points[starts[b]..]`.
        self.lens.clear();
        self.lens
            .extend((0..buckets).map(|b| starts[b + 1] - starts[b]));
        let lens = &mut self.lens;
        // Gather first, in a loop of independent loads the CPU overlaps (the reads are random
        // over `bases`, which outgrows the caches from ~2^14 points); the rounds then only
        // touch `points`, sequentially.
        // Signs are applied in a second pass, so that their unpredictable branches do not
        // stall the loads.
        self.points.clear();
        self.points.extend(entries.iter().map(|&e| point(e & !NEG)));
        for (p, &e) in self.points.iter_mut().zip(entries) {
            fix(e & !NEG, p);
            if e & NEG != 0 {
                p.y = -p.y;
            }
        }

        // Rounds work in place on `points`. Pair `k` of a bucket reads slots `2k` and
        // `2k + 1` and writes slot `k ≤ 2k`; going forwards, every slot written has already
        // been read, and the odd point moves from slot `len − 1` to `⌊len/2⌋ ≤ len − 1` after
        // all pairs of its bucket.
        self.active.clear();
        self.active
            .extend((0..buckets as u32).filter(|&b| lens[b as usize] >= 2));
        loop {
            let pairs: usize = self.active.iter().map(|&b| lens[b as usize] / 2).sum();
            if pairs < min_batch {
                break;
            }
            self.dens.clear();
            self.kinds.clear();
            for &b in &self.active {
                let s = starts[b as usize];
                for k in 0..lens[b as usize] / 2 {
                    let (p, q) = (&self.points[s + 2 * k], &self.points[s + 2 * k + 1]);
                    let (kind, den) = classify(p, q);
                    self.kinds.push(kind);
                    self.dens.push(den);
                }
            }
            batch_inverse(&mut self.dens, &mut self.scratch);
            let mut j = 0;
            for &b in &self.active {
                let (s, len) = (starts[b as usize], lens[b as usize]);
                for k in 0..len / 2 {
                    let r = add_with_inverse(
                        &self.points[s + 2 * k],
                        &self.points[s + 2 * k + 1],
                        self.kinds[j],
                        &self.dens[j],
                    );
                    self.points[s + k] = r;
                    j += 1;
                }
                if len % 2 == 1 {
                    self.points[s + len / 2] = self.points[s + len - 1];
                }
                lens[b as usize] = len.div_ceil(2);
            }
            self.active.retain(|&b| lens[b as usize] >= 2);
        }

        // Running sum: after bucket `b`, `running = Σ_{b' ≥ b} S_b'` and `acc` adds it once
        // per bucket, so bucket `b` is counted `b + 1` times.
        let mut running = Bucket::ZERO;
        let mut acc = Bucket::ZERO;
        for b in (0..buckets).rev() {
            let s = starts[b];
            match lens[b] {
                0 => {}
                1 => running += &self.points[s],
                len => {
                    let mut sum = Bucket::from(self.points[s]);
                    for p in &self.points[s + 1..s + len] {
                        sum += p;
                    }
                    running += &sum;
                }
            }
            acc += &running;
        }
        (acc, running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fq, G1Affine, G1Projective};
    use ark_ec::CurveGroup;
    use ark_ff::UniformRand;
    use ark_std::test_rng;

    #[test]
    fn batch_inverse_inverts() {
        let mut rng = test_rng();
        let v: Vec<Fq> = (0..37).map(|_| Fq::rand(&mut rng)).collect();
        let mut w = v.clone();
        batch_inverse(&mut w, &mut Vec::new());
        for (a, b) in v.iter().zip(&w) {
            assert_eq!(*a * b, Fq::ONE);
        }
    }

    #[test]
    fn pair_cases() {
        let mut rng = test_rng();
        let p = G1Projective::rand(&mut rng).into_affine();
        let q = G1Projective::rand(&mut rng).into_affine();
        let z = G1Affine::identity();
        for (a, b) in [(p, q), (p, p), (p, -p), (z, p), (p, z), (z, z)] {
            let (kind, den) = classify(&a, &b);
            let inv = den.inverse().unwrap();
            let expect = (a.into_group() + b).into_affine();
            assert_eq!(add_with_inverse(&a, &b, kind, &inv), expect);
        }
    }
}
