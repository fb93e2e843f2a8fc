//! The auditor's library.
//!
//! `verifier` holds everything needed to check zkquorum's outputs after the fact, with no
//! async runtime and no prover code: today the BIP-340 check of final threshold signatures
//! ([`bip340`]); proof verification and audit-log verification build on it.

pub mod bip340;

pub use bip340::{verify_bip340, Bip340Error, XOnlyPublicKey};
