//! The allowlist Merkle tree (depth [`TREE_DEPTH`]), generic over a [`Backend`]'s Poseidon.
//!
//! - leaf of a recipient: `H_LEAF(recipient_hi, recipient_lo)`;
//! - internal node: `H_NODE(left, right)`;
//! - unused leaves are the field element zero; the roots of empty subtrees are precomputed,
//!   so a tree of `n` leaves costs about `16 * n` hashes to build, not `2^16`.
//!
//! A [`MerklePath`] lists one sibling per level from the leaf upward; bit `i` of its `index`
//! is 1 when the current node is the RIGHT child at level `i` (so `index` is the leaf index).

use crate::field::{Backend, StatementField, DOMAIN_LEAF, DOMAIN_NODE};
use crate::intent::Recipient;

/// Depth of the allowlist tree.
pub const TREE_DEPTH: usize = 16;
/// Maximum number of leaves (2^16).
pub const MAX_LEAVES: usize = 1 << TREE_DEPTH;

/// A tree that cannot be built or a path that does not exist.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// More leaves than the tree holds.
    #[error("allowlist has {count} entries, the tree holds at most {max}")]
    TooManyLeaves {
        /// Number of leaves given.
        count: usize,
        /// [`MAX_LEAVES`].
        max: usize,
    },
    /// A path was requested for a leaf that is not in the tree.
    #[error("leaf index {index} out of range (tree has {len} leaves)")]
    IndexOutOfRange {
        /// The requested index.
        index: usize,
        /// Number of filled leaves.
        len: usize,
    },
}

/// The leaf of a recipient: `H_LEAF(hi, lo)`.
pub fn leaf_hash<B: Backend>(recipient: &Recipient) -> B::F {
    B::hash(
        DOMAIN_LEAF,
        &[
            B::F::from_u128(recipient.hi()),
            B::F::from_u128(recipient.lo()),
        ],
    )
}

/// An internal node: `H_NODE(left, right)`.
pub fn node_hash<B: Backend>(left: B::F, right: B::F) -> B::F {
    B::hash(DOMAIN_NODE, &[left, right])
}

/// Roots of empty subtrees: `empty[0] = 0` (an empty leaf), `empty[i+1] = node(empty[i], empty[i])`.
pub fn empty_roots<B: Backend>() -> [B::F; TREE_DEPTH + 1] {
    let mut e = [B::F::zero(); TREE_DEPTH + 1];
    for i in 0..TREE_DEPTH {
        e[i + 1] = node_hash::<B>(e[i], e[i]);
    }
    e
}

/// A sparse depth-16 tree: only the filled prefix of each level is stored.
#[derive(Clone, Debug)]
pub struct MerkleTree<B: Backend> {
    /// `levels[0]` are the leaves, `levels[TREE_DEPTH]` is `[root]`.
    levels: Vec<Vec<B::F>>,
    empty: [B::F; TREE_DEPTH + 1],
}

impl<B: Backend> MerkleTree<B> {
    /// Builds the tree over already-hashed leaves (in order; the rest are empty).
    pub fn from_leaves(leaves: Vec<B::F>) -> Result<Self, MerkleError> {
        if leaves.len() > MAX_LEAVES {
            return Err(MerkleError::TooManyLeaves {
                count: leaves.len(),
                max: MAX_LEAVES,
            });
        }
        let empty = empty_roots::<B>();
        let levels = build_levels::<_, 2>(leaves, &empty, |[l, r]| node_hash::<B>(l, r));
        Ok(MerkleTree { levels, empty })
    }

    /// Builds the tree over the leaves of `recipients`, in order.
    pub fn from_recipients(recipients: &[Recipient]) -> Result<Self, MerkleError> {
        if recipients.len() > MAX_LEAVES {
            return Err(MerkleError::TooManyLeaves {
                count: recipients.len(),
                max: MAX_LEAVES,
            });
        }
        Self::from_leaves(recipients.iter().map(leaf_hash::<B>).collect())
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
        self.levels[TREE_DEPTH]
            .first()
            .copied()
            .unwrap_or(self.empty[TREE_DEPTH])
    }

    /// The authentication path of leaf `index`.
    pub fn path(&self, index: usize) -> Result<MerklePath<B::F>, MerkleError> {
        if index >= self.len() {
            return Err(MerkleError::IndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        let mut siblings = [B::F::zero(); TREE_DEPTH];
        let mut i = index;
        for (level, sibling) in siblings.iter_mut().enumerate() {
            *sibling = self.levels[level]
                .get(i ^ 1)
                .copied()
                .unwrap_or(self.empty[level]);
            i >>= 1;
        }
        Ok(MerklePath {
            siblings,
            // index < MAX_LEAVES = 2^16 was checked above.
            index: index as u16,
        })
    }
}

/// The filled prefix of every level of a sparse `A`-ary tree, from `leaves` (level 0) up to
/// the root (level `empty.len() - 1`): each group of `A` nodes hashes to its parent with
/// `node`, a missing node being that level's empty root `empty[level]`. Shared by the
/// binary intent tree and the 4-ary spend tree ([`crate::spend::tree`]).
pub(crate) fn build_levels<F: Copy, const A: usize>(
    leaves: Vec<F>,
    empty: &[F],
    node: impl Fn([F; A]) -> F,
) -> Vec<Vec<F>> {
    let depth = empty.len() - 1;
    let mut levels = Vec::with_capacity(depth + 1);
    levels.push(leaves);
    for level in 0..depth {
        let next: Vec<F> = levels[level]
            .chunks(A)
            .map(|group| {
                node(core::array::from_fn(|i| {
                    group.get(i).copied().unwrap_or(empty[level])
                }))
            })
            .collect();
        levels.push(next);
    }
    levels
}

/// Every node at `level` of a sparse tree given by its filled `levels` and `empty` roots,
/// empty ones included (`A^(depth - level)` of them; a `level` above the depth reads as the
/// root's).
pub(crate) fn full_level<F: Copy, const A: usize>(
    levels: &[Vec<F>],
    empty: &[F],
    level: usize,
) -> Vec<F> {
    let depth = empty.len() - 1;
    let level = level.min(depth);
    let width = A.pow((depth - level) as u32);
    let filled = &levels[level];
    (0..width)
        .map(|i| filled.get(i).copied().unwrap_or(empty[level]))
        .collect()
}

/// The authentication path of one leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MerklePath<F> {
    /// Sibling at each level, from the leaves upward.
    pub siblings: [F; TREE_DEPTH],
    /// Leaf index; bit `i` set means the current node is the right child at level `i`.
    pub index: u16,
}

impl<F: StatementField> MerklePath<F> {
    /// Whether the current node is the right child at `level`.
    pub fn is_right(&self, level: usize) -> bool {
        (self.index >> level) & 1 == 1
    }

    /// The root this path leads to from `leaf`, with backend `B`'s hash.
    pub fn root_for<B: Backend<F = F>>(&self, leaf: F) -> F {
        let mut cur = leaf;
        for (level, sibling) in self.siblings.iter().enumerate() {
            cur = if self.is_right(level) {
                node_hash::<B>(*sibling, cur)
            } else {
                node_hash::<B>(cur, *sibling)
            };
        }
        cur
    }
}
