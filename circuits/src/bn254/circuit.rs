//! The v1 statement as an R1CS circuit over BN254 Fr (arkworks 0.6), for Groth16.
//!
//! Public inputs, allocated in this order (exactly [`NUM_PUBLIC_INPUTS`]): `C`, `P`, `now`,
//! `binding`. Constraints:
//!
//! - `C = H_INTENT(intent fields)` and `P = H_POLICY(policy fields)` (the
//!   [`crate::public::WitnessValues`] encoding, shared with halo2; `H_d` is the
//!   domain-separated Poseidon of [`super::poseidon`]);
//! - `version == 1`, `asset == policy.asset`;
//! - `amount`, `max_amount`, `valid_after`, `valid_before`, `nonce`, `not_before` and `now`
//!   are each decomposed into 64 boolean bits (so none can wrap around the field);
//! - `amount <= max_amount`, `valid_after <= now`, `now <= valid_before`,
//!   `not_before <= now`: for `a <= b` with both below 2^64, `b - a` is decomposed into 64
//!   bits (if `a > b` it is `p - (a - b)`, far above 2^64);
//! - the recipient's leaf `H_LEAF(hi, lo)` hashes up a depth-16 path of `H_NODE(left, right)`
//!   (boolean direction bits, one multiplication per level for the swap) to
//!   `allowlist_root`;
//! - `binding * binding = binding_sq` (a witnessed square), so `binding` appears in a
//!   constraint and cannot be changed without invalidating the proof.
//!
//! Size: 6 528 constraints — 24 Poseidon permutations (intent 5, policy 2, leaf 1, path 16;
//! ~243 each), 11 range checks of 65 and the path's swaps (pinned by a test).
//!
//! Key generation runs on [`PolicyCircuit::blank`] (no witness; arkworks does not evaluate
//! assignments in setup mode); proving on [`PolicyCircuit::new`].

use ark_ff::{AdditiveGroup, BigInteger, PrimeField};
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar, GR1CSVar,
};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError, SynthesisMode,
};

use super::poseidon::poseidon_hash_var;
use super::{Bn254, Fr};
use crate::field::{StatementField, DOMAIN_INTENT, DOMAIN_LEAF, DOMAIN_NODE, DOMAIN_POLICY};
use crate::intent::INTENT_VERSION;
use crate::merkle::TREE_DEPTH;
use crate::public::layout::*;
use crate::public::{PublicInputs, Witness, WitnessValues};

/// Number of public inputs (`C`, `P`, `now`, `binding`); a Groth16 verifying key for this
/// circuit has `NUM_PUBLIC_INPUTS + 1` `gamma_abc_g1` entries.
pub const NUM_PUBLIC_INPUTS: usize = crate::public::NUM_PUBLIC_INPUTS;

/// Bits of every range-checked integer.
const U64_BITS: usize = 64;

/// The policy-compliance circuit over BN254 Fr.
#[derive(Clone, Debug, Default)]
pub struct PolicyCircuit {
    values: Option<WitnessValues<Fr>>,
}

impl PolicyCircuit {
    /// A circuit with no assignment, of the right shape for Groth16 key generation.
    pub fn blank() -> Self {
        PolicyCircuit { values: None }
    }

    /// The circuit for proving `witness` (which [`Witness::new`] checked natively).
    pub fn new(witness: &Witness<Bn254>) -> Self {
        Self::from_values(witness.values())
    }

    /// The circuit for an explicit field-level assignment (tests use this to force
    /// assignments a [`Witness`] cannot hold).
    pub fn from_values(values: WitnessValues<Fr>) -> Self {
        PolicyCircuit {
            values: Some(values),
        }
    }

    /// The public inputs `[C, P, now, binding]` of the assignment, if any.
    pub fn public_inputs(&self) -> Option<[Fr; NUM_PUBLIC_INPUTS]> {
        self.values.as_ref().map(|v| v.public)
    }

    /// Synthesizes the assignment and reports whether every constraint holds.
    ///
    /// Provers should call this before `Groth16::prove`: ark-groth16 0.6 only
    /// `debug_assert!`s satisfiability, so an unsatisfied witness panics in debug builds and
    /// yields a proof that fails verification in release builds. A blank circuit gives
    /// `Err(SynthesisError::AssignmentMissing)`.
    pub fn is_satisfied(&self) -> Result<bool, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        self.clone().generate_constraints(cs.clone())?;
        cs.is_satisfied()
    }

    /// Number of R1CS constraints of the circuit (synthesized in setup mode).
    pub fn num_constraints() -> Result<usize, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        Self::blank().generate_constraints(cs.clone())?;
        cs.finalize();
        Ok(cs.num_constraints())
    }
}

/// The public-input vector of `public`, in circuit order.
pub fn public_input_vector(public: &PublicInputs<Fr>) -> [Fr; NUM_PUBLIC_INPUTS] {
    public.to_field_elements()
}

/// Allocates a witness from an optional assignment.
fn witness(cs: &ConstraintSystemRef<Fr>, value: Option<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_witness(cs.clone(), || {
        value.ok_or(SynthesisError::AssignmentMissing)
    })
}

/// Enforces `x < 2^64` by a 64-bit boolean decomposition (65 constraints).
fn enforce_u64(cs: &ConstraintSystemRef<Fr>, x: &FpVar<Fr>) -> Result<(), SynthesisError> {
    let value = x.value().ok().map(|v| v.into_bigint());
    let mut sum = FpVar::<Fr>::Constant(Fr::from(0u64));
    let mut coeff = Fr::from(1u64);
    for i in 0..U64_BITS {
        let bit = Boolean::new_witness(cs.clone(), || {
            value
                .map(|v| v.get_bit(i))
                .ok_or(SynthesisError::AssignmentMissing)
        })?;
        sum += FpVar::from(bit) * coeff;
        coeff.double_in_place();
    }
    sum.enforce_equal(x)
}

/// Enforces `a <= b` for `a, b` already range-checked to 64 bits.
fn enforce_le(
    cs: &ConstraintSystemRef<Fr>,
    a: &FpVar<Fr>,
    b: &FpVar<Fr>,
) -> Result<(), SynthesisError> {
    enforce_u64(cs, &(b - a))
}

impl ConstraintSynthesizer<Fr> for PolicyCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let v = self.values.as_ref();

        // Public inputs, in statement order.
        let mut public = Vec::with_capacity(NUM_PUBLIC_INPUTS);
        for i in 0..NUM_PUBLIC_INPUTS {
            public.push(FpVar::new_input(cs.clone(), || {
                v.map(|v| v.public[i])
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
        }
        let (c_pub, p_pub, now, binding) = (&public[0], &public[1], &public[2], &public[3]);

        // Private witness.
        let intent = (0..10)
            .map(|i| witness(&cs, v.map(|v| v.intent[i])))
            .collect::<Result<Vec<_>, _>>()?;
        let policy = (0..4)
            .map(|i| witness(&cs, v.map(|v| v.policy[i])))
            .collect::<Result<Vec<_>, _>>()?;

        // C and P open to the intent and the policy.
        poseidon_hash_var(cs.clone(), DOMAIN_INTENT, &intent)?.enforce_equal(c_pub)?;
        poseidon_hash_var(cs.clone(), DOMAIN_POLICY, &policy)?.enforce_equal(p_pub)?;

        // Version and asset.
        intent[I_VERSION].enforce_equal(&FpVar::Constant(Fr::from_u64(INTENT_VERSION.into())))?;
        intent[I_ASSET].enforce_equal(&policy[P_ASSET])?;

        // Every u64 is a u64.
        for x in [
            &intent[I_AMOUNT],
            &intent[I_VALID_AFTER],
            &intent[I_VALID_BEFORE],
            &intent[I_NONCE],
            &policy[P_MAX_AMOUNT],
            &policy[P_NOT_BEFORE],
            now,
        ] {
            enforce_u64(&cs, x)?;
        }

        // Amount and time rules.
        enforce_le(&cs, &intent[I_AMOUNT], &policy[P_MAX_AMOUNT])?;
        enforce_le(&cs, &intent[I_VALID_AFTER], now)?;
        enforce_le(&cs, now, &intent[I_VALID_BEFORE])?;
        enforce_le(&cs, &policy[P_NOT_BEFORE], now)?;

        // Allowlist membership.
        let mut cur = poseidon_hash_var(
            cs.clone(),
            DOMAIN_LEAF,
            &[
                intent[I_RECIPIENT_HI].clone(),
                intent[I_RECIPIENT_LO].clone(),
            ],
        )?;
        for level in 0..TREE_DEPTH {
            let sibling = witness(&cs, v.map(|v| v.path.siblings[level]))?;
            let is_right = Boolean::new_witness(cs.clone(), || {
                v.map(|v| v.path.is_right(level))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            // t = is_right * (sibling - cur); left = cur + t, right = sibling - t.
            let t = FpVar::from(is_right) * (&sibling - &cur);
            let left = &cur + &t;
            let right = &sibling - &t;
            cur = poseidon_hash_var(cs.clone(), DOMAIN_NODE, &[left, right])?;
        }
        cur.enforce_equal(&policy[P_ROOT])?;

        // Binding: used in a constraint.
        let binding_sq = witness(
            &cs,
            v.map(|v| {
                let b = v.public[3];
                b * b
            }),
        )?;
        binding.mul_equals(binding, &binding_sq)?;

        Ok(())
    }
}
