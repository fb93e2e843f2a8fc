//! The spend circuit's extra chips: the width-5 Poseidon ([`super::poseidon::P128Pow5T5`])
//! and the 4-ary allowlist path ([`crate::spend::tree`]).
//!
//! - [`QuadConfig`]: a `Pow5Chip<Fp, 5, 4>` whose five state columns are the intent
//!   circuit's five general columns (its own partial S-box column and round-constant
//!   columns), and the gate `q_children` on the same general columns;
//! - [`hash4_cells`]: `H4_d(x_1..x_4)`, one permutation with capacity `d·2^64 + 4`
//!   (domain [`Tagged<d>`](super::poseidon::Tagged));
//! - [`children`]: one two-row region placing the path's node among its three siblings;
//! - [`quad_climb`]: a path, [`children`] and an `H4_NODE` per level.
//!
//! Only the spend circuit configures these columns; the intent circuit's key is unchanged.

use halo2_gadgets::poseidon::{PaddedWord, Pow5Chip, Pow5Config, Sponge};
use halo2_proofs::{
    circuit::{Layouter, Value},
    plonk::{Column, ConstraintSystem, Constraints, Error, Expression, Selector},
    poly::Rotation,
};
use pasta_curves::Fp;

use super::chips::{Cell, PolicyConfig};
use super::poseidon::{P128Pow5T5, Tagged, RATE4, WIDTH4};
use crate::field::DOMAIN_NODE4;
use crate::spend::{QuadPath, QUAD_DEPTH};

/// Columns and gates the spend circuit adds to [`PolicyConfig`].
#[derive(Clone, Debug)]
pub struct QuadConfig {
    poseidon: Pow5Config<Fp, WIDTH4, RATE4>,
    general: [Column<halo2_proofs::plonk::Advice>; 5],
    q_children: Selector,
}

impl QuadConfig {
    /// Configures the width-5 Poseidon and the children gate on `base`'s general columns.
    pub fn configure(meta: &mut ConstraintSystem<Fp>, base: &PolicyConfig) -> Self {
        let general = base.general;
        let partial_sbox = meta.advice_column();
        let rc_a: [Column<_>; WIDTH4] = core::array::from_fn(|_| meta.fixed_column());
        let rc_b: [Column<_>; WIDTH4] = core::array::from_fn(|_| meta.fixed_column());
        let poseidon = Pow5Chip::configure::<P128Pow5T5>(meta, general, partial_sbox, rc_a, rc_b);

        let q_children = meta.selector();
        meta.create_gate("4-ary children", |meta| {
            let q = meta.query_selector(q_children);
            let mut at = |c: usize, r: Rotation| meta.query_advice(general[c], r);
            let (cur, next) = (Rotation::cur(), Rotation::next());
            let (node, s0, s1, s2, b0) =
                (at(0, cur), at(1, cur), at(2, cur), at(3, cur), at(4, cur));
            let (b1, c0, c1, c2, c3) = (
                at(0, next),
                at(1, next),
                at(2, next),
                at(3, next),
                at(4, next),
            );
            let one = || Expression::Constant(Fp::one());
            // Indicators of the position p = b0 + 2·b1.
            let p0 = (one() - b0.clone()) * (one() - b1.clone());
            let p1 = b0.clone() * (one() - b1.clone());
            let p2 = (one() - b0.clone()) * b1.clone();
            let p3 = b0.clone() * b1.clone();
            Constraints::with_selector(
                q,
                [
                    ("b0 is boolean", b0.clone() * (one() - b0)),
                    ("b1 is boolean", b1.clone() * (one() - b1)),
                    (
                        "c0 = p == 0 ? node : s0",
                        c0 - (s0.clone() + p0.clone() * (node.clone() - s0.clone())),
                    ),
                    (
                        "c1 = p == 0 ? s0 : p == 1 ? node : s1",
                        c1 - (s1.clone()
                            + p0 * (s0 - s1.clone())
                            + p1 * (node.clone() - s1.clone())),
                    ),
                    (
                        "c2 = p == 2 ? node : p == 3 ? s2 : s1",
                        c2 - (s1.clone()
                            + p2 * (node.clone() - s1.clone())
                            + p3.clone() * (s2.clone() - s1)),
                    ),
                    (
                        "c3 = p == 3 ? node : s2",
                        c3 - (s2.clone() + p3 * (node - s2)),
                    ),
                ],
            )
        });

        QuadConfig {
            poseidon,
            general,
            q_children,
        }
    }
}

/// `H4_D(message)` in-circuit: one [`P128Pow5T5`] permutation with capacity `D·2^64 + 4`;
/// the message cells are copied into the state.
pub fn hash4_cells<const D: u64>(
    config: &QuadConfig,
    mut layouter: impl Layouter<Fp>,
    message: [Cell; 4],
) -> Result<Cell, Error> {
    let chip = Pow5Chip::construct(config.poseidon.clone());
    let mut sponge = Sponge::<Fp, _, P128Pow5T5, _, Tagged<D>, WIDTH4, RATE4>::new(
        chip,
        layouter.namespace(|| "init"),
    )?;
    for (i, cell) in message.into_iter().enumerate() {
        sponge.absorb(
            layouter.namespace(|| format!("absorb {i}")),
            PaddedWord::Message(cell),
        )?;
    }
    sponge
        .finish_absorbing(layouter.namespace(|| "permute"))?
        .squeeze(layouter.namespace(|| "squeeze"))
}

/// One children region (two rows) for `level` of `path`: returns the four children whose
/// node on the path is `node` — its siblings with `node` at its position
/// ([`QuadPath::children`]), both position bits constrained boolean.
pub fn children(
    config: &QuadConfig,
    mut layouter: impl Layouter<Fp>,
    node: &Cell,
    path: Value<&QuadPath<Fp>>,
    level: usize,
) -> Result<[Cell; 4], Error> {
    let g = config.general;
    layouter.assign_region(
        || "4-ary children",
        |mut region| {
            config.q_children.enable(&mut region, 0)?;
            let node = node.copy_advice(|| "node", &mut region, g[0], 0)?;
            for j in 0..3 {
                region.assign_advice(
                    || "sibling",
                    g[1 + j],
                    0,
                    || path.map(|p| p.siblings[level][j]),
                )?;
            }
            let bit = |b: usize| path.map(|p| Fp::from(u64::from(p.position_bit(level, b))));
            region.assign_advice(|| "b0", g[4], 0, || bit(0))?;
            region.assign_advice(|| "b1", g[0], 1, || bit(1))?;
            let values = node
                .value()
                .copied()
                .zip(path)
                .map(|(x, p)| p.children(level, x));
            let mut out = Vec::with_capacity(4);
            for j in 0..4 {
                out.push(region.assign_advice(|| "child", g[1 + j], 1, || values.map(|c| c[j]))?);
            }
            out.try_into().map_err(|_| Error::Synthesis)
        },
    )
}

/// The node `levels` levels above `leaf` on `path`: per level a [`children`] region and
/// `H4_NODE` of the children.
pub fn quad_climb(
    config: &QuadConfig,
    mut layouter: impl Layouter<Fp>,
    leaf: Cell,
    path: Value<&QuadPath<Fp>>,
    levels: usize,
) -> Result<Cell, Error> {
    let mut cur = leaf;
    for level in 0..levels.min(QUAD_DEPTH) {
        let c = children(
            config,
            layouter.namespace(|| format!("children {level}")),
            &cur,
            path,
            level,
        )?;
        cur =
            hash4_cells::<DOMAIN_NODE4>(config, layouter.namespace(|| format!("node {level}")), c)?;
    }
    Ok(cur)
}
