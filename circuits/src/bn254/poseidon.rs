//! Poseidon over BN254 Fr, native and in R1CS, via arkworks' sponge
//! (`ark_crypto_primitives::sponge::poseidon`).
//!
//! Parameters (fixed for statement v1 — changing any of them changes every commitment):
//! - state width t = 3: rate 2, capacity 1;
//! - S-box x^5 (alpha = 5);
//! - 8 full rounds (R_F) and 57 partial rounds (R_P), the round numbers of the Poseidon
//!   paper's table for t = 3, alpha = 5 over a ~254-bit field at the 128-bit security level;
//! - round constants and MDS matrix from
//!   `find_poseidon_ark_and_mds::<Fr>(254, 2, 8, 57, 0)`: the Grain LFSR generator of the
//!   Poseidon paper (reference `generate_parameters_grain.sage`), field size 254 bits, no
//!   skipped matrices.
//!
//! The hash `H_d(x_1..x_n)` of a fixed-length input under domain tag `d` is: a duplex sponge
//! whose capacity element starts as `d·2^64 + n` (the capacity-based domain separation of
//! the Poseidon paper, §4.2: it binds both the domain and the length), absorb `x_1..x_n`,
//! squeeze one element. Putting the tag in the capacity instead of the message saves a
//! permutation per two-to-one hash: an allowlist path costs 16 permutations, not 32.
//!
//! The permutation and constants are pinned against the Poseidon reference implementation's
//! test vector for `x5_254_3` (input `[0, 1, 2]`), see `circuits/tests/bn254.rs`.
//!
//! # Width 5 ([`poseidon_hash4`])
//!
//! The spend statement also hashes four elements at once ([`crate::field::Backend::hash4`]):
//! t = 5 (rate 4, capacity 1), x^5, R_F = 8 and R_P = 60 (the paper's table for t = 5 at
//! 128 bits), constants from `find_poseidon_ark_and_mds::<Fr>(254, 4, 8, 60, 0)`, pinned
//! against the reference's `x5_254_5` vector (input `[0, 1, 2, 3, 4]`). Capacity
//! `d·2^64 + 4`, absorb the four inputs, squeeze one: one permutation, ~300 constraints
//! (two width-3 permutations would be ~486).

use std::sync::OnceLock;

use ark_crypto_primitives::sponge::{
    constraints::CryptographicSpongeVar,
    poseidon::{
        constraints::PoseidonSpongeVar, find_poseidon_ark_and_mds, PoseidonConfig, PoseidonSponge,
    },
    CryptographicSponge, FieldBasedCryptographicSponge,
};
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use super::Fr;

/// Sponge rate (field elements absorbed per permutation).
pub const RATE: usize = 2;
/// Sponge capacity.
pub const CAPACITY: usize = 1;
/// S-box exponent.
pub const ALPHA: u64 = 5;
/// Number of full rounds.
pub const FULL_ROUNDS: usize = 8;
/// Number of partial rounds.
pub const PARTIAL_ROUNDS: usize = 57;
/// Bit size of the BN254 scalar field, input to the Grain LFSR.
pub const PRIME_BITS: u64 = 254;

/// Rate of the width-5 instance ([`poseidon_hash4`]).
pub const RATE4: usize = 4;
/// Partial rounds of the width-5 instance.
pub const PARTIAL_ROUNDS4: usize = 60;

/// The width-5 Poseidon configuration (generated once per process).
pub fn poseidon_config4() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| config(RATE4, PARTIAL_ROUNDS4))
}

/// The Poseidon configuration (generated once per process).
pub fn poseidon_config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| config(RATE, PARTIAL_ROUNDS))
}

/// The x^5 configuration of width `rate + 1` with [`FULL_ROUNDS`] and `partial_rounds`,
/// constants from the Grain LFSR (module docs).
fn config(rate: usize, partial_rounds: usize) -> PoseidonConfig<Fr> {
    let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
        PRIME_BITS,
        rate,
        FULL_ROUNDS as u64,
        partial_rounds as u64,
        0,
    );
    PoseidonConfig::new(FULL_ROUNDS, partial_rounds, ALPHA, mds, ark, rate, CAPACITY)
}

/// The initial capacity element for domain `domain` and `len` inputs: `domain·2^64 + len`.
pub fn capacity_tag(domain: u64, len: usize) -> Fr {
    Fr::from((u128::from(domain) << 64) | len as u128)
}

/// Native domain-separated Poseidon hash of a fixed-length input.
pub fn poseidon_hash(domain: u64, inputs: &[Fr]) -> Fr {
    sponge_hash(poseidon_config(), domain, inputs)
}

/// In-circuit domain-separated Poseidon hash; the same function as [`poseidon_hash`].
pub fn poseidon_hash_var(
    cs: ConstraintSystemRef<Fr>,
    domain: u64,
    inputs: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    sponge_hash_var(cs, poseidon_config(), domain, inputs)
}

/// Native width-5 hash of four inputs under `domain` (one permutation; module docs).
pub fn poseidon_hash4(domain: u64, inputs: [Fr; 4]) -> Fr {
    sponge_hash(poseidon_config4(), domain, &inputs)
}

/// In-circuit [`poseidon_hash4`].
pub fn poseidon_hash4_var(
    cs: ConstraintSystemRef<Fr>,
    domain: u64,
    inputs: &[FpVar<Fr>; 4],
) -> Result<FpVar<Fr>, SynthesisError> {
    sponge_hash_var(cs, poseidon_config4(), domain, inputs)
}

/// Capacity `domain·2^64 + len`, absorb `inputs`, squeeze one element.
fn sponge_hash(config: &PoseidonConfig<Fr>, domain: u64, inputs: &[Fr]) -> Fr {
    let mut sponge = PoseidonSponge::new(config);
    sponge.state[0] = capacity_tag(domain, inputs.len());
    sponge.absorb(&inputs);
    sponge.squeeze_native_field_elements(1)[0]
}

/// In-circuit [`sponge_hash`].
fn sponge_hash_var(
    cs: ConstraintSystemRef<Fr>,
    config: &PoseidonConfig<Fr>,
    domain: u64,
    inputs: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut sponge = PoseidonSpongeVar::new(cs, config);
    sponge.state[0] = FpVar::Constant(capacity_tag(domain, inputs.len()));
    sponge.absorb(&inputs)?;
    let mut out = sponge.squeeze_field_elements(1)?;
    out.pop().ok_or(SynthesisError::Unsatisfiable)
}
