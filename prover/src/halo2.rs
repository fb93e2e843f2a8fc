//! halo2 with IPA over the Pasta curves (zcash halo2_proofs 0.4).
//!
//! # Keys
//!
//! Setup is transparent: the commitment key is `Params::new(K)` (generators hashed to
//! Vesta, nobody knows a trapdoor), and both the verifying and the proving key are
//! regenerated from the params and the circuit (`keygen_vk`, `keygen_pk`) — halo2 0.4 has
//! no key serialisation, and none is needed. On disk there is therefore one file,
//! `halo2-pasta.params`, plus the manifest (`halo2-pasta.manifest.json`, params
//! `{"k": 11}`) holding its checksum and the verifying-key fingerprint
//! ([`verifier::halo2`] explains what the fingerprint covers). [`ProofSystem::load`]
//! checks the checksum, regenerates the keys, compares the fingerprint with the
//! manifest's, and refuses params that are not the transparent ones.
//!
//! # Proving
//!
//! halo2's `create_proof` does not check that the witness satisfies the circuit: an
//! unsatisfied witness yields a proof that simply fails to verify. Before proving,
//! [`Halo2System::prove`] runs halo2's `MockProver` on the same circuit and instance — a
//! check of every gate, copy constraint and lookup of the real circuit, so it is sound
//! against any disagreement between the native rules and the circuit — and refuses an
//! unsatisfied witness with [`ProveError::Unsatisfied`]. It costs about a tenth of a
//! proof (~130 ms against ~0.8-1.6 s for `create_proof` in the dev profile on 2 shared
//! cores; the `precheck_cost_relative_to_proving` test prints both with `--nocapture`).
//! `create_proof` alone is no substitute: it notices a value missing from a lookup table
//! but neither gates nor copy constraints, so a recipient outside the allowlist would give
//! a proof that merely fails to verify. Transcripts are Blake2b; the caller's rand 0.8 RNG
//! is adapted to the rand_core 0.10 traits halo2_proofs 0.4.1 takes.
//!
//! The rows count parsed from `CircuitCost`'s `Debug` output is tied to halo2_proofs
//! 0.4.1 (the lock file pins it); the tests check that it is in range.
//!
//! # Sizes
//!
//! [`ProofSystem::circuit_size`] reports the rows the layout uses out of `2^K` (measured
//! once with halo2's `CircuitCost`). [`ProofSystem::key_sizes`] reports
//! `(params bytes, verifying-key commitment bytes)`: there is no serialised proving key —
//! what a prover stores and loads is the params (the shared commitment key, which the
//! verifier needs too); the circuit-specific part of the verifying key is its fixed and
//! permutation commitments, 32 bytes each compressed, counted from the pinned key.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::Path;

use circuits::pasta::{Pasta, PolicyCircuit, K};
use circuits::public::Witness;
use circuits::BackendId;
use halo2_proofs::dev::{CircuitCost, MockProver};
use halo2_proofs::plonk::{create_proof, keygen_pk, Circuit, Error, ProvingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bWrite, Challenge255};
use pasta_curves::{Eq as Vesta, EqAffine, Fp};
use rand_core::{CryptoRng, RngCore};
use verifier::halo2::Halo2VerifyingKey;
use verifier::keys::{HALO2_NAME as NAME, HALO2_PARAMS_FILE as PARAMS_FILE};
use verifier::ProofEnvelope;

use crate::error::{KeyStoreError, ProveError};
use crate::keystore;
use crate::{CircuitSize, ProofSystem};

/// Bytes of one compressed Vesta point.
const POINT_BYTES: usize = 32;

/// halo2/IPA keys for the v1 statement over Pasta.
pub struct Halo2System {
    pk: ProvingKey<EqAffine>,
    /// The verifying key, holding the params (the one commitment key prover and verifier
    /// share).
    vk: Halo2VerifyingKey,
    rows: usize,
}

pub(crate) fn backend_err(e: impl core::fmt::Debug) -> ProveError {
    ProveError::Backend {
        backend: "halo2",
        reason: format!("{e:?}"),
    }
}

/// The caller's rand 0.8 RNG behind the rand_core 0.10 traits halo2_proofs 0.4.1 takes.
struct RngAdapter<'a, R>(&'a mut R);

impl<R: RngCore + CryptoRng> rand_core_010::TryRng for RngAdapter<'_, R> {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: RngCore + CryptoRng> rand_core_010::TryCryptoRng for RngAdapter<'_, R> {}

/// Rows used by the circuit's layout, from `CircuitCost` (which exposes the count only
/// through its `Debug` output, as `max_rows: N`).
fn used_rows() -> usize {
    let cost = CircuitCost::<Vesta, PolicyCircuit>::measure(K, &PolicyCircuit::default());
    let text = format!("{cost:?}");
    text.split("max_rows: ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Number of points in the pinned verifying key's fixed and permutation commitments.
fn vk_commitments(vk: &Halo2VerifyingKey) -> usize {
    let pinned = format!("{:?}", vk.key().pinned());
    // The commitments are the pinned key's last fields; each point prints as `(x, y)`
    // or `Infinity`. (Earlier fields hold gate constants, which also print as hex.)
    pinned
        .split_once("fixed_commitments:")
        .map(|(_, tail)| tail.matches("(0x").count() + tail.matches("Infinity").count())
        .unwrap_or(0)
}

impl Halo2System {
    fn from_vk(vk: Halo2VerifyingKey) -> Result<Self, ProveError> {
        let pk = keygen_pk(vk.params(), vk.key().clone(), &PolicyCircuit::default())
            .map_err(backend_err)?;
        Ok(Self {
            pk,
            vk,
            rows: used_rows(),
        })
    }

    /// The verifying key, as the `verifier` crate holds it.
    pub fn verifying_key(&self) -> &Halo2VerifyingKey {
        &self.vk
    }

    /// The proving key.
    pub fn proving_key(&self) -> &ProvingKey<EqAffine> {
        &self.pk
    }

    /// The commitment key.
    pub fn params(&self) -> &Params<EqAffine> {
        self.vk.params()
    }

    /// Checks that the witness satisfies the circuit with halo2's `MockProver` (every gate,
    /// copy constraint and lookup).
    pub fn check_satisfied(&self, witness: &Witness<Pasta>) -> Result<(), ProveError> {
        let values = witness.values();
        check_circuit(K, &PolicyCircuit::new(&values), &values.public)
    }

    /// Proves without the `MockProver` check (for tests and benchmarks of the check
    /// itself). halo2 refuses some unsatisfied witnesses on its own (a value missing from
    /// a lookup table, reported as [`ProveError::Unsatisfied`]); for the others it returns
    /// a proof that does not verify.
    pub fn prove_unchecked<R: RngCore + CryptoRng>(
        &self,
        witness: &Witness<Pasta>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        let values = witness.values();
        prove_circuit(
            &self.vk,
            &self.pk,
            PolicyCircuit::new(&values),
            &values.public,
            rng,
        )
    }
}

/// Checks that `circuit` holds for `instance` with halo2's `MockProver` (every gate, copy
/// constraint and lookup).
pub(crate) fn check_circuit<C: Circuit<Fp>>(
    k: u32,
    circuit: &C,
    instance: &[Fp],
) -> Result<(), ProveError> {
    let prover = MockProver::run(k, circuit, vec![instance.to_vec()]).map_err(backend_err)?;
    prover
        .verify()
        .map_err(|_| ProveError::Unsatisfied("halo2"))
}

/// One proof of `circuit` for `instance` under `vk`/`pk`, without the `MockProver` check.
pub(crate) fn prove_circuit<C: Circuit<Fp>, R: RngCore + CryptoRng>(
    vk: &Halo2VerifyingKey,
    pk: &ProvingKey<EqAffine>,
    circuit: C,
    instance: &[Fp],
    rng: &mut R,
) -> Result<ProofEnvelope, ProveError> {
    let mut transcript = Blake2bWrite::<_, EqAffine, Challenge255<_>>::init(vec![]);
    create_proof(
        vk.params(),
        pk,
        &[circuit],
        &[&[instance]],
        RngAdapter(rng),
        &mut transcript,
    )
    .map_err(|e| match e {
        // create_proof notices some unsatisfied witnesses (a lookup input missing
        // from its table), not all: gates and copy constraints are not checked.
        Error::ConstraintSystemFailure => ProveError::Unsatisfied("halo2"),
        e => backend_err(e),
    })?;
    Ok(ProofEnvelope {
        backend: BackendId::Halo2Pasta,
        vk_fingerprint: vk.fingerprint(),
        proof: transcript.finalize(),
    })
}

impl ProofSystem for Halo2System {
    type Backend = Pasta;
    type Verifier = Halo2VerifyingKey;
    type Spend = crate::spend::Halo2Spend;

    /// Transparent setup: `Params::new(K)` and keygen. The RNG is not used.
    fn setup<R: RngCore + CryptoRng>(_rng: &mut R) -> Result<Self, ProveError> {
        let vk = Halo2VerifyingKey::transparent().map_err(backend_err)?;
        Self::from_vk(vk)
    }

    fn save(&self, dir: &Path) -> Result<(), KeyStoreError> {
        let params = self.vk.params_bytes();
        keystore::save(
            dir,
            NAME,
            BackendId::Halo2Pasta,
            self.vk.fingerprint(),
            &[(PARAMS_FILE, &params)],
            BTreeMap::from([("k".to_string(), u64::from(K))]),
        )
    }

    /// The verifying key through `verifier`'s loader (checksum, `k`, fingerprint,
    /// transparency), then the proving key regenerated from it.
    fn load(dir: &Path) -> Result<Self, KeyStoreError> {
        let vk = Halo2VerifyingKey::load_dir(dir)?;
        Self::from_vk(vk).map_err(|e| KeyStoreError::Malformed {
            path: dir.join(PARAMS_FILE),
            reason: e.to_string(),
        })
    }

    fn verifier(&self) -> &Halo2VerifyingKey {
        &self.vk
    }

    fn circuit_size(&self) -> CircuitSize {
        CircuitSize::Rows {
            used: self.rows,
            k: K,
        }
    }

    /// `(params bytes, verifying-key commitment bytes)`: see the module docs.
    fn key_sizes(&self) -> (usize, usize) {
        (
            verifier::halo2::params_len(K),
            vk_commitments(&self.vk) * POINT_BYTES,
        )
    }

    fn prove<R: RngCore + CryptoRng>(
        &self,
        witness: &Witness<Pasta>,
        rng: &mut R,
    ) -> Result<ProofEnvelope, ProveError> {
        self.check_satisfied(witness)?;
        self.prove_unchecked(witness, rng)
    }
}
