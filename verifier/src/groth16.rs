//! Groth16 over BN254: single verification and batch verification.
//!
//! A verifying key is loaded from its compressed arkworks encoding with full validation
//! (points on the curve and in the prime-order subgroup) and must have exactly one
//! `gamma_abc` point per public input plus one — ark-groth16 0.6 zips the inputs with the key
//! and silently ignores extra ones, so the count is checked here, always.
//!
//! Batch verification uses a random linear combination: for proofs `(A_i, B_i, C_i)` with
//! input commitments `IC_i` and random 128-bit `r_i`,
//! `Π e(r_i·A_i, B_i) · e(Σ r_i·IC_i, −γ) · e(Σ r_i·C_i, −δ) · e(−(Σ r_i)·α, β) = 1`:
//! `n + 3` Miller loops and one final exponentiation instead of `3n` and `n`. If the batch
//! fails, every proof is verified alone so the bad ones are named.

use std::path::Path;

use ark_bn254::{Bn254, Fr, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{PrimeField, UniformRand, Zero};
use ark_groth16::{prepare_verifying_key, Groth16, PreparedVerifyingKey, Proof, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use circuits::bn254::Bn254 as Bn254Backend;
use circuits::public::{PublicInputs, NUM_PUBLIC_INPUTS};
use circuits::spend::{SpendPublicInputs, NUM_SPEND_PUBLIC_INPUTS};
use circuits::BackendId;
use rand::rngs::OsRng;
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;

use crate::envelope::ProofEnvelope;
use crate::error::{BatchError, ProofError};
use crate::fingerprint::VkFingerprint;
use crate::keys::KeyStoreError;
use crate::statement::StatementVerifier;

/// Size of a compressed Groth16/BN254 proof.
pub const PROOF_BYTES: usize = 128;

/// A validated Groth16 verifying key, prepared for pairing checks: for the v1 intent
/// statement ([`Groth16VerifyingKey::new`]) or for a Bitcoin spend class
/// ([`Groth16VerifyingKey::for_spend`]; the two differ in their number of public inputs).
#[derive(Clone)]
pub struct Groth16VerifyingKey {
    pvk: PreparedVerifyingKey<Bn254>,
    fingerprint: VkFingerprint,
    /// The statement's number of public inputs.
    inputs: usize,
}

impl Groth16VerifyingKey {
    /// Wraps an in-memory key (from a setup) for the intent statement, checking its shape.
    pub fn new(vk: VerifyingKey<Bn254>) -> Result<Self, ProofError> {
        Self::with_inputs(vk, NUM_PUBLIC_INPUTS)
    }

    /// Wraps a key for a spend circuit ([`circuits::spend`]), checking its shape.
    pub fn for_spend(vk: VerifyingKey<Bn254>) -> Result<Self, ProofError> {
        Self::with_inputs(vk, NUM_SPEND_PUBLIC_INPUTS)
    }

    fn with_inputs(vk: VerifyingKey<Bn254>, inputs: usize) -> Result<Self, ProofError> {
        if vk.gamma_abc_g1.len() != inputs + 1 {
            return Err(ProofError::MalformedKey(format!(
                "key has {} input points, the statement needs {}",
                vk.gamma_abc_g1.len(),
                inputs + 1
            )));
        }
        let mut bytes = Vec::new();
        vk.serialize_compressed(&mut bytes)
            .map_err(|e| ProofError::MalformedKey(e.to_string()))?;
        Ok(Self {
            fingerprint: VkFingerprint::of(BackendId::Groth16Bn254, &bytes),
            pvk: prepare_verifying_key(&vk),
            inputs,
        })
    }

    /// Decodes a compressed key with full point validation.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        Self::new(decode_key(bytes)?)
    }

    /// Decodes a compressed spend verifying key ([`Groth16VerifyingKey::for_spend`]).
    pub fn spend_from_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        Self::for_spend(decode_key(bytes)?)
    }

    /// The compressed key bytes (what the fingerprint is computed over).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing to a Vec cannot fail.
        self.pvk
            .vk
            .serialize_compressed(&mut bytes)
            .expect("serialize to Vec");
        bytes
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> VkFingerprint {
        self.fingerprint
    }

    /// The arkworks key.
    pub fn key(&self) -> &VerifyingKey<Bn254> {
        &self.pvk.vk
    }

    /// Checks the envelope's backend and fingerprint and decodes the proof.
    pub fn open(&self, envelope: &ProofEnvelope) -> Result<Proof<Bn254>, ProofError> {
        if envelope.backend != BackendId::Groth16Bn254 {
            return Err(ProofError::WrongBackend {
                expected: BackendId::Groth16Bn254,
                found: envelope.backend,
            });
        }
        if envelope.vk_fingerprint != self.fingerprint {
            return Err(ProofError::FingerprintMismatch {
                expected: self.fingerprint,
                found: envelope.vk_fingerprint,
            });
        }
        decode_proof(&envelope.proof)
    }

    /// Verifies a decoded proof against raw field elements, refusing any count other than
    /// the statement's.
    pub fn verify_proof(&self, proof: &Proof<Bn254>, inputs: &[Fr]) -> Result<(), ProofError> {
        if inputs.len() != self.inputs {
            return Err(ProofError::PublicInputCount {
                expected: self.inputs,
                got: inputs.len(),
            });
        }
        match Groth16::<Bn254>::verify_proof(&self.pvk, proof, inputs) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ProofError::Invalid),
            Err(e) => Err(ProofError::MalformedProof(e.to_string())),
        }
    }

    /// Verifies one proof of the spend statement (a key made by [`Self::for_spend`] for the
    /// proof's size class).
    pub fn verify_spend(
        &self,
        envelope: &ProofEnvelope,
        public: &SpendPublicInputs<Fr>,
    ) -> Result<(), ProofError> {
        let proof = self.open(envelope)?;
        self.verify_proof(&proof, &public.to_field_elements())
    }

    /// Verifies a batch with one multi-pairing, its coefficients drawn from `rng`; on
    /// failure, names every bad proof. ([`StatementVerifier::verify_batch`] draws them from
    /// the OS.)
    pub fn verify_batch_with_rng<R: RngCore + CryptoRng>(
        &self,
        items: &[(&ProofEnvelope, &PublicInputs<Fr>)],
        rng: &mut R,
    ) -> Result<(), BatchError> {
        // Decode everything first: a malformed member is reported without pairing work.
        let decoded: Vec<Result<Proof<Bn254>, ProofError>> =
            items.par_iter().map(|(env, _)| self.open(env)).collect();
        let failures: Vec<(usize, ProofError)> = decoded
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e.clone())))
            .collect();
        if !failures.is_empty() {
            return Err(BatchError { failures });
        }
        let proofs: Vec<Proof<Bn254>> = decoded.into_iter().map(Result::unwrap).collect();
        let inputs: Vec<[Fr; NUM_PUBLIC_INPUTS]> =
            items.iter().map(|(_, p)| p.to_field_elements()).collect();
        if proofs.is_empty() || self.batch_holds(&proofs, &inputs, rng) {
            return Ok(());
        }
        let failures: Vec<(usize, ProofError)> = proofs
            .par_iter()
            .zip(inputs.par_iter())
            .enumerate()
            .filter_map(|(i, (p, x))| self.verify_proof(p, x).err().map(|e| (i, e)))
            .collect();
        Err(BatchError { failures })
    }

    /// The randomised batch equation.
    fn batch_holds<R: RngCore + CryptoRng>(
        &self,
        proofs: &[Proof<Bn254>],
        inputs: &[[Fr; NUM_PUBLIC_INPUTS]],
        rng: &mut R,
    ) -> bool {
        let vk = &self.pvk.vk;
        // 128-bit random coefficients: a false batch passes with probability ~2^-128.
        let r: Vec<Fr> = (0..proofs.len())
            .map(|_| Fr::from(u128::rand(rng)))
            .collect();
        let r_sum: Fr = r.iter().sum();
        // Σ r_i·IC_i = (Σ r_i)·γ_abc[0] + Σ_j (Σ_i r_i·x_ij)·γ_abc[j+1]: one small MSM.
        let mut ic_scalars = vec![r_sum];
        for j in 0..NUM_PUBLIC_INPUTS {
            ic_scalars.push(r.iter().zip(inputs).map(|(ri, x)| *ri * x[j]).sum());
        }
        let ic = G1Projective::msm(&vk.gamma_abc_g1, &ic_scalars).expect("lengths match");
        let cs: Vec<_> = proofs.iter().map(|p| p.c).collect();
        let c_sum = G1Projective::msm(&cs, &r).expect("lengths match");
        let mut g1: Vec<<Bn254 as Pairing>::G1Prepared> = proofs
            .par_iter()
            .zip(r.par_iter())
            .map(|(p, ri)| p.a.mul_bigint(ri.into_bigint()).into_affine().into())
            .collect();
        let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> =
            proofs.iter().map(|p| p.b.into()).collect();
        g1.push(ic.into_affine().into());
        g2.push(self.pvk.gamma_g2_neg_pc.clone());
        g1.push(c_sum.into_affine().into());
        g2.push(self.pvk.delta_g2_neg_pc.clone());
        g1.push((-(vk.alpha_g1.into_group() * r_sum)).into_affine().into());
        g2.push(vk.beta_g2.into());
        Bn254::multi_pairing(g1, g2).is_zero()
    }
}

impl StatementVerifier for Groth16VerifyingKey {
    type Backend = Bn254Backend;
    type Spend = Groth16VerifyingKey;

    fn fingerprint(&self) -> VkFingerprint {
        self.fingerprint
    }

    fn add_to_audit(&self, keys: &mut crate::audit::AuditKeys) {
        keys.add_groth16(self.clone());
    }

    fn verify(
        &self,
        envelope: &ProofEnvelope,
        public: &PublicInputs<Fr>,
    ) -> Result<(), ProofError> {
        let proof = self.open(envelope)?;
        self.verify_proof(&proof, &public.to_field_elements())
    }

    fn verify_batch(
        &self,
        items: &[(&ProofEnvelope, &PublicInputs<Fr>)],
    ) -> Result<(), BatchError> {
        self.verify_batch_with_rng(items, &mut OsRng)
    }

    fn load_dir(dir: &Path) -> Result<Self, KeyStoreError> {
        Groth16VerifyingKey::load_dir(dir)
    }
}

/// A compressed verifying key, refusing trailing bytes.
fn decode_key(bytes: &[u8]) -> Result<VerifyingKey<Bn254>, ProofError> {
    let mut reader = bytes;
    let vk = VerifyingKey::<Bn254>::deserialize_compressed(&mut reader)
        .map_err(|e| ProofError::MalformedKey(e.to_string()))?;
    if !reader.is_empty() {
        return Err(ProofError::MalformedKey(format!(
            "{} trailing bytes",
            reader.len()
        )));
    }
    Ok(vk)
}

/// Decodes a compressed proof with full point validation, refusing trailing bytes.
pub fn decode_proof(bytes: &[u8]) -> Result<Proof<Bn254>, ProofError> {
    if bytes.len() != PROOF_BYTES {
        return Err(ProofError::MalformedProof(format!(
            "Groth16 proof must be {PROOF_BYTES} bytes, got {}",
            bytes.len()
        )));
    }
    let proof = Proof::<Bn254>::deserialize_compressed(bytes)
        .map_err(|e| ProofError::MalformedProof(e.to_string()))?;
    if proof.a.is_zero() || proof.b.is_zero() || proof.c.is_zero() {
        return Err(ProofError::MalformedProof(
            "proof contains the point at infinity".into(),
        ));
    }
    Ok(proof)
}

/// Encodes a proof compressed (128 bytes).
pub fn encode_proof(proof: &Proof<Bn254>) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROOF_BYTES);
    proof
        .serialize_compressed(&mut out)
        .expect("serialize to Vec");
    out
}
