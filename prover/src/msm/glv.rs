//! GLV decomposition for BN254: `k·P = k₁·P + k₂·φ(P)` with `|k₁|, |k₂| < 2^127`.
//!
//! BN254's `j = 0` curves have the endomorphism `φ(x, y) = (βx, y)`, `β` a primitive cube
//! root of unity in `Fq`, acting on the order-`r` subgroups as multiplication by a cube root
//! of unity `λ` mod `r` (ark-bn254's `GLVConfig::{ENDO_COEFFS, LAMBDA}`; for G2 the same `β`
//! acts as `λ² = −1 − λ`, so G2 uses its own lattice). One multiplication in the base field
//! turns one 254-bit scalar into two 127-bit ones: half the windows, twice the points.
//!
//! *Decomposition.* `v₁ = (a₁, b₁)`, `v₂ = (a₂, b₂)` is a reduced basis of the lattice
//! `{(x, y) : x + λy ≡ 0 (mod r)}` (ark-bn254's `SCALAR_DECOMP_COEFFS`), with determinant
//! `a₁b₂ − a₂b₁ = r`. Writing `(k, 0) = x₁v₁ + x₂v₂` gives `x₁ = k·b₂/r`, `x₂ = −k·b₁/r`;
//! with `β_i` integers close to `x_i`, `(k₁, k₂) = (k, 0) − β₁v₁ − β₂v₂` satisfies
//! `k₁ + λk₂ ≡ k` (both lattice vectors vanish mod `r`).
//!
//! *Fixed width.* `x_i = ±k·g_i'/2^256` with `g_1' = 2^256·|b₂|/r`, `g_2' = 2^256·|b₁|/r`,
//! rounded to integers `g_i` (3 limbs; computed offline, and the tests below check the
//! lattice and the decomposition); `β_i = round(k·g_i/2^256)` is one 4×3-limb product, an
//! addition of `2^255` and a shift. With `|g_i − g_i'| ≤ 1/2` and `k < 2^254`,
//! `|x_i − β_i| ≤ 1/2 + k/2^257 < 0.63`.
//!
//! *The bound.* `(k₁, k₂) = (x₁ − β₁)v₁ + (x₂ − β₂)v₂`, so
//! `|k₁| ≤ 0.63·(|a₁| + |a₂|)` and `|k₂| ≤ 0.63·(|b₁| + |b₂|)`; both sums are below
//! `1.48·10^38`, so `|k_i| < 9.3·10^37 < 2^126.2 < 2^127`. Hence `k₁, k₂` are computed exactly
//! with wrapping `i128` arithmetic (mod `2^128`: the true values lie in `(−2^127, 2^127)`), and
//! their magnitudes have at most 127 bits. Signs are folded into the points (`−P` is free).

use ark_bn254::{g1, g2};
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::short_weierstrass::Affine;

/// Bits of the GLV half-scalars' magnitudes.
pub const HALF_BITS: u32 = 127;

/// Fixed-width constants of a GLV decomposition (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct GlvConstants {
    /// `round(2^256·|b₂|/r)` and whether `x₁ = k·b₂/r` is negative.
    pub g1: [u64; 3],
    /// Sign of `x₁`.
    pub g1_neg: bool,
    /// `round(2^256·|b₁|/r)`.
    pub g2: [u64; 3],
    /// Sign of `x₂ = −k·b₁/r`.
    pub g2_neg: bool,
    /// The basis `v₁ = (a₁, b₁)`, `v₂ = (a₂, b₂)`.
    pub a1: i128,
    /// `b₁`.
    pub b1: i128,
    /// `a₂`.
    pub a2: i128,
    /// `b₂`.
    pub b2: i128,
}

/// A curve whose MSM takes the GLV path: ark's endomorphism plus our fixed-width constants.
pub trait GlvCurve: GLVConfig {
    /// The decomposition constants for `Self::LAMBDA`.
    const GLV: GlvConstants;
}

impl GlvCurve for g1::Config {
    const GLV: GlvConstants = GlvConstants {
        g1: [0x5398fd0300ff6565, 0x4ccef014a773d2d2, 0x2],
        g1_neg: true,
        g2: [0xd91d232ec7e0b3d7, 0x2, 0],
        g2_neg: true,
        a1: -147946756881789319000765030803803410728,
        b1: 9931322734385697763,
        a2: -9931322734385697763,
        b2: -147946756881789319010696353538189108491,
    };
}

impl GlvCurve for g2::Config {
    const GLV: GlvConstants = GlvConstants {
        g1: [0x7a7bd9d4391eb18e, 0x4ccef014a773d2cf, 0x2],
        g1_neg: true,
        g2: [0xd91d232ec7e0b3d7, 0x2, 0],
        g2_neg: false,
        a1: -147946756881789319010696353538189108491,
        b1: -9931322734385697763,
        a2: 9931322734385697763,
        b2: -147946756881789319000765030803803410728,
    };
}

/// `round(k·g / 2^256)` for `k < 2^256`, when the result is below `2^128`.
#[inline]
fn mul_shift_round(k: &[u64; 4], g: &[u64; 3]) -> u128 {
    let mut t = [0u64; 7];
    for (i, &ki) in k.iter().enumerate() {
        let mut carry = 0u128;
        for (j, &gj) in g.iter().enumerate() {
            let v = t[i + j] as u128 + ki as u128 * gj as u128 + carry;
            t[i + j] = v as u64;
            carry = v >> 64;
        }
        t[i + 3] = carry as u64;
    }
    // + 2^255, then take bits 256..384.
    let (lo, c) = t[3].overflowing_add(1 << 63);
    t[3] = lo;
    let mut carry = c as u128;
    for x in t.iter_mut().skip(4) {
        let v = *x as u128 + carry;
        *x = v as u64;
        carry = v >> 64;
    }
    debug_assert_eq!(t[6], 0);
    t[4] as u128 | (t[5] as u128) << 64
}

/// Splits a canonical scalar `k < r` into `(k₁, k₂)` with `k ≡ k₁ + λk₂ (mod r)`, each as
/// (magnitude `< 2^127`, negative).
#[inline]
pub fn decompose(k: &[u64; 4], c: &GlvConstants) -> ((u128, bool), (u128, bool)) {
    let signed = |m: u128, neg: bool| -> i128 {
        if neg {
            (m as i128).wrapping_neg()
        } else {
            m as i128
        }
    };
    let beta1 = signed(mul_shift_round(k, &c.g1), c.g1_neg);
    let beta2 = signed(mul_shift_round(k, &c.g2), c.g2_neg);
    let k_low = (k[0] as u128 | (k[1] as u128) << 64) as i128;
    let k1 = k_low
        .wrapping_sub(beta1.wrapping_mul(c.a1))
        .wrapping_sub(beta2.wrapping_mul(c.a2));
    let k2 = 0i128
        .wrapping_sub(beta1.wrapping_mul(c.b1))
        .wrapping_sub(beta2.wrapping_mul(c.b2));
    ((k1.unsigned_abs(), k1 < 0), (k2.unsigned_abs(), k2 < 0))
}

/// `φ(P)`, which equals `λ·P` on the prime-order subgroup.
#[inline]
pub fn endomorphism<P: GlvCurve>(p: &Affine<P>) -> Affine<P> {
    P::endomorphism_affine(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Projective, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::{Field, PrimeField, UniformRand};
    use ark_std::test_rng;

    fn check<P: GlvCurve<ScalarField = Fr>>() {
        let c = P::GLV;
        // Both basis vectors lie in the lattice and span index r.
        let f = |x: i128| {
            let m = Fr::from(x.unsigned_abs());
            if x < 0 {
                -m
            } else {
                m
            }
        };
        assert_eq!(f(c.a1) + P::LAMBDA * f(c.b1), Fr::from(0u8));
        assert_eq!(f(c.a2) + P::LAMBDA * f(c.b2), Fr::from(0u8));
        let mut rng = test_rng();
        let mut edge: Vec<Fr> = vec![
            Fr::from(0u8),
            Fr::from(1u8),
            -Fr::from(1u8),
            -Fr::from(2u8),
            Fr::from(2u8).pow([253u64]),
            Fr::from(2u8).pow([127u64]),
            P::LAMBDA,
            -P::LAMBDA,
        ];
        edge.extend((0..2000).map(|_| Fr::rand(&mut rng)));
        for k in edge {
            let limbs = k.into_bigint().0;
            let ((m1, n1), (m2, n2)) = decompose(&limbs, &c);
            assert!(m1 < 1 << HALF_BITS && m2 < 1 << HALF_BITS);
            let s = |m: u128, n: bool| {
                let v = Fr::from(m);
                if n {
                    -v
                } else {
                    v
                }
            };
            assert_eq!(s(m1, n1) + P::LAMBDA * s(m2, n2), k, "{k}");
        }
    }

    #[test]
    fn g1_decomposition() {
        check::<g1::Config>();
        let g = G1Projective::generator().into_affine();
        assert_eq!(endomorphism(&g), (g * g1::Config::LAMBDA).into_affine());
    }

    #[test]
    fn g2_decomposition() {
        check::<g2::Config>();
        let g = G2Projective::generator().into_affine();
        assert_eq!(endomorphism(&g), (g * g2::Config::LAMBDA).into_affine());
    }
}
