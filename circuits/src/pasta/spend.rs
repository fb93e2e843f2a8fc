//! The Bitcoin spend statement ([`crate::spend`]) as a halo2 circuit over Pasta `Fp`
//! ([`SpendCircuit`]), one per [`SizeClass`], on the intent circuit's columns and gates
//! ([`super::PolicyConfig`]) plus the width-5 Poseidon and the 4-ary children gate of
//! [`super::quad`] ([`SpendConfig`]).
//!
//! The instance is one column, rows 0..6 = `[O, fee, lock_time, P, now, binding]`.
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
//! - 1, 5 (the leaf) and `acc_0`: `Poseidon(d, x...)` with `P128Pow5T3` and
//!   `ConstantLength<n + 1>` ([`super::chips::hash_cells`]); `N` and those domain tags are
//!   constants (copy-constrained to the constants column).
//! - 2 (the links) and 5 (the nodes): `H4_d` is [`super::quad::hash4_cells`], one
//!   `P128Pow5T5` permutation whose capacity `d·2^64 + 4` is a fixed constant of the
//!   circuit; each path level is a [`super::quad::children`] region (both position bits
//!   boolean, the four children the node and its siblings in position order) and a node
//!   hash ([`super::quad::quad_climb`]); the last node is copy-constrained to
//!   `allowlist_root`.
//! - 3: the lookup range checks of [`super::range`]; 4: a difference row whose output is
//!   range-checked to 64 bits; the total is a chain of addition rows
//!   ([`super::chips::add`]) on the same gate.
//! - 6: `binding` (like `fee`, `lock_time` and `now`) is a witnessed cell copy-constrained
//!   to its instance row; `O` and `P` are hash outputs copy-constrained to theirs.
//!
//! # Size
//!
//! Per slot 11 permutations: one width-5 for the `O` link, two width-3 for the leaf (its
//! domain tag is a message word), one width-5 per path level, plus two rows per level for
//! the children. The Poseidon columns set the height: [`SpendCircuit::k`] is 11, 13 and 17
//! for 2, 16 and 256 slots, pinned by a test (each fits at `k` and not at `k - 1`). The
//! binary tree of the first version needed 37 permutations per slot and `k` = 12, 15, 19.

use core::fmt;

use halo2_proofs::{
    circuit::{Layouter, Region, SimpleFloorPlanner, Value},
    plonk::{Circuit, ConstraintSystem, Error},
};
use pasta_curves::Fp;

use super::chips::{add, difference, hash_cells, Cell, PolicyConfig, Rows};
use super::quad::{hash4_cells, quad_climb, QuadConfig};
use super::range::{load_table, range_check};
use super::Pasta;
use crate::checks::{U32_BITS, U64_BITS};
use crate::field::DOMAIN_LEAF;
use crate::spend::public::{
    SPEND_BINDING, SPEND_FEE, SPEND_LOCK_TIME, SPEND_NOW, SPEND_O, SPEND_P,
};
use crate::spend::{
    SizeClass, SpendPolicyFields, SpendValues, SpendWitness, DOMAIN_OUTPUT, DOMAIN_OUTPUTS,
    DOMAIN_SPEND_POLICY, QUAD_DEPTH,
};

/// The spend circuit's columns and gates: the intent circuit's and [`QuadConfig`]'s.
#[derive(Clone, Debug)]
pub struct SpendConfig {
    base: PolicyConfig,
    quad: QuadConfig,
}

/// The spend circuit of one size class over Pasta `Fp`.
#[derive(Clone)]
pub struct SpendCircuit {
    class: SizeClass,
    values: Value<SpendValues<Fp>>,
}

impl fmt::Debug for SpendCircuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpendCircuit(class {})", self.class)
    }
}

impl SpendCircuit {
    /// The class's circuit with no witness (key generation).
    pub fn blank(class: SizeClass) -> Self {
        SpendCircuit {
            class,
            values: Value::unknown(),
        }
    }

    /// The circuit proving `witness`.
    pub fn new(witness: &SpendWitness<Pasta>) -> Self {
        Self::from_values(witness.values().clone())
    }

    /// The circuit for an explicit field-level assignment.
    pub fn from_values(values: SpendValues<Fp>) -> Self {
        SpendCircuit {
            class: values.class,
            values: Value::known(values),
        }
    }

    /// The class.
    pub fn class(&self) -> SizeClass {
        self.class
    }

    /// log2 of the rows the class's circuit needs (and of its IPA params).
    pub const fn k(class: SizeClass) -> u32 {
        match class {
            SizeClass::Two => 11,
            SizeClass::Sixteen => 13,
            SizeClass::TwoFiftySix => 17,
        }
    }

    fn get<T>(&self, f: impl FnOnce(&SpendValues<Fp>) -> T) -> Value<T> {
        self.values.as_ref().map(f)
    }
}

/// The cells of the loaded witness.
struct Loaded {
    policy: SpendPolicyFields<Cell>,
    /// `(script_hi, script_lo, amount)` per slot.
    slots: Vec<[Cell; 3]>,
    fee: Cell,
    lock_time: Cell,
    now: Cell,
    binding: Cell,
    class_slots: Cell,
    domains: Domains,
}

struct Domains {
    policy: Cell,
    outputs: Cell,
    leaf: Cell,
}

impl Circuit<Fp> for SpendCircuit {
    type Config = SpendConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self::blank(self.class)
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> SpendConfig {
        let base = PolicyConfig::configure(meta);
        let quad = QuadConfig::configure(meta, &base);
        SpendConfig { base, quad }
    }

    fn synthesize(
        &self,
        SpendConfig { base: config, quad }: SpendConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let mut wrong_shape = false;
        self.values
            .as_ref()
            .map(|v| wrong_shape = v.slots.len() != self.class.slots());
        if wrong_shape {
            return Err(Error::Synthesis);
        }
        load_table(config.table, &mut layouter)?;
        let w = self.load_witness(&config, layouter.namespace(|| "load witness"))?;
        let d = &w.domains;

        // 1. P opens to the policy.
        let p = w.policy.to_array();
        let p = hash_cells::<8>(
            &config,
            layouter.namespace(|| "policy commitment"),
            [
                d.policy.clone(),
                p[0].clone(),
                p[1].clone(),
                p[2].clone(),
                p[3].clone(),
                p[4].clone(),
                p[5].clone(),
                p[6].clone(),
            ],
        )?;
        layouter.constrain_instance(p.cell(), config.instance, SPEND_P)?;

        // 6. The public integers and binding are copies of the instance.
        for (cell, row) in [
            (&w.fee, SPEND_FEE),
            (&w.lock_time, SPEND_LOCK_TIME),
            (&w.now, SPEND_NOW),
            (&w.binding, SPEND_BINDING),
        ] {
            layouter.constrain_instance(cell.cell(), config.instance, row)?;
        }

        // 3. Ranges.
        for (name, cell, bits) in [
            ("fee", &w.fee, U64_BITS),
            ("now", &w.now, U64_BITS),
            ("max_total", &w.policy.max_total, U64_BITS),
            ("max_fee", &w.policy.max_fee, U64_BITS),
            ("not_before", &w.policy.not_before, U64_BITS),
            ("lock_time", &w.lock_time, U32_BITS),
            ("network", &w.policy.network, U32_BITS),
        ] {
            range_check(
                &config.range,
                layouter.namespace(|| format!("{name} < 2^{bits}")),
                cell,
                bits,
            )?;
        }

        // 2, 3, 5. The slots.
        let mut acc = hash_cells::<3>(
            &config,
            layouter.namespace(|| "outputs start"),
            [
                d.outputs.clone(),
                w.policy.network.clone(),
                w.class_slots.clone(),
            ],
        )?;
        let mut total: Option<Cell> = None;
        for (i, [hi, lo, amount]) in w.slots.iter().enumerate() {
            range_check(
                &config.range,
                layouter.namespace(|| format!("amount {i} < 2^64")),
                amount,
                U64_BITS,
            )?;
            total = Some(match total {
                None => amount.clone(),
                Some(t) => add(
                    &config,
                    layouter.namespace(|| format!("total + amount {i}")),
                    &t,
                    amount,
                )?,
            });
            acc = hash4_cells::<DOMAIN_OUTPUT>(
                &quad,
                layouter.namespace(|| format!("output {i}")),
                [acc, hi.clone(), lo.clone(), amount.clone()],
            )?;
            let leaf = hash_cells::<3>(
                &config,
                layouter.namespace(|| format!("leaf {i}")),
                [d.leaf.clone(), hi.clone(), lo.clone()],
            )?;
            let root = quad_climb(
                &quad,
                layouter.namespace(|| format!("path {i}")),
                leaf,
                self.values.as_ref().map(|v| &v.slots[i].path),
                QUAD_DEPTH,
            )?;
            layouter.assign_region(
                || format!("root {i} == allowlist_root"),
                |mut region| region.constrain_equal(root.cell(), w.policy.allowlist_root.cell()),
            )?;
        }
        layouter.constrain_instance(acc.cell(), config.instance, SPEND_O)?;

        // 4. Fee, time-lock and total.
        let total = total.ok_or(Error::Synthesis)?;
        for (name, lo, hi) in [
            ("fee <= max_fee", &w.fee, &w.policy.max_fee),
            ("not_before <= now", &w.policy.not_before, &w.now),
            ("total <= max_total", &total, &w.policy.max_total),
        ] {
            let diff = difference(&config, layouter.namespace(|| name), lo, hi)?;
            range_check(
                &config.range,
                layouter.namespace(|| format!("{name}: difference < 2^64")),
                &diff,
                U64_BITS,
            )?;
        }
        Ok(())
    }
}

impl SpendCircuit {
    /// Assigns the constants (domain tags, `N`) and the private inputs, filling the general
    /// columns row by row.
    fn load_witness(
        &self,
        config: &PolicyConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<Loaded, Error> {
        layouter.assign_region(
            || "witness",
            |mut region| {
                let mut rows = Rows::new(config);
                let domains = Domains {
                    policy: rows.constant(&mut region, DOMAIN_SPEND_POLICY)?,
                    outputs: rows.constant(&mut region, DOMAIN_OUTPUTS)?,
                    leaf: rows.constant(&mut region, DOMAIN_LEAF)?,
                };
                let class_slots = rows.constant(&mut region, self.class.slots() as u64)?;
                let mut field =
                    |region: &mut Region<'_, Fp>, get: fn(&SpendPolicyFields<Fp>) -> Fp| {
                        rows.witness(region, self.get(|v| get(&v.policy)))
                    };
                let policy = SpendPolicyFields {
                    network: field(&mut region, |p| p.network)?,
                    max_total: field(&mut region, |p| p.max_total)?,
                    max_fee: field(&mut region, |p| p.max_fee)?,
                    not_before: field(&mut region, |p| p.not_before)?,
                    allowlist_root: field(&mut region, |p| p.allowlist_root)?,
                    salt_lo: field(&mut region, |p| p.salt_lo)?,
                    salt_hi: field(&mut region, |p| p.salt_hi)?,
                };
                let mut public = |region: &mut Region<'_, Fp>, i: usize| {
                    rows.witness(region, self.get(|v| v.public[i]))
                };
                let fee = public(&mut region, SPEND_FEE)?;
                let lock_time = public(&mut region, SPEND_LOCK_TIME)?;
                let now = public(&mut region, SPEND_NOW)?;
                let binding = public(&mut region, SPEND_BINDING)?;
                let mut slots = Vec::with_capacity(self.class.slots());
                for i in 0..self.class.slots() {
                    let s = self.get(|v| v.slots[i]);
                    slots.push([
                        rows.witness(&mut region, s.map(|s| s.script_hi))?,
                        rows.witness(&mut region, s.map(|s| s.script_lo))?,
                        rows.witness(&mut region, s.map(|s| s.amount))?,
                    ]);
                }
                Ok(Loaded {
                    policy,
                    slots,
                    fee,
                    lock_time,
                    now,
                    binding,
                    class_slots,
                    domains,
                })
            },
        )
    }
}
