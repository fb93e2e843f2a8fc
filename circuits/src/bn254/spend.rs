//! The Bitcoin spend statement ([`crate::spend`]) as an R1CS circuit over BN254 Fr, for
//! Groth16: one circuit (and one key pair) per [`SizeClass`].
//!
//! The list of constraints is the spend statement's, word for word ([`crate::spend`]); the
//! gadgets are the intent circuit's ([`super::circuit`]): boolean decompositions for ranges
//! and orderings, `poseidon_hash_var` for every `H_d`, and the same Merkle path gadget.
//!
//! # Constraints
//!
//! Public: the instance `[O, fee, lock_time, P, now, binding]`. Private: the policy fields
//! `(network, max_total, max_fee, not_before, allowlist_root, salt_lo, salt_hi)`
//! ([`crate::spend::SpendPolicyFields`]) and, for each of the class's `N` output slots,
//! `(script_hi, script_lo, amount)` and a depth-16 Merkle path. `H_d` is the backend's
//! Poseidon under domain tag `d`.
//!
//! 1. `P = H_SPEND_POLICY(network, max_total, max_fee, not_before, allowlist_root,
//!    salt_lo, salt_hi)`.
//! 2. `O = acc_N`, where `acc_0 = H_OUTPUTS(network, N)` and
//!    `acc_{i+1} = H_OUTPUT(acc_i, script_hi_i, script_lo_i, amount_i)`.
//! 3. `fee`, `now`, `max_total`, `max_fee`, `not_before` and every `amount_i` are integers
//!    below 2^64; `lock_time` and `network` are integers below 2^32.
//! 4. `fee <= max_fee`, `not_before <= now` and `amount_0 + ... + amount_{N-1} <=
//!    max_total`, each enforced as "`hi - lo` is an integer below 2^64".
//! 5. For every slot, every direction bit is 0 or 1, and `H_LEAF(script_hi_i,
//!    script_lo_i)` hashed up the slot's path equals `allowlist_root`.
//! 6. `binding` takes part in a constraint, so a proof holds for its `binding` only.
//!
//! # How this circuit enforces them
//!
//! - 1, 2, 5: `poseidon_hash_var` (domain and length in the capacity element); `N` and the
//!   domain tags are constants of the circuit; the path gadget is
//!   [`super::circuit`]'s (one multiplication per level for the swap).
//! - 5, shared top: a class with [`SizeClass::shared_levels`] `L > 0` witnesses the `2^L`
//!   nodes of the allowlist tree at depth `16 - L` once and hashes them pairwise up to
//!   `allowlist_root` (`2^L - 1` node hashes). Each slot climbs only its first `16 - L`
//!   levels and must arrive at the node that its last `L` direction bits select among the
//!   witnessed ones (a tree of `2^L - 1` multiplexers, one constraint each). Sound because
//!   the witnessed nodes are bound to the root: by collision resistance of `H_NODE` the
//!   node a slot reaches is the tree's node at that position, exactly as if the slot had
//!   hashed its full path (whose top `L` siblings are those nodes' hashes).
//! - 3, 4: boolean decompositions (`bits + 1` constraints each); the sum is a linear
//!   combination (no constraint of its own).
//! - 6: `binding · binding = binding_sq` for a witnessed square.
//!
//! # Size
//!
//! 11 117 constraints for 2 slots, 64 788 for 16 and 826 132 for 256 (pinned by
//! `spend_sizes_are_pinned`). A slot with its whole path costs 4 661 — 19 permutations
//! (2 for the `O` link, 1 leaf, 16 path levels) of ~243 and one 64-bit range check — plus
//! ~1 800 for the policy, the public integers and the three orderings. Sharing the top 4
//! levels saves 16 slots 0.85× of the constraints; sharing 7 saves 256 slots 0.69× (from
//! 1 195 011), which also halves the 256 class's FFT domain (2^21 to 2^20).

use ark_ff::AdditiveGroup;
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar,
};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError, SynthesisMode,
};

use super::circuit::{enforce_bits, path_climb};
use super::poseidon::poseidon_hash_var;
use super::{Bn254, Fr};
use crate::checks::{U32_BITS, U64_BITS};
use crate::field::{StatementField, DOMAIN_LEAF, DOMAIN_NODE};
use crate::merkle::TREE_DEPTH;
use crate::spend::public::{
    SPEND_BINDING, SPEND_FEE, SPEND_LOCK_TIME, SPEND_NOW, SPEND_O, SPEND_P,
};
use crate::spend::{
    SizeClass, SpendPolicyFields, SpendValues, SpendWitness, DOMAIN_OUTPUT, DOMAIN_OUTPUTS,
    DOMAIN_SPEND_POLICY, NUM_SPEND_PUBLIC_INPUTS,
};

/// The spend circuit of one size class over BN254 Fr.
#[derive(Clone, Debug)]
pub struct SpendCircuit {
    class: SizeClass,
    values: Option<SpendValues<Fr>>,
}

impl SpendCircuit {
    /// The class's circuit with no assignment (Groth16 key generation).
    pub fn blank(class: SizeClass) -> Self {
        SpendCircuit {
            class,
            values: None,
        }
    }

    /// The circuit proving `witness` (checked natively by [`SpendWitness::new`]).
    pub fn new(witness: &SpendWitness<Bn254>) -> Self {
        Self::from_values(witness.values().clone())
    }

    /// The circuit for an explicit field-level assignment (tests force values with it).
    pub fn from_values(values: SpendValues<Fr>) -> Self {
        SpendCircuit {
            class: values.class,
            values: Some(values),
        }
    }

    /// The class.
    pub fn class(&self) -> SizeClass {
        self.class
    }

    /// Synthesizes the assignment and reports whether every constraint holds (call it
    /// before proving: ark-groth16 does not check).
    pub fn is_satisfied(&self) -> Result<bool, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        self.clone().generate_constraints(cs.clone())?;
        cs.is_satisfied()
    }

    /// Number of R1CS constraints of the class's circuit.
    pub fn num_constraints(class: SizeClass) -> Result<usize, SynthesisError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(SynthesisMode::Setup);
        Self::blank(class).generate_constraints(cs.clone())?;
        cs.finalize();
        Ok(cs.num_constraints())
    }
}

impl ConstraintSynthesizer<Fr> for SpendCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let v = self.values.as_ref();
        let missing = || SynthesisError::AssignmentMissing;
        if v.is_some_and(|v| v.slots.len() != self.class.slots()) {
            return Err(SynthesisError::Unsatisfiable);
        }

        // Public inputs, in statement order.
        let public =
            |i: usize| FpVar::new_input(cs.clone(), || v.map(|v| v.public[i]).ok_or_else(missing));
        let o_pub = public(SPEND_O)?;
        let fee = public(SPEND_FEE)?;
        let lock_time = public(SPEND_LOCK_TIME)?;
        let p_pub = public(SPEND_P)?;
        let now = public(SPEND_NOW)?;
        let binding = public(SPEND_BINDING)?;
        debug_assert_eq!(NUM_SPEND_PUBLIC_INPUTS, 6);

        let field = |get: fn(&SpendPolicyFields<Fr>) -> Fr| {
            FpVar::new_witness(cs.clone(), || v.map(|v| get(&v.policy)).ok_or_else(missing))
        };
        let policy = SpendPolicyFields {
            network: field(|p| p.network)?,
            max_total: field(|p| p.max_total)?,
            max_fee: field(|p| p.max_fee)?,
            not_before: field(|p| p.not_before)?,
            allowlist_root: field(|p| p.allowlist_root)?,
            salt_lo: field(|p| p.salt_lo)?,
            salt_hi: field(|p| p.salt_hi)?,
        };

        // 1. P opens to the policy.
        poseidon_hash_var(cs.clone(), DOMAIN_SPEND_POLICY, &policy.to_array())?
            .enforce_equal(&p_pub)?;

        // 3. Ranges of the public integers and the policy's.
        for (x, bits) in [
            (&fee, U64_BITS),
            (&now, U64_BITS),
            (&policy.max_total, U64_BITS),
            (&policy.max_fee, U64_BITS),
            (&policy.not_before, U64_BITS),
            (&lock_time, U32_BITS),
            (&policy.network, U32_BITS),
        ] {
            enforce_bits(&cs, x, bits)?;
        }

        // 2, 3, 5. The slots: O's chain, each amount's range, each script's membership.
        let mut acc = poseidon_hash_var(
            cs.clone(),
            DOMAIN_OUTPUTS,
            &[
                policy.network.clone(),
                FpVar::Constant(Fr::from_u64(self.class.slots() as u64)),
            ],
        )?;
        // 5 (shared part). The top `shared` levels: their 2^shared nodes at depth
        // TREE_DEPTH - shared, hashed once to the committed root (with none shared, the
        // root itself is the one node every slot must reach).
        let shared = self.class.shared_levels();
        if v.is_some_and(|v| v.top.len() != 1 << shared) {
            return Err(SynthesisError::Unsatisfiable);
        }
        let top = if shared == 0 {
            vec![policy.allowlist_root.clone()]
        } else {
            let top = (0..1usize << shared)
                .map(|j| FpVar::new_witness(cs.clone(), || v.map(|v| v.top[j]).ok_or_else(missing)))
                .collect::<Result<Vec<_>, _>>()?;
            subtree_root(&cs, top.clone())?.enforce_equal(&policy.allowlist_root)?;
            top
        };

        let mut total = FpVar::<Fr>::Constant(Fr::ZERO);
        for i in 0..self.class.slots() {
            let slot = v.map(|v| &v.slots[i]);
            let hi =
                FpVar::new_witness(cs.clone(), || slot.map(|s| s.script_hi).ok_or_else(missing))?;
            let lo =
                FpVar::new_witness(cs.clone(), || slot.map(|s| s.script_lo).ok_or_else(missing))?;
            let amount =
                FpVar::new_witness(cs.clone(), || slot.map(|s| s.amount).ok_or_else(missing))?;
            enforce_bits(&cs, &amount, U64_BITS)?;
            total += &amount;
            acc = poseidon_hash_var(
                cs.clone(),
                DOMAIN_OUTPUT,
                &[acc, hi.clone(), lo.clone(), amount],
            )?;
            let leaf = poseidon_hash_var(cs.clone(), DOMAIN_LEAF, &[hi, lo])?;
            let path = slot.map(|s| &s.path);
            let node = path_climb(&cs, leaf, path, TREE_DEPTH - shared)?;
            // The node the slot's remaining path bits select among the shared ones.
            let bits = (TREE_DEPTH - shared..TREE_DEPTH)
                .map(|level| {
                    Boolean::new_witness(cs.clone(), || {
                        path.map(|p| p.is_right(level)).ok_or_else(missing)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            select(&top, &bits)?.enforce_equal(&node)?;
        }
        acc.enforce_equal(&o_pub)?;

        // 4. Fee, time-lock and total.
        for (lo, hi) in [
            (&fee, &policy.max_fee),
            (&policy.not_before, &now),
            (&total, &policy.max_total),
        ] {
            enforce_bits(&cs, &(hi - lo), U64_BITS)?;
        }

        // 6. Binding.
        let binding_sq = FpVar::new_witness(cs.clone(), || {
            v.map(|v| v.public[SPEND_BINDING] * v.public[SPEND_BINDING])
                .ok_or_else(missing)
        })?;
        binding.mul_equals(&binding, &binding_sq)?;
        Ok(())
    }
}

/// The root of the subtree whose bottom level is `nodes` (a power of two of them):
/// `H_NODE` pairwise, level by level.
fn subtree_root(
    cs: &ConstraintSystemRef<Fr>,
    mut nodes: Vec<FpVar<Fr>>,
) -> Result<FpVar<Fr>, SynthesisError> {
    while nodes.len() > 1 {
        nodes = nodes
            .chunks(2)
            .map(|pair| poseidon_hash_var(cs.clone(), DOMAIN_NODE, pair))
            .collect::<Result<_, _>>()?;
    }
    nodes.pop().ok_or(SynthesisError::Unsatisfiable)
}

/// `values[index]`, `index` given by its little-endian `bits` (`values.len() == 2^bits`):
/// a tree of multiplexers, `a + bit·(b - a)`, one constraint each.
fn select(values: &[FpVar<Fr>], bits: &[Boolean<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let mut layer = values.to_vec();
    for bit in bits {
        let bit = FpVar::from(bit.clone());
        layer = layer
            .chunks(2)
            .map(|pair| &pair[0] + &bit * (&pair[1] - &pair[0]))
            .collect();
    }
    match layer.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(SynthesisError::Unsatisfiable),
    }
}
