//! The client API's routes: the router (body limit, request timeout, who may call what),
//! keys (created by the [DKG driver](super::dkg)), and a request's status. Signing is in
//! [`super::sign`].
//!
//! Who may call what (the caller's [`Peer`] comes from its certificate, see
//! [`crate::net::roles`]; a revoked or grant-less certificate never reaches the router):
//!
//! | route | roles |
//! |---|---|
//! | `GET /v1/health` | any role (liveness, it tells nothing) |
//! | `POST /v1/keys`, `POST /v1/sign`, `POST /v1/sign-psbt` | operator granted the key id (403 `key_not_granted` otherwise) |
//! | `GET /v1/keys` | operator (the keys it is granted) or auditor (all) |
//! | `GET /v1/keys/{key_id}`, `GET /v1/sessions/{request_id}` | operator granted the key, or auditor |
//! | `GET /v1/audit`, `GET /v1/audit/checkpoints` | auditor |
//!
//! Any other role is answered 403 `forbidden`, naming the roles the route needs.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use verifier::StatementVerifier;

use frost_core::keys::PublicKeyPackage;
use signer::taproot::Taproot;

use super::dkg::{commit_dkg, run_dkg, DkgError};
use super::governance;
use super::sign::sign;
use super::state::CoordinatorState;
use super::store::{KeyRecord, RequestStatus};
use super::witness::WITNESS_WAIT;
use crate::ids::{KeyId, RequestId};
use crate::net::api::{
    blocking, ApiError, ApiJson, AuditPage, AuditQuery, CheckpointsQuery, CreateKey, KeyInfo,
    SessionStatus, SignRequest, SignResponse, MAX_AUDIT_PAGE, MAX_BODY_BYTES,
};
use crate::net::client::ClientError;
use crate::net::roles::{require, Peer, Role};

impl<V: StatementVerifier + 'static> CoordinatorState<V> {
    /// The client API router.
    pub fn router(self: Arc<Self>) -> Router {
        let timeout = self.request_timeout;
        Router::new()
            .route(
                "/v1/health",
                get(|| async { Json(serde_json::json!({"status": "ok"})) }),
            )
            .route(
                "/v1/keys",
                post(create_key::<V>)
                    .route_layer(require(OPERATOR))
                    .merge(get(list_keys::<V>).route_layer(require(READERS))),
            )
            .route(
                "/v1/keys/{key_id}",
                get(get_key::<V>).route_layer(require(READERS)),
            )
            .route(
                "/v1/sign",
                post(sign_granted::<V>).route_layer(require(OPERATOR)),
            )
            .route(
                "/v1/sign-psbt",
                post(sign_psbt_granted::<V>).route_layer(require(OPERATOR)),
            )
            .route(
                "/v1/sessions/{request_id}",
                get(session_status::<V>).route_layer(require(READERS)),
            )
            .route(
                "/v1/audit",
                get(audit_page::<V>).route_layer(require(AUDITOR)),
            )
            .route(
                "/v1/audit/checkpoints",
                get(checkpoints::<V>).route_layer(require(AUDITOR)),
            )
            .route(
                "/v1/governance",
                post(governance::submit::<V>)
                    .route_layer(require(ADMIN))
                    .merge(get(governance::list::<V>).route_layer(require(ADMIN_OR_AUDITOR))),
            )
            .fallback(|| async {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
            })
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                timeout,
            ))
            .with_state(self)
    }
}

/// Operators only (their key scope is checked in the handler, where the key id is known).
const OPERATOR: &[Role] = &[Role::Operator];
/// Who may read key information and request outcomes.
const READERS: &[Role] = &[Role::Operator, Role::Auditor];
/// Auditors only.
const AUDITOR: &[Role] = &[Role::Auditor];
/// Submits governance records (approved by the admin quorum: the role only lets it in).
const ADMIN: &[Role] = &[Role::Admin];
/// Reads the governance registry.
const ADMIN_OR_AUDITOR: &[Role] = &[Role::Admin, Role::Auditor];

/// `POST /v1/sign` for an operator granted the request's key.
async fn sign_granted<V: StatementVerifier + 'static>(
    peer: Peer,
    state: State<Arc<CoordinatorState<V>>>,
    ApiJson(req): ApiJson<SignRequest>,
) -> Result<Json<SignResponse>, ApiError> {
    peer.require_key(&req.key_id)?;
    sign(state, ApiJson(req)).await
}

async fn sign_psbt_granted<V: StatementVerifier + 'static>(
    peer: Peer,
    state: State<Arc<CoordinatorState<V>>>,
    ApiJson(req): ApiJson<crate::net::api::spend::SignPsbtRequest>,
) -> Result<Json<crate::net::api::spend::SignPsbtResponse>, ApiError> {
    peer.require_key(&req.key_id)?;
    super::spend::sign_psbt(state, ApiJson(req)).await
}

/// `GET /v1/audit?from=N&limit=M`: the stored lines verbatim, for auditors.
async fn audit_page<V: StatementVerifier + 'static>(
    State(c): State<Arc<CoordinatorState<V>>>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = match q.limit {
        None => MAX_AUDIT_PAGE,
        Some(l) if (1..=MAX_AUDIT_PAGE).contains(&l) => l,
        Some(l) => {
            return Err(ApiError::bad_request(format!(
                "limit {l} is not within 1..={MAX_AUDIT_PAGE}"
            )))
        }
    };
    blocking(move || {
        let (size, lines) = c
            .store
            .audit_page(q.from, limit)
            .map_err(|e| ApiError::internal("reading the audit log", e))?;
        Ok(Json(AuditPage {
            from: q.from,
            size,
            lines,
        }))
    })
    .await
}

/// `GET /v1/audit/checkpoints[?wait=true]`: every node's latest signature over the log;
/// with `wait`, once every node covers the log as it is now (at most [`WITNESS_WAIT`]).
async fn checkpoints<V: StatementVerifier + 'static>(
    State(c): State<Arc<CoordinatorState<V>>>,
    query: Result<Query<CheckpointsQuery>, QueryRejection>,
) -> Result<Json<verifier::audit::Witnesses>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if q.wait {
        return Ok(Json(c.witnesses_covering_log(WITNESS_WAIT).await?));
    }
    blocking(move || Ok(Json(c.witnesses()?))).await
}

/// Every key an auditor may read, the granted ones for an operator.
async fn list_keys<V: StatementVerifier + 'static>(
    peer: Peer,
    State(c): State<Arc<CoordinatorState<V>>>,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    blocking(move || {
        let recs = c
            .store
            .keys()
            .map_err(|e| ApiError::internal("reading keys", e))?;
        Ok(Json(
            recs.iter()
                .filter(|r| peer.may_read(&r.key_id))
                .map(|r| c.key_info(r))
                .collect::<Result<_, _>>()?,
        ))
    })
    .await
}

async fn get_key<V: StatementVerifier + 'static>(
    peer: Peer,
    State(c): State<Arc<CoordinatorState<V>>>,
    Path(key_id): Path<String>,
) -> Result<Json<KeyInfo>, ApiError> {
    let key_id = KeyId::new(&key_id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    // Before the lookup: an operator learns nothing about keys it is not granted.
    peer.require_read(&key_id)?;
    blocking(move || Ok(Json(c.key_info(&c.key_record(&key_id)?)?))).await
}

/// The answer for a DKG that made no key.
fn dkg_error(e: DkgError) -> ApiError {
    match e {
        DkgError::NodesFailed { .. } => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "dkg_failed", e.to_string())
        }
        DkgError::Disagreement { .. } => {
            ApiError::new(StatusCode::BAD_GATEWAY, "dkg_failed", e.to_string())
        }
        DkgError::Encoding { .. } | DkgError::NoNodes => ApiError::internal("DKG", e),
    }
}

/// `POST /v1/keys`: two-phase keygen. A DKG across every node ends with each node holding
/// a prepared share and signing the key statement; the coordinator stores the key as
/// prepared with all `n` signatures, sends them to every node (each checks them and commits
/// its share), then appends the key record and marks the key committed in one transaction.
/// A retry under the same key id resumes a prepared key (resends the commit, e.g. after a
/// node was down) or, when no node has it prepared, runs the DKG again; a committed key id
/// answers 409 `key_exists`.
async fn create_key<V: StatementVerifier + 'static>(
    peer: Peer,
    State(c): State<Arc<CoordinatorState<V>>>,
    ApiJson(req): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<KeyInfo>), ApiError> {
    let key_id = req.key_id;
    peer.require_key(&key_id)?;
    let existing = c
        .store
        .key(&key_id)
        .map_err(|e| ApiError::internal("reading keys", e))?;
    if existing.as_ref().is_some_and(|k| k.committed) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "key_exists",
            format!("key {key_id} already exists"),
        ));
    }
    // A key is made only among the nodes of the roster the admins approved.
    c.governed_roster(crate::clock::unix_now())?;
    let prepared = match existing {
        Some(rec) => {
            match commit_dkg(&c.http, &c.cluster.nodes, &key_id, &rec.attestations).await {
                Ok(()) => Some(rec),
                // A node refused the commit (it holds no such prepared share): make the key again.
                Err(DkgError::NodesFailed { ref failures, .. })
                    if failures.iter().any(|(_, e)| refused_commit(e)) =>
                {
                    tracing::warn!(key = %key_id, "prepared key refused by a node; running the DKG again");
                    None
                }
                Err(e) => return Err(dkg_error(e)),
            }
        }
        None => None,
    };
    let rec = match prepared {
        Some(rec) => rec,
        None => {
            let t = c.cluster.threshold();
            let out = run_dkg(&c.http, &c.cluster.nodes, t, c.cluster.backend, &key_id)
                .await
                .map_err(dkg_error)?;
            let rec = KeyRecord {
                key_id: key_id.clone(),
                threshold: t.t(),
                participants: t.n(),
                backend: c.cluster.backend,
                group_key: hex::encode(
                    out.package
                        .verifying_key()
                        .serialize()
                        .map_err(|e| ApiError::internal("group key", e))?,
                ),
                public_key_package: serde_json::to_string(&out.package)
                    .map_err(|e| ApiError::internal("public key package", e))?,
                created_at: crate::clock::unix_now(),
                committed: false,
                roster_version: out.roster_version,
                attestations: out.attestations,
                audit_index: None,
            };
            let store_c = c.clone();
            let rec = blocking(move || {
                store_c
                    .store
                    .put_prepared_key(&rec)
                    .map_err(|e| ApiError::internal("storing the prepared key", e))?;
                Ok(rec)
            })
            .await?;
            commit_dkg(&c.http, &c.cluster.nodes, &key_id, &rec.attestations)
                .await
                .map_err(dkg_error)?;
            rec
        }
    };
    let store_c = c.clone();
    let rec = blocking(move || {
        let mut line = log_key_record(&rec)?;
        store_c
            .store
            .commit_key(&mut line)
            .map_err(|e| ApiError::internal("committing the key", e))?;
        store_c
            .store
            .key(&rec.key_id)
            .map_err(|e| ApiError::internal("reading keys", e))?
            .ok_or_else(|| ApiError::unknown_key(&rec.key_id))
    })
    .await?;
    tracing::info!(key = %key_id, "key created by DKG and committed by every node");
    // The nodes witness the key record in the background.
    c.witness_soon();
    Ok((StatusCode::CREATED, Json(c.key_info(&rec)?)))
}

/// Whether a node refused a commit (as opposed to being unreachable).
fn refused_commit(e: &ClientError) -> bool {
    matches!(e, ClientError::Api(a) if a.error == "dkg_commit_refused")
}

/// The key record of a prepared key, to append (index and `prev` set by the store).
fn log_key_record(rec: &KeyRecord) -> Result<verifier::audit::KeyRecord, ApiError> {
    let package: PublicKeyPackage<Taproot> = serde_json::from_str(&rec.public_key_package)
        .map_err(|e| ApiError::internal("stored public key package", e))?;
    let package_bytes = package
        .serialize()
        .map_err(|e| ApiError::internal("public key package", e))?;
    let group_key = hex::decode(&rec.group_key)
        .ok()
        .and_then(|k| <[u8; 33]>::try_from(k).ok())
        .ok_or_else(|| ApiError::internal("stored group key", "not 33 bytes of hex"))?;
    Ok(verifier::audit::KeyRecord {
        version: verifier::audit::KEY_RECORD_VERSION,
        index: 0,
        key_id: rec.key_id.to_string(),
        backend: rec.backend as u8,
        threshold: rec.threshold,
        participants: rec.participants,
        roster_version: rec.roster_version,
        group_key,
        public_key_package: package_bytes,
        attestations: rec.attestations.clone(),
        time: crate::clock::unix_now(),
        prev: [0; 32],
    })
}

fn status_name(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::Running => "running",
        RequestStatus::Signed => "signed",
        RequestStatus::Rejected => "rejected",
        RequestStatus::Failed => "failed",
    }
}

async fn session_status<V: StatementVerifier + 'static>(
    peer: Peer,
    State(c): State<Arc<CoordinatorState<V>>>,
    Path(request_id): Path<String>,
) -> Result<Json<SessionStatus>, ApiError> {
    let id = RequestId::new(&request_id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    blocking(move || {
        let rec = c
            .store
            .request(&id)
            .map_err(|e| ApiError::internal("reading requests", e))?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "unknown_request",
                    format!("no request {id}"),
                )
            })?;
        peer.require_read(&rec.key_id)?;
        Ok(Json(SessionStatus {
            request_id: rec.request_id,
            key_id: rec.key_id,
            status: status_name(rec.status).into(),
            created_at: rec.created_at,
            finished_at: rec.finished_at,
            result: rec.result.and_then(|j| serde_json::from_str(&j).ok()),
        }))
    })
    .await
}
