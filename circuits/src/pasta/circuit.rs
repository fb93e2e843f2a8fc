//! The v1 statement as a halo2 circuit over Pasta `Fp` ([`PolicyCircuit`]).
//!
//! # What it proves
//!
//! Given the public instance `[C, P, now, binding]` (one instance column, rows 0..4), the
//! prover knows an intent `(version, network, asset, amount, recipient_hi, recipient_lo,
//! valid_after, valid_before, nonce, salt)`, a policy `(asset, max_amount, not_before,
//! allowlist_root)` and a depth-16 Merkle path such that
//!
//! 1. `C = Poseidon(DOMAIN_INTENT, intent...)` (`ConstantLength<11>`);
//! 2. `P = Poseidon(DOMAIN_POLICY, policy...)` (`ConstantLength<5>`);
//! 3. `version == 1`;
//! 4. `amount, max_amount, valid_after, valid_before, nonce, not_before, now` are each
//!    integers below 2^64, `network` and `asset` below 2^32;
//! 5. `intent.asset == policy.asset`;
//! 6. `amount <= max_amount`, `valid_after <= now <= valid_before`, `not_before <= now`,
//!    each as "the difference is below 2^64" (sound because both sides are below 2^64);
//! 7. `Poseidon(DOMAIN_LEAF, recipient_hi, recipient_lo)` (`ConstantLength<3>`) hashes up
//!    a 16-level path — `node = Poseidon(DOMAIN_NODE, left, right)`, with a boolean path
//!    bit per level choosing whether the current node is the left (bit 0) or right (bit 1)
//!    child — to `allowlist_root`;
//! 8. `binding` equals a witnessed cell (so it is part of the relation, not only of the
//!    transcript).
//!
//! Every instance row is copy-constrained (`constrain_instance`) to an assigned cell. The
//! domain tags are fixed constants of the circuit, not prover choices.
//!
//! # Chips and columns
//!
//! - `Pow5Chip<Fp, 3, 2>` (`P128Pow5T3`): 3 state + 1 partial-S-box advice columns, 6 fixed
//!   round-constant columns; 19 hashes (11 + 5 inputs + 17 × 3 inputs) = 43 permutations.
//! - `LookupRangeCheckConfig<Fp, 10>`: 1 running-sum advice column, a 1024-row table; 13
//!   range checks (7 u64 values, 4 differences, 2 u32 values).
//! - Two small custom gates on the Poseidon advice columns plus one extra advice column:
//!   a conditional swap (`q_swap`: `bit` boolean, `(left, right) = bit ? (sib, cur) : (cur,
//!   sib)`) and a difference (`q_diff`: `hi - lo - diff = 0`).
//! - A fixed column for constants (domain tags, `version`, range-check constants).
//!
//! Totals: 6 advice, 1 instance and 13 fixed columns (6 round-constant, 1 constants, the
//! lookup table and the compressed selectors), 1 lookup argument, max gate degree 6.
//!
//! # Size
//!
//! [`K`] = 11 (2048 rows, of which `2048 - (blinding factors + 1)` are usable). The
//! layout uses 1763 rows (measured with `halo2_proofs::dev::CircuitCost`, printed by the
//! `circuit_fits_k_and_not_k_minus_1` test): the Poseidon columns are the longest — 43
//! permutations of 37 rows plus the absorb and initial-state rows — and the range checks
//! run beside them in their own column; the 1024-row table lives in its own table column.
//! 11 is also the minimum for *any* circuit using the 10-bit lookup table: its 1024 rows
//! plus the blinding rows exceed 2^10. `MockProver` at `K - 1` fails.
//!
//! # Instances
//!
//! One instance column, 4 rows: `[C, P, now, binding]` = `PublicInputs::to_field_elements`
//! ([`instance_column`]). Verifiers that receive the column from outside must check its
//! length ([`instance_from_slice`]): halo2 treats missing rows as zero and cannot tell an
//! extra trailing zero from padding.

use core::fmt;

use halo2_gadgets::poseidon::{
    primitives::{ConstantLength, P128Pow5T3},
    Hash as PoseidonHash, Pow5Chip, Pow5Config,
};
use halo2_gadgets::utilities::lookup_range_check::LookupRangeCheck;
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Region, SimpleFloorPlanner, Value},
    plonk::{
        Advice, Circuit, Column, ConstraintSystem, Constraints, Error, Expression, Instance,
        Selector, TableColumn,
    },
    poly::Rotation,
};
use pasta_curves::Fp;

use super::poseidon::{RATE, WIDTH};
use super::range::{load_table, range_check, RangeConfig};
use crate::field::{DOMAIN_INTENT, DOMAIN_LEAF, DOMAIN_NODE, DOMAIN_POLICY};
use crate::intent::INTENT_VERSION;
use crate::merkle::TREE_DEPTH as DEPTH;
use crate::public::layout::*;
use crate::public::{PublicInputs, WitnessValues, NUM_PUBLIC_INPUTS};

/// log2 of the number of rows: the circuit needs `2^K` rows and IPA params of size `K`.
pub const K: u32 = 11;

/// Number of intent field elements ([`crate::Intent::fields`]).
pub const INTENT_LEN: usize = 10;
/// Number of policy field elements ([`crate::Policy::fields`]).
pub const POLICY_LEN: usize = 4;

/// Instance row of the intent commitment `C`.
pub const ROW_C: usize = 0;
/// Instance row of the policy commitment `P`.
pub const ROW_P: usize = 1;
/// Instance row of `now`.
pub const ROW_NOW: usize = 2;
/// Instance row of `binding`.
pub const ROW_BINDING: usize = 3;

/// Number of general-purpose advice columns used by the witness and the custom gates.
const GENERAL: usize = 5;

/// Column and gate configuration of [`PolicyCircuit`].
#[derive(Clone, Debug)]
pub struct PolicyConfig {
    /// `[C, P, now, binding]`.
    instance: Column<Instance>,
    /// Witness cells and custom gates: the 4 Poseidon advice columns plus one extra.
    general: [Column<Advice>; GENERAL],
    poseidon: Pow5Config<Fp, WIDTH, RATE>,
    range: RangeConfig,
    table: TableColumn,
    q_swap: Selector,
    q_diff: Selector,
}

/// The raw field-level assignment of [`PolicyCircuit`] (all values private to the prover).
///
/// Normally built by [`PolicyCircuit::new`]; tests use it to force values the typed API
/// cannot hold (an amount >= 2^64, a non-boolean path bit, ...).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// `[version, network, asset, amount, recipient_hi, recipient_lo, valid_after,
    /// valid_before, nonce, salt]`.
    pub intent: [Fp; INTENT_LEN],
    /// `[asset, max_amount, not_before, allowlist_root]`.
    pub policy: [Fp; POLICY_LEN],
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
    /// and `binding` are witnessed from `values.public[2..4]`.
    pub fn from_values(values: &WitnessValues<Fp>) -> Self {
        Assignment {
            intent: values.intent,
            policy: values.policy,
            siblings: values.path.siblings,
            path_bits: Self::bits_of_index(values.path.index),
            now: values.public[ROW_NOW],
            binding: values.public[ROW_BINDING],
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

/// The instance column of a proof, `[C, P, now, binding]`; `create_proof` /
/// `verify_proof` take it as `&[&[&column[..]]]` (one proof, one instance column).
pub fn instance_column(public: &PublicInputs<Fp>) -> [Fp; NUM_PUBLIC_INPUTS] {
    public.to_field_elements()
}

/// An instance column of the wrong length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstanceError {
    /// The statement has exactly [`NUM_PUBLIC_INPUTS`] public inputs.
    #[error("expected {expected} public inputs [C, P, now, binding], got {got}")]
    WrongCount {
        /// [`NUM_PUBLIC_INPUTS`].
        expected: usize,
        /// The number given.
        got: usize,
    },
}

/// Checks that an instance column received from outside has exactly
/// [`NUM_PUBLIC_INPUTS`] entries. halo2 pads a short instance column with zeros and would
/// happily verify `[C, P, now]` against a proof whose `binding` is zero, so verifiers must
/// check the count themselves.
pub fn instance_from_slice(column: &[Fp]) -> Result<[Fp; NUM_PUBLIC_INPUTS], InstanceError> {
    column.try_into().map_err(|_| InstanceError::WrongCount {
        expected: NUM_PUBLIC_INPUTS,
        got: column.len(),
    })
}

type Cell = AssignedCell<Fp, Fp>;

/// The cells of the loaded witness.
struct Loaded {
    intent: [Cell; INTENT_LEN],
    policy: [Cell; POLICY_LEN],
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
        let instance = meta.instance_column();
        meta.enable_equality(instance);

        let state: [Column<Advice>; WIDTH] = core::array::from_fn(|_| meta.advice_column());
        let partial_sbox = meta.advice_column();
        let extra = meta.advice_column();
        let running_sum = meta.advice_column();
        let rc_a: [Column<_>; WIDTH] = core::array::from_fn(|_| meta.fixed_column());
        let rc_b: [Column<_>; WIDTH] = core::array::from_fn(|_| meta.fixed_column());
        let constants = meta.fixed_column();
        meta.enable_constant(constants);

        let general = [state[0], state[1], state[2], partial_sbox, extra];
        for column in general {
            meta.enable_equality(column);
        }

        let poseidon = Pow5Chip::configure::<P128Pow5T3>(meta, state, partial_sbox, rc_a, rc_b);
        let table = meta.lookup_table_column();
        let range = RangeConfig::configure(meta, running_sum, table);

        let q_swap = meta.selector();
        meta.create_gate("merkle conditional swap", |meta| {
            let q = meta.query_selector(q_swap);
            let cur = meta.query_advice(general[0], Rotation::cur());
            let sib = meta.query_advice(general[1], Rotation::cur());
            let bit = meta.query_advice(general[2], Rotation::cur());
            let left = meta.query_advice(general[3], Rotation::cur());
            let right = meta.query_advice(general[4], Rotation::cur());
            let one = Expression::Constant(Fp::one());
            Constraints::with_selector(
                q,
                [
                    ("bit is boolean", bit.clone() * (one - bit.clone())),
                    (
                        "left = bit ? sib : cur",
                        left - (cur.clone() + bit.clone() * (sib.clone() - cur.clone())),
                    ),
                    (
                        "right = bit ? cur : sib",
                        right - (sib.clone() + bit * (cur - sib)),
                    ),
                ],
            )
        });

        let q_diff = meta.selector();
        meta.create_gate("difference", |meta| {
            let q = meta.query_selector(q_diff);
            let lo = meta.query_advice(general[0], Rotation::cur());
            let hi = meta.query_advice(general[1], Rotation::cur());
            let diff = meta.query_advice(general[2], Rotation::cur());
            Constraints::with_selector(q, [("hi - lo = diff", hi - lo - diff)])
        });

        PolicyConfig {
            instance,
            general,
            poseidon,
            range,
            table,
            q_swap,
            q_diff,
        }
    }

    fn synthesize(
        &self,
        config: PolicyConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        load_table(config.table, &mut layouter)?;
        let w = self.load_witness(&config, layouter.namespace(|| "load witness"))?;

        // 1. C opens to the intent.
        let c = hash_cells::<{ INTENT_LEN + 1 }>(
            &config,
            layouter.namespace(|| "intent commitment"),
            core::array::from_fn(|i| {
                if i == 0 {
                    w.domain_intent.clone()
                } else {
                    w.intent[i - 1].clone()
                }
            }),
        )?;
        layouter.constrain_instance(c.cell(), config.instance, ROW_C)?;

        // 2. P opens to the policy.
        let p = hash_cells::<{ POLICY_LEN + 1 }>(
            &config,
            layouter.namespace(|| "policy commitment"),
            core::array::from_fn(|i| {
                if i == 0 {
                    w.domain_policy.clone()
                } else {
                    w.policy[i - 1].clone()
                }
            }),
        )?;
        layouter.constrain_instance(p.cell(), config.instance, ROW_P)?;

        // now and binding are public.
        layouter.constrain_instance(w.now.cell(), config.instance, ROW_NOW)?;
        layouter.constrain_instance(w.binding.cell(), config.instance, ROW_BINDING)?;

        // 3-5. version, ranges, asset (equalities live in the witness region).
        let u64s = [
            ("amount", &w.intent[I_AMOUNT]),
            ("valid_after", &w.intent[I_VALID_AFTER]),
            ("valid_before", &w.intent[I_VALID_BEFORE]),
            ("nonce", &w.intent[I_NONCE]),
            ("max_amount", &w.policy[P_MAX_AMOUNT]),
            ("not_before", &w.policy[P_NOT_BEFORE]),
            ("now", &w.now),
        ];
        for (name, cell) in u64s {
            range_check(
                &config.range,
                layouter.namespace(|| format!("{name} < 2^64")),
                cell,
                64,
            )?;
        }
        for (name, cell) in [
            ("network", &w.intent[I_NETWORK]),
            ("asset", &w.intent[I_ASSET]),
        ] {
            range_check(
                &config.range,
                layouter.namespace(|| format!("{name} < 2^32")),
                cell,
                32,
            )?;
        }

        // 6. Ordering rules: hi - lo is a u64.
        let orderings = [
            (
                "amount <= max_amount",
                &w.intent[I_AMOUNT],
                &w.policy[P_MAX_AMOUNT],
            ),
            ("valid_after <= now", &w.intent[I_VALID_AFTER], &w.now),
            ("now <= valid_before", &w.now, &w.intent[I_VALID_BEFORE]),
            ("not_before <= now", &w.policy[P_NOT_BEFORE], &w.now),
        ];
        for (name, lo, hi) in orderings {
            let diff = difference(&config, layouter.namespace(|| name), lo, hi)?;
            range_check(
                &config.range,
                layouter.namespace(|| format!("{name}: difference < 2^64")),
                &diff,
                64,
            )?;
        }

        // 7. Allowlist membership.
        let mut cur = hash_cells::<3>(
            &config,
            layouter.namespace(|| "leaf"),
            [
                w.domain_leaf.clone(),
                w.intent[I_RECIPIENT_HI].clone(),
                w.intent[I_RECIPIENT_LO].clone(),
            ],
        )?;
        for level in 0..DEPTH {
            let sibling = self.get(|a| a.siblings[level]);
            let bit = self.get(|a| a.path_bits[level]);
            let (left, right) = swap(
                &config,
                layouter.namespace(|| format!("swap {level}")),
                &cur,
                sibling,
                bit,
            )?;
            cur = hash_cells::<3>(
                &config,
                layouter.namespace(|| format!("node {level}")),
                [w.domain_node.clone(), left, right],
            )?;
        }
        layouter.assign_region(
            || "root == allowlist_root",
            |mut region| region.constrain_equal(cur.cell(), w.policy[P_ROOT].cell()),
        )?;
        Ok(())
    }
}

impl PolicyCircuit {
    /// Assigns the private inputs and the domain-tag constants; constrains `version == 1`
    /// and `intent.asset == policy.asset`.
    fn load_witness(
        &self,
        config: &PolicyConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<Loaded, Error> {
        layouter.assign_region(
            || "witness",
            |mut region| {
                let mut slot = 0usize;
                let mut next = |region: &mut Region<'_, Fp>, v: Value<Fp>| {
                    let column = config.general[slot % GENERAL];
                    let row = slot / GENERAL;
                    slot += 1;
                    region.assign_advice(|| "witness", column, row, || v)
                };
                let mut constant = |region: &mut Region<'_, Fp>, v: u64| -> Result<Cell, Error> {
                    let cell = next(region, Value::known(Fp::from(v)))?;
                    region.constrain_constant(cell.cell(), Fp::from(v))?;
                    Ok(cell)
                };
                let domain_intent = constant(&mut region, DOMAIN_INTENT)?;
                let domain_policy = constant(&mut region, DOMAIN_POLICY)?;
                let domain_leaf = constant(&mut region, DOMAIN_LEAF)?;
                let domain_node = constant(&mut region, DOMAIN_NODE)?;

                let mut intent = Vec::with_capacity(INTENT_LEN);
                for i in 0..INTENT_LEN {
                    intent.push(next(&mut region, self.get(|a| a.intent[i]))?);
                }
                let mut policy = Vec::with_capacity(POLICY_LEN);
                for i in 0..POLICY_LEN {
                    policy.push(next(&mut region, self.get(|a| a.policy[i]))?);
                }
                let now = next(&mut region, self.get(|a| a.now))?;
                let binding = next(&mut region, self.get(|a| a.binding))?;

                let intent: [Cell; INTENT_LEN] = intent.try_into().map_err(|_| Error::Synthesis)?;
                let policy: [Cell; POLICY_LEN] = policy.try_into().map_err(|_| Error::Synthesis)?;

                region.constrain_constant(
                    intent[I_VERSION].cell(),
                    Fp::from(u64::from(INTENT_VERSION)),
                )?;
                region.constrain_equal(intent[I_ASSET].cell(), policy[P_ASSET].cell())?;

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

/// `Poseidon_{ConstantLength<L>}(message)` in-circuit; the message cells are copied into
/// the sponge.
fn hash_cells<const L: usize>(
    config: &PolicyConfig,
    mut layouter: impl Layouter<Fp>,
    message: [Cell; L],
) -> Result<Cell, Error> {
    let chip = Pow5Chip::construct(config.poseidon.clone());
    let hasher = PoseidonHash::<Fp, _, P128Pow5T3, ConstantLength<L>, WIDTH, RATE>::init(
        chip,
        layouter.namespace(|| "init"),
    )?;
    hasher.hash(layouter.namespace(|| "hash"), message)
}

/// One conditional-swap row: returns `(left, right)` = `bit ? (sibling, cur) : (cur,
/// sibling)`, with `bit` constrained boolean.
fn swap(
    config: &PolicyConfig,
    mut layouter: impl Layouter<Fp>,
    cur: &Cell,
    sibling: Value<Fp>,
    bit: Value<Fp>,
) -> Result<(Cell, Cell), Error> {
    let [c_cur, c_sib, c_bit, c_left, c_right] = config.general;
    layouter.assign_region(
        || "conditional swap",
        |mut region| {
            config.q_swap.enable(&mut region, 0)?;
            let cur = cur.copy_advice(|| "cur", &mut region, c_cur, 0)?;
            let cur_v = cur.value().copied();
            region.assign_advice(|| "sibling", c_sib, 0, || sibling)?;
            region.assign_advice(|| "bit", c_bit, 0, || bit)?;
            let left = cur_v
                .zip(sibling)
                .zip(bit)
                .map(|((c, s), b)| c + b * (s - c));
            let right = cur_v
                .zip(sibling)
                .zip(bit)
                .map(|((c, s), b)| s + b * (c - s));
            let left = region.assign_advice(|| "left", c_left, 0, || left)?;
            let right = region.assign_advice(|| "right", c_right, 0, || right)?;
            Ok((left, right))
        },
    )
}

/// One difference row: returns a cell holding `hi - lo` (in the field).
fn difference(
    config: &PolicyConfig,
    mut layouter: impl Layouter<Fp>,
    lo: &Cell,
    hi: &Cell,
) -> Result<Cell, Error> {
    layouter.assign_region(
        || "difference",
        |mut region| {
            config.q_diff.enable(&mut region, 0)?;
            let lo = lo.copy_advice(|| "lo", &mut region, config.general[0], 0)?;
            let hi = hi.copy_advice(|| "hi", &mut region, config.general[1], 0)?;
            let d = hi.value().copied() - lo.value().copied();
            region.assign_advice(|| "hi - lo", config.general[2], 0, || d)
        },
    )
}
