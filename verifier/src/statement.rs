//! [`StatementVerifier`]: what every holder of a verifying key can do with a proof of the
//! v1 policy statement, whichever backend made it.
//!
//! Implemented by [`Groth16VerifyingKey`](crate::Groth16VerifyingKey) (BN254) and
//! [`Halo2VerifyingKey`](crate::Halo2VerifyingKey) (Pasta). A server that only verifies
//! holds one of these, loaded from a key directory with
//! [`StatementVerifier::load_dir`] — never the prover's keys.

use std::path::Path;

use circuits::public::PublicInputs;
use circuits::spend::{SizeClass, SpendPublicInputs};
use circuits::Backend;

use crate::envelope::ProofEnvelope;
use crate::error::{BatchError, ProofError};
use crate::fingerprint::VkFingerprint;
use crate::keys::KeyStoreError;

/// The public inputs of a statement proved on backend `B`.
pub type PublicOf<B> = PublicInputs<<B as Backend>::F>;

/// A verifying key for the v1 statement on one backend.
pub trait StatementVerifier: Send + Sync {
    /// The statement backend (field and native Poseidon) the key verifies for.
    type Backend: Backend;

    /// The same backend's verifying key type for the Bitcoin spend statement.
    type Spend: SpendVerifier<Backend = Self::Backend>;

    /// Fingerprint of the key; every proof made for it names it.
    fn fingerprint(&self) -> VkFingerprint;

    /// Verifies one proof against the statement's public inputs. The envelope must name this
    /// key's backend and fingerprint.
    fn verify(
        &self,
        proof: &ProofEnvelope,
        public: &PublicOf<Self::Backend>,
    ) -> Result<(), ProofError>;

    /// Verifies a batch at once (randomised with OS randomness); on failure every proof is
    /// verified alone and each bad one is named by its index in `items`.
    fn verify_batch(
        &self,
        items: &[(&ProofEnvelope, &PublicOf<Self::Backend>)],
    ) -> Result<(), BatchError>;

    /// Adds this key to an auditor's keys (a witness checks records with its own key).
    fn add_to_audit(&self, keys: &mut crate::audit::AuditKeys);

    /// Loads the key alone from a directory written by `prover`'s `ProofSystem::save`
    /// (see [`crate::keys`]).
    fn load_dir(dir: &Path) -> Result<Self, KeyStoreError>
    where
        Self: Sized;
}

/// The public inputs of a spend proved on backend `B`.
pub type SpendPublicOf<B> = SpendPublicInputs<<B as Backend>::F>;

/// A verifying key of the Bitcoin spend statement ([`circuits::spend`]) for one size class
/// on one backend (a Groth16 key made by `for_spend`, or a halo2 key from
/// `transparent_spend`).
pub trait SpendVerifier: Send + Sync {
    /// The statement backend the key verifies for.
    type Backend: Backend;

    /// Fingerprint of the key; every proof made for it names it.
    fn fingerprint(&self) -> VkFingerprint;

    /// Verifies one spend proof against its public inputs. The envelope must name this
    /// key's backend and fingerprint.
    fn verify(
        &self,
        proof: &ProofEnvelope,
        public: &SpendPublicOf<Self::Backend>,
    ) -> Result<(), ProofError>;

    /// Adds this key to an auditor's keys (spend records name it by fingerprint).
    fn add_to_audit(&self, keys: &mut crate::audit::AuditKeys);

    /// Loads the key of spend class `class` from a key directory (Groth16: the class's
    /// files, see [`crate::keys::groth16_spend_name`]; halo2: recomputed from the
    /// transparent params, no file).
    fn load_class(dir: &Path, class: SizeClass) -> Result<Self, KeyStoreError>
    where
        Self: Sized;
}

impl SpendVerifier for crate::Groth16VerifyingKey {
    type Backend = circuits::bn254::Bn254;

    fn fingerprint(&self) -> VkFingerprint {
        crate::Groth16VerifyingKey::fingerprint(self)
    }

    fn verify(
        &self,
        proof: &ProofEnvelope,
        public: &SpendPublicOf<Self::Backend>,
    ) -> Result<(), ProofError> {
        self.verify_spend(proof, public)
    }

    fn add_to_audit(&self, keys: &mut crate::audit::AuditKeys) {
        keys.add_spend_groth16(self.clone());
    }

    fn load_class(dir: &Path, class: SizeClass) -> Result<Self, KeyStoreError> {
        Self::load_spend_dir(dir, class)
    }
}

impl SpendVerifier for crate::Halo2VerifyingKey {
    type Backend = circuits::pasta::Pasta;

    fn fingerprint(&self) -> VkFingerprint {
        crate::Halo2VerifyingKey::fingerprint(self)
    }

    fn verify(
        &self,
        proof: &ProofEnvelope,
        public: &SpendPublicOf<Self::Backend>,
    ) -> Result<(), ProofError> {
        self.verify_spend(proof, public)
    }

    fn add_to_audit(&self, keys: &mut crate::audit::AuditKeys) {
        keys.add_spend_halo2(self.clone());
    }

    fn load_class(dir: &Path, class: SizeClass) -> Result<Self, KeyStoreError> {
        Self::transparent_spend(class).map_err(|e| KeyStoreError::Malformed {
            path: dir.to_path_buf(),
            reason: format!(
                "transparent halo2 key of the {}-output class: {e}",
                class.slots()
            ),
        })
    }
}
