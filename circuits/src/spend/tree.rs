//! The spend allowlist tree: 4-ary, depth [`QUAD_DEPTH`] (4^8 = 2^16 leaves), hashed with
//! the backend's width-5 Poseidon ([`Backend::hash4`]).
//!
//! - leaf of a script: `H_LEAF(script_hi, script_lo)` ([`crate::merkle::leaf_hash`], the
//!   same leaf as the intent tree's);
//! - internal node: `H4_NODE(c0, c1, c2, c3)` ([`quad_node_hash`], domain
//!   [`DOMAIN_NODE4`]);
//! - unused leaves are zero and empty subtrees have precomputed roots, as in
//!   [`crate::merkle`].
//!
//! Why 4-ary: a path of 8 levels costs 8 width-5 permutations (~300 R1CS constraints each)
//! where the binary tree's 16 levels cost 16 width-3 ones (~243 each), and on halo2 8
//! permutations instead of 32 (the Pasta width-3 hash spends a message word on the domain
//! tag). The spend statement opens one path per output slot, so this is most of its size.
//!
//! A [`QuadPath`] lists, per level from the leaf upward, the node's three siblings in order
//! (the other children of its parent, left to right) and its position among the four
//! children: base-4 digit `level` of the leaf index, i.e. bits `2·level` and `2·level + 1`.

use crate::field::{Backend, StatementField, DOMAIN_NODE4};
use crate::intent::Recipient;
use crate::merkle::{build_levels, full_level, leaf_hash, MerkleError, MAX_LEAVES};

/// Depth of the spend allowlist tree (4^8 = 2^16 leaves).
pub const QUAD_DEPTH: usize = 8;

/// An internal node: `H4_NODE(c0, c1, c2, c3)`.
pub fn quad_node_hash<B: Backend>(children: [B::F; 4]) -> B::F {
    B::hash4(DOMAIN_NODE4, children)
}

/// Roots of empty subtrees: `empty[0] = 0`, `empty[i+1] = H4_NODE(empty[i] × 4)`.
fn empty_roots<B: Backend>() -> [B::F; QUAD_DEPTH + 1] {
    let mut e = [B::F::zero(); QUAD_DEPTH + 1];
    for i in 0..QUAD_DEPTH {
        e[i + 1] = quad_node_hash::<B>([e[i]; 4]);
    }
    e
}

/// A sparse 4-ary tree of depth [`QUAD_DEPTH`]: only the filled prefix of each level is
/// stored.
#[derive(Clone, Debug)]
pub struct QuadTree<B: Backend> {
    /// `levels[0]` are the leaves, `levels[QUAD_DEPTH]` is `[root]`.
    levels: Vec<Vec<B::F>>,
    empty: [B::F; QUAD_DEPTH + 1],
}

impl<B: Backend> QuadTree<B> {
    /// Builds the tree over the leaves of `scripts`, in order.
    pub fn from_recipients(scripts: &[Recipient]) -> Result<Self, MerkleError> {
        if scripts.len() > MAX_LEAVES {
            return Err(MerkleError::TooManyLeaves {
                count: scripts.len(),
                max: MAX_LEAVES,
            });
        }
        let empty = empty_roots::<B>();
        let leaves = scripts.iter().map(leaf_hash::<B>).collect();
        let levels = build_levels::<_, 4>(leaves, &empty, quad_node_hash::<B>);
        Ok(QuadTree { levels, empty })
    }

    /// Number of filled leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether no leaf is filled.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root.
    pub fn root(&self) -> B::F {
        self.levels[QUAD_DEPTH]
            .first()
            .copied()
            .unwrap_or(self.empty[QUAD_DEPTH])
    }

    /// Every node at `level` (0 the leaves, [`QUAD_DEPTH`] the root), empty ones included:
    /// `4^(QUAD_DEPTH - level)` of them. The Groth16 spend circuit witnesses one such level
    /// once and hashes it to the root once, instead of climbing every slot's path to the top.
    pub fn level(&self, level: usize) -> Vec<B::F> {
        full_level::<_, 4>(&self.levels, &self.empty, level)
    }

    /// The authentication path of leaf `index`.
    pub fn path(&self, index: usize) -> Result<QuadPath<B::F>, MerkleError> {
        if index >= self.len() {
            return Err(MerkleError::IndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        let mut siblings = [[B::F::zero(); 3]; QUAD_DEPTH];
        let mut i = index;
        for (level, out) in siblings.iter_mut().enumerate() {
            let first = i & !3;
            let others = (first..first + 4).filter(|&j| j != i);
            for (slot, j) in out.iter_mut().zip(others) {
                *slot = self.levels[level]
                    .get(j)
                    .copied()
                    .unwrap_or(self.empty[level]);
            }
            i >>= 2;
        }
        Ok(QuadPath {
            siblings,
            // index < MAX_LEAVES = 2^16 was checked above.
            index: index as u16,
        })
    }
}

/// The authentication path of one leaf of a [`QuadTree`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuadPath<F> {
    /// The three siblings at each level, left to right, from the leaves upward.
    pub siblings: [[F; 3]; QUAD_DEPTH],
    /// Leaf index; base-4 digit `level` is the node's position among its parent's children.
    pub index: u16,
}

impl<F: StatementField> QuadPath<F> {
    /// The node's position (0..4) among its parent's children at `level`.
    pub fn position(&self, level: usize) -> usize {
        usize::from(self.index >> (2 * level)) & 3
    }

    /// Bit `b` (0 or 1) of the position at `level`: bit `2·level + b` of the index.
    pub fn position_bit(&self, level: usize, b: usize) -> bool {
        (self.index >> (2 * level + b)) & 1 == 1
    }

    /// The four children at `level` when the node on the path is `node`.
    pub fn children(&self, level: usize, node: F) -> [F; 4] {
        let p = self.position(level);
        let s = &self.siblings[level];
        core::array::from_fn(|j| match j.cmp(&p) {
            core::cmp::Ordering::Less => s[j],
            core::cmp::Ordering::Equal => node,
            core::cmp::Ordering::Greater => s[j - 1],
        })
    }

    /// The node `levels` levels above `leaf` on this path, with backend `B`'s hash.
    pub fn climb<B: Backend<F = F>>(&self, leaf: F, levels: usize) -> F {
        (0..levels.min(QUAD_DEPTH)).fold(leaf, |cur, level| {
            quad_node_hash::<B>(self.children(level, cur))
        })
    }

    /// The root this path leads to from `leaf`.
    pub fn root_for<B: Backend<F = F>>(&self, leaf: F) -> F {
        self.climb::<B>(leaf, QUAD_DEPTH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bn254::{Bn254, Fr};
    use crate::pasta::Pasta;

    fn scripts(n: usize) -> Vec<Recipient> {
        (0..n)
            .map(|i| {
                let mut b = [0u8; 32];
                b[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
                Recipient(b)
            })
            .collect()
    }

    fn every_path_opens<B: Backend>(n: usize) {
        let s = scripts(n);
        let tree = QuadTree::<B>::from_recipients(&s).unwrap();
        for (i, r) in s.iter().enumerate() {
            let p = tree.path(i).unwrap();
            assert_eq!(p.root_for::<B>(leaf_hash::<B>(r)), tree.root(), "leaf {i}");
            // Another leaf does not open on this path.
            let other = &s[(i + 1) % n];
            if n > 1 {
                assert_ne!(p.root_for::<B>(leaf_hash::<B>(other)), tree.root());
            }
        }
        assert!(matches!(
            tree.path(n),
            Err(MerkleError::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn every_path_opens_to_the_root_on_both_backends() {
        for n in [1, 2, 3, 4, 5, 17, 70] {
            every_path_opens::<Bn254>(n);
        }
        every_path_opens::<Pasta>(23);
    }

    #[test]
    fn positions_and_children() {
        let s = scripts(70);
        let tree = QuadTree::<Bn254>::from_recipients(&s).unwrap();
        let p = tree.path(0b10_01_11).unwrap();
        assert_eq!(
            [p.position(0), p.position(1), p.position(2), p.position(3)],
            [3, 1, 2, 0]
        );
        assert!(p.position_bit(0, 0) && p.position_bit(0, 1));
        assert!(p.position_bit(1, 0) && !p.position_bit(1, 1));
        let x = Fr::from(99u64);
        let c = p.children(1, x);
        assert_eq!(c[1], x);
        assert_eq!([c[0], c[2], c[3]], p.siblings[1]);
    }

    #[test]
    fn empty_full_and_order() {
        let empty = QuadTree::<Bn254>::from_recipients(&[]).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.root(), empty_roots::<Bn254>()[QUAD_DEPTH]);
        assert!(matches!(
            QuadTree::<Bn254>::from_recipients(&scripts(MAX_LEAVES + 1)),
            Err(MerkleError::TooManyLeaves { .. })
        ));
        let mut s = scripts(5);
        let a = QuadTree::<Bn254>::from_recipients(&s).unwrap().root();
        s.swap(1, 2);
        assert_ne!(QuadTree::<Bn254>::from_recipients(&s).unwrap().root(), a);
    }

    #[test]
    fn the_last_leaf_of_a_full_tree_has_every_position_3() {
        let s = scripts(MAX_LEAVES);
        let tree = QuadTree::<Bn254>::from_recipients(&s).unwrap();
        let p = tree.path(MAX_LEAVES - 1).unwrap();
        assert!((0..QUAD_DEPTH).all(|l| p.position(l) == 3));
        assert_eq!(
            p.root_for::<Bn254>(leaf_hash::<Bn254>(&s[MAX_LEAVES - 1])),
            tree.root()
        );
    }

    #[test]
    fn a_level_hashes_up_to_the_root_and_holds_every_path_node() {
        let s = scripts(70);
        let tree = QuadTree::<Bn254>::from_recipients(&s).unwrap();
        for level in [1, 2, 4] {
            let mut nodes = tree.level(level);
            assert_eq!(nodes.len(), 1 << (2 * (QUAD_DEPTH - level)));
            // Leaf 57's climb of `level` levels arrives at node 57 >> 2·level.
            let p = tree.path(57).unwrap();
            let node = p.climb::<Bn254>(leaf_hash::<Bn254>(&s[57]), level);
            assert_eq!(nodes[57 >> (2 * level)], node);
            while nodes.len() > 1 {
                nodes = nodes
                    .chunks(4)
                    .map(|c| quad_node_hash::<Bn254>([c[0], c[1], c[2], c[3]]))
                    .collect();
            }
            assert_eq!(nodes[0], tree.root());
        }
        assert_eq!(tree.level(QUAD_DEPTH), vec![tree.root()]);
    }
}
