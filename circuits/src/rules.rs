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

/// A rule of the v1 statement, by name: what a refusal carries end to end (signer, node
/// API, coordinator, client) without the values compared, which stay on the signer.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The intent's version is not supported.
    UnsupportedVersion,
    /// The intent's asset is not the policy's.
    AssetMismatch,
    /// The amount is above the policy's limit.
    AmountAboveLimit,
    /// `now` is before the intent's `valid_after`.
    NotYetValid,
    /// `now` is after the intent's `valid_before`.
    Expired,
    /// `now` is before the policy's `not_before`.
    TimeLocked,
    /// The recipient is not in the policy's allowlist.
    RecipientNotAllowlisted,
}

impl Rule {
    /// Every rule, in the order [`check`] tests them.
    pub const ALL: [Rule; 7] = [
        Rule::UnsupportedVersion,
        Rule::AssetMismatch,
        Rule::AmountAboveLimit,
        Rule::NotYetValid,
        Rule::Expired,
        Rule::TimeLocked,
        Rule::RecipientNotAllowlisted,
    ];

    /// The stable machine-readable name (`amount_above_limit`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::UnsupportedVersion => "unsupported_version",
            Rule::AssetMismatch => "asset_mismatch",
            Rule::AmountAboveLimit => "amount_above_limit",
            Rule::NotYetValid => "not_yet_valid",
            Rule::Expired => "expired",
            Rule::TimeLocked => "time_locked",
            Rule::RecipientNotAllowlisted => "recipient_not_allowlisted",
        }
    }
}

impl core::fmt::Display for Rule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for Rule {
    type Err = UnknownRule;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRule(s.to_string()))
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A name that is no rule of the v1 statement.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy rule {0:?}")]
pub struct UnknownRule(pub String);

impl PolicyViolation {
    /// The broken rule, without its values.
    pub fn rule(&self) -> Rule {
        match self {
            PolicyViolation::UnsupportedVersion { .. } => Rule::UnsupportedVersion,
            PolicyViolation::AssetMismatch { .. } => Rule::AssetMismatch,
            PolicyViolation::AmountAboveLimit { .. } => Rule::AmountAboveLimit,
            PolicyViolation::NotYetValid { .. } => Rule::NotYetValid,
            PolicyViolation::Expired { .. } => Rule::Expired,
            PolicyViolation::TimeLocked { .. } => Rule::TimeLocked,
            PolicyViolation::RecipientNotAllowlisted { .. } => Rule::RecipientNotAllowlisted,
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
