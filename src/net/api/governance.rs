//! The governance messages of both APIs, and the error answers of a refused record.
//!
//! - client API: `POST /v1/governance` takes a [`SignedRecord`] and answers
//!   [`SubmitReply`]; `GET /v1/governance?from=N` answers [`GovernanceList`];
//! - node API: `POST /v1/node/governance` takes [`GovernancePush`] (records from some
//!   version on; an empty list asks only for the node's head) and answers
//!   [`GovernanceHead`].
//!
//! A refused record is an [`ApiError`] whose code names the check that failed
//! ([`governance_error`]), and whose message is the [`GovernanceError`]'s, naming the
//! version and, where it applies, the admin.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use verifier::governance::{GovernanceError, Registry, SignedRecord};

use super::ApiError;

/// `POST /v1/node/governance`: records for the node to check and keep, in version order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernancePush {
    /// The records (a version the node holds must be byte-identical to its copy).
    pub records: Vec<SignedRecord>,
}

/// Where a registry stands: its head version and the head record's hash (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceHead {
    /// The last version held (0: none).
    pub head: u64,
    /// [`SignedRecord::record_hash`] of the head, hex; absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<String>,
}

impl GovernanceHead {
    /// The head of `registry`.
    pub fn of(registry: &Registry) -> Self {
        Self {
            head: registry.head(),
            head_hash: registry.head_hash().map(hex::encode),
        }
    }
}

/// `GET /v1/governance?from=N`: the coordinator's records from version `N` (default 1).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GovernanceList {
    /// The coordinator's head version.
    pub head: u64,
    /// The records, in version order.
    pub records: Vec<SignedRecord>,
}

/// The query of `GET /v1/governance`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernanceQuery {
    /// The first version wanted (default 1).
    #[serde(default)]
    pub from: Option<u64>,
}

/// How the push of an accepted record to one node went.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodePush {
    /// The node's signer id.
    pub signer: u16,
    /// The node's head after the push, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<u64>,
    /// Why it failed, if it did (the node gets the record at the next push).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /v1/governance` accepted the record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubmitReply {
    /// The record's version (now the coordinator's head).
    pub version: u64,
    /// Each node's answer to the push.
    pub nodes: Vec<NodePush>,
}

/// The answer for a refused governance record: 409 for a replayed, out-of-order or
/// conflicting version (the registry moved on or lacks a version), 422 for a record that
/// does not check (cluster, content hash, approvals, content), 400 for one that cannot be
/// read.
pub fn governance_error(e: &GovernanceError) -> ApiError {
    let (status, code) = match e {
        GovernanceError::Replayed { .. } => (StatusCode::CONFLICT, "governance_replayed"),
        GovernanceError::OutOfOrder { .. } => (StatusCode::CONFLICT, "governance_out_of_order"),
        GovernanceError::EffectiveBeforePrevious { .. }
        | GovernanceError::EffectiveBeforeSigned { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "governance_backdated")
        }
        GovernanceError::WrongCluster { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "governance_wrong_cluster")
        }
        GovernanceError::ContentHashMismatch { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "governance_tampered")
        }
        GovernanceError::NotAnAdmin { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "governance_not_an_admin")
        }
        GovernanceError::BadSignature { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "governance_bad_signature")
        }
        GovernanceError::TooFewApprovals { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "governance_too_few_approvals",
        ),
        GovernanceError::InvalidRoster { .. } | GovernanceError::InvalidPolicy { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "governance_invalid")
        }
        GovernanceError::Read { .. }
        | GovernanceError::Decode { .. }
        | GovernanceError::EmptyCluster
        | GovernanceError::BadAdminThreshold { .. }
        | GovernanceError::DuplicateAdmin { .. }
        | GovernanceError::InvalidAdminKey { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
    };
    ApiError::new(status, code, e.to_string())
}

/// 409 `governance_conflict`: a version the registry holds, offered with other bytes
/// (other content or other approvals).
pub fn conflict(version: u64) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "governance_conflict",
        format!(
            "record version {version} is already held with different content or approvals; \
             a decided version is never replaced"
        ),
    )
}

/// Checks `records` against `registry` one after the other and calls `keep` for each new
/// one before it enters the registry (the caller's durable append); versions already held
/// must be byte-identical ([`conflict`] otherwise) and are skipped. Returns the head.
pub fn accept_records(
    registry: &mut Registry,
    records: Vec<SignedRecord>,
    mut keep: impl FnMut(&SignedRecord) -> Result<(), ApiError>,
) -> Result<GovernanceHead, ApiError> {
    for signed in records {
        let version = signed.record.version;
        if let Some(held) = registry.record(version) {
            if held.to_json() == signed.to_json() {
                continue;
            }
            return Err(conflict(version));
        }
        registry.check(&signed).map_err(|e| governance_error(&e))?;
        keep(&signed)?;
        // Checked above under the same lock: cannot fail.
        registry
            .apply(signed)
            .map_err(|e| ApiError::internal("applying a checked record", e))?;
    }
    Ok(GovernanceHead::of(registry))
}

#[cfg(test)]
mod tests {
    use verifier::governance::Registry;

    use super::*;
    use crate::governance::testing::Admins;

    #[test]
    fn held_versions_must_be_identical_and_new_ones_are_checked_before_kept() {
        let a = Admins::new();
        let mut registry = Registry::new(a.trust.clone());
        let mut kept = Vec::new();
        let (genesis, v2) = (a.genesis(), a.policy(2, 1));
        let head = accept_records(&mut registry, vec![genesis.clone(), v2.clone()], |s| {
            kept.push(s.record.version);
            Ok(())
        })
        .unwrap();
        assert_eq!(head, GovernanceHead::of(&registry));
        assert_eq!(head.head, 2);
        assert_eq!(kept, vec![1, 2]);

        // The same records again: nothing kept, same head (a re-push is harmless).
        let again = accept_records(&mut registry, vec![genesis, v2.clone()], |_| {
            panic!("nothing new to keep")
        })
        .unwrap();
        assert_eq!(again.head, 2);

        // Version 2 with other approvals (a third admin added): a conflict, not a swap.
        let mut other = v2;
        other.add_approval(a.keys[2].approve(&other.record).unwrap());
        let err = accept_records(&mut registry, vec![other], |_| Ok(())).unwrap_err();
        assert_eq!(
            (err.status, err.error.as_str()),
            (409, "governance_conflict")
        );

        // A record with too few approvals is refused before the caller keeps it.
        let weak = a.record(3, a.policy(3, 2).record.content, 1);
        let err =
            accept_records(&mut registry, vec![weak], |_| panic!("must not be kept")).unwrap_err();
        assert_eq!(
            (err.status, err.error.as_str()),
            (422, "governance_too_few_approvals")
        );
        // A skipped version.
        let err = accept_records(&mut registry, vec![a.policy(4, 2)], |_| Ok(())).unwrap_err();
        assert_eq!(
            (err.status, err.error.as_str()),
            (409, "governance_out_of_order")
        );
        assert_eq!(registry.head(), 2);
    }
}
