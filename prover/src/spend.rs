//! Proving the Bitcoin spend statement ([`circuits::spend`]): one key pair per
//! [`SizeClass`]. [`Groth16Spend`] runs the same prover as the intent statement's
//! ([`crate::groth16`]: cached matrices, satisfiability check, our MSMs) on the class's
//! circuit, so both statements gain from every prover improvement; [`Halo2Spend`] the same
//! `MockProver` check and `create_proof` as [`crate::halo2`], under the transparent params
//! of the class's `k`.

use std::collections::BTreeMap;
use std::path::Path;

use ark_bn254::Bn254;
use ark_groth16::Groth16;
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use circuits::bn254::{Bn254 as Bn254Backend, SpendCircuit};
use circuits::spend::{SizeClass, SpendWitness};
use circuits::{Backend, BackendId};
use rand_core::{CryptoRng, RngCore};
use verifier::groth16::Groth16VerifyingKey;
use verifier::keys::{groth16_spend_name, Manifest};
use verifier::{ProofEnvelope, SpendVerifier, VkFingerprint};

use crate::error::{KeyStoreError, ProveError};
use crate::groth16::{Groth16Keys, ProverPool, TablePlan};
use crate::halo2::{check_circuit, prove_circuit};
use crate::keystore;
use crate::CircuitSize;

/// The keys of one spend size class on one backend: what a signer proves with. Verification
/// is its [`SpendProver::verifier`]'s, the `verifier` crate key an auditor holds.
pub trait SpendProver: Send + Sync {
    /// The statement backend.
    type Backend: Backend;
    /// The verifying key.
    type Verifier: SpendVerifier<Backend = Self::Backend>;

    /// The class the keys are for.
    fn class(&self) -> SizeClass;

    /// The verifying key.
    fn verifier(&self) -> &Self::Verifier;

    /// Fingerprint of the verifying key; every proof names it.
    fn fingerprint(&self) -> VkFingerprint {
        self.verifier().fingerprint()
    }

    /// Proves `witness` (a witness of another class, or one the circuit does not accept,
    /// is refused).
    fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &SpendWitness<Self::Backend>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError>;

    /// Generates the keys of `class` (Groth16: a circuit-specific setup; halo2:
    /// transparent).
    fn setup_class<R: RngCore + CryptoRng>(
        class: SizeClass,
        rng: &mut R,
    ) -> Result<Self, ProveError>
    where
        Self: Sized;

    /// Writes the keys to `dir` (atomically, manifest last; halo2 writes nothing: anyone
    /// recomputes its keys).
    fn save(&self, dir: &Path) -> Result<(), KeyStoreError>;

    /// Loads the keys of `class` written by [`SpendProver::save`], refusing corrupted or
    /// mismatched files.
    fn load(dir: &Path, class: SizeClass) -> Result<Self, KeyStoreError>
    where
        Self: Sized;

    /// Builds the prover's per-key precomputation now ([`crate::ProofSystem::warm`]).
    fn warm(&self) {}
}

/// One backend's spend keys for several size classes (a node loads the classes it signs
/// for; the 256-output class is large).
pub struct SpendKeys<Q>(Vec<Q>);

impl<Q: SpendProver> SpendKeys<Q> {
    /// Loads the keys of every class of `classes` from `dir`.
    pub fn load(dir: &Path, classes: &[SizeClass]) -> Result<Self, KeyStoreError> {
        Ok(Self::new(
            classes
                .iter()
                .map(|c| Q::load(dir, *c))
                .collect::<Result<_, _>>()?,
        ))
    }

    /// Generates the keys of every class of `classes` and writes them to `dir`.
    pub fn setup_and_save<R: RngCore + CryptoRng>(
        dir: &Path,
        classes: &[SizeClass],
        rng: &mut R,
    ) -> Result<Self, String> {
        let mut keys = Vec::new();
        for class in classes {
            let k = Q::setup_class(*class, rng).map_err(|e| e.to_string())?;
            k.save(dir).map_err(|e| e.to_string())?;
            keys.push(k);
        }
        Ok(Self::new(keys))
    }

    /// Builds every class's per-key precomputation now, in the order the classes were given
    /// ([`SpendProver::warm`]).
    pub fn warm(&self) {
        for k in &self.0 {
            k.warm();
        }
    }

    /// The verifying keys, by class.
    pub fn verifiers(&self) -> Vec<(SizeClass, &Q::Verifier)> {
        self.0.iter().map(|k| (k.class(), k.verifier())).collect()
    }

    /// Keys for the classes of `keys` (one each; a later duplicate is ignored).
    pub fn new(keys: Vec<Q>) -> Self {
        let mut out: Vec<Q> = Vec::new();
        for k in keys {
            if !out.iter().any(|o| o.class() == k.class()) {
                out.push(k);
            }
        }
        Self(out)
    }

    /// The keys of `class`, if held.
    pub fn class(&self, class: SizeClass) -> Option<&Q> {
        self.0.iter().find(|k| k.class() == class)
    }

    /// The classes held.
    pub fn classes(&self) -> Vec<SizeClass> {
        self.0.iter().map(SpendProver::class).collect()
    }
}

/// Groth16/BN254 keys for one spend size class.
pub struct Groth16Spend {
    class: SizeClass,
    keys: Groth16Keys,
}

fn backend_err(e: impl ToString) -> ProveError {
    ProveError::Backend {
        backend: "groth16",
        reason: e.to_string(),
    }
}

impl Groth16Spend {
    /// Generates the class's keys (a circuit-specific setup, trusted as its generator is:
    /// see [`crate::groth16`]).
    pub fn setup<R: RngCore + CryptoRng>(
        class: SizeClass,
        rng: &mut R,
    ) -> Result<Self, ProveError> {
        let (pk, _) = Groth16::<Bn254>::circuit_specific_setup(SpendCircuit::blank(class), rng)
            .map_err(backend_err)?;
        let vk = Groth16VerifyingKey::for_spend(pk.vk.clone()).map_err(backend_err)?;
        Ok(Self {
            class,
            keys: Groth16Keys::new(pk, vk, SpendCircuit::blank(class), TablePlan::OnFirstProof)?,
        })
    }

    /// The class the keys are for.
    pub fn class(&self) -> SizeClass {
        self.class
    }

    /// Runs proofs on a pool of `threads` threads (instead of
    /// [`crate::groth16::ProverPool::default_threads`]), as
    /// [`crate::groth16::Groth16System::with_threads`].
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.keys.set_pool(ProverPool::new(threads));
        self
    }

    /// Threads proofs run on.
    pub fn threads(&self) -> usize {
        self.keys.pool().threads()
    }

    /// Bytes of fixed-base tables held (0 before the first proof or [`Self::warm`]).
    pub fn fixed_base_bytes(&self) -> usize {
        self.keys.table_bytes()
    }

    /// The verifying key ([`Groth16VerifyingKey::verify_spend`]).
    pub fn verifier(&self) -> &Groth16VerifyingKey {
        self.keys.verifying_key()
    }

    /// The proving key (benchmarks against stock ark-groth16).
    pub fn proving_key(&self) -> &ark_groth16::ProvingKey<Bn254> {
        self.keys.proving_key()
    }

    /// R1CS constraints of the class's circuit.
    pub fn circuit_size(&self) -> CircuitSize {
        CircuitSize::Constraints(self.keys.num_constraints())
    }

    /// Proves `witness` (checked natively by [`SpendWitness::new`]); a witness for another
    /// class, or one the circuit does not accept, is refused.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &SpendWitness<Bn254Backend>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        if witness.values().class != self.class {
            return Err(backend_err(format!(
                "a witness for {} slots, keys for {}",
                witness.values().class,
                self.class
            )));
        }
        self.keys.prove_circuit(SpendCircuit::new(witness), rng)
    }
}

/// halo2/IPA keys for one spend size class (transparent: anyone recomputes them).
pub struct Halo2Spend {
    class: SizeClass,
    pk: halo2_proofs::plonk::ProvingKey<pasta_curves::EqAffine>,
    vk: verifier::halo2::Halo2VerifyingKey,
}

impl Halo2Spend {
    /// The class's params (`2^k` generators) and keys.
    pub fn setup(class: SizeClass) -> Result<Self, ProveError> {
        let vk = verifier::halo2::Halo2VerifyingKey::transparent_spend(class)
            .map_err(crate::halo2::backend_err)?;
        let pk = halo2_proofs::plonk::keygen_pk(
            vk.params(),
            vk.key().clone(),
            &circuits::pasta::SpendCircuit::blank(class),
        )
        .map_err(crate::halo2::backend_err)?;
        Ok(Self { class, pk, vk })
    }

    /// The class the keys are for.
    pub fn class(&self) -> SizeClass {
        self.class
    }

    /// The verifying key ([`verifier::halo2::Halo2VerifyingKey::verify_spend`]).
    pub fn verifier(&self) -> &verifier::halo2::Halo2VerifyingKey {
        &self.vk
    }

    /// Checks `witness` with `MockProver`, then proves it.
    pub fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &SpendWitness<circuits::pasta::Pasta>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        let values = witness.values();
        if values.class != self.class {
            return Err(backend_err(format!(
                "a witness for {} slots, keys for {}",
                values.class, self.class
            )));
        }
        let circuit = circuits::pasta::SpendCircuit::from_values(values.clone());
        let k = circuits::pasta::SpendCircuit::k(self.class);
        check_circuit(k, &circuit, &values.public)?;
        prove_circuit(&self.vk, &self.pk, circuit, &values.public, rng)
    }
}

impl SpendProver for Groth16Spend {
    type Backend = Bn254Backend;
    type Verifier = Groth16VerifyingKey;

    fn setup_class<R: RngCore + CryptoRng>(
        class: SizeClass,
        rng: &mut R,
    ) -> Result<Self, ProveError> {
        Self::setup(class, rng)
    }

    /// Builds the fixed-base tables now instead of at the first proof.
    fn warm(&self) {
        self.keys.warm();
    }

    /// `groth16-bn254-spend-<slots>.{pk,vk}` and their manifest (with `slots`).
    fn save(&self, dir: &Path) -> Result<(), KeyStoreError> {
        let name = groth16_spend_name(self.class);
        let mut pk = Vec::new();
        self.proving_key()
            .serialize_compressed(&mut pk)
            .expect("serialize to Vec");
        let vk = self.verifier().to_bytes();
        keystore::save(
            dir,
            &name,
            BackendId::Groth16Bn254,
            self.verifier().fingerprint(),
            &[(&format!("{name}.pk"), &pk), (&format!("{name}.vk"), &vk)],
            BTreeMap::from([("slots".to_string(), self.class.slots() as u64)]),
        )
    }

    /// The verifying key through `verifier`'s loader, then the proving key (checksum, and
    /// it must embed that verifying key and fit the class's circuit).
    fn load(dir: &Path, class: SizeClass) -> Result<Self, KeyStoreError> {
        let name = groth16_spend_name(class);
        let vk = Groth16VerifyingKey::load_spend_dir(dir, class)?;
        let manifest = Manifest::read(dir, &name, BackendId::Groth16Bn254)?;
        let keys = Groth16Keys::load(
            dir,
            &manifest,
            &format!("{name}.pk"),
            vk,
            SpendCircuit::blank(class),
        )?;
        Ok(Self { class, keys })
    }

    fn class(&self) -> SizeClass {
        self.class
    }

    fn verifier(&self) -> &Groth16VerifyingKey {
        self.keys.verifying_key()
    }

    fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &SpendWitness<Bn254Backend>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        Groth16Spend::prove(self, witness, rng)
    }
}

impl SpendProver for Halo2Spend {
    type Backend = circuits::pasta::Pasta;
    type Verifier = verifier::halo2::Halo2VerifyingKey;

    fn setup_class<R: RngCore + CryptoRng>(
        class: SizeClass,
        _rng: &mut R,
    ) -> Result<Self, ProveError> {
        Self::setup(class)
    }

    fn save(&self, _dir: &Path) -> Result<(), KeyStoreError> {
        Ok(())
    }

    fn load(dir: &Path, class: SizeClass) -> Result<Self, KeyStoreError> {
        Self::setup(class).map_err(|e| KeyStoreError::Malformed {
            path: dir.to_path_buf(),
            reason: format!(
                "transparent halo2 keys of the {}-output class: {e}",
                class.slots()
            ),
        })
    }

    fn class(&self) -> SizeClass {
        self.class
    }

    fn verifier(&self) -> &verifier::halo2::Halo2VerifyingKey {
        &self.vk
    }

    fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &SpendWitness<circuits::pasta::Pasta>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        Halo2Spend::prove(self, witness, rng)
    }
}
