//! Groth16 over BN254 (arkworks 0.6).
//!
//! Setup is circuit-specific: whoever runs [`ProofSystem::setup`] learns the toxic waste and
//! could forge proofs, so Groth16 keys are trusted exactly as much as their generator (a
//! multi-party setup is a later feature). Keys are stored compressed; the verifying key is
//! fully validated on load, the proving key is checked by its blake3 checksum (a corrupted
//! proving key can only make the prover's own proofs fail, never make a bad proof verify).

use std::collections::BTreeMap;
use std::path::Path;

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, ProvingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use circuits::bn254::{Bn254 as Bn254Backend, PolicyCircuit};
use circuits::public::{PublicInputs, Witness};
use circuits::BackendId;
use rand::rngs::OsRng;
use rand_core::{CryptoRng, RngCore};
use verifier::groth16::{encode_proof, Groth16VerifyingKey};
use verifier::{BatchError, ProofEnvelope, ProofError, VkFingerprint};

use crate::error::{KeyStoreError, ProveError};
use crate::keystore;
use crate::{CircuitSize, ProofSystem};

const NAME: &str = "groth16-bn254";
const PK_FILE: &str = "groth16-bn254.pk";
const VK_FILE: &str = "groth16-bn254.vk";

/// Groth16/BN254 keys for the v1 statement.
pub struct Groth16System {
    pk: ProvingKey<Bn254>,
    vk: Groth16VerifyingKey,
    constraints: usize,
}

fn backend_err(e: impl ToString) -> ProveError {
    ProveError::Backend {
        backend: "groth16",
        reason: e.to_string(),
    }
}

impl Groth16System {
    fn from_pk(pk: ProvingKey<Bn254>) -> Result<Self, ProofError> {
        let vk = Groth16VerifyingKey::new(pk.vk.clone())?;
        let constraints = PolicyCircuit::num_constraints().unwrap_or(0);
        Ok(Self {
            pk,
            vk,
            constraints,
        })
    }

    /// The proving key (for benchmarks against stock `ark_groth16` and for tests that force
    /// proofs out of unsatisfied witnesses).
    pub fn proving_key(&self) -> &ProvingKey<Bn254> {
        &self.pk
    }

    /// The verifying key, as the `verifier` crate holds it.
    pub fn verifying_key(&self) -> &Groth16VerifyingKey {
        &self.vk
    }

    fn pk_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.pk
            .serialize_compressed(&mut out)
            .expect("serialize to Vec");
        out
    }
}

impl ProofSystem for Groth16System {
    type Backend = Bn254Backend;

    fn setup<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self, ProveError> {
        let (pk, _) = Groth16::<Bn254>::circuit_specific_setup(PolicyCircuit::blank(), rng)
            .map_err(backend_err)?;
        Self::from_pk(pk).map_err(backend_err)
    }

    fn save(&self, dir: &Path) -> Result<(), KeyStoreError> {
        let pk = self.pk_bytes();
        let vk = self.vk.to_bytes();
        keystore::save(
            dir,
            NAME,
            BackendId::Groth16Bn254,
            &self.vk.fingerprint().to_hex(),
            &[(PK_FILE, &pk), (VK_FILE, &vk)],
            BTreeMap::new(),
        )
    }

    fn load(dir: &Path) -> Result<Self, KeyStoreError> {
        let (manifest, mut files) = keystore::load(dir, NAME, BackendId::Groth16Bn254)?;
        let vk_bytes = keystore::take(&mut files, dir, VK_FILE)?;
        let pk_bytes = keystore::take(&mut files, dir, PK_FILE)?;
        let malformed = |file: &str, reason: String| KeyStoreError::Malformed {
            path: dir.join(file),
            reason,
        };
        let vk = Groth16VerifyingKey::from_bytes(&vk_bytes)
            .map_err(|e| malformed(VK_FILE, e.to_string()))?;
        if vk.fingerprint().to_hex() != manifest.fingerprint {
            return Err(KeyStoreError::Fingerprint {
                expected: manifest.fingerprint,
                found: vk.fingerprint().to_hex(),
            });
        }
        let pk = ProvingKey::<Bn254>::deserialize_with_mode(
            pk_bytes.as_slice(),
            Compress::Yes,
            Validate::No,
        )
        .map_err(|e| malformed(PK_FILE, e.to_string()))?;
        if pk.vk != *vk.key() {
            return Err(malformed(
                PK_FILE,
                "proving key embeds a different verifying key".into(),
            ));
        }
        Self::from_pk(pk).map_err(|e| malformed(PK_FILE, e.to_string()))
    }

    fn fingerprint(&self) -> VkFingerprint {
        self.vk.fingerprint()
    }

    fn circuit_size(&self) -> CircuitSize {
        CircuitSize::Constraints(self.constraints)
    }

    fn key_sizes(&self) -> (usize, usize) {
        (self.pk.compressed_size(), self.vk.key().compressed_size())
    }

    fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &Witness<Self::Backend>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        let circuit = PolicyCircuit::new(witness);
        // ark-groth16 only debug-asserts satisfiability; check it here, always.
        if !circuit.is_satisfied().map_err(backend_err)? {
            return Err(ProveError::Unsatisfied("groth16"));
        }
        let proof = Groth16::<Bn254>::prove(&self.pk, circuit, rng).map_err(backend_err)?;
        Ok(ProofEnvelope {
            backend: BackendId::Groth16Bn254,
            vk_fingerprint: self.vk.fingerprint(),
            proof: encode_proof(&proof),
        })
    }

    fn verify(
        &self,
        envelope: &ProofEnvelope,
        public: &PublicInputs<Fr>,
    ) -> Result<(), ProofError> {
        self.vk.verify(envelope, public)
    }

    fn verify_batch(
        &self,
        items: &[(&ProofEnvelope, &PublicInputs<Fr>)],
    ) -> Result<(), BatchError> {
        self.vk.verify_batch(items, &mut OsRng)
    }
}
