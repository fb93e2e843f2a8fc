//! The v1 statement as an R1CS circuit over BN254 Fr (arkworks 0.6), for Groth16.
//!
//! Public inputs, allocated in this order (exactly [`NUM_PUBLIC_INPUTS`]): `C`, `P`, `now`,
//! `binding`; then the private [`IntentVar`] and [`PolicyVar`] and the Merkle path. The
//! list of constraints is the statement's, shared word for word with the halo2 circuit
//! ([`crate::checks`]); the range checks and ordering rules come from
//! [`crate::checks::range_checks`] and [`crate::checks::orderings`].
//!
//! # Constraints
//!
//! Public: the instance `[C, P, now, binding]`. Private: the intent fields `(version,
//! network, asset, amount, recipient_hi, recipient_lo, valid_after, valid_before, nonce,
//! salt)` ([`crate::IntentFields`]), the policy fields `(asset, max_amount, not_before,
//! allowlist_root, salt_lo, salt_hi)` ([`crate::PolicyFields`]) and a depth-16 Merkle path
//! (16 siblings and 16 direction bits). `H_d` is the backend's Poseidon under domain tag
//! `d`.
//!
//! 1. `C = H_INTENT(version, network, asset, amount, recipient_hi, recipient_lo,
//!    valid_after, valid_before, nonce, salt)`.
//! 2. `P = H_POLICY(asset, max_amount, not_before, allowlist_root, salt_lo, salt_hi)`.
//! 3. `version == 1`.
//! 4. `intent.asset == policy.asset`.
//! 5. `amount`, `valid_after`, `valid_before`, `nonce`, `max_amount`, `not_before` and
//!    `now` are integers below 2^64.
//! 6. `network` and `asset` are integers below 2^32 (`policy.asset` too, by 4).
//! 7. `amount <= max_amount`, `valid_after <= now`, `now <= valid_before` and
//!    `not_before <= now`, each enforced as "`hi - lo` is an integer below 2^64".
//! 8. Every direction bit is 0 or 1, and `H_LEAF(recipient_hi, recipient_lo)` hashed up
//!    the path — `node = H_NODE(left, right)`, the current node being the right child
//!    when the level's bit is 1 — equals `allowlist_root`.
//! 9. `binding` takes part in a constraint, so a proof holds for its `binding` only.
//!
//! # How this circuit enforces them
//!
//! - 1, 2: `H_d` is the domain-separated Poseidon of [`super::poseidon`] (domain and length
//!   in the capacity element), computed by [`IntentVar::commitment`] and
//!   [`PolicyVar::commitment`] and equated to the public `C` and `P`. The salt limbs are
//!   allocated with the other policy fields ([`PolicyVar`]) and enter only this hash.
//! - 3, 4: linear equalities (`version` against the constant 1).
//! - 5, 6: `x` is decomposed into `bits` boolean witnesses `b_i` with `x = Σ b_i 2^i`;
//!   the sum is an integer below `2^bits < p`, so the decomposition exists exactly when
//!   `x` is an integer below `2^bits`.
//! - 7: `hi - lo` is decomposed into 64 boolean witnesses the same way.
//! - 8: each direction bit is a `Boolean` witness (`b·(1 - b) = 0`); per level
//!   `t = bit·(sibling - cur)`, `left = cur + t`, `right = sibling - t` (one multiplication)
//!   and `cur = H_NODE(left, right)`; the last `cur` equals `allowlist_root`.
//! - 9: `binding · binding = binding_sq` for a witnessed square, so `binding` appears in a
//!   constraint and cannot be changed without invalidating the proof.
//!
//! # Size
//!
//! 6 837 constraints — 25 Poseidon permutations (intent 5, policy 3, leaf 1, path 16;
//! ~243 each), 11 range checks of 65 (7 u64 values, 4 differences), 2 of 33 (the u32
//! values) and the path's direction bits and swaps (pinned by a test). The policy salt
//! (issue 10) costs one permutation: its two limbs are the third block the policy sponge
//! absorbs (6 594 constraints before); the limbs themselves are not range-checked.
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
use super::vars::{IntentVar, PolicyVar};
use super::{Bn254, Fr};
use crate::checks::{orderings, range_checks, U64_BITS};
use crate::field::{StatementField, DOMAIN_LEAF, DOMAIN_NODE};
use crate::intent::INTENT_VERSION;
use crate::merkle::{MerklePath, TREE_DEPTH};
use crate::public::{PublicInputs, Witness, WitnessValues};

/// Number of public inputs (`C`, `P`, `now`, `binding`); a Groth16 verifying key for this
/// circuit has `NUM_PUBLIC_INPUTS + 1` `gamma_abc_g1` entries.
pub const NUM_PUBLIC_INPUTS: usize = crate::public::NUM_PUBLIC_INPUTS;

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

/// Enforces `x < 2^bits` by a boolean decomposition: `bits` boolean witnesses `b_i` and
/// `x = Σ b_i 2^i` (`bits + 1` constraints). Exact because `Σ b_i 2^i < 2^bits < p`.
pub(crate) fn enforce_bits(
    cs: &ConstraintSystemRef<Fr>,
    x: &FpVar<Fr>,
    bits: usize,
) -> Result<(), SynthesisError> {
    let value = x.value().ok().map(|v| v.into_bigint());
    let mut sum = FpVar::<Fr>::Constant(Fr::from(0u64));
    let mut coeff = Fr::from(1u64);
    for i in 0..bits {
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

impl ConstraintSynthesizer<Fr> for PolicyCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let v = self.values.as_ref();
        let missing = || SynthesisError::AssignmentMissing;

        // Public inputs, in statement order.
        let public = |get: fn(&WitnessValues<Fr>) -> Fr| {
            FpVar::new_input(cs.clone(), || v.map(get).ok_or_else(missing))
        };
        let c_pub = public(WitnessValues::intent_commitment)?;
        let p_pub = public(WitnessValues::policy_commitment)?;
        let now = public(WitnessValues::now)?;
        let binding = public(WitnessValues::binding)?;

        // Private witness.
        let intent =
            IntentVar::new_witness(cs.clone(), || v.map(|v| v.intent).ok_or_else(missing))?;
        let policy =
            PolicyVar::new_witness(cs.clone(), || v.map(|v| v.policy).ok_or_else(missing))?;

        // 1, 2. C and P open to the intent and the policy.
        intent.commitment(cs.clone())?.enforce_equal(&c_pub)?;
        policy.commitment(cs.clone())?.enforce_equal(&p_pub)?;

        // 3, 4. Version and asset.
        intent
            .version
            .enforce_equal(&FpVar::Constant(Fr::from_u64(INTENT_VERSION.into())))?;
        intent.asset.enforce_equal(&policy.asset)?;

        // 5, 6. Every u64 is a u64, every u32 a u32.
        for check in range_checks(&intent, &policy, &now) {
            enforce_bits(&cs, check.value, check.bits)?;
        }

        // 7. Amount and time rules.
        for rule in orderings(&intent, &policy, &now) {
            enforce_bits(&cs, &(rule.hi - rule.lo), U64_BITS)?;
        }

        // 8. Allowlist membership.
        let leaf = poseidon_hash_var(
            cs.clone(),
            DOMAIN_LEAF,
            &[intent.recipient_hi.clone(), intent.recipient_lo.clone()],
        )?;
        let cur = path_root(&cs, leaf, v.map(|v| &v.path))?;
        cur.enforce_equal(&policy.allowlist_root)?;

        // 9. Binding: used in a constraint.
        let binding_sq = FpVar::new_witness(cs.clone(), || {
            v.map(|v| v.binding() * v.binding()).ok_or_else(missing)
        })?;
        binding.mul_equals(&binding, &binding_sq)?;

        Ok(())
    }
}

/// The root a depth-16 Merkle path leads to from `leaf`: per level a boolean direction bit,
/// `t = bit·(sibling - cur)`, `left = cur + t`, `right = sibling - t` (one multiplication)
/// and `cur = H_NODE(left, right)`. `path` is `None` in setup mode.
pub(crate) fn path_root(
    cs: &ConstraintSystemRef<Fr>,
    leaf: FpVar<Fr>,
    path: Option<&MerklePath<Fr>>,
) -> Result<FpVar<Fr>, SynthesisError> {
    path_climb(cs, leaf, path, TREE_DEPTH)
}

/// [`path_root`]'s first `levels` levels: the node at depth `TREE_DEPTH - levels` above
/// `leaf`.
pub(crate) fn path_climb(
    cs: &ConstraintSystemRef<Fr>,
    leaf: FpVar<Fr>,
    path: Option<&MerklePath<Fr>>,
    levels: usize,
) -> Result<FpVar<Fr>, SynthesisError> {
    let missing = || SynthesisError::AssignmentMissing;
    let mut cur = leaf;
    for level in 0..levels.min(TREE_DEPTH) {
        let sibling = FpVar::new_witness(cs.clone(), || {
            path.map(|p| p.siblings[level]).ok_or_else(missing)
        })?;
        let is_right = Boolean::new_witness(cs.clone(), || {
            path.map(|p| p.is_right(level)).ok_or_else(missing)
        })?;
        let t = FpVar::from(is_right) * (&sibling - &cur);
        let left = &cur + &t;
        let right = &sibling - &t;
        cur = poseidon_hash_var(cs.clone(), DOMAIN_NODE, &[left, right])?;
    }
    Ok(cur)
}
