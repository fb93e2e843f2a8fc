//! The native spend check: the rules the spend circuits enforce, each refusal naming the
//! rule and, where one output breaks it, the output's index in the transaction.
//!
//! Signers run [`check`] before proving. Rules are checked in a fixed order (network,
//! time-lock, fee, each output's script, total); the first violation is reported.

use super::outputs::Spend;
use super::policy::SpendPolicy;

/// A rule of the spend statement that a transaction breaks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpendViolation {
    /// The spend is on another network than the policy's.
    #[error("the spend is on network {spend}, the policy allows network {policy}")]
    Network {
        /// The spend's network code.
        spend: u32,
        /// The policy's.
        policy: u32,
    },
    /// `now < not_before`.
    #[error("time-locked: now {now} < not_before {not_before}")]
    TimeLocked {
        /// The time of the check.
        now: u64,
        /// The policy's time-lock.
        not_before: u64,
    },
    /// `fee > max_fee`.
    #[error("fee {fee} is above the limit {max}")]
    FeeAboveLimit {
        /// The transaction's fee.
        fee: u64,
        /// The policy's limit.
        max: u64,
    },
    /// An external output pays a script the allowlist does not hold.
    #[error("output {output} pays a script that is not allowlisted")]
    NotAllowlisted {
        /// The output's index in the transaction.
        output: u32,
    },
    /// `sum(external outputs) > max_total`.
    #[error("external outputs total {total}, above the limit {max}")]
    TotalAboveLimit {
        /// The sum of the external outputs.
        total: u128,
        /// The policy's limit.
        max: u64,
    },
}

impl SpendViolation {
    /// The rule's short name (`network`, `time_lock`, `fee`, `allowlist`, `total`).
    pub fn rule(&self) -> &'static str {
        match self {
            SpendViolation::Network { .. } => "network",
            SpendViolation::TimeLocked { .. } => "time_lock",
            SpendViolation::FeeAboveLimit { .. } => "fee",
            SpendViolation::NotAllowlisted { .. } => "allowlist",
            SpendViolation::TotalAboveLimit { .. } => "total",
        }
    }

    /// The transaction output that breaks the rule, if one does.
    pub fn output(&self) -> Option<u32> {
        match self {
            SpendViolation::NotAllowlisted { output } => Some(*output),
            _ => None,
        }
    }
}

/// Checks `spend` against `policy` at `now`.
pub fn check(spend: &Spend, policy: &SpendPolicy, now: u64) -> Result<(), SpendViolation> {
    if spend.network() != policy.network() {
        return Err(SpendViolation::Network {
            spend: spend.network(),
            policy: policy.network(),
        });
    }
    if now < policy.not_before() {
        return Err(SpendViolation::TimeLocked {
            now,
            not_before: policy.not_before(),
        });
    }
    if spend.fee() > policy.max_fee() {
        return Err(SpendViolation::FeeAboveLimit {
            fee: spend.fee(),
            max: policy.max_fee(),
        });
    }
    if let Some(o) = spend
        .outputs()
        .iter()
        .find(|o| policy.leaf_of(&o.script).is_none())
    {
        return Err(SpendViolation::NotAllowlisted { output: o.index });
    }
    if spend.total() > u128::from(policy.max_total()) {
        return Err(SpendViolation::TotalAboveLimit {
            total: spend.total(),
            max: policy.max_total(),
        });
    }
    Ok(())
}
