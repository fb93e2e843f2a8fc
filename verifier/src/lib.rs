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
//! - [`audit`]: the hash-chained audit log of signing sessions and its verifier
//!   ([`audit::verify_log`]).

pub mod audit;
pub mod bip340;
pub mod envelope;
pub mod error;
pub mod fingerprint;
pub mod groth16;
pub mod halo2;

pub use bip340::{verify_bip340, Bip340Error, XOnlyPublicKey};
pub use envelope::ProofEnvelope;
pub use error::{BatchError, EnvelopeError, ProofError};
pub use fingerprint::VkFingerprint;
pub use groth16::Groth16VerifyingKey;
pub use halo2::Halo2VerifyingKey;
