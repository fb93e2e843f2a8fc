//! Native Poseidon over Pasta `Fp` — the exact function the halo2 circuit computes.
//!
//! The hash is `halo2_gadgets::poseidon::primitives::Hash::<Fp, P128Pow5T3,
//! ConstantLength<L>, 3, 2>`: width 3, rate 2, x^5 S-box, 8 full and 56 partial rounds
//! (the Orchard instance, ~128-bit security), with the constant-length domain (capacity
//! element `L * 2^64`, input zero-padded to a multiple of the rate).
//!
//! The statement only hashes inputs of length 3 (Merkle leaves and nodes), 7 (the policy
//! commitment: domain, four policy fields, two salt limbs) and 11 (the intent commitment); [`hash`] dispatches those lengths to the
//! library's const-generic [`hash_fixed`]. Any other length goes through
//! [`hash_any_length`], a re-implementation of the same constant-length sponge over the
//! library's published round constants, so the backend trait's infallible `hash` never
//! panics; tests check it equals the library for lengths 1..=16.
//!
//! # Width 5 ([`hash4`], the spend statement's four-input hash)
//!
//! [`P128Pow5T5`]: width 5, rate 4, x^5, 8 full and 60 partial rounds (the Poseidon paper's
//! table for t = 5 at 128 bits; P128Pow5T3's 56 is the same table's figure for t = 3
//! recomputed for Pasta, so 60 is the conservative choice), round constants and MDS matrix
//! from halo2's own Grain LFSR generator ([`generate_constants`], the one that produced
//! P128Pow5T3's published constants), first MDS candidate. The domain is [`Tagged`]:
//! capacity `d·2^64 + 4`, four message words, no padding — one permutation, as on BN254.

use std::sync::OnceLock;

use ff::{Field, PrimeField};
use halo2_gadgets::poseidon::primitives::{
    generate_constants, ConstantLength, Domain, Hash, Mds, P128Pow5T3, Spec,
};
use pasta_curves::Fp;

/// Width of the Poseidon state.
pub const WIDTH: usize = 3;
/// Rate of the sponge (field elements absorbed per permutation).
pub const RATE: usize = 2;

/// `Poseidon_{P128Pow5T3, ConstantLength<L>}(message)` with the library implementation.
pub fn hash_fixed<const L: usize>(message: [Fp; L]) -> Fp {
    Hash::<Fp, P128Pow5T3, ConstantLength<L>, WIDTH, RATE>::init().hash(message)
}

/// Native hash of a slice: the constant-length Poseidon of `inputs.len()` elements.
///
/// Lengths 3, 7 and 11 (the only ones the statement uses) call [`hash_fixed`]; other
/// lengths call [`hash_any_length`], which computes the same function.
pub fn hash(inputs: &[Fp]) -> Fp {
    if let Ok(m) = <[Fp; 3]>::try_from(inputs) {
        hash_fixed(m)
    } else if let Ok(m) = <[Fp; 7]>::try_from(inputs) {
        hash_fixed(m)
    } else if let Ok(m) = <[Fp; 11]>::try_from(inputs) {
        hash_fixed(m)
    } else {
        hash_any_length(inputs)
    }
}

/// The constant-length Poseidon sponge for an input length known only at run time.
///
/// State `[0, 0, len * 2^64]`; the input, zero-padded to a multiple of [`RATE`], is added
/// to the rate part one block at a time with a permutation after each block; the output
/// is the first state word. For an empty input one permutation of the initial state is
/// applied (the library's `ConstantLength<0>` would panic instead; the statement never
/// hashes an empty input).
pub fn hash_any_length(inputs: &[Fp]) -> Fp {
    let (round_constants, mds, _) = <P128Pow5T3 as Spec<Fp, WIDTH, RATE>>::constants();
    let mut state = [Fp::zero(); WIDTH];
    state[RATE] = Fp::from_u128((inputs.len() as u128) << 64);
    if inputs.is_empty() {
        permute::<P128Pow5T3, WIDTH, RATE>(&mut state, &round_constants, &mds);
    }
    for block in inputs.chunks(RATE) {
        for (word, value) in state.iter_mut().zip(block) {
            *word += value;
        }
        permute::<P128Pow5T3, WIDTH, RATE>(&mut state, &round_constants, &mds);
    }
    state[0]
}

/// The Poseidon permutation of spec `S`: `R_F/2` full rounds, `R_P` partial rounds,
/// `R_F/2` full rounds.
fn permute<S: Spec<Fp, T, R>, const T: usize, const R: usize>(
    state: &mut [Fp; T],
    round_constants: &[[Fp; T]],
    mds: &Mds<Fp, T>,
) {
    let half_full = S::full_rounds() / 2;
    let partial = S::partial_rounds();
    for (round, rcs) in round_constants.iter().enumerate() {
        let is_full = round < half_full || round >= half_full + partial;
        for (i, (word, rc)) in state.iter_mut().zip(rcs).enumerate() {
            *word += rc;
            if is_full || i == 0 {
                *word = S::sbox(*word);
            }
        }
        let mut next = [Fp::zero(); T];
        for (out, row) in next.iter_mut().zip(mds) {
            *out = row.iter().zip(state.iter()).map(|(m, s)| m * s).sum();
        }
        *state = next;
    }
}

/// Width of the four-input instance.
pub const WIDTH4: usize = 5;
/// Its rate.
pub const RATE4: usize = 4;

/// The width-5 Poseidon instance of [`hash4`] (module docs).
#[derive(Clone, Copy, Debug)]
pub struct P128Pow5T5;

impl Spec<Fp, WIDTH4, RATE4> for P128Pow5T5 {
    fn full_rounds() -> usize {
        8
    }

    fn partial_rounds() -> usize {
        60
    }

    fn sbox(val: Fp) -> Fp {
        val.pow_vartime([5])
    }

    fn secure_mds() -> usize {
        0
    }

    fn constants() -> Constants4 {
        constants4().clone()
    }
}

type Constants4 = (Vec<[Fp; WIDTH4]>, Mds<Fp, WIDTH4>, Mds<Fp, WIDTH4>);

/// [`P128Pow5T5`]'s constants, generated once per process.
fn constants4() -> &'static Constants4 {
    static CONSTANTS: OnceLock<Constants4> = OnceLock::new();
    CONSTANTS.get_or_init(generate_constants::<Fp, P128Pow5T5, WIDTH4, RATE4>)
}

/// The four-input domain `d`: capacity `d·2^64 + 4`, no padding (four words fill the rate).
#[derive(Clone, Copy, Debug)]
pub struct Tagged<const D: u64>;

impl<const D: u64> Domain<Fp, RATE4> for Tagged<D> {
    type Padding = [Fp; 0];

    fn name() -> String {
        format!("Tagged<{D}>")
    }

    fn initial_capacity_element() -> Fp {
        capacity4(D)
    }

    fn padding(_input_len: usize) -> [Fp; 0] {
        []
    }
}

/// `d·2^64 + 4`.
fn capacity4(domain: u64) -> Fp {
    Fp::from_u128((u128::from(domain) << 64) | RATE4 as u128)
}

/// The four-input hash under `domain`: one [`P128Pow5T5`] permutation of
/// `[x_1, x_2, x_3, x_4, d·2^64 + 4]`, output the first word (what the halo2 sponge with
/// domain [`Tagged`] squeezes).
pub fn hash4(domain: u64, inputs: [Fp; 4]) -> Fp {
    permute4(inputs, capacity4(domain))
}

/// The first word of the [`P128Pow5T5`] permutation of `[inputs, capacity]`.
fn permute4(inputs: [Fp; 4], capacity: Fp) -> Fp {
    let (round_constants, mds, _) = constants4();
    let mut state = [inputs[0], inputs[1], inputs[2], inputs[3], capacity];
    permute::<P128Pow5T5, WIDTH4, RATE4>(&mut state, round_constants, mds);
    state[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::PrimeField;

    fn fp(v: u64) -> Fp {
        Fp::from(v)
    }

    fn hex_le(f: Fp) -> String {
        hex::encode(f.to_repr())
    }

    /// Known answers, computed once with `hash_fixed` (i.e. halo2_gadgets 0.6.0 /
    /// halo2_poseidon 0.2.0 `Hash::<Fp, P128Pow5T3, ConstantLength<L>, 3, 2>`) on the inputs
    /// below and printed as canonical little-endian hex (`Fp::to_repr`). A change in any
    /// of them means the commitment scheme changed.
    #[test]
    fn known_answers() {
        // Leaf / node shape: [DOMAIN_LEAF, 1, 2].
        assert_eq!(hex_le(hash(&[fp(3), fp(1), fp(2)])), KAT_3);
        // The unsalted policy shape of before 2026-12: [DOMAIN_POLICY, 7, 1000, 0, 42].
        assert_eq!(
            hex_le(hash(&[fp(2), fp(7), fp(1000), fp(0), fp(42)])),
            KAT_5
        );
        // Policy shape: [DOMAIN_POLICY, 7, 1000, 0, 42, salt_lo 5, salt_hi 6].
        assert_eq!(
            hex_le(hash(&[fp(2), fp(7), fp(1000), fp(0), fp(42), fp(5), fp(6)])),
            KAT_7
        );
        // Intent shape: [DOMAIN_INTENT, 1, 2, ..., 10].
        let intent: Vec<Fp> = core::iter::once(fp(1)).chain((1..=10).map(fp)).collect();
        assert_eq!(hex_le(hash(&intent)), KAT_11);
    }

    const KAT_3: &str = "923bb1338eba0f2888139d1dff74db8a5da52505a04359984aa090ce7a44961c";
    const KAT_5: &str = "5dd835eeee3609692044288f06c8b0a50c75b0dcd5b8e2a961eccd9cdce2e30a";
    const KAT_7: &str = "031ca5e9243a955a697fb5fb17c4c45c1bbd8300c2e4c5454ea25c01f65cbc17";
    const KAT_11: &str = "d1f0a7c941f840ab81987dddfd5f8c5520130c3bc18c11a4958a11bf5ec12604";

    /// Known answer of the width-5 hash (computed once with [`hash4`]): pins
    /// [`P128Pow5T5`]'s generated constants and the capacity encoding.
    #[test]
    fn width5_known_answer_and_separation() {
        let x = [fp(1), fp(2), fp(3), fp(4)];
        assert_eq!(hex_le(hash4(8, x)), KAT4_NODE_1_TO_4);
        assert_ne!(hash4(8, x), hash4(6, x));
        assert_ne!(hash4(8, x), hash4(8, [fp(2), fp(1), fp(3), fp(4)]));
        let (rc, _, _) = P128Pow5T5::constants();
        assert_eq!(rc.len(), 68);
        // With the library's constant-length capacity (4·2^64) our permutation is the
        // library's hash of four words: checked against halo2's own sponge.
        assert_eq!(
            permute4(x, Fp::from_u128(4 << 64)),
            Hash::<Fp, P128Pow5T5, ConstantLength<4>, WIDTH4, RATE4>::init().hash(x)
        );
    }

    const KAT4_NODE_1_TO_4: &str =
        "9dae9df98f73a6f756a1d2904756ef4bbb362bbf98063ce7a59e58d51ffc2e1a";

    macro_rules! check_len {
        ($($l:literal),*) => {$(
            let m: [Fp; $l] = core::array::from_fn(|i| fp(1000 + 17 * i as u64));
            assert_eq!(hash_any_length(&m), hash_fixed(m), "length {}", $l);
            assert_eq!(hash(&m), hash_fixed(m), "length {}", $l);
        )*};
    }

    #[test]
    fn generic_sponge_matches_library() {
        check_len!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    }

    #[test]
    fn lengths_are_domain_separated() {
        // Zero-padding alone would make [a] and [a, 0] collide; the capacity element
        // (length * 2^64) separates them.
        assert_ne!(hash(&[fp(5)]), hash(&[fp(5), fp(0)]));
        assert_ne!(hash(&[fp(5), fp(0), fp(0)]), hash(&[fp(5), fp(0)]));
    }

    #[test]
    fn empty_input_does_not_panic() {
        let a = hash(&[]);
        assert_eq!(a, hash_any_length(&[]));
        assert_ne!(a, hash(&[fp(0)]));
    }
}
