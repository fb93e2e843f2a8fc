//! The zkquorum v1 statement.
//!
//! A signer proves in zero knowledge that a hidden transaction [`Intent`] satisfies its
//! committed [`Policy`]. This crate holds everything both proof backends share — the types,
//! the native rule check ([`rules::check`]), the field encoding of the witness, commitments,
//! the allowlist Merkle tree, the signed digest and the public inputs — the statement's
//! list of constraints and its range/ordering checks ([`checks`]), and one circuit per
//! backend enforcing exactly that list: [`bn254`] (arkworks R1CS over BN254 Fr, for
//! Groth16) and [`pasta`] (halo2 over Pasta Fp). Both address the intent and the policy by
//! field name ([`IntentFields`], [`PolicyFields`]; `IntentVar` / `PolicyVar` in each
//! backend).
//!
//! Public inputs, in order: `C = H_INTENT(intent...)`, `P = H_POLICY(policy..., salt)`
//! (hiding: the policy's 256-bit salt enters as two private limbs), `now`,
//! `binding`, where `H_d` is the backend's domain-separated Poseidon ([`Backend::hash`]).
//! The threshold signature signs [`SignedDigest`] = tagged SHA-256 of `C`, computed natively by everyone.

#![warn(missing_docs)]

pub mod bn254;
pub mod checks;
pub mod digest;
pub mod field;
pub mod hash;
pub mod intent;
pub mod merkle;
pub mod pasta;
pub mod policy;
pub mod public;
pub mod rules;
pub mod sample;
pub mod spend;

pub use digest::SignedDigest;
pub use field::{
    Backend, BackendId, StatementField, UnknownBackendId, UnknownBackendName, DOMAIN_INTENT,
    DOMAIN_LEAF, DOMAIN_NODE, DOMAIN_POLICY,
};
pub use intent::{
    Intent, IntentCommitment, IntentFields, IntentParseError, Recipient, Salt, INTENT_VERSION,
};
pub use merkle::{MerkleError, MerklePath, MerkleTree, TREE_DEPTH};
pub use policy::{
    Policy, PolicyCommitment, PolicyFields, PolicyFileError, PolicySalt, PolicySaltParseError,
};
pub use public::{
    Binding, PublicInputs, PublicInputsError, StatementInputs, Witness, WitnessValues,
};
pub use rules::{check, PolicyViolation, Rule, UnknownRule};
