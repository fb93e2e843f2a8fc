//! Fixtures for tests and benches (feature `test-util`): one proof system per backend, set
//! up once per process and shared.
//!
//! A setup takes seconds (Groth16 keygen, halo2 parameters and keys), so every test of a
//! binary shares one. Each is an `Arc` because a session signer keeps its own handle on its
//! system; `.as_ref()` gives the plain reference.

use std::sync::{Arc, OnceLock};

use rand::rngs::OsRng;

use crate::groth16::Groth16System;
use crate::halo2::Halo2System;
use crate::ProofSystem;

/// The Groth16/BN254 system of this process (a fresh single-party setup).
pub fn groth16() -> &'static Arc<Groth16System> {
    static S: OnceLock<Arc<Groth16System>> = OnceLock::new();
    S.get_or_init(|| Arc::new(Groth16System::setup(&mut OsRng).expect("groth16 setup")))
}

/// The halo2/IPA system of this process (transparent parameters).
pub fn halo2() -> &'static Arc<Halo2System> {
    static S: OnceLock<Arc<Halo2System>> = OnceLock::new();
    S.get_or_init(|| Arc::new(Halo2System::setup(&mut OsRng).expect("halo2 setup")))
}

/// A policy registry in which signers 1..=16 of every key are registered under the sample
/// policy ([`circuits::sample::policy`]) on either backend, at any time: what the tests and
/// benches that sign the sample scenario give their auditors.
pub fn sample_registry() -> Arc<dyn verifier::PolicyRegistry> {
    Arc::new(SampleRegistry)
}

struct SampleRegistry;

impl verifier::PolicyRegistry for SampleRegistry {
    fn policies(
        &self,
        _key_id: &str,
        backend: circuits::BackendId,
        _now: u64,
    ) -> verifier::RegisteredPolicies {
        let policy = circuits::sample::policy();
        let p = match backend {
            circuits::BackendId::Groth16Bn254 => {
                policy.commitment::<circuits::bn254::Bn254>().to_le_bytes()
            }
            circuits::BackendId::Halo2Pasta => {
                policy.commitment::<circuits::pasta::Pasta>().to_le_bytes()
            }
        };
        (1..=16).map(|s| (s, p)).collect()
    }

    /// The sample spend policy ([`circuits::sample::spend::policy`]) for signers 1..=16.
    fn spend_policies(
        &self,
        _key_id: &str,
        backend: circuits::BackendId,
        _now: u64,
    ) -> verifier::RegisteredPolicies {
        let policy = circuits::sample::spend::policy();
        let p = match backend {
            circuits::BackendId::Groth16Bn254 => {
                policy.commitment::<circuits::bn254::Bn254>().to_le_bytes()
            }
            circuits::BackendId::Halo2Pasta => {
                policy.commitment::<circuits::pasta::Pasta>().to_le_bytes()
            }
        };
        (1..=16).map(|s| (s, p)).collect()
    }
}
