//! The native policy check: the same rules the circuits enforce, with clear reasons.
//!
//! Signers run [`check`] before proving, so a non-compliant request is refused with a
//! [`PolicyViolation`] naming the rule (the circuit would only say "unsatisfied").
//! Rules are checked in a fixed order; the first violation is reported.

use crate::intent::{Intent, Recipient, INTENT_VERSION};
use crate::policy::Policy;

/// A rule of the v1 statement that an intent breaks, with the values involved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// `intent.version != 1`.
    #[error("unsupported intent version {version} (supported: {supported})")]
    UnsupportedVersion {
        /// The intent's version.
        version: u8,
        /// The supported version.
        supported: u8,
    },
    /// `intent.asset != policy.asset`.
    #[error("asset {intent} is not the policy's asset {policy}")]
    AssetMismatch {
        /// The intent's asset.
        intent: u32,
        /// The policy's asset.
        policy: u32,
    },
    /// `amount > max_amount`.
    #[error("amount {amount} is above the limit {max}")]
    AmountAboveLimit {
        /// The intent's amount.
        amount: u64,
        /// The policy's maximum.
        max: u64,
    },
    /// `now < valid_after`.
    #[error("intent not valid yet: now {now} < valid_after {valid_after}")]
    NotYetValid {
        /// The time of the check.
        now: u64,
        /// The intent's start of validity.
        valid_after: u64,
    },
    /// `now > valid_before`.
    #[error("intent expired: now {now} > valid_before {valid_before}")]
    Expired {
        /// The time of the check.
        now: u64,
        /// The intent's end of validity.
        valid_before: u64,
    },
    /// `now < not_before`.
    #[error("policy time lock: now {now} < not_before {not_before}")]
    TimeLocked {
        /// The time of the check.
        now: u64,
        /// The policy's time lock.
        not_before: u64,
    },
    /// The recipient is not in the allowlist.
    #[error("recipient {recipient} is not allowlisted")]
    RecipientNotAllowlisted {
        /// The intent's recipient.
        recipient: Recipient,
    },
}

impl PolicyViolation {
    /// A stable machine-readable name of the broken rule.
    pub fn rule(&self) -> &'static str {
        match self {
            PolicyViolation::UnsupportedVersion { .. } => "unsupported_version",
            PolicyViolation::AssetMismatch { .. } => "asset_mismatch",
            PolicyViolation::AmountAboveLimit { .. } => "amount_above_limit",
            PolicyViolation::NotYetValid { .. } => "not_yet_valid",
            PolicyViolation::Expired { .. } => "expired",
            PolicyViolation::TimeLocked { .. } => "time_locked",
            PolicyViolation::RecipientNotAllowlisted { .. } => "recipient_not_allowlisted",
        }
    }
}

/// Checks `intent` against `policy` at unix time `now` (seconds).
///
/// Order: version, asset, amount, valid_after, valid_before, not_before, allowlist.
pub fn check(intent: &Intent, policy: &Policy, now: u64) -> Result<(), PolicyViolation> {
    if intent.version != INTENT_VERSION {
        return Err(PolicyViolation::UnsupportedVersion {
            version: intent.version,
            supported: INTENT_VERSION,
        });
    }
    if intent.asset != policy.asset() {
        return Err(PolicyViolation::AssetMismatch {
            intent: intent.asset,
            policy: policy.asset(),
        });
    }
    if intent.amount > policy.max_amount() {
        return Err(PolicyViolation::AmountAboveLimit {
            amount: intent.amount,
            max: policy.max_amount(),
        });
    }
    if now < intent.valid_after {
        return Err(PolicyViolation::NotYetValid {
            now,
            valid_after: intent.valid_after,
        });
    }
    if now > intent.valid_before {
        return Err(PolicyViolation::Expired {
            now,
            valid_before: intent.valid_before,
        });
    }
    if now < policy.not_before() {
        return Err(PolicyViolation::TimeLocked {
            now,
            not_before: policy.not_before(),
        });
    }
    if !policy.allows(&intent.recipient) {
        return Err(PolicyViolation::RecipientNotAllowlisted {
            recipient: intent.recipient,
        });
    }
    Ok(())
}
