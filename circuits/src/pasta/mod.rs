//! The halo2 backend of the statement: Poseidon over Pasta `Fp` and the [`PolicyCircuit`].
//!
//! - [`Pasta`]: the [`Backend`] (id [`BackendId::Halo2Pasta`]) whose native hash is
//!   `halo2_gadgets`' `Hash::<Fp, P128Pow5T3, ConstantLength<L>, 3, 2>` ([`poseidon`]) —
//!   the same function the circuit computes, so commitments and allowlist roots built by
//!   the shared code open inside the circuit;
//! - [`circuit`]: the halo2 circuit ([`PolicyCircuit`], `k` = [`K`]) and the list of
//!   constraints it enforces (the same as the BN254 circuit's);
//! - [`vars`]: the intent and policy as assigned cells, by name ([`IntentVar`],
//!   [`PolicyVar`]);
//! - [`chips`]: the circuit's columns and gates ([`PolicyConfig`]) and the gadgets on them
//!   (Poseidon over cells, the Merkle swap, the difference row);
//! - [`quad`]: the spend circuit's width-5 Poseidon and 4-ary path chips;
//! - [`range`]: exact 64-/32-bit range checks on halo2_gadgets' lookup range check;
//! - [`instance`]: the instance column `[C, P, now, binding]` and its length check.
//!
//! # Proving and verifying (zcash `halo2_proofs` 0.4, IPA over Vesta)
//!
//! ```text
//! params = Params::<EqAffine>::new(K)
//! vk     = keygen_vk(&params, &PolicyCircuit::default())        // no witness needed
//! pk     = keygen_pk(&params, vk, &PolicyCircuit::default())
//! proof  = create_proof(&params, &pk, &[PolicyCircuit::new(&witness.values())],
//!                       &[&[&instance_column(&witness.public_inputs())]], rng, Blake2b transcript)
//! verify_proof(&params, pk.get_vk(), SingleVerifier::new(&params),
//!              &[&[&instance_column(&public)]], Blake2b transcript)
//! ```
//!
//! The circuit is defined over Pasta `Fp`, the *scalar* field of Vesta, so its polynomial
//! commitments live on Vesta: `pasta_curves::EqAffine` (= `vesta::Affine`).

pub mod chips;
pub mod circuit;
pub mod instance;
pub mod poseidon;
pub mod quad;
pub mod range;
pub mod spend;
pub mod vars;

pub use chips::PolicyConfig;
pub use circuit::{Assignment, PolicyCircuit, INTENT_LEN, K, POLICY_LEN};
pub use instance::{
    instance_column, instance_from_slice, InstanceError, ROW_BINDING, ROW_C, ROW_NOW, ROW_P,
};
pub use pasta_curves::Fp;
pub use spend::{SpendCircuit, SpendConfig};
pub use vars::{IntentVar, PolicyVar};

use ff::PrimeField;

use crate::field::{Backend, BackendId, StatementField};

/// Marker type of the halo2/IPA backend over the Pasta curves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pasta;

impl Backend for Pasta {
    const ID: BackendId = BackendId::Halo2Pasta;
    type F = Fp;

    /// Constant-length `P128Pow5T3` Poseidon of `[domain, inputs..]` (see
    /// [`poseidon::hash`]); halo2's `ConstantLength` puts the length in the capacity.
    fn hash(domain: u64, inputs: &[Fp]) -> Fp {
        let mut message = Vec::with_capacity(inputs.len() + 1);
        message.push(Fp::from(domain));
        message.extend_from_slice(inputs);
        poseidon::hash(&message)
    }

    /// One [`poseidon::P128Pow5T5`] permutation, capacity `domain·2^64 + 4`
    /// ([`poseidon::hash4`]).
    fn hash4(domain: u64, inputs: [Fp; 4]) -> Fp {
        poseidon::hash4(domain, inputs)
    }
}

impl StatementField for Fp {
    fn from_u64(v: u64) -> Self {
        Fp::from(v)
    }

    fn from_u128(v: u128) -> Self {
        <Fp as PrimeField>::from_u128(v)
    }

    fn from_le_bytes31(bytes: &[u8; 31]) -> Self {
        // lo + 2^128 * hi, both halves exact integers: no reduction, no failure path.
        let mut lo = [0u8; 16];
        lo.copy_from_slice(&bytes[..16]);
        let mut hi = [0u8; 16];
        hi[..15].copy_from_slice(&bytes[16..]);
        let two_128 = <Fp as PrimeField>::from_u128(u128::MAX) + Fp::one();
        <Fp as PrimeField>::from_u128(u128::from_le_bytes(lo))
            + two_128 * <Fp as PrimeField>::from_u128(u128::from_le_bytes(hi))
    }

    fn to_le_bytes32(&self) -> [u8; 32] {
        self.to_repr()
    }

    fn from_canonical_le_bytes32(bytes: &[u8; 32]) -> Option<Self> {
        Option::from(Fp::from_repr(*bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_encodings_round_trip() {
        let mut b31 = [0u8; 31];
        for (i, b) in b31.iter_mut().enumerate() {
            *b = 0xa0 ^ (i as u8 * 7);
        }
        let f = Fp::from_le_bytes31(&b31);
        let b32 = f.to_le_bytes32();
        assert_eq!(&b32[..31], &b31[..]);
        assert_eq!(b32[31], 0);
        assert_eq!(Fp::from_canonical_le_bytes32(&b32), Some(f));
        assert_eq!(
            <Fp as StatementField>::from_u128(u128::MAX).to_le_bytes32()[..16],
            [0xff; 16]
        );
        assert_eq!(<Fp as StatementField>::from_u64(7), Fp::from(7));
    }

    #[test]
    fn non_canonical_bytes_are_rejected() {
        // p - 1 is canonical, p and 2^256 - 1 are not.
        let p_minus_1 = (-Fp::one()).to_repr();
        assert!(Fp::from_canonical_le_bytes32(&p_minus_1).is_some());
        let mut p = p_minus_1;
        p[0] += 1; // p - 1 ends in ...00 in its low byte, so no carry.
        assert!(Fp::from_canonical_le_bytes32(&p).is_none());
        assert!(Fp::from_canonical_le_bytes32(&[0xff; 32]).is_none());
    }

    #[test]
    fn backend_id_and_hash() {
        assert_eq!(Pasta::ID, BackendId::Halo2Pasta);
        let m = [Fp::from(4), Fp::from(5), Fp::from(6)];
        assert_eq!(Pasta::hash(4, &m[1..]), poseidon::hash_fixed(m));
        assert_ne!(Pasta::hash(3, &m[1..]), poseidon::hash_fixed(m));
    }
}
