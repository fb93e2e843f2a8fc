//! The spend policy a signer holds for Bitcoin spends, and its commitment `P`.
//!
//! A [`SpendPolicy`] says: on which network, how much may leave per transaction (the sum of
//! the external outputs), how large the fee may be, from when on anything is signed (the
//! time-lock), and to which scripts (the allowlist, by [`super::script_hash`]). Its
//! commitment `P = H_SPEND_POLICY(network, max_total, max_fee, not_before, allowlist_root,
//! salt_lo, salt_hi)` is salted exactly as the intent policy's ([`crate::policy`] argues
//! why the salted `P` hides the policy), under its own domain tag so that no `P` of one
//! statement opens in the other.
//!
//! The allowlist tree is the 4-ary depth-8 tree of [`super::tree`] with the padding entry
//! ([`super::PADDING`]) at leaf 0, so that padded slots prove membership like real outputs:
//! 2^16 − 1 scripts fit.

use core::fmt;
use std::collections::HashMap;

use super::outputs::{DOMAIN_SPEND_POLICY, PADDING};
use super::tree::QuadTree;
use crate::field::{Backend, StatementField};
use crate::intent::Recipient;
use crate::merkle::MAX_LEAVES;
use crate::policy::{PolicyCommitment, PolicySalt};

/// Scripts a spend allowlist holds at most (leaf 0 is padding).
pub const MAX_SCRIPTS: usize = MAX_LEAVES - 1;

/// A validated spend policy.
#[derive(Clone, PartialEq, Eq)]
pub struct SpendPolicy {
    network: u32,
    max_total: u64,
    max_fee: u64,
    not_before: u64,
    allowlist: Vec<Recipient>,
    salt: PolicySalt,
    index: HashMap<Recipient, usize>,
}

impl fmt::Debug for SpendPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpendPolicy")
            .field("network", &self.network)
            .field("scripts", &self.allowlist.len())
            .finish_non_exhaustive()
    }
}

/// A spend policy that cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpendPolicyError {
    /// No script allowed.
    #[error("the allowlist is empty")]
    EmptyAllowlist,
    /// More than [`MAX_SCRIPTS`] scripts.
    #[error("{count} scripts allowlisted, at most {max}")]
    TooManyScripts {
        /// Scripts given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The same script twice.
    #[error("allowlist entry {index} repeats entry {first}")]
    Duplicate {
        /// The repeated entry.
        index: usize,
        /// Its first occurrence.
        first: usize,
    },
    /// The padding value listed as a script.
    #[error("allowlist entry {index} is the padding value, not a script hash")]
    Padding {
        /// The entry.
        index: usize,
    },
}

impl SpendPolicy {
    /// Validates and builds a policy. `salt` must be fresh and uniformly random.
    pub fn new(
        network: u32,
        max_total: u64,
        max_fee: u64,
        not_before: u64,
        allowlist: Vec<Recipient>,
        salt: PolicySalt,
    ) -> Result<Self, SpendPolicyError> {
        if allowlist.is_empty() {
            return Err(SpendPolicyError::EmptyAllowlist);
        }
        if allowlist.len() > MAX_SCRIPTS {
            return Err(SpendPolicyError::TooManyScripts {
                count: allowlist.len(),
                max: MAX_SCRIPTS,
            });
        }
        let mut index = HashMap::with_capacity(allowlist.len());
        for (i, r) in allowlist.iter().enumerate() {
            if *r == PADDING {
                return Err(SpendPolicyError::Padding { index: i });
            }
            if let Some(first) = index.insert(*r, i) {
                return Err(SpendPolicyError::Duplicate { index: i, first });
            }
        }
        Ok(SpendPolicy {
            network,
            max_total,
            max_fee,
            not_before,
            allowlist,
            salt,
            index,
        })
    }

    /// The network code the policy allows.
    pub fn network(&self) -> u32 {
        self.network
    }

    /// Largest sum of external outputs per transaction, inclusive (satoshis).
    pub fn max_total(&self) -> u64 {
        self.max_total
    }

    /// Largest fee per transaction, inclusive (satoshis).
    pub fn max_fee(&self) -> u64 {
        self.max_fee
    }

    /// Unix seconds before which nothing is signed.
    pub fn not_before(&self) -> u64 {
        self.not_before
    }

    /// The allowlisted script hashes.
    pub fn allowlist(&self) -> &[Recipient] {
        &self.allowlist
    }

    /// The leaf index of `script` in the allowlist tree (the padding entry is leaf 0).
    pub fn leaf_of(&self, script: &Recipient) -> Option<usize> {
        if *script == PADDING {
            return Some(0);
        }
        self.index.get(script).map(|i| i + 1)
    }

    /// The allowlist tree for backend `B`: padding at leaf 0, then the scripts in order.
    pub fn allowlist_tree<B: Backend>(&self) -> QuadTree<B> {
        let leaves: Vec<Recipient> = std::iter::once(PADDING)
            .chain(self.allowlist.iter().copied())
            .collect();
        match QuadTree::from_recipients(&leaves) {
            Ok(t) => t,
            // `new` keeps the allowlist within MAX_SCRIPTS.
            Err(e) => unreachable!("validated spend policy has a buildable tree: {e}"),
        }
    }

    /// The field encoding, with the allowlist root already computed.
    pub fn fields_with_root<B: Backend>(&self, root: B::F) -> SpendPolicyFields<B::F> {
        let (salt_lo, salt_hi) = self.salt.limbs::<B::F>();
        SpendPolicyFields {
            network: B::F::from_u64(self.network.into()),
            max_total: B::F::from_u64(self.max_total),
            max_fee: B::F::from_u64(self.max_fee),
            not_before: B::F::from_u64(self.not_before),
            allowlist_root: root,
            salt_lo,
            salt_hi,
        }
    }

    /// The field encoding.
    pub fn fields<B: Backend>(&self) -> SpendPolicyFields<B::F> {
        self.fields_with_root::<B>(self.allowlist_tree::<B>().root())
    }

    /// `P = H_SPEND_POLICY(fields...)`.
    pub fn commitment<B: Backend>(&self) -> PolicyCommitment<B::F> {
        PolicyCommitment(commit_spend_policy_fields::<B>(&self.fields::<B>()))
    }
}

/// `H_SPEND_POLICY(fields...)` over encoded fields.
pub fn commit_spend_policy_fields<B: Backend>(fields: &SpendPolicyFields<B::F>) -> B::F {
    B::hash(DOMAIN_SPEND_POLICY, &fields.to_array())
}

/// The field encoding of a [`SpendPolicy`], by name, over any representation of a field
/// element (values, R1CS variables, halo2 cells). `Debug` is redacted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SpendPolicyFields<T> {
    /// The network code (a u32).
    pub network: T,
    /// Largest sum of external outputs (a u64).
    pub max_total: T,
    /// Largest fee (a u64).
    pub max_fee: T,
    /// The time-lock: unix seconds (a u64).
    pub not_before: T,
    /// Root of the allowlist tree.
    pub allowlist_root: T,
    /// Salt bytes `0..16` (below 2^128; blinds `P` only).
    pub salt_lo: T,
    /// Salt bytes `16..32` (likewise).
    pub salt_hi: T,
}

impl<T> fmt::Debug for SpendPolicyFields<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpendPolicyFields(<redacted>)")
    }
}

impl<T> SpendPolicyFields<T> {
    /// The fields in commitment order.
    pub fn to_array(&self) -> [T; 7]
    where
        T: Clone,
    {
        [
            self.network.clone(),
            self.max_total.clone(),
            self.max_fee.clone(),
            self.not_before.clone(),
            self.allowlist_root.clone(),
            self.salt_lo.clone(),
            self.salt_hi.clone(),
        ]
    }

    /// Applies `f` to each field, in commitment order, stopping at the first error.
    pub fn try_map<U, E>(
        &self,
        mut f: impl FnMut(&T) -> Result<U, E>,
    ) -> Result<SpendPolicyFields<U>, E> {
        Ok(SpendPolicyFields {
            network: f(&self.network)?,
            max_total: f(&self.max_total)?,
            max_fee: f(&self.max_fee)?,
            not_before: f(&self.not_before)?,
            allowlist_root: f(&self.allowlist_root)?,
            salt_lo: f(&self.salt_lo)?,
            salt_hi: f(&self.salt_hi)?,
        })
    }
}
