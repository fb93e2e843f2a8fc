//! Bucket accumulation with the buckets kept in cache, for large MSMs.
//!
//! [`super::batch_add::BucketSums`] gathers a window's points by bucket and adds them as
//! binary trees: every round streams the whole gathered copy (`n` points) through memory,
//! which outgrows the caches from ~2^16 points. Here the points are read once, in order,
//! and each is added straight into its bucket's running affine sum; the additions are
//! queued and done in batches of [`BATCH`] that share one inversion (Montgomery's trick).
//! The working set is the `2^{c−1}` buckets (at `c = 13`, 4 096 G1 points: 288 KiB) plus
//! one batch, while the points and digits are read sequentially.
//!
//! A batch may add to each bucket at most once (its result is the bucket's next value), so a
//! point whose bucket already has an addition queued goes into that bucket's overflow sum
//! instead, in extended Jacobian coordinates (a mixed addition, ~10 multiplications against
//! ~6). Conflicts are rare where buckets are many, and a window with few buckets (the top
//! window of a scalar, whose digits are small) degrades to Jacobian buckets instead of
//! retrying conflicts batch after batch. A point whose bucket is still empty just becomes its
//! value. The special cases (doubling, `P + (−P)`, an emptied bucket) are [`classify`]'s,
//! decided per pair before the inversion, exactly as in the tree accumulation; `S_b` is the
//! bucket's affine value plus its overflow.

use ark_ec::short_weierstrass::{Affine, Bucket, SWCurveConfig};
use ark_ec::AffineRepr;

use super::batch_add::{add_with_inverse, batch_inverse, classify, PairKind};

/// Additions per batched inversion: the inversion (~100 multiplications here) is then
/// well amortized, and a batch's bucket and point copies stay within the L1/L2 caches.
pub const BATCH: usize = 512;

/// Workspace of the streaming accumulation (reused across the windows a thread handles).
pub struct StreamBuckets<P: SWCurveConfig> {
    buckets: Vec<Affine<P>>,
    /// Whether the bucket has an addition in the current batch.
    busy: Vec<bool>,
    /// Points added while their bucket was busy.
    overflow: Vec<Bucket<P>>,
    batch: Vec<(u32, Affine<P>)>,
    kinds: Vec<PairKind>,
    dens: Vec<P::BaseField>,
    scratch: Vec<P::BaseField>,
}

impl<P: SWCurveConfig> Default for StreamBuckets<P> {
    fn default() -> Self {
        Self {
            buckets: Vec::new(),
            busy: Vec::new(),
            overflow: Vec::new(),
            batch: Vec::new(),
            kinds: Vec::new(),
            dens: Vec::new(),
            scratch: Vec::new(),
        }
    }
}

impl<P: SWCurveConfig> StreamBuckets<P> {
    /// The window sum `Σ_b (b + 1)·S_b` over `buckets` buckets, `S_b` the sum of the points
    /// `pairs` puts in bucket `b` (each point already carrying its digit's sign).
    pub fn window_sum(
        &mut self,
        buckets: usize,
        pairs: impl Iterator<Item = (u32, Affine<P>)>,
    ) -> Bucket<P> {
        self.buckets.clear();
        self.buckets.resize(buckets, Affine::identity());
        self.busy.clear();
        self.busy.resize(buckets, false);
        self.overflow.clear();
        self.overflow.resize(buckets, Bucket::ZERO);
        self.batch.clear();
        for (b, p) in pairs {
            self.push(b, p);
            if self.batch.len() >= BATCH {
                self.flush();
            }
        }
        self.flush();
        // Running sum, highest bucket first: bucket `b` is counted `b + 1` times.
        let mut running = Bucket::ZERO;
        let mut acc = Bucket::ZERO;
        for (p, o) in self.buckets.iter().zip(&self.overflow).rev() {
            if !p.is_zero() {
                running += p;
            }
            if !o.is_zero() {
                running += o;
            }
            acc += &running;
        }
        acc
    }

    /// Queues `bucket += p` (or sets an empty bucket, or adds a conflict to the overflow).
    #[inline]
    fn push(&mut self, bucket: u32, p: Affine<P>) {
        let b = bucket as usize;
        if self.busy[b] {
            self.overflow[b] += &p;
        } else if self.buckets[b].is_zero() {
            self.buckets[b] = p;
        } else {
            self.busy[b] = true;
            self.batch.push((bucket, p));
        }
    }

    /// Does the queued additions with one inversion.
    fn flush(&mut self) {
        self.kinds.clear();
        self.dens.clear();
        for (b, p) in &self.batch {
            let (kind, den) = classify(&self.buckets[*b as usize], p);
            self.kinds.push(kind);
            self.dens.push(den);
        }
        batch_inverse(&mut self.dens, &mut self.scratch);
        for (k, (b, p)) in self.batch.iter().enumerate() {
            let b = *b as usize;
            self.buckets[b] = add_with_inverse(&self.buckets[b], p, self.kinds[k], &self.dens[k]);
            self.busy[b] = false;
        }
        self.batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{G1Affine, G1Projective};
    use ark_ec::CurveGroup;
    use ark_ff::{UniformRand, Zero};
    use ark_std::test_rng;

    /// Conflicts, doublings, `P + (−P)` and buckets emptied and refilled, against the plain
    /// sum `Σ_b (b + 1)·S_b`.
    #[test]
    fn window_sum_matches_the_plain_bucket_sum() {
        let mut rng = test_rng();
        let base: Vec<G1Affine> = (0..8)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect();
        // Many points into few buckets: most pushes conflict (overflow), and repeats of the
        // same point (doublings) and its negation (cancellations) are common.
        let mut pairs = Vec::new();
        for i in 0..3000u32 {
            let p = base[(i * 7 % 8) as usize];
            let p = if i % 5 == 0 { -p } else { p };
            pairs.push((i % 3, p));
        }
        pairs.extend([(2, base[0]), (2, -base[0]), (1, base[1]), (1, base[1])]);
        let mut expect = G1Projective::zero();
        for (b, p) in &pairs {
            expect += *p * ark_bn254::Fr::from(*b as u64 + 1);
        }
        let mut ws = StreamBuckets::default();
        let got: G1Projective = ws.window_sum(5, pairs.iter().copied()).into();
        assert_eq!(got.into_affine(), expect.into_affine());
        // The workspace is reused cleanly.
        let got: G1Projective = ws.window_sum(5, pairs.iter().copied()).into();
        assert_eq!(got.into_affine(), expect.into_affine());
        let empty: G1Projective = ws.window_sum(5, std::iter::empty()).into();
        assert!(empty.is_zero());
    }
}
