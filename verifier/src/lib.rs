//! The auditor's library.
//!
//! `verifier` holds everything needed to check zkquorum's outputs after the fact, with no
//! async runtime and no prover code:
//!
//! - [`bip340`]: final threshold signatures as plain BIP-340 Schnorr signatures;
//! - [`envelope`]: proofs on the wire, each naming its backend and verifying-key
//!   [`fingerprint`];
//! - [`groth16`]: Groth16/BN254 verification, single and batched (one multi-pairing);
//! - [`halo2`]: halo2/IPA verification over Pasta, single and batched (halo2's
//!   `BatchVerifier`); the verifying key is regenerated from the transparent params and
//!   the circuit, and fingerprinted from its pinned form and the params;
//! - [`statement`]: [`StatementVerifier`], the one interface of both verifying keys;
//! - [`keys`]: key directories as `prover` saves them, and loading a verifier alone from one;
//! - [`contribution`]: THE check of a signer's round-1 contribution (attestation, intent,
//!   time, binding, proof), used by the coordinator, the co-signers and the auditor;
//! - [`audit`]: the hash-chained audit log of signing sessions and its verifier
//!   ([`audit::verify_log`]);
//! - [`governance`]: the admins' trust root, the roster and policy records `k` of them
//!   sign, and the append-only [`governance::Registry`] every party checks itself;
//! - [`bitcoin`]: the group's Taproot wallet, PSBTs checked as spends of it, BIP-341
//!   sighashes and finalization (rust-bitcoin), the same code for every party.

pub mod audit;
pub mod bip340;
pub mod bitcoin;
pub mod contribution;
pub mod envelope;
pub mod error;
pub mod fingerprint;
pub mod governance;
pub mod groth16;
pub mod halo2;
pub mod keys;
pub mod registered;
pub mod statement;

pub use bip340::{verify_bip340, Bip340Error, XOnlyPublicKey};
pub use envelope::ProofEnvelope;
pub use error::{BatchError, EnvelopeError, ProofError};
pub use fingerprint::VkFingerprint;
pub use groth16::Groth16VerifyingKey;
pub use halo2::Halo2VerifyingKey;
pub use keys::KeyStoreError;
pub use registered::{Pinned, PolicyRegistry, RegisteredPolicies, RosterShape, Rostered};
pub use statement::{PublicOf, SpendPublicOf, SpendVerifier, StatementVerifier};
