//! The v1 statement as a halo2 circuit over Pasta `Fp` ([`PolicyCircuit`]).
//!
//! The instance is one column, rows 0..4 = `[C, P, now, binding]` ([`super::instance`]).
//! The list of constraints is the statement's, shared word for word with the BN254
//! circuit ([`crate::checks`]); the range checks and ordering rules come from
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
//! - 1, 2: `H_d(x...)` is `Poseidon(d, x...)` with `P128Pow5T3` and `ConstantLength<n + 1>`
//!   (`Pow5Chip`; [`IntentVar::commitment`], [`PolicyVar::commitment`]), its output cell
//!   copy-constrained to instance rows 0 and 1. The salt limbs are witness cells loaded
//!   with the other policy fields ([`PolicyVar`]) and enter only this hash.
//! - 3, 4: copy constraints in the witness region (`version` to the constant 1,
//!   `intent.asset` to `policy.asset`).
//! - 5, 6: the exact lookup range checks of [`super::range`] (10-bit words and a short
//!   check of the top bits).
//! - 7: a difference row (`hi - lo - diff = 0`, [`super::chips::difference`]) whose `diff`
//!   is range-checked to 64 bits.
//! - 8: per level a conditional-swap row ([`super::chips::swap`]: `bit·(1 - bit) = 0`,
//!   `left = cur + bit·(sib - cur)`, `right = sib + bit·(cur - sib)`) and
//!   `cur = Poseidon(DOMAIN_NODE, left, right)`; the last `cur` is copy-constrained to
//!   `allowlist_root`. The leaf is `Poseidon(DOMAIN_LEAF, hi, lo)` (`ConstantLength<3>`).
//! - 9: `binding` is a witnessed cell copy-constrained to instance row 3 (so it is part of
//!   the relation, not only of the transcript); `now` likewise to row 2.
//!
//! Every instance row is copy-constrained to an assigned cell. The domain tags are fixed
//! constants of the circuit (copy-constrained to the constants column).
//!
//! # Chips and columns
//!
//! - `Pow5Chip<Fp, 3, 2>` (`P128Pow5T3`): 3 state + 1 partial-S-box advice columns, 6 fixed
//!   round-constant columns; 19 hashes (11 + 7 inputs + 17 × 3 inputs) = 44 permutations.
//! - `LookupRangeCheckConfig<Fp, 10>`: 1 running-sum advice column, a 1024-row table; 13
//!   range checks (7 u64 values, 4 differences, 2 u32 values).
//! - Two small custom gates on the Poseidon advice columns plus one extra advice column
//!   ([`super::chips`]): the conditional swap (`q_swap`) and the difference (`q_diff`).
//! - A fixed column for constants (domain tags, `version`, range-check constants).
//!
//! Totals: 6 advice, 1 instance and 13 fixed columns (6 round-constant, 1 constants, the
//! lookup table and the compressed selectors), 1 lookup argument, max gate degree 6.
//!
//! # Size
//!
//! [`K`] = 11 (2048 rows, of which `2048 - (blinding factors + 1)` are usable). The
//! layout uses 1804 rows (measured with `halo2_proofs::dev::CircuitCost` and pinned by the
//! `circuit_fits_k_and_not_k_minus_1` test; 1763 before the policy salt of issue 10, which
//! adds one permutation and its absorb rows): the Poseidon columns are the longest — 44
//! permutations of 37 rows plus the absorb and initial-state rows — and the range checks
//! run beside them in their own column; the 1024-row table lives in its own table column.
//! 11 is also the minimum for *any* circuit using the 10-bit lookup table: its 1024 rows
//! plus the blinding rows exceed 2^10. `MockProver` at `K - 1` fails.

use core::fmt;

use halo2_proofs::{
    circuit::{Layouter, SimpleFloorPlanner, Value},
    plonk::{Circuit, ConstraintSystem, Error},
};
use pasta_curves::Fp;

use super::chips::{difference, hash_cells, path_root, Cell, PolicyConfig, Rows};
use super::instance::{ROW_BINDING, ROW_C, ROW_NOW, ROW_P};
use super::range::{load_table, range_check};
use super::vars::{IntentVar, PolicyVar};
use crate::checks::{orderings, range_checks, U64_BITS};
use crate::field::{DOMAIN_INTENT, DOMAIN_LEAF, DOMAIN_NODE, DOMAIN_POLICY};
use crate::intent::{IntentFields, INTENT_VERSION};
use crate::merkle::TREE_DEPTH as DEPTH;
use crate::policy::PolicyFields;
use crate::public::WitnessValues;

/// log2 of the number of rows: the circuit needs `2^K` rows and IPA params of size `K`.
pub const K: u32 = 11;

/// Number of intent field elements ([`crate::IntentFields`]).
pub const INTENT_LEN: usize = IntentFields::<()>::LEN;
/// Number of policy field elements ([`crate::PolicyFields`]).
pub const POLICY_LEN: usize = PolicyFields::<()>::LEN;

/// The raw field-level assignment of [`PolicyCircuit`] (all values private to the prover).
///
/// Normally built by [`PolicyCircuit::new`]; tests use it to force values the typed API
/// cannot hold (an amount >= 2^64, a non-boolean path bit, ...).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// The intent's fields.
    pub intent: IntentFields<Fp>,
    /// The policy's fields.
    pub policy: PolicyFields<Fp>,
    /// Merkle siblings from the leaf upward.
    pub siblings: [Fp; DEPTH],
    /// Path bits from the leaf upward (1 = the current node is the right child); the
    /// circuit constrains each to be 0 or 1.
    pub path_bits: [Fp; DEPTH],
    /// The witnessed `now` (must equal instance row 2).
    pub now: Fp,
    /// The witnessed `binding` (must equal instance row 3).
    pub binding: Fp,
}

impl fmt::Debug for Assignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Assignment(<redacted>)")
    }
}

impl Assignment {
    /// The assignment of the shared witness encoding ([`crate::Witness::values`]); `now`
    /// and `binding` are witnessed from the public inputs.
    pub fn from_values(values: &WitnessValues<Fp>) -> Self {
        Assignment {
            intent: values.intent,
            policy: values.policy,
            siblings: values.path.siblings,
            path_bits: Self::bits_of_index(values.path.index),
            now: values.now(),
            binding: values.binding(),
        }
    }

    /// Path bits of a leaf index (bit `i` = level `i`).
    pub fn bits_of_index(index: u16) -> [Fp; DEPTH] {
        core::array::from_fn(|i| Fp::from(u64::from((index >> i) & 1)))
    }
}

/// The zkquorum v1 statement over Pasta `Fp` (see the module docs for what it proves).
///
/// Build it with [`PolicyCircuit::new`] to prove, or use [`Circuit::without_witnesses`]
/// (or [`PolicyCircuit::default`]) for key generation; the circuit shape never depends on
/// the witness.
#[derive(Clone, Default)]
pub struct PolicyCircuit {
    assignment: Value<Assignment>,
}

impl fmt::Debug for PolicyCircuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PolicyCircuit(<redacted>)")
    }
}

impl PolicyCircuit {
    /// The circuit proving `values` (from [`crate::Witness::values`]).
    pub fn new(values: &WitnessValues<Fp>) -> Self {
        Self::from_assignment(Assignment::from_values(values))
    }

    /// A circuit holding `assignment` as its witness.
    pub fn from_assignment(assignment: Assignment) -> Self {
        PolicyCircuit {
            assignment: Value::known(assignment),
        }
    }

    /// Keygen shape: no witness.
    pub fn empty() -> Self {
        PolicyCircuit {
            assignment: Value::unknown(),
        }
    }

    fn get<T>(&self, f: impl FnOnce(&Assignment) -> T) -> Value<T> {
        self.assignment.as_ref().map(f)
    }
}

/// The cells of the loaded witness.
struct Loaded {
    intent: IntentVar,
    policy: PolicyVar,
    now: Cell,
    binding: Cell,
    domain_intent: Cell,
    domain_policy: Cell,
    domain_leaf: Cell,
    domain_node: Cell,
}

impl Circuit<Fp> for PolicyCircuit {
    type Config = PolicyConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self::empty()
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> PolicyConfig {
        PolicyConfig::configure(meta)
    }

    fn synthesize(
        &self,
        config: PolicyConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        load_table(config.table, &mut layouter)?;
        // 3, 4 (version, asset) are copy constraints in the witness region.
        let w = self.load_witness(&config, layouter.namespace(|| "load witness"))?;

        // 1. C opens to the intent.
        let c = w.intent.commitment(
            &config,
            layouter.namespace(|| "intent commitment"),
            &w.domain_intent,
        )?;
        layouter.constrain_instance(c.cell(), config.instance, ROW_C)?;

        // 2. P opens to the policy.
        let p = w.policy.commitment(
            &config,
            layouter.namespace(|| "policy commitment"),
            &w.domain_policy,
        )?;
        layouter.constrain_instance(p.cell(), config.instance, ROW_P)?;

        // now and binding (9) are public.
        layouter.constrain_instance(w.now.cell(), config.instance, ROW_NOW)?;
        layouter.constrain_instance(w.binding.cell(), config.instance, ROW_BINDING)?;

        // 5, 6. Ranges.
        for check in range_checks(&w.intent, &w.policy, &w.now) {
            range_check(
                &config.range,
                layouter.namespace(|| format!("{} < 2^{}", check.name, check.bits)),
                check.value,
                check.bits,
            )?;
        }

        // 7. Ordering rules: hi - lo is a u64.
        for rule in orderings(&w.intent, &w.policy, &w.now) {
            let diff = difference(&config, layouter.namespace(|| rule.name), rule.lo, rule.hi)?;
            range_check(
                &config.range,
                layouter.namespace(|| format!("{}: difference < 2^64", rule.name)),
                &diff,
                U64_BITS,
            )?;
        }

        // 8. Allowlist membership.
        let cur = hash_cells::<3>(
            &config,
            layouter.namespace(|| "leaf"),
            [
                w.domain_leaf.clone(),
                w.intent.recipient_hi.clone(),
                w.intent.recipient_lo.clone(),
            ],
        )?;
        let cur = path_root(
            &config,
            layouter.namespace(|| "path"),
            cur,
            self.get(|a| a.siblings),
            self.get(|a| a.path_bits),
            &w.domain_node,
        )?;
        layouter.assign_region(
            || "root == allowlist_root",
            |mut region| region.constrain_equal(cur.cell(), w.policy.allowlist_root.cell()),
        )
    }
}

impl PolicyCircuit {
    /// Assigns the domain-tag constants and the private inputs, in that order, filling the
    /// general columns row by row; constrains `version == 1` (3) and `intent.asset ==
    /// policy.asset` (4).
    fn load_witness(
        &self,
        config: &PolicyConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<Loaded, Error> {
        layouter.assign_region(
            || "witness",
            |mut region| {
                let mut rows = Rows::new(config);
                let domain_intent = rows.constant(&mut region, DOMAIN_INTENT)?;
                let domain_policy = rows.constant(&mut region, DOMAIN_POLICY)?;
                let domain_leaf = rows.constant(&mut region, DOMAIN_LEAF)?;
                let domain_node = rows.constant(&mut region, DOMAIN_NODE)?;

                let intent = IntentFields::getters()
                    .try_map(|get| rows.witness(&mut region, self.get(|a| get(&a.intent))))?;
                let policy = PolicyFields::getters()
                    .try_map(|get| rows.witness(&mut region, self.get(|a| get(&a.policy))))?;
                let now = rows.witness(&mut region, self.get(|a| a.now))?;
                let binding = rows.witness(&mut region, self.get(|a| a.binding))?;

                region.constrain_constant(
                    intent.version.cell(),
                    Fp::from(u64::from(INTENT_VERSION)),
                )?;
                region.constrain_equal(intent.asset.cell(), policy.asset.cell())?;

                Ok(Loaded {
                    intent,
                    policy,
                    now,
                    binding,
                    domain_intent,
                    domain_policy,
                    domain_leaf,
                    domain_node,
                })
            },
        )
    }
}
