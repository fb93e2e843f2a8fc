//! `POST /v1/sign`: a signing request from its idempotent start to its recorded outcome.
//!
//! The request is recorded as running before its session starts; its audit record and its
//! outcome are committed in one transaction before the answer goes out, so a signature a
//! client has seen is always in the log, and a record always has its outcome. A request
//! resubmitted with the same `request_id` gets the first outcome, never a second signature.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use circuits::{Backend, Rule};
use frost_core::keys::PublicKeyPackage;
use signer::taproot::{self, Taproot};
use verifier::StatementVerifier;

use super::driver;
use super::state::CoordinatorState;
use super::store::{RequestRecord, RequestStatus};
use super::{Coordinator, CoordinatorError, Signed};
use crate::ids::{KeyId, RequestId};
use crate::net::api::{blocking, ApiError, ApiJson, SignRequest, SignResponse};
use crate::net::client::NodeClient;
use crate::store::StoreError;

/// The answer for a request that already has an outcome.
pub(super) fn replay<T: serde::de::DeserializeOwned>(
    rec: RequestRecord,
) -> Result<Json<T>, ApiError> {
    match (rec.status, rec.result) {
        (RequestStatus::Signed, Some(json)) => serde_json::from_str(&json)
            .map(Json)
            .map_err(|e| ApiError::internal("stored outcome", e)),
        (RequestStatus::Running, _) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "request_running",
            format!("request {} is still running", rec.request_id),
        )),
        (status, json) => {
            let mut err: ApiError = json
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_else(|| {
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "failed",
                        "request failed",
                    )
                });
            err.status = match status {
                RequestStatus::Rejected => StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
                _ => StatusCode::SERVICE_UNAVAILABLE.as_u16(),
            };
            Err(err)
        }
    }
}

pub(super) fn coordinator_error(e: CoordinatorError) -> (RequestStatus, ApiError) {
    match e {
        CoordinatorError::TooFewSigners {
            need,
            usable,
            excluded,
        } => {
            let rules: Vec<Rule> = excluded.iter().filter_map(|x| x.refusal.rule).collect();
            // Rejected when the policies refused (not merely an outage).
            let (status, code, state) = if rules.is_empty() {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too_few_signers",
                    RequestStatus::Failed,
                )
            } else {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "policy_violation",
                    RequestStatus::Rejected,
                )
            };
            let mut err = ApiError::new(
                status,
                code,
                format!("need {need} signers, {usable} usable"),
            );
            // The rule most signers named (ties: the alphabetically first name).
            let mut counts: std::collections::BTreeMap<&str, (Rule, usize)> = Default::default();
            for rule in rules {
                counts.entry(rule.as_str()).or_insert((rule, 0)).1 += 1;
            }
            err.rule = counts
                .iter()
                .max_by_key(|(name, (_, n))| (*n, std::cmp::Reverse(**name)))
                .map(|(_, (rule, _))| *rule);
            err.signers = Some(excluded);
            (state, err)
        }
        other => (
            RequestStatus::Failed,
            ApiError::new(StatusCode::BAD_GATEWAY, "session_failed", other.to_string()),
        ),
    }
}

/// What [`begin`] found.
pub(super) enum Begun {
    /// A new request, recorded as running, for this group key.
    New(Arc<PublicKeyPackage<Taproot>>),
    /// A request id seen before: its record, to [`replay`].
    Seen(RequestRecord),
}

/// Records `request_id` as running for `key_id` (an unknown key is refused before anything
/// is recorded), or finds it already recorded.
pub(super) async fn begin<V: StatementVerifier + 'static>(
    c: &Arc<CoordinatorState<V>>,
    key_id: &KeyId,
    request_id: &RequestId,
) -> Result<Begun, ApiError> {
    let (c, key_id, request_id) = (c.clone(), key_id.clone(), request_id.clone());
    blocking(move || {
        let public = c.public_key(&key_id)?;
        let existing = c
            .store
            .begin_request(&request_id, &key_id)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(match existing {
            Some(rec) => Begun::Seen(rec),
            None => Begun::New(public),
        })
    })
    .await
}

/// Signs a request (or replays its first outcome).
///
/// The session runs as its own task: a client that disconnects, or the route's timeout,
/// does not cut a session short between the nodes' rounds — it still reaches its outcome
/// and its audit record, which a retry with the same `request_id` then gets.
pub(super) async fn sign<V: StatementVerifier + 'static>(
    State(c): State<Arc<CoordinatorState<V>>>,
    ApiJson(req): ApiJson<SignRequest>,
) -> Result<Json<SignResponse>, ApiError> {
    tokio::spawn(run(c, req))
        .await
        .map_err(|e| ApiError::internal("signing task", e))?
}

async fn run<V: StatementVerifier + 'static>(
    c: Arc<CoordinatorState<V>>,
    req: SignRequest,
) -> Result<Json<SignResponse>, ApiError> {
    let request_id = req.request_id.clone().unwrap_or_else(RequestId::random);
    let now = crate::clock::unix_now();
    // Replies are checked against the identities the admins approved, not the cluster file;
    // without such a roster nothing is recorded or signed.
    let identities = crate::cluster::roster::identities(&c.governed_roster(now)?);
    // An unknown key is refused before the request is recorded.
    let public = match begin(&c, &req.key_id, &request_id).await? {
        Begun::New(public) => public,
        Begun::Seen(existing) => return replay(existing),
    };
    let coord = Coordinator::new((*public).clone(), identities, &*c.verifier)
        .map_err(|e| ApiError::internal("coordinator", e))?;
    let nodes: Vec<NodeClient> = c
        .cluster
        .nodes
        .iter()
        .map(|n| NodeClient::new(n.id, &n.url, req.key_id.clone(), c.http.clone()))
        .collect();
    // The coordinator's own registry: a reply proving another P is refused in round 1.
    let policies = c
        .registry()
        .policies(req.key_id.as_str(), V::Backend::ID, now);
    let outcome = match driver::sign(&coord, &nodes, &req.intent, now, policies).await {
        Ok(signed) => record(&c, &coord, signed, &req, &request_id, now).await,
        Err(e) => Err(coordinator_error(e)),
    };
    match outcome {
        Ok(resp) => {
            tracing::info!(request = %request_id, key = %req.key_id, "signed");
            // The nodes witness the new record in the background.
            c.witness_soon();
            Ok(Json(resp))
        }
        Err((status, mut err)) => {
            err.request_id = Some(request_id.clone());
            let json = serde_json::to_string(&err).map_err(|e| ApiError::internal("outcome", e))?;
            let store_c = c.clone();
            let id = request_id.clone();
            blocking(move || {
                store_c
                    .store
                    .finish_request(&id, status, &json)
                    .map_err(|e| ApiError::internal("recording the outcome", e))
            })
            .await?;
            tracing::info!(request = %request_id, key = %req.key_id, error = %err, "not signed");
            Err(err)
        }
    }
}

/// Appends the audit record of a signed session and finishes the request, in one
/// transaction: a signature the client is told about is always in the log, and vice versa.
async fn record<V: StatementVerifier + 'static>(
    c: &Arc<CoordinatorState<V>>,
    coord: &Coordinator<'_, Taproot, V>,
    signed: Signed<Taproot>,
    req: &SignRequest,
    request_id: &RequestId,
    now: u64,
) -> Result<SignResponse, (RequestStatus, ApiError)> {
    let failed = |e: ApiError| (RequestStatus::Failed, e);
    let mut record = coord
        .audit_record(&signed, req.key_id.as_str(), now)
        .map_err(|e| failed(ApiError::internal("audit record", e)))?;
    let x_only_key = taproot::x_only_key(coord.public_key_package())
        .map_err(|e| failed(ApiError::internal("group key", e)))?;
    let (c, request_id, key_id) = (c.clone(), request_id.clone(), req.key_id.clone());
    blocking(move || {
        let mut response = None;
        c.store
            .append_audit_and_finish(&request_id, &mut record, |rec, line| {
                let resp = SignResponse {
                    request_id: request_id.clone(),
                    key_id: key_id.clone(),
                    session: *signed.session.as_bytes(),
                    digest: signed.digest,
                    signature: rec.signature,
                    x_only_key,
                    audit_index: rec.index,
                    audit_record: serde_json::from_str(line)
                        .map_err(|e| StoreError::Invalid(e.to_string()))?,
                    excluded: signed.excluded.clone(),
                };
                let json =
                    serde_json::to_string(&resp).map_err(|e| StoreError::Invalid(e.to_string()))?;
                response = Some(resp);
                Ok(json)
            })
            .map_err(|e| ApiError::internal("appending the audit record", e))?;
        response.ok_or_else(|| ApiError::internal("outcome", "missing"))
    })
    .await
    .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::{Excluded, Refusal};
    use signer::SignerId;

    fn excluded(id: u16, rule: Option<Rule>) -> Excluded {
        Excluded {
            signer: SignerId::new(id).unwrap(),
            refusal: Refusal {
                rule,
                reason: "refused".into(),
            },
            fault: None,
        }
    }

    fn body(err: &ApiError) -> serde_json::Value {
        serde_json::to_value(err).unwrap()
    }

    #[test]
    fn policy_refusals_are_422_with_the_rule_most_signers_named() {
        let (state, err) = coordinator_error(CoordinatorError::TooFewSigners {
            need: 3,
            usable: 1,
            excluded: vec![
                excluded(1, Some(Rule::TimeLocked)),
                excluded(2, Some(Rule::AmountAboveLimit)),
                excluded(3, Some(Rule::AmountAboveLimit)),
                excluded(4, None),
            ],
        });
        assert_eq!(state, RequestStatus::Rejected);
        assert_eq!(err.status, 422);
        let v = body(&err);
        assert_eq!(v["error"], "policy_violation");
        assert_eq!(v["rule"], "amount_above_limit");
        assert_eq!(v["signers"].as_array().unwrap().len(), 4);
        assert_eq!(v["signers"][0]["rule"], "time_locked");
        assert_eq!(v["signers"][3].get("rule"), None);
    }

    #[test]
    fn ties_between_rules_go_to_the_alphabetically_first() {
        let (_, err) = coordinator_error(CoordinatorError::TooFewSigners {
            need: 2,
            usable: 0,
            excluded: vec![
                excluded(1, Some(Rule::TimeLocked)),
                excluded(2, Some(Rule::Expired)),
            ],
        });
        assert_eq!(err.rule, Some(Rule::Expired));
    }

    #[test]
    fn an_outage_is_503_too_few_signers_without_a_rule() {
        let (state, err) = coordinator_error(CoordinatorError::TooFewSigners {
            need: 3,
            usable: 2,
            excluded: vec![excluded(5, None)],
        });
        assert_eq!(state, RequestStatus::Failed);
        assert_eq!(err.status, 503);
        let v = body(&err);
        assert_eq!(v["error"], "too_few_signers");
        assert_eq!(v.get("rule"), None);
        assert_eq!(v["message"], "need 3 signers, 2 usable");
    }

    #[test]
    fn a_session_that_fails_otherwise_is_502_session_failed() {
        let (state, err) = coordinator_error(CoordinatorError::FinalSignature("bad".into()));
        assert_eq!(state, RequestStatus::Failed);
        assert_eq!(err.status, 502);
        let v = body(&err);
        assert_eq!(v["error"], "session_failed");
        assert_eq!(v["message"], "final signature does not verify: bad");
    }
}
