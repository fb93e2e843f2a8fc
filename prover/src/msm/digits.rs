//! Signed-digit window decomposition of scalars.
//!
//! A scalar `k < 2^bits`, little-endian `u64` limbs, is cut into `c`-bit windows
//! `w_j = ⌊k / 2^{jc}⌋ mod 2^c`, `j = 0..W`. Each window becomes a signed digit:
//! `v = w_j + carry_j`; if `v > 2^{c-1}` the digit is `d_j = v − 2^c` and `carry_{j+1} = 1`,
//! otherwise `d_j = v` and `carry_{j+1} = 0` (`carry_0 = 0`).
//!
//! *Range.* `0 ≤ v ≤ 2^c` (`w_j ≤ 2^c − 1`, carry ≤ 1), so `d_j ∈ [−(2^{c−1} − 1), 2^{c−1}]`:
//! a digit names one of `2^{c−1}` buckets by `|d_j|` and its sign says whether the point is
//! added or subtracted (negation is free in affine coordinates). Half the buckets of the
//! unsigned method.
//!
//! *Value.* Each step keeps `w_j + carry_j = d_j + 2^c·carry_{j+1}`, so by induction
//! `Σ_{j<J} d_j 2^{jc} = (k mod 2^{Jc}) − carry_J 2^{Jc}`.
//!
//! *No final carry.* With `W = ⌊bits / c⌋ + 1` windows, `Wc ≥ bits + 1`, so the top bit of
//! the last window is a bit of `k` at position `≥ bits`, which is 0: `w_{W−1} ≤ 2^{c−1} − 1`,
//! hence `v ≤ 2^{c−1}` and `carry_W = 0`. Then `Σ_j d_j 2^{jc} = k mod 2^{Wc} = k`.

/// Number of signed-digit windows of width `c` for scalars below `2^bits`: `⌊bits/c⌋ + 1`
/// (one more bit than the scalar, so the last window never carries out).
pub fn window_count(bits: u32, c: u32) -> usize {
    (bits / c + 1) as usize
}

/// The `c` bits of `limbs` starting at bit `start` (zero beyond the last limb).
#[inline]
fn window_bits(limbs: &[u64], start: u32, c: u32) -> u64 {
    let limb = (start / 64) as usize;
    let off = start % 64;
    if limb >= limbs.len() {
        return 0;
    }
    let mut v = limbs[limb] >> off;
    // `off > 0` here since `c < 64`.
    if off + c > 64 && limb + 1 < limbs.len() {
        v |= limbs[limb + 1] << (64 - off);
    }
    v & ((1u64 << c) - 1)
}

/// Writes the `out.len()` signed `c`-bit digits of the scalar `limbs` (little-endian) into
/// `out`, lowest window first. `out.len()` must be [`window_count`]`(bits, c)` for a scalar
/// below `2^bits`; `1 ≤ c ≤ 30`.
#[inline]
pub fn signed_digits(limbs: &[u64], c: u32, out: &mut [i32]) {
    debug_assert!((1..=30).contains(&c));
    let half = 1u64 << (c - 1);
    let full = 1i64 << c;
    let mut carry = 0u64;
    for (j, d) in out.iter_mut().enumerate() {
        let v = window_bits(limbs, j as u32 * c, c) + carry;
        if v > half {
            *d = (v as i64 - full) as i32;
            carry = 1;
        } else {
            *d = v as i32;
            carry = 0;
        }
    }
    debug_assert_eq!(carry, 0, "scalar wider than the windows allow");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(digits: &[i32], c: u32) -> i128 {
        digits
            .iter()
            .rev()
            .fold(0i128, |acc, &d| (acc << c) + d as i128)
    }

    #[test]
    fn digits_recompose_and_stay_in_range() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for c in 1..=20u32 {
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let k = (x as u128) << 50 ^ (x as u128).rotate_left(77);
                let k = k & ((1u128 << 120) - 1);
                for k in [k, 0, 1, (1u128 << 120) - 1, 1u128 << 119] {
                    let limbs = [k as u64, (k >> 64) as u64];
                    let mut out = vec![0; window_count(120, c)];
                    signed_digits(&limbs, c, &mut out);
                    assert_eq!(value(&out, c), k as i128, "c={c}");
                    let half = 1i32 << (c - 1);
                    assert!(out.iter().all(|&d| d > -half && d <= half));
                }
            }
        }
    }
}
