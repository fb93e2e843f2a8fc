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
use circuits::Rule;
use prover::ProofSystem;
use signer::taproot::{self, Taproot};

use super::state::CoordinatorState;
use super::store::{RequestRecord, RequestStatus};
use super::{CoordinatorError, Endpoint};
use crate::ids::RequestId;
use crate::net::api::{blocking, ApiError, ApiJson, SignRequest, SignResponse};
use crate::net::client::NodeClient;
use crate::store::StoreError;

/// The answer for a request that already has an outcome.
fn replay(rec: RequestRecord) -> Result<Json<SignResponse>, ApiError> {
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

fn coordinator_error(e: CoordinatorError) -> (RequestStatus, ApiError) {
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

/// Signs a request (or replays its first outcome).
pub(super) async fn sign<P: ProofSystem + 'static>(
    State(c): State<Arc<CoordinatorState<P>>>,
    ApiJson(req): ApiJson<SignRequest>,
) -> Result<Json<SignResponse>, ApiError> {
    let runtime = tokio::runtime::Handle::current();
    blocking(move || {
        let request_id = req.request_id.clone().unwrap_or_else(RequestId::random);
        let coord = c.coordinator(&req.key_id)?;
        if let Some(existing) = c
            .store
            .begin_request(&request_id, &req.key_id)
            .map_err(|e| ApiError::bad_request(e.to_string()))?
        {
            return replay(existing);
        }
        let endpoints: Vec<NodeClient> = c
            .cluster
            .nodes
            .iter()
            .map(|n| NodeClient::new(n.id, &n.url, req.key_id.clone(), c.http.clone(), runtime.clone()))
            .collect();
        let eps: Vec<&dyn Endpoint<Taproot>> = endpoints.iter().map(|e| e as _).collect();
        let now = crate::clock::unix_now();
        let failed = |e: ApiError| (RequestStatus::Failed, e);
        let outcome = coord
            .sign(&eps, &req.intent, now)
            .map_err(coordinator_error)
            .and_then(|signed| {
                let mut record = coord
                    .audit_record(&signed, req.key_id.as_str(), now)
                    .map_err(|e| failed(ApiError::internal("audit record", e)))?;
                let x_only_key = taproot::x_only_key(coord.public_key_package())
                    .map_err(|e| failed(ApiError::internal("group key", e)))?;
                // The record and the outcome are committed together: a signature the
                // client is told about is always in the log, and vice versa.
                let mut response = None;
                c.store
                    .append_audit_and_finish(&request_id, &mut record, |rec, line| {
                        let resp = SignResponse {
                            request_id: request_id.clone(),
                            key_id: req.key_id.clone(),
                            session: *signed.session.as_bytes(),
                            digest: signed.digest,
                            signature: rec.signature,
                            x_only_key,
                            audit_index: rec.index,
                            audit_record: serde_json::from_str(line)
                                .map_err(|e| StoreError::Invalid(e.to_string()))?,
                            excluded: signed.excluded.clone(),
                        };
                        let json = serde_json::to_string(&resp)
                            .map_err(|e| StoreError::Invalid(e.to_string()))?;
                        response = Some(resp);
                        Ok(json)
                    })
                    .map_err(|e| failed(ApiError::internal("appending the audit record", e)))?;
                response.ok_or_else(|| failed(ApiError::internal("outcome", "missing")))
            });
        match outcome {
            Ok(resp) => {
                tracing::info!(request = %request_id, key = %req.key_id, "signed");
                Ok(Json(resp))
            }
            Err((status, mut err)) => {
                err.request_id = Some(request_id.clone());
                let json =
                    serde_json::to_string(&err).map_err(|e| ApiError::internal("outcome", e))?;
                c.store
                    .finish_request(&request_id, status, &json)
                    .map_err(|e| ApiError::internal("recording the outcome", e))?;
                tracing::info!(request = %request_id, key = %req.key_id, error = %err, "not signed");
                Err(err)
            }
        }
    })
    .await
}
