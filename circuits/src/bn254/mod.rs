//! The Groth16/BN254 backend of the statement: Poseidon over BN254 Fr ([`poseidon`]), the
//! intent and policy as R1CS variables ([`vars`]: [`IntentVar`], [`PolicyVar`]) and the
//! R1CS circuit ([`circuit`]) for arkworks 0.6.

pub mod circuit;
pub mod poseidon;
pub mod spend;
pub mod vars;

pub use circuit::{public_input_vector, PolicyCircuit, NUM_PUBLIC_INPUTS};
pub use poseidon::{
    poseidon_config, poseidon_config4, poseidon_hash, poseidon_hash4, poseidon_hash4_var,
    poseidon_hash_var,
};
pub use spend::SpendCircuit;
pub use vars::{IntentVar, PolicyVar};

use crate::field::{Backend, BackendId};

/// The BN254 scalar field, the circuit's field.
pub use ark_bn254::Fr;

/// Marker type of the Groth16/BN254 backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bn254;

impl Backend for Bn254 {
    const ID: BackendId = BackendId::Groth16Bn254;
    type F = Fr;

    fn hash(domain: u64, inputs: &[Fr]) -> Fr {
        poseidon_hash(domain, inputs)
    }

    fn hash4(domain: u64, inputs: [Fr; 4]) -> Fr {
        poseidon_hash4(domain, inputs)
    }
}
