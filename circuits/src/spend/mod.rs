//! The Bitcoin spend statement: a signer proves in zero knowledge that a transaction's
//! external outputs, fee and timing satisfy its hidden, committed [`SpendPolicy`].
//!
//! The transaction itself is public (it goes on chain): every verifier derives the
//! outputs commitment `O`, the fee and the lock time from it ([`Spend`], computed from the
//! PSBT by the Bitcoin layer), `binding` from the session, and matches `P` against the
//! governance registry. What stays hidden is the policy: its limits, its time-lock and its
//! allowlist (only its commitment `P` is public, salted as in [`crate::policy`]).
//!
//! Public inputs, in order: `O`, `fee`, `lock_time`, `P`, `now`, `binding`
//! ([`SpendPublicInputs`]). One circuit per backend and [`SizeClass`] (2, 16 or 256 output
//! slots): `crate::bn254::spend` and `crate::pasta::spend`, each stating the list below
//! word for word (a test compares them).
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
//! # Why these are enough
//!
//! - The outputs are the transaction's (2): the verifier computes `O` from the transaction
//!   under the key's network, with the same padding; by collision resistance the slots the
//!   proof opens are exactly the external outputs, in order, and the padding. Because the
//!   circuit starts the chain from the *policy's* `network`, a matching `O` also proves the
//!   policy is for the network the key spends on.
//! - Padding: a padded slot is `(0, 0, 0)`; leaf 0 of every spend allowlist is
//!   `H_LEAF(0, 0)` ([`SpendPolicy::allowlist_tree`]), so padded slots pass 5 and add 0 to
//!   the total. No real output has script hash 0 (a 256-bit hash output), so padding cannot
//!   stand for a payment.
//! - The total (4): each amount is below 2^64 (3) and there are at most 256, so the sum is
//!   below 2^72 and does not wrap the field (p ≈ 2^254); if it exceeds `max_total` the
//!   difference is `p - (total - max_total)`, far above 2^64, and the check fails. The same
//!   argument as the intent statement's ([`crate::checks`]) covers the fee and the time.
//! - `lock_time` is public and range-checked, so a proof is about this transaction's lock
//!   time; no rule of v1 reads it (the policy's time-lock is `not_before <= now`).
//! - Not range-checked: the script limbs hash to an allowlisted leaf (5) and the salt limbs
//!   only blind `P`, as in the intent statement.
//! - The domain tags and `N` are constants of the circuit, not prover choices.

pub mod outputs;
pub mod policy;
pub mod public;
pub mod rules;
pub mod tree;

pub use outputs::{
    commit_outputs, script_hash, OutputsCommitment, SizeClass, Spend, SpendError, SpendOutput,
    DOMAIN_OUTPUT, DOMAIN_OUTPUTS, DOMAIN_SPEND_POLICY, PADDING, SCRIPT_TAG,
};
pub use policy::{
    commit_spend_policy_fields, SpendPolicy, SpendPolicyError, SpendPolicyFields, MAX_SCRIPTS,
};
pub use public::{
    SlotValues, SpendPublicInputs, SpendValues, SpendWitness, NUM_SPEND_PUBLIC_INPUTS,
};
pub use rules::{check, SpendViolation};
pub use tree::{quad_node_hash, QuadPath, QuadTree, QUAD_DEPTH};

#[cfg(test)]
mod tests;
