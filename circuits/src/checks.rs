//! The checks of the v1 statement, written once for both circuits.
//!
//! Both circuits ([`crate::bn254::circuit`] and [`crate::pasta::circuit`]) enforce exactly
//! the list below; each states it in its module docs word for word (a test compares the
//! three copies) and then says how it enforces each item. The range checks and ordering
//! rules are not written per backend: both circuits iterate [`range_checks`] and
//! [`orderings`], so they cannot drift apart again (halo2 once range-checked `network` and
//! `asset` and BN254 did not).
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
//! # Why these are enough
//!
//! - Ordering (7): both sides are below 2^64 by 5, so if `lo > hi` the field difference
//!   `hi - lo` is `p - (lo - hi) > p - 2^64`, far above 2^64 in both fields (p ≈ 2^254),
//!   and the check fails. Without 5 a prover could pick `amount = p - 1`: then
//!   `max_amount - amount = max_amount + 1` is small and the comparison alone passes.
//! - Ranges (5, 6): every integer field of the opening of `C` and `P` is in the range of
//!   its native type (u32, u64), as in the [`crate::Intent::fields`] /
//!   [`crate::Policy::fields`] encoding of a real intent and policy: no value wraps the
//!   field, and no `C` whose `network` or `asset` no [`crate::Intent`] can hold (2^32, say)
//!   can be proven. `nonce` takes part in no comparison and is range-checked for the same
//!   reason.
//! - Not range-checked: `recipient_hi` and `recipient_lo` hash to an allowlisted leaf (8),
//!   so by collision resistance they are the limbs of an allowlisted recipient (each below
//!   2^128); `salt` only blinds `C`, and `salt_lo`, `salt_hi` only blind `P`: no rule
//!   reads them, and a prover who witnesses limbs of 2^128 or more still has to open the
//!   public `C` or `P`, which (collision resistance, over any field elements) only the
//!   committed values do — so an out-of-range limb buys nothing (see [`crate::policy`] for
//!   why the salted `P` hides the policy); `binding` is public and every
//!   verifier decodes it with [`crate::PublicInputs::from_field_elements`] (`binding <
//!   2^248`, and `now < 2^64` as well, on top of 5) before verifying.
//! - The domain tags and `version`'s 1 are constants of the circuit, not prover choices.

use crate::intent::IntentFields;
use crate::policy::PolicyFields;

/// Bits of a u64 value (rule 5) and of every ordering difference (rule 7).
pub const U64_BITS: usize = 64;
/// Bits of a u32 value (rule 6).
pub const U32_BITS: usize = 32;

/// A value the statement proves to be an integer below `2^bits`.
#[derive(Clone, Copy, Debug)]
pub struct RangeCheck<'a, T> {
    /// The field's name (for circuit namespaces and error messages).
    pub name: &'static str,
    /// The value.
    pub value: &'a T,
    /// Its width.
    pub bits: usize,
}

/// A rule `lo <= hi` between two values already range-checked to 64 bits, proven as
/// "`hi - lo` is an integer below 2^64".
#[derive(Clone, Copy, Debug)]
pub struct Ordering<'a, T> {
    /// The rule, as `"lo <= hi"`.
    pub name: &'static str,
    /// The smaller side.
    pub lo: &'a T,
    /// The larger side.
    pub hi: &'a T,
}

/// Rules 5 and 6: the u64 values, then the u32 values (the order both circuits lay them
/// out in).
pub fn range_checks<'a, T>(
    intent: &'a IntentFields<T>,
    policy: &'a PolicyFields<T>,
    now: &'a T,
) -> [RangeCheck<'a, T>; 9] {
    let check = |name, value, bits| RangeCheck { name, value, bits };
    [
        check("amount", &intent.amount, U64_BITS),
        check("valid_after", &intent.valid_after, U64_BITS),
        check("valid_before", &intent.valid_before, U64_BITS),
        check("nonce", &intent.nonce, U64_BITS),
        check("max_amount", &policy.max_amount, U64_BITS),
        check("not_before", &policy.not_before, U64_BITS),
        check("now", now, U64_BITS),
        check("network", &intent.network, U32_BITS),
        check("asset", &intent.asset, U32_BITS),
    ]
}

/// Rule 7: the amount limit and the three time rules.
pub fn orderings<'a, T>(
    intent: &'a IntentFields<T>,
    policy: &'a PolicyFields<T>,
    now: &'a T,
) -> [Ordering<'a, T>; 4] {
    [
        Ordering {
            name: "amount <= max_amount",
            lo: &intent.amount,
            hi: &policy.max_amount,
        },
        Ordering {
            name: "valid_after <= now",
            lo: &intent.valid_after,
            hi: now,
        },
        Ordering {
            name: "now <= valid_before",
            lo: now,
            hi: &intent.valid_before,
        },
        Ordering {
            name: "not_before <= now",
            lo: &policy.not_before,
            hi: now,
        },
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The `# Constraints` section of a module's `//!` docs.
    pub(crate) fn constraints_section(source: &str) -> String {
        let docs: Vec<&str> = source
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .collect();
        let start = docs
            .iter()
            .position(|l| l.trim() == "# Constraints")
            .expect("module docs have a `# Constraints` section");
        let end = docs[start + 1..]
            .iter()
            .position(|l| l.trim_start().starts_with("# "))
            .map_or(docs.len(), |i| start + 1 + i);
        docs[start..end].join("\n")
    }

    #[test]
    fn both_backends_document_the_same_constraints() {
        let shared = constraints_section(include_str!("checks.rs"));
        assert!(shared.contains("9. `binding`"), "{shared}");
        assert_eq!(
            constraints_section(include_str!("bn254/circuit.rs")),
            shared,
            "bn254/circuit.rs"
        );
        assert_eq!(
            constraints_section(include_str!("pasta/circuit.rs")),
            shared,
            "pasta/circuit.rs"
        );
    }

    #[test]
    fn every_u64_and_u32_field_is_listed() {
        let intent = IntentFields {
            version: 0u8,
            network: 1,
            asset: 2,
            amount: 3,
            recipient_hi: 4,
            recipient_lo: 5,
            valid_after: 6,
            valid_before: 7,
            nonce: 8,
            salt: 9,
        };
        let policy = PolicyFields {
            asset: 10u8,
            max_amount: 11,
            not_before: 12,
            allowlist_root: 13,
            salt_lo: 15,
            salt_hi: 16,
        };
        let now = 14u8;
        let checks = range_checks(&intent, &policy, &now);
        let listed: Vec<(u8, usize)> = checks.iter().map(|c| (*c.value, c.bits)).collect();
        assert_eq!(
            listed,
            [
                (3, 64),
                (6, 64),
                (7, 64),
                (8, 64),
                (11, 64),
                (12, 64),
                (14, 64),
                (1, 32),
                (2, 32)
            ]
        );
        let rules: Vec<(u8, u8)> = orderings(&intent, &policy, &now)
            .iter()
            .map(|o| (*o.lo, *o.hi))
            .collect();
        assert_eq!(rules, [(3, 11), (6, 14), (14, 7), (12, 14)]);
    }
}
