//! zkquorum's performance core: proving the v1 policy statement.
//!
//! [`ProofSystem`] is the one interface both backends implement — key setup, save/load with
//! a fingerprint, `prove`, and `prove_batch` that proves many statements in parallel with
//! rayon. It verifies only through its [`ProofSystem::verifier`], a `verifier` crate key, so
//! a proof checked here is checked by exactly the code an auditor runs, and a server that
//! only verifies loads that key alone. Backends:
//!
//! - [`groth16::Groth16System`]: Groth16 over BN254 (arkworks 0.6), circuit-specific setup;
//! - [`halo2::Halo2System`]: halo2 over Pasta with IPA (zcash halo2_proofs 0.4), transparent
//!   setup.
//!
//! The Bitcoin spend statement has its own keys per size class: [`spend::Groth16Spend`].
//!
//! Every proof leaves as a [`verifier::ProofEnvelope`] naming its backend and verifying-key
//! fingerprint.
//!
//! With the feature `test-util`, [`test_util`] holds the shared per-process setups tests and
//! benches use.

pub mod error;
pub mod groth16;
pub mod halo2;
pub mod msm;
pub mod spend;

pub mod keystore;
#[cfg(feature = "test-util")]
pub mod test_util;

use std::path::Path;

use circuits::public::{Binding, Witness};
use circuits::{Backend, Intent, Policy};
use rand::rngs::OsRng;
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;
use verifier::{ProofEnvelope, StatementVerifier, VkFingerprint};

pub use error::{KeyStoreError, ProveError};
pub use msm::{ArkMsm, MsmBackend, PippengerMsm};

/// Size of a backend's circuit, in its own unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitSize {
    /// R1CS constraints (Groth16).
    Constraints(usize),
    /// Used rows out of `2^k` (halo2).
    Rows {
        /// Rows the circuit uses.
        used: usize,
        /// `log2` of the domain size.
        k: u32,
    },
}

/// A proof system for the v1 statement: keys and proving; verification is its
/// [`ProofSystem::verifier`]'s.
pub trait ProofSystem: Send + Sync + Sized {
    /// The statement backend (field and native Poseidon).
    type Backend: Backend;

    /// The verifying key: all that verification needs (proofs are verified through it,
    /// `system.verifier().verify_batch(..)`).
    type Verifier: StatementVerifier<Backend = Self::Backend>;

    /// The backend's keys for the Bitcoin spend statement, one per size class.
    type Spend: spend::SpendProver<Backend = Self::Backend>;

    /// Generates keys (Groth16: a circuit-specific trusted setup; halo2: transparent).
    fn setup<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self, ProveError>;

    /// Writes the keys to `dir` (atomically, with a manifest holding the fingerprint).
    fn save(&self, dir: &Path) -> Result<(), KeyStoreError>;

    /// Loads keys written by [`ProofSystem::save`], refusing corrupted or mismatched files.
    fn load(dir: &Path) -> Result<Self, KeyStoreError>;

    /// The verifying key, as the `verifier` crate holds it (what a verifier-only server
    /// loads alone with [`StatementVerifier::load_dir`]).
    fn verifier(&self) -> &Self::Verifier;

    /// Fingerprint of the verifying key; every proof names it.
    fn fingerprint(&self) -> VkFingerprint {
        self.verifier().fingerprint()
    }

    /// Constraints or rows.
    fn circuit_size(&self) -> CircuitSize;

    /// Builds what the prover precomputes per key now instead of at the first proof
    /// (Groth16: the fixed-base tables, within [`msm::TableBudget::global`]); nothing where
    /// there is nothing to build (halo2). A node calls it at startup when its config asks.
    fn warm(&self) {}

    /// Serialized sizes of (proving key, verifying key) in bytes.
    fn key_sizes(&self) -> (usize, usize);

    /// Proves one statement. The witness is checked against the circuit first; an
    /// unsatisfied witness is refused with [`ProveError::Unsatisfied`].
    fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &Witness<Self::Backend>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError>;

    /// Runs the native policy check, then proves: a violation is refused with
    /// [`ProveError::Policy`] naming the rule, before any proving work.
    fn prove_statement<R: RngCore + CryptoRng>(
        &self,
        intent: Intent,
        policy: Policy,
        now: u64,
        binding: Binding,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        let witness = Witness::<Self::Backend>::new(intent, policy, now, binding)?;
        self.prove(&witness, rng)
    }

    /// Proves many statements in parallel (rayon, one proof per task, OS randomness per
    /// proof); results in input order.
    fn prove_batch(
        &self,
        witnesses: &[Witness<Self::Backend>],
    ) -> Vec<Result<ProofEnvelope, ProveError>> {
        witnesses
            .par_iter()
            .map(|w| self.prove(w, &mut OsRng))
            .collect()
    }
}
