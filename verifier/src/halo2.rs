//! halo2 with IPA over the Pasta curves: single verification and batch verification.
//!
//! # Keys
//!
//! The setup is transparent: the commitment key (`Params<EqAffine>`, `2^K` Vesta generators
//! hashed to the curve) can be recomputed by anyone ([`Halo2VerifyingKey::transparent`]),
//! and the verifying key is not stored at all — it is regenerated from the params and the
//! circuit with `keygen_vk(&params, &PolicyCircuit::default())`. A verifier therefore only
//! needs the params (or nothing, if it regenerates them).
//!
//! # Fingerprint
//!
//! [`VkFingerprint::of`]`(BackendId::Halo2Pasta, bytes)` with
//! `bytes = len(pinned) as u64 LE || pinned || params bytes`, where `pinned` is the debug
//! string of `vk.pinned()` — the same text halo2 hashes into every proof's transcript. The
//! pinned key fixes the circuit (constraint system, domain, fixed and permutation
//! commitments); the params bytes fix the commitment key the commitments are taken under.
//! The debug text is stable for a given halo2_proofs release (0.4.1 here); a halo2 upgrade
//! that changes it changes every fingerprint, which is the intended, loud failure.
//!
//! # Proof sizes
//!
//! A halo2 proof of a fixed circuit with one proof per transcript has one exact length.
//! The key measures it once when it is built, by running the verifier over a filler
//! transcript whose every 32-byte element is both a valid (non-identity) point and a
//! canonical scalar, so that every element is read; [`Halo2VerifyingKey::open`] refuses
//! any other length (3264 bytes for the v1 circuit). halo2's verifier does not check that
//! the transcript was consumed, so without this check a proof with bytes appended would
//! verify too (and `BatchVerifier` could not tell).
//!
//! # Public inputs
//!
//! halo2 pads a short instance column with zeros: `[C, P, now]` would verify against a
//! proof whose binding is zero. Every entry point here goes through
//! [`instance_from_slice`], which refuses any count other than 4.
//!
//! # Batches
//!
//! [`Halo2VerifyingKey::verify_batch`] uses halo2's `BatchVerifier` (each proof's final MSM
//! scaled by a random factor and summed, one MSM check for the batch). If the batch fails,
//! every proof is verified alone (in parallel) so the bad ones are named with their index.

use core::fmt;

use std::path::Path;

use circuits::pasta::{instance_from_slice, InstanceError, Pasta, PolicyCircuit, SpendCircuit, K};
use circuits::public::{PublicInputs, NUM_PUBLIC_INPUTS};
use circuits::spend::{SizeClass, SpendPublicInputs, NUM_SPEND_PUBLIC_INPUTS};
use circuits::BackendId;
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::plonk::{keygen_vk, verify_proof, BatchVerifier, Error, SingleVerifier};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bRead, Challenge255};
use pasta_curves::group::ff::Field;
use pasta_curves::group::CurveAffine;
use pasta_curves::group::GroupEncoding;
use pasta_curves::{EqAffine, Fp};
use rayon::prelude::*;

use crate::envelope::{ProofEnvelope, MAX_PROOF_BYTES};
use crate::error::{BatchError, ProofError};
use crate::fingerprint::VkFingerprint;
use crate::keys::KeyStoreError;
use crate::statement::StatementVerifier;

/// Size of one encoded Vesta point or Pasta scalar in a halo2 transcript.
const ELEMENT_BYTES: usize = 32;

/// Length of the params encoding for `k`: `k` (u32 LE), `2^k` generators, `2^k` Lagrange
/// generators, `w`, `u` (compressed points).
pub fn params_len(k: u32) -> usize {
    4 + 2 * (1usize << k) * ELEMENT_BYTES + 2 * ELEMENT_BYTES
}

/// 32 bytes that are both the encoding of a Vesta point other than the identity (which a
/// transcript refuses) and a canonical Pasta scalar: the smallest such `x` coordinate.
fn filler_element() -> [u8; ELEMENT_BYTES] {
    (1u64..)
        .map(|x| {
            let mut b = [0u8; ELEMENT_BYTES];
            b[..8].copy_from_slice(&x.to_le_bytes());
            b
        })
        .find(|b| {
            let p: Option<EqAffine> = EqAffine::from_bytes(b).into();
            p.is_some_and(|p| !bool::from(p.is_identity()))
        })
        .expect("half of all x are on the curve")
}

/// Which circuit a key is for: the intent statement's, or a spend class's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Statement {
    Intent,
    Spend(SizeClass),
}

impl Statement {
    fn k(self) -> u32 {
        match self {
            Statement::Intent => K,
            Statement::Spend(class) => SpendCircuit::k(class),
        }
    }

    fn inputs(self) -> usize {
        match self {
            Statement::Intent => NUM_PUBLIC_INPUTS,
            Statement::Spend(_) => NUM_SPEND_PUBLIC_INPUTS,
        }
    }

    fn keygen(self, params: &Params<EqAffine>) -> Result<VerifyingKey<EqAffine>, Error> {
        match self {
            Statement::Intent => keygen_vk(params, &PolicyCircuit::default()),
            Statement::Spend(class) => keygen_vk(params, &SpendCircuit::blank(class)),
        }
    }
}

/// A halo2/IPA verifying key: the params and the key regenerated from them and the circuit
/// — the intent statement's ([`Halo2VerifyingKey::transparent`]) or a spend class's
/// ([`Halo2VerifyingKey::transparent_spend`]).
#[derive(Clone)]
pub struct Halo2VerifyingKey {
    params: Params<EqAffine>,
    vk: VerifyingKey<EqAffine>,
    fingerprint: VkFingerprint,
    proof_len: usize,
    statement: Statement,
}

impl fmt::Debug for Halo2VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Halo2VerifyingKey")
            .field("k", &self.params.k())
            .field("fingerprint", &self.fingerprint)
            .field("proof_len", &self.proof_len)
            .finish()
    }
}

fn instance_count(e: InstanceError) -> ProofError {
    match e {
        InstanceError::WrongCount { expected, got } => {
            ProofError::PublicInputCount { expected, got }
        }
    }
}

/// Maps a halo2 verification error: transcript (decoding) errors are malformed proofs,
/// everything else is a proof that does not verify.
fn verify_err(e: Error) -> ProofError {
    match e {
        Error::Transcript(e) => ProofError::MalformedProof(e.to_string()),
        Error::InvalidInstances | Error::InstanceTooLarge => {
            ProofError::MalformedProof(format!("instances refused by halo2: {e:?}"))
        }
        _ => ProofError::Invalid,
    }
}

impl Halo2VerifyingKey {
    /// The key under the transparent params `Params::new(K)` that everyone can recompute.
    pub fn transparent() -> Result<Self, ProofError> {
        Self::from_params(Params::new(K))
    }

    /// The key of spend class `class` under the transparent params
    /// `Params::new(SpendCircuit::k(class))`.
    pub fn transparent_spend(class: SizeClass) -> Result<Self, ProofError> {
        Self::for_statement(Params::new(SpendCircuit::k(class)), Statement::Spend(class))
    }

    /// Regenerates the verifying key from `params` and the circuit, refusing params of
    /// another size than [`K`].
    pub fn from_params(params: Params<EqAffine>) -> Result<Self, ProofError> {
        Self::for_statement(params, Statement::Intent)
    }

    fn for_statement(params: Params<EqAffine>, statement: Statement) -> Result<Self, ProofError> {
        let k = statement.k();
        if params.k() != k {
            return Err(ProofError::MalformedKey(format!(
                "params have k = {}, the circuit needs k = {k}",
                params.k()
            )));
        }
        let vk = statement
            .keygen(&params)
            .map_err(|e| ProofError::MalformedKey(format!("keygen_vk: {e:?}")))?;
        let mut params_bytes = Vec::with_capacity(params_len(k));
        params
            .write(&mut params_bytes)
            .map_err(|e| ProofError::MalformedKey(e.to_string()))?;
        let pinned = format!("{:?}", vk.pinned());
        let mut bytes = Vec::with_capacity(8 + pinned.len() + params_bytes.len());
        bytes.extend_from_slice(&(pinned.len() as u64).to_le_bytes());
        bytes.extend_from_slice(pinned.as_bytes());
        bytes.extend_from_slice(&params_bytes);
        let fingerprint = VkFingerprint::of(BackendId::Halo2Pasta, &bytes);
        let mut key = Self {
            params,
            vk,
            fingerprint,
            proof_len: 0,
            statement,
        };
        key.proof_len = key.measure_proof_len()?;
        Ok(key)
    }

    /// Decodes params written by [`Halo2VerifyingKey::params_bytes`] (or
    /// `Params::write`) and regenerates the key. The length and `k` are checked before
    /// decoding, so garbage or truncated input is a typed error, never a panic or a huge
    /// allocation; every point is checked to be on the curve.
    pub fn from_params_bytes(bytes: &[u8]) -> Result<Self, ProofError> {
        if bytes.len() < 4 {
            return Err(ProofError::MalformedKey(format!(
                "params: {} bytes, need at least 4",
                bytes.len()
            )));
        }
        let k = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        if k != K {
            return Err(ProofError::MalformedKey(format!(
                "params have k = {k}, the circuit needs k = {K}"
            )));
        }
        if bytes.len() != params_len(K) {
            return Err(ProofError::MalformedKey(format!(
                "params for k = {K} are {} bytes, got {}",
                params_len(K),
                bytes.len()
            )));
        }
        let mut reader = bytes;
        let params = Params::<EqAffine>::read(&mut reader)
            .map_err(|e| ProofError::MalformedKey(format!("params: {e}")))?;
        Self::from_params(params)
    }

    /// The params encoding (what [`Halo2VerifyingKey::from_params_bytes`] reads).
    pub fn params_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(params_len(self.params.k()));
        // Writing to a Vec cannot fail.
        self.params.write(&mut out).expect("write to Vec");
        out
    }

    /// Whether the params are the transparent ones, `Params::new(k)` (recomputes them).
    /// Params with other generators (say, with known discrete-log relations) would make
    /// forgeries possible; their key has another fingerprint, and this says why.
    pub fn is_transparent(&self) -> bool {
        let k = self.params.k();
        let mut canonical = Vec::with_capacity(params_len(k));
        Params::<EqAffine>::new(k)
            .write(&mut canonical)
            .expect("write to Vec");
        canonical == self.params_bytes()
    }

    /// The key's fingerprint.
    pub fn fingerprint(&self) -> VkFingerprint {
        self.fingerprint
    }

    /// The commitment key.
    pub fn params(&self) -> &Params<EqAffine> {
        &self.params
    }

    /// The halo2 verifying key.
    pub fn key(&self) -> &VerifyingKey<EqAffine> {
        &self.vk
    }

    /// The exact length of a proof under this key.
    pub fn proof_len(&self) -> usize {
        self.proof_len
    }

    /// Bytes the verifier reads from a filler transcript (see the module docs).
    fn measure_proof_len(&self) -> Result<usize, ProofError> {
        let chunk = filler_element();
        let filler: Vec<u8> = chunk
            .iter()
            .copied()
            .cycle()
            .take(MAX_PROOF_BYTES.min(1 << 16))
            .collect();
        let mut rest: &[u8] = &filler;
        let instance = vec![Fp::ZERO; self.statement.inputs()];
        {
            let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&mut rest);
            // The outcome is irrelevant (the filler does not verify); what it read is.
            let _ = verify_proof(
                &self.params,
                &self.vk,
                SingleVerifier::new(&self.params),
                &[&[&instance[..]]],
                &mut transcript,
            );
        }
        let read = filler.len() - rest.len();
        if read <= ELEMENT_BYTES || read == filler.len() {
            return Err(ProofError::MalformedKey(format!(
                "could not determine the proof length (read {read} bytes)"
            )));
        }
        Ok(read)
    }

    fn check_len(&self, proof: &[u8]) -> Result<(), ProofError> {
        if proof.len() != self.proof_len {
            return Err(ProofError::MalformedProof(format!(
                "halo2 proof must be {} bytes, got {}",
                self.proof_len,
                proof.len()
            )));
        }
        Ok(())
    }

    /// Checks the envelope's backend, fingerprint and proof length, and returns the proof.
    pub fn open<'a>(&self, envelope: &'a ProofEnvelope) -> Result<&'a [u8], ProofError> {
        if envelope.backend != BackendId::Halo2Pasta {
            return Err(ProofError::WrongBackend {
                expected: BackendId::Halo2Pasta,
                found: envelope.backend,
            });
        }
        if envelope.vk_fingerprint != self.fingerprint {
            return Err(ProofError::FingerprintMismatch {
                expected: self.fingerprint,
                found: envelope.vk_fingerprint,
            });
        }
        self.check_len(&envelope.proof)?;
        Ok(&envelope.proof)
    }

    /// Verifies one proof of the spend statement (a key of the proof's size class).
    pub fn verify_spend(
        &self,
        envelope: &ProofEnvelope,
        public: &SpendPublicInputs<Fp>,
    ) -> Result<(), ProofError> {
        let proof = self.open(envelope)?;
        self.verify_instances(proof, &public.to_field_elements())
    }

    /// Verifies raw proof bytes against a raw instance column, refusing any count other
    /// than the statement's (4 for the intent, 6 for a spend; halo2 would pad a short
    /// column with zeros).
    pub fn verify_instances(&self, proof: &[u8], instances: &[Fp]) -> Result<(), ProofError> {
        let intent_column;
        let column: &[Fp] = match self.statement {
            Statement::Intent => {
                intent_column = instance_from_slice(instances).map_err(instance_count)?;
                &intent_column[..]
            }
            Statement::Spend(_) if instances.len() == NUM_SPEND_PUBLIC_INPUTS => instances,
            Statement::Spend(_) => {
                return Err(ProofError::PublicInputCount {
                    expected: NUM_SPEND_PUBLIC_INPUTS,
                    got: instances.len(),
                })
            }
        };
        self.check_len(proof)?;
        let mut rest = proof;
        {
            let mut transcript = Blake2bRead::<_, EqAffine, Challenge255<_>>::init(&mut rest);
            verify_proof(
                &self.params,
                &self.vk,
                SingleVerifier::new(&self.params),
                &[&[column]],
                &mut transcript,
            )
            .map_err(verify_err)?;
        }
        if !rest.is_empty() {
            return Err(ProofError::MalformedProof(format!(
                "{} trailing bytes after the proof",
                rest.len()
            )));
        }
        Ok(())
    }
}

impl StatementVerifier for Halo2VerifyingKey {
    type Backend = Pasta;
    type Spend = Halo2VerifyingKey;

    fn fingerprint(&self) -> VkFingerprint {
        self.fingerprint
    }

    fn add_to_audit(&self, keys: &mut crate::audit::AuditKeys) {
        keys.add_halo2(self.clone());
    }

    fn verify(
        &self,
        envelope: &ProofEnvelope,
        public: &PublicInputs<Fp>,
    ) -> Result<(), ProofError> {
        let proof = self.open(envelope)?;
        self.verify_instances(proof, &public.to_field_elements())
    }

    /// Verifies a batch with halo2's `BatchVerifier` (one MSM check for all proofs); on
    /// failure verifies each proof alone and names every bad one with its index.
    ///
    /// The batch's random scaling factors come from the OS (`BatchVerifier` draws them
    /// itself), so no RNG is taken.
    fn verify_batch(
        &self,
        items: &[(&ProofEnvelope, &PublicInputs<Fp>)],
    ) -> Result<(), BatchError> {
        // Envelope checks first: a malformed member is reported without curve work.
        let failures: Vec<(usize, ProofError)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, (env, _))| self.open(env).err().map(|e| (i, e)))
            .collect();
        if !failures.is_empty() {
            return Err(BatchError { failures });
        }
        if items.is_empty() {
            return Ok(());
        }
        let mut batch = BatchVerifier::<EqAffine>::new();
        for (env, public) in items {
            batch.add_proof(
                vec![vec![public.to_field_elements().to_vec()]],
                env.proof.clone(),
            );
        }
        if batch.finalize(&self.params, &self.vk) {
            return Ok(());
        }
        let mut failures: Vec<(usize, ProofError)> = items
            .par_iter()
            .enumerate()
            .filter_map(|(i, (env, public))| self.verify(env, public).err().map(|e| (i, e)))
            .collect();
        failures.sort_by_key(|(i, _)| *i);
        if failures.is_empty() {
            // Every proof verifies alone, which is the authoritative check (a batch of
            // valid proofs sums to zero whatever the scaling, so this does not happen).
            return Ok(());
        }
        Err(BatchError { failures })
    }

    fn load_dir(dir: &Path) -> Result<Self, KeyStoreError> {
        Halo2VerifyingKey::load_dir(dir)
    }
}
