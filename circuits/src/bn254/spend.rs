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
//! `(script_hi, script_lo, amount)` and a path in the 4-ary depth-8 allowlist tree (per
//! level three siblings and a position 0..3 as two bits). `H_d` is the backend's Poseidon
//! under domain tag `d`, `H4_d` its width-5 Poseidon of four inputs.
//!
//! 1. `P = H_SPEND_POLICY(network, max_total, max_fee, not_before, allowlist_root,
//!    salt_lo, salt_hi)`.
//! 2. `O = acc_N`, where `acc_0 = H_OUTPUTS(network, N)` and
//!    `acc_{i+1} = H4_OUTPUT(acc_i, script_hi_i, script_lo_i, amount_i)`.
//! 3. `fee`, `now`, `max_total`, `max_fee`, `not_before` and every `amount_i` are integers
//!    below 2^64; `lock_time` and `network` are integers below 2^32.
//! 4. `fee <= max_fee`, `not_before <= now` and `amount_0 + ... + amount_{N-1} <=
//!    max_total`, each enforced as "`hi - lo` is an integer below 2^64".
//! 5. For every slot, every position bit is 0 or 1, and `H_LEAF(script_hi_i,
//!    script_lo_i)` hashed up the slot's path equals `allowlist_root`, each level being
//!    `H4_NODE` of the four children: the node at its position among its three siblings.
//! 6. `binding` takes part in a constraint, so a proof holds for its `binding` only.
//!
//! # How this circuit enforces them
//!
//! - 1, 5 (the leaf) and `acc_0`: `poseidon_hash_var` (width 3; domain and length in the
//!   capacity element); 2 (the links) and 5 (the nodes): `poseidon_hash4_var` (width 5, one
//!   permutation, capacity `d·2^64 + 4`). `N` and the domain tags are constants of the
//!   circuit.
//! - 5, one level: the three siblings and two position bits are witnessed, the bits
//!   constrained boolean, and the four children are the node inserted at position
//!   `b0 + 2·b1` among the siblings in order (`quad_children`: 9 constraints). With
//!   boolean bits the children are exactly one of the four arrangements, so the level
//!   hashes the node at the position its index says, as the native path does.
//! - 5, shared top: a class with [`SizeClass::shared_levels`] `L > 0` witnesses the `4^L`
//!   nodes of the allowlist tree at level `8 - L` once and hashes them in fours up to
//!   `allowlist_root` (`(4^L - 1) / 3` node hashes). Each slot climbs only its first
//!   `8 - L` levels and must arrive at the node that its last `2L` position bits select
//!   among the witnessed ones (a tree of `4^L - 1` multiplexers, one constraint each). Sound
//!   because the witnessed nodes are bound to the root: by collision resistance of
//!   `H4_NODE` the node a slot reaches is the tree's node at that position, exactly as if
//!   the slot had hashed its full path (whose top `L` levels' siblings are those nodes'
//!   hashes).
//! - 3, 4: boolean decompositions (`bits + 1` constraints each); the sum is a linear
//!   combination (no constraint of its own).
//! - 6: `binding · binding = binding_sq` for a witnessed square.
//!
//! # Size
//!
//! 7 593 constraints for 2 slots, 42 609 for 16 and 562 081 for 256 (pinned by
//! `spend_sizes_are_pinned`). A slot with its whole path costs about 3 080: the `O` link
//! (one width-5 permutation, 300), the leaf (one width-3 permutation, 243), 8 path levels
//! of 309 (a width-5 permutation and the 9 constraints of the child arrangement) and one
//! 64-bit range check (65); plus ~1 800 for the policy, the public integers and the three
//! orderings. Sharing the top 1, 2 and 4 levels ([`SizeClass::shared_levels`]) brings the
//! classes to the figures above. The binary tree of the first version cost 4 661 per slot
//! (11 117, 64 788 and 826 132 constraints); the 256 class stays in a 2^20 FFT domain.

use ark_ff::AdditiveGroup;
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::fp::FpVar, fields::FieldVar,
};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError, SynthesisMode,
};

use super::circuit::enforce_bits;
use super::poseidon::{poseidon_hash4_var, poseidon_hash_var};
use super::{Bn254, Fr};
use crate::checks::{U32_BITS, U64_BITS};
use crate::field::{StatementField, DOMAIN_LEAF, DOMAIN_NODE4};
use crate::spend::public::{
    SPEND_BINDING, SPEND_FEE, SPEND_LOCK_TIME, SPEND_NOW, SPEND_O, SPEND_P,
};
use crate::spend::{
    QuadPath, SizeClass, SpendPolicyFields, SpendValues, SpendWitness, DOMAIN_OUTPUT,
    DOMAIN_OUTPUTS, DOMAIN_SPEND_POLICY, NUM_SPEND_PUBLIC_INPUTS, QUAD_DEPTH,
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
        // 5 (shared part). The top `shared` levels: their 4^shared nodes at level
        // QUAD_DEPTH - shared, hashed once to the committed root (with none shared, the
        // root itself is the one node every slot must reach).
        let shared = self.class.shared_levels();
        if v.is_some_and(|v| v.top.len() != 1 << (2 * shared)) {
            return Err(SynthesisError::Unsatisfiable);
        }
        let top = if shared == 0 {
            vec![policy.allowlist_root.clone()]
        } else {
            let top = (0..1usize << (2 * shared))
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
            acc = poseidon_hash4_var(
                cs.clone(),
                DOMAIN_OUTPUT,
                &[acc, hi.clone(), lo.clone(), amount],
            )?;
            let mut node = poseidon_hash_var(cs.clone(), DOMAIN_LEAF, &[hi, lo])?;
            let path = slot.map(|s| &s.path);
            for level in 0..QUAD_DEPTH - shared {
                let children = quad_children(&cs, node, path, level)?;
                node = poseidon_hash4_var(cs.clone(), DOMAIN_NODE4, &children)?;
            }
            // The node the slot's remaining position bits select among the shared ones.
            let mut bits = Vec::with_capacity(2 * shared);
            for level in QUAD_DEPTH - shared..QUAD_DEPTH {
                for b in 0..2 {
                    bits.push(Boolean::new_witness(cs.clone(), || {
                        path.map(|p| p.position_bit(level, b)).ok_or_else(missing)
                    })?);
                }
            }
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

/// The root of the 4-ary subtree whose bottom level is `nodes` (a power of four of them):
/// `H4_NODE` of each group of four, level by level.
fn subtree_root(
    cs: &ConstraintSystemRef<Fr>,
    mut nodes: Vec<FpVar<Fr>>,
) -> Result<FpVar<Fr>, SynthesisError> {
    while nodes.len() > 1 {
        nodes = nodes
            .chunks(4)
            .map(|c| match c {
                [a, b, c, d] => poseidon_hash4_var(
                    cs.clone(),
                    DOMAIN_NODE4,
                    &[a.clone(), b.clone(), c.clone(), d.clone()],
                ),
                _ => Err(SynthesisError::Unsatisfiable),
            })
            .collect::<Result<_, _>>()?;
    }
    nodes.pop().ok_or(SynthesisError::Unsatisfiable)
}

/// The four children at `level` of the path through `node`: its three witnessed siblings
/// with `node` inserted at the witnessed position `p = b0 + 2·b1`. With the indicator
/// polynomials `[p = 0] = (1-b0)(1-b1)`, `[p = 1] = b0(1-b1)`, `[p = 2] = (1-b0)b1`,
/// `[p = 3] = b0·b1` (linear in `b0`, `b1`, `b0·b1`):
///
/// ```text
/// c0 = s0 + [p=0](node - s0)
/// c1 = s1 + [p=0](s0 - s1) + [p=1](node - s1)
/// c2 = s1 + [p=2](node - s1) + [p=3](s2 - s1)
/// c3 = s2 + [p=3](node - s2)
/// ```
///
/// 9 constraints: two booleans, `b0·b1`, six products.
fn quad_children(
    cs: &ConstraintSystemRef<Fr>,
    node: FpVar<Fr>,
    path: Option<&QuadPath<Fr>>,
    level: usize,
) -> Result<[FpVar<Fr>; 4], SynthesisError> {
    let missing = || SynthesisError::AssignmentMissing;
    let sibling = |j: usize| {
        FpVar::new_witness(cs.clone(), || {
            path.map(|p| p.siblings[level][j]).ok_or_else(missing)
        })
    };
    let [s0, s1, s2] = [sibling(0)?, sibling(1)?, sibling(2)?];
    let bit = |b: usize| {
        Boolean::new_witness(cs.clone(), || {
            path.map(|p| p.position_bit(level, b)).ok_or_else(missing)
        })
    };
    let (b0, b1) = (bit(0)?, bit(1)?);
    let b01 = FpVar::from(b0.clone() & b1.clone());
    let (b0, b1) = (FpVar::from(b0), FpVar::from(b1));
    let one = FpVar::<Fr>::Constant(Fr::from(1u64));
    let p0 = &one - &b0 - &b1 + &b01;
    let p1 = &b0 - &b01;
    let p2 = &b1 - &b01;
    let p3 = b01;
    Ok([
        &s0 + &p0 * (&node - &s0),
        &s1 + &p0 * (&s0 - &s1) + &p1 * (&node - &s1),
        &s1 + &p2 * (&node - &s1) + &p3 * (&s2 - &s1),
        &s2 + &p3 * (&node - &s2),
    ])
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
