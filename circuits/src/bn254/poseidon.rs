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
//! The hash of a fixed-length input `x_1..x_n` is: a fresh duplex sponge (all-zero state),
//! absorb `x_1..x_n`, squeeze one field element. Length is fixed per call site (11, 5 or 3
//! inputs, always starting with a domain tag), so no length padding is needed.

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

/// The Poseidon configuration (generated once per process).
pub fn poseidon_config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
            PRIME_BITS,
            RATE,
            FULL_ROUNDS as u64,
            PARTIAL_ROUNDS as u64,
            0,
        );
        PoseidonConfig::new(FULL_ROUNDS, PARTIAL_ROUNDS, ALPHA, mds, ark, RATE, CAPACITY)
    })
}

/// Native Poseidon hash of a fixed-length input.
pub fn poseidon_hash(inputs: &[Fr]) -> Fr {
    let mut sponge = PoseidonSponge::new(poseidon_config());
    sponge.absorb(&inputs);
    let out = sponge.squeeze_native_field_elements(1);
    out[0]
}

/// In-circuit Poseidon hash of a fixed-length input; the same function as [`poseidon_hash`].
pub fn poseidon_hash_var(
    cs: ConstraintSystemRef<Fr>,
    inputs: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut sponge = PoseidonSpongeVar::new(cs, poseidon_config());
    sponge.absorb(&inputs)?;
    let mut out = sponge.squeeze_field_elements(1)?;
    out.pop().ok_or(SynthesisError::Unsatisfiable)
}
