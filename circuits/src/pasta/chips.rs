//! The halo2 circuit's columns, gates and the small gadgets built on them.
//!
//! - [`PolicyConfig`]: every column and gate of the circuit, made by
//!   [`PolicyConfig::configure`] (what `Circuit::configure` returns);
//! - [`hash_cells`]: `Pow5Chip` Poseidon (`P128Pow5T3`, `ConstantLength<L>`) over assigned
//!   cells;
//! - [`swap`]: one conditional-swap row of the Merkle path (gate `q_swap`: `bit` boolean,
//!   `(left, right) = bit ? (sib, cur) : (cur, sib)`);
//! - [`difference`]: one difference row (gate `q_diff`: `hi - lo - diff = 0`), whose
//!   output the circuit range-checks for the ordering rules;
//! - [`add`]: the same gate read the other way (`hi = lo + diff`), for running sums;
//! - [`path_root`]: a depth-16 Merkle path, [`swap`] and a node hash per level;
//! - [`Rows`]: fills a witness region's cells row by row across the general columns.
//!
//! Both custom gates live on the Poseidon advice columns plus one extra advice column, so
//! they cost no columns of their own. The range checks are in [`super::range`].

use halo2_gadgets::poseidon::{
    primitives::{ConstantLength, P128Pow5T3},
    Hash as PoseidonHash, Pow5Chip, Pow5Config,
};
use halo2_gadgets::utilities::lookup_range_check::LookupRangeCheck;
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Region, Value},
    plonk::{
        Advice, Column, ConstraintSystem, Constraints, Error, Expression, Instance, Selector,
        TableColumn,
    },
    poly::Rotation,
};
use pasta_curves::Fp;

use super::poseidon::{RATE, WIDTH};
use super::range::RangeConfig;
use crate::merkle::TREE_DEPTH;

/// An assigned cell of the circuit.
pub type Cell = AssignedCell<Fp, Fp>;

/// Number of general-purpose advice columns used by the witness and the custom gates.
pub const GENERAL: usize = 5;

/// Column and gate configuration of [`super::PolicyCircuit`].
#[derive(Clone, Debug)]
pub struct PolicyConfig {
    /// `[C, P, now, binding]`.
    pub(super) instance: Column<Instance>,
    /// Witness cells and custom gates: the 4 Poseidon advice columns plus one extra.
    pub(super) general: [Column<Advice>; GENERAL],
    pub(super) poseidon: Pow5Config<Fp, WIDTH, RATE>,
    pub(super) range: RangeConfig,
    pub(super) table: TableColumn,
    q_swap: Selector,
    q_diff: Selector,
}

impl PolicyConfig {
    /// Allocates the columns and creates the gates, in a fixed order (the verifying key
    /// depends on it).
    pub fn configure(meta: &mut ConstraintSystem<Fp>) -> Self {
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
}

/// `Poseidon_{ConstantLength<L>}(message)` in-circuit; the message cells are copied into
/// the sponge.
pub fn hash_cells<const L: usize>(
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
pub fn swap(
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
pub fn difference(
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

/// One addition row on the difference gate (`hi - lo - diff = 0` with `lo = a`,
/// `diff = b`): returns a cell holding `a + b`.
pub fn add(
    config: &PolicyConfig,
    mut layouter: impl Layouter<Fp>,
    a: &Cell,
    b: &Cell,
) -> Result<Cell, Error> {
    layouter.assign_region(
        || "addition",
        |mut region| {
            config.q_diff.enable(&mut region, 0)?;
            let a = a.copy_advice(|| "a", &mut region, config.general[0], 0)?;
            let b = b.copy_advice(|| "b", &mut region, config.general[2], 0)?;
            let sum = a.value().copied() + b.value().copied();
            region.assign_advice(|| "a + b", config.general[1], 0, || sum)
        },
    )
}

/// The root a depth-16 Merkle path leads to from `leaf`: per level a conditional-swap row
/// and `cur = Poseidon(DOMAIN_NODE, left, right)`. `domain_node` holds the constant
/// [`crate::DOMAIN_NODE`].
pub fn path_root(
    config: &PolicyConfig,
    mut layouter: impl Layouter<Fp>,
    leaf: Cell,
    siblings: Value<[Fp; TREE_DEPTH]>,
    bits: Value<[Fp; TREE_DEPTH]>,
    domain_node: &Cell,
) -> Result<Cell, Error> {
    let mut cur = leaf;
    for level in 0..TREE_DEPTH {
        let (left, right) = swap(
            config,
            layouter.namespace(|| format!("swap {level}")),
            &cur,
            siblings.map(|s| s[level]),
            bits.map(|b| b[level]),
        )?;
        cur = hash_cells::<3>(
            config,
            layouter.namespace(|| format!("node {level}")),
            [domain_node.clone(), left, right],
        )?;
    }
    Ok(cur)
}

/// Assigns a witness region's cells in order, row by row across the general columns (five
/// cells per row), the way both circuits load their private inputs.
pub struct Rows<'a> {
    config: &'a PolicyConfig,
    next: usize,
}

impl<'a> Rows<'a> {
    /// Starts at the region's first row.
    pub fn new(config: &'a PolicyConfig) -> Self {
        Rows { config, next: 0 }
    }

    /// The next cell, holding `value`.
    pub fn witness(
        &mut self,
        region: &mut Region<'_, Fp>,
        value: Value<Fp>,
    ) -> Result<Cell, Error> {
        let column = self.config.general[self.next % GENERAL];
        let row = self.next / GENERAL;
        self.next += 1;
        region.assign_advice(|| "witness", column, row, || value)
    }

    /// The next cell, holding the constant `value` (copy-constrained to the constants
    /// column, so the prover cannot choose it).
    pub fn constant(&mut self, region: &mut Region<'_, Fp>, value: u64) -> Result<Cell, Error> {
        let cell = self.witness(region, Value::known(Fp::from(value)))?;
        region.constrain_constant(cell.cell(), Fp::from(value))?;
        Ok(cell)
    }
}
