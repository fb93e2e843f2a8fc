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

/// A synthetic R1CS circuit of a realistic shape, for benchmarks and tests of the Groth16
/// prover on arbitrary circuits: `constraints` constraints over [`SyntheticCircuit::INPUTS`]
/// public inputs, two thirds multiplications `(x_a + x_c)·x_b = x_new` and one third linear
/// `(x_a + 2x_b + x_c + 5)·1 = x_new`, each making a new witness variable from earlier ones
/// (mostly the last 16, as gadgets do, sometimes any). The shape is fixed by `constraints`
/// alone (a fixed-seed xorshift picks the operands), so [`SyntheticCircuit::blank`] and
/// [`SyntheticCircuit::new`] agree.
#[derive(Clone, Debug)]
pub struct SyntheticCircuit {
    constraints: usize,
    inputs: Option<[ark_bn254::Fr; SyntheticCircuit::INPUTS]>,
}

impl SyntheticCircuit {
    /// Public inputs.
    pub const INPUTS: usize = 4;

    /// Constraints for a QAP domain of exactly `2^log` (Groth16 adds one per public input and
    /// one for the constant; a full `2^log` would double the domain).
    pub fn constraints_for_domain(log: u32) -> usize {
        (1usize << log) - Self::INPUTS - 1
    }

    /// The circuit without assignment (for key generation).
    pub fn blank(constraints: usize) -> Self {
        Self {
            constraints,
            inputs: None,
        }
    }

    /// The circuit with public inputs `inputs`; the witness follows from them.
    pub fn new(constraints: usize, inputs: [ark_bn254::Fr; Self::INPUTS]) -> Self {
        Self {
            constraints,
            inputs: Some(inputs),
        }
    }

    /// The public inputs, as the verifier takes them.
    pub fn public_inputs(&self) -> Vec<ark_bn254::Fr> {
        self.inputs.map(|i| i.to_vec()).unwrap_or_default()
    }
}

impl ark_relations::gr1cs::ConstraintSynthesizer<ark_bn254::Fr> for SyntheticCircuit {
    fn generate_constraints(
        self,
        cs: ark_relations::gr1cs::ConstraintSystemRef<ark_bn254::Fr>,
    ) -> ark_relations::gr1cs::Result<()> {
        use ark_bn254::Fr;
        use ark_relations::gr1cs::{LinearCombination, SynthesisError, Variable};
        let mut vars: Vec<(Variable, Option<Fr>)> = Vec::with_capacity(self.constraints + 4);
        for k in 0..Self::INPUTS {
            let v = self.inputs.map(|i| i[k]);
            let var = cs.new_input_variable(|| v.ok_or(SynthesisError::AssignmentMissing))?;
            vars.push((var, v));
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut pick = |len: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x & 3 == 0 {
                (x >> 8) as usize % len
            } else {
                len - 1 - (x >> 8) as usize % len.min(16)
            }
        };
        let lc = |terms: &[(Fr, Variable)]| LinearCombination::from_sum_coeff_vars(terms);
        let one = Fr::from(1u8);
        for i in 0..self.constraints {
            let n = vars.len();
            let ((a, va), (b, vb), (c, vc)) = (vars[pick(n)], vars[pick(n)], vars[pick(n)]);
            let mul = i % 3 != 2;
            let value = match (va, vb, vc) {
                (Some(va), Some(vb), Some(vc)) if mul => Some((va + vc) * vb),
                (Some(va), Some(vb), Some(vc)) => Some(va + vb + vb + vc + Fr::from(5u8)),
                _ => None,
            };
            let out = cs.new_witness_variable(|| value.ok_or(SynthesisError::AssignmentMissing))?;
            if mul {
                cs.enforce_r1cs_constraint(
                    || lc(&[(one, a), (one, c)]),
                    || lc(&[(one, b)]),
                    || lc(&[(one, out)]),
                )?;
            } else {
                cs.enforce_r1cs_constraint(
                    || {
                        lc(&[
                            (one, a),
                            (Fr::from(2u8), b),
                            (one, c),
                            (Fr::from(5u8), Variable::One),
                        ])
                    },
                    || lc(&[(one, Variable::One)]),
                    || lc(&[(one, out)]),
                )?;
            }
            vars.push((out, value));
        }
        Ok(())
    }
}

/// `n` distinct points (running sums of 64 random multiples of the generator: cheap to make
/// even in G2) and `n` random scalars, from `seed`: MSM benchmark inputs.
pub fn msm_inputs<P: ark_ec::short_weierstrass::SWCurveConfig<ScalarField = ark_bn254::Fr>>(
    n: usize,
    seed: u64,
) -> (
    Vec<ark_ec::short_weierstrass::Affine<P>>,
    Vec<crate::msm::BigInt>,
) {
    use ark_ec::short_weierstrass::Projective;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::{PrimeField, UniformRand};
    use ark_std::rand::{rngs::StdRng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(seed);
    let seeds: Vec<Projective<P>> = (0..64)
        .map(|_| Projective::<P>::generator() * ark_bn254::Fr::rand(&mut rng))
        .collect();
    let mut acc = seeds[0];
    let points: Vec<Projective<P>> = (0..n)
        .map(|i| {
            acc += seeds[i % 64];
            acc
        })
        .collect();
    let scalars = (0..n)
        .map(|_| ark_bn254::Fr::rand(&mut rng).into_bigint())
        .collect();
    (Projective::normalize_batch(&points), scalars)
}
