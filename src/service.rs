//! The coordinator service: the client API over mutual TLS, the DKG and signing sessions
//! driven across the signer nodes, and the audit log in the coordinator's database.
//!
//! Client API (JSON, see [`crate::api`] and the README for curl examples):
//!
//! | route | what |
//! |---|---|
//! | `GET /v1/health` | liveness |
//! | `POST /v1/keys` `{"key_id"}` | create a key by DKG across all nodes → 201 [`KeyInfo`] |
//! | `GET /v1/keys`, `GET /v1/keys/{key_id}` | keys and their group keys |
//! | `POST /v1/sign` `{"key_id","intent","request_id"?}` | sign → 200 [`SignResponse`]; 422 `policy_violation` when the signers' policies refuse (each signer's rule listed), 503 `too_few_signers` when too few are reachable |
//! | `GET /v1/sessions/{request_id}` | a request's status and outcome |
//!
//! A signing request is recorded as running before its session starts; its audit record
//! and its outcome are committed in one transaction before the answer goes out, so a
//! signature a client has seen is always in the log, and a record always has its outcome. Requests resubmitted with
//! the same `request_id` get the first outcome, never a second signature.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use frost_core::keys::PublicKeyPackage;
use prover::ProofSystem;
use signer::taproot::{self, Taproot};

use crate::api::{
    blocking, key_attestation, ApiError, ApiJson, CreateKey, DkgFinish, DkgFinishReply, DkgRound2,
    DkgRound2Reply, DkgStart, DkgStartReply, KeyInfo, SessionStatus, SignRequest, SignResponse,
    MAX_BODY_BYTES,
};
use crate::client::{post as post_json, NodeClient};
use crate::config::{ClusterConfig, CoordinatorConfig};
use crate::coordinator::{Coordinator, CoordinatorError, Endpoint};
use crate::ids::{KeyId, RequestId};
use crate::store::{CoordinatorStore, KeyRecord, RequestRecord, RequestStatus, StoreError};

/// A running coordinator's state.
pub struct CoordinatorState<P: ProofSystem + 'static> {
    cluster: ClusterConfig,
    store: CoordinatorStore,
    system: &'static P,
    http: reqwest::Client,
    request_timeout: Duration,
    sessions: RwLock<HashMap<KeyId, Arc<Coordinator<'static, Taproot, P>>>>,
}

impl<P: ProofSystem + 'static> CoordinatorState<P> {
    /// Opens the coordinator's database (requests interrupted by a crash are marked failed)
    /// and its mutual-TLS client towards the nodes.
    pub fn open(
        config: &CoordinatorConfig,
        cluster: ClusterConfig,
        system: &'static P,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let store = CoordinatorStore::open(&config.db)?;
        let interrupted = store.fail_interrupted()?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "requests interrupted by a restart marked failed"
            );
        }
        let tls = crate::tls::client_config(&config.tls_cert, &config.tls_key, &cluster.ca)?;
        let http = crate::client::https_client(tls, config.signer_timeout())?;
        Ok(Self {
            cluster,
            store,
            system,
            http,
            request_timeout: Duration::from_secs(config.request_timeout_secs),
            sessions: RwLock::new(HashMap::new()),
        })
    }

    /// The client API router.
    pub fn router(self: Arc<Self>) -> Router {
        let timeout = self.request_timeout;
        Router::new()
            .route(
                "/v1/health",
                get(|| async { Json(serde_json::json!({"status": "ok"})) }),
            )
            .route("/v1/keys", post(create_key::<P>).get(list_keys::<P>))
            .route("/v1/keys/{key_id}", get(get_key::<P>))
            .route("/v1/sign", post(sign::<P>))
            .route("/v1/sessions/{request_id}", get(session_status::<P>))
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

    fn key_record(&self, key_id: &KeyId) -> Result<KeyRecord, ApiError> {
        self.store
            .key(key_id)
            .map_err(|e| ApiError::internal("reading keys", e))?
            .ok_or_else(|| ApiError::unknown_key(key_id))
    }

    /// The session driver of `key_id` (built on first use from the stored key).
    fn coordinator(
        &self,
        key_id: &KeyId,
    ) -> Result<Arc<Coordinator<'static, Taproot, P>>, ApiError> {
        if let Some(c) = self
            .sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key_id)
        {
            return Ok(c.clone());
        }
        let rec = self.key_record(key_id)?;
        let public: PublicKeyPackage<Taproot> = serde_json::from_str(&rec.public_key_package)
            .map_err(|e| ApiError::internal("stored public key package", e))?;
        let c = Arc::new(
            Coordinator::new(public, self.cluster.roster(), self.system)
                .map_err(|e| ApiError::internal("coordinator", e))?,
        );
        let mut sessions = self.sessions.write().unwrap_or_else(|e| e.into_inner());
        Ok(sessions.entry(key_id.clone()).or_insert(c).clone())
    }
}

fn key_info(rec: &KeyRecord) -> Result<KeyInfo, ApiError> {
    let public: PublicKeyPackage<Taproot> = serde_json::from_str(&rec.public_key_package)
        .map_err(|e| ApiError::internal("stored public key package", e))?;
    Ok(KeyInfo {
        key_id: rec.key_id.clone(),
        threshold: rec.threshold,
        participants: rec.participants,
        backend: rec.backend.clone(),
        group_key: public
            .verifying_key()
            .serialize()
            .map_err(|e| ApiError::internal("group key", e))?,
        x_only_key: taproot::x_only_key(&public).map_err(|e| ApiError::internal("group key", e))?,
        created_at: rec.created_at,
    })
}

async fn list_keys<P: ProofSystem + 'static>(
    State(c): State<Arc<CoordinatorState<P>>>,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    blocking(move || {
        let recs = c
            .store
            .keys()
            .map_err(|e| ApiError::internal("reading keys", e))?;
        Ok(Json(recs.iter().map(key_info).collect::<Result<_, _>>()?))
    })
    .await
}

async fn get_key<P: ProofSystem + 'static>(
    State(c): State<Arc<CoordinatorState<P>>>,
    Path(key_id): Path<String>,
) -> Result<Json<KeyInfo>, ApiError> {
    let key_id = KeyId::new(&key_id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    blocking(move || Ok(Json(key_info(&c.key_record(&key_id)?)?))).await
}

/// Calls `path` on every node at once with `body(node index)`; all must answer.
async fn all_nodes<P, B, T>(
    c: &CoordinatorState<P>,
    path: &str,
    body: impl Fn(usize) -> B,
) -> Result<Vec<T>, ApiError>
where
    P: ProofSystem + 'static,
    B: serde::Serialize + Send + Sync + 'static,
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let calls = c.cluster.nodes.iter().enumerate().map(|(i, n)| {
        let url = format!("{}{path}", n.url.trim_end_matches('/'));
        let b = body(i);
        let http = c.http.clone();
        let id = n.id;
        async move { (id, post_json::<B, T>(&http, &url, &b).await) }
    });
    let mut out = Vec::new();
    let mut failures = Vec::new();
    for (id, r) in futures_join_all(calls).await {
        match r {
            Ok(v) => out.push(v),
            Err(e) => failures.push(format!("signer {id}: {e}")),
        }
    }
    if !failures.is_empty() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "dkg_failed",
            format!("DKG needs every node ({path}): {}", failures.join("; ")),
        ));
    }
    Ok(out)
}

/// Runs futures concurrently and returns their outputs in order.
async fn futures_join_all<F>(fs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

async fn create_key<P: ProofSystem + 'static>(
    State(c): State<Arc<CoordinatorState<P>>>,
    ApiJson(req): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<KeyInfo>), ApiError> {
    let key_id = req.key_id;
    if c.store
        .key(&key_id)
        .map_err(|e| ApiError::internal("reading keys", e))?
        .is_some()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "key_exists",
            format!("key {key_id} already exists"),
        ));
    }
    let t = c.cluster.threshold();
    let start = DkgStart {
        key_id: key_id.clone(),
        threshold: t.t(),
        participants: t.n(),
    };
    let r1: Vec<DkgStartReply> = all_nodes(&c, "/v1/dkg/start", |_| start.clone()).await?;
    let round1: Vec<_> = r1.into_iter().map(|r| r.message).collect();
    let r2: Vec<DkgRound2Reply> = all_nodes(&c, "/v1/dkg/round2", |_| DkgRound2 {
        key_id: key_id.clone(),
        round1: round1.clone(),
    })
    .await?;
    // Route each sealed share to its recipient; the coordinator cannot open them.
    let sealed: Vec<_> = r2.into_iter().flat_map(|r| r.shares).collect();
    let finished: Vec<DkgFinishReply> = all_nodes(&c, "/v1/dkg/finish", |i| DkgFinish {
        key_id: key_id.clone(),
        shares: sealed
            .iter()
            .filter(|s| s.to == c.cluster.nodes[i].id)
            .cloned()
            .collect(),
    })
    .await?;
    // Every node must report the same public key package, signed by its identity key: a
    // relay that showed different broadcasts to different nodes is caught here.
    let first = finished[0]
        .public_key_package
        .serialize()
        .map_err(|e| ApiError::internal("public key package", e))?;
    for (node, f) in c.cluster.nodes.iter().zip(&finished) {
        let bytes = f
            .public_key_package
            .serialize()
            .map_err(|e| ApiError::internal("public key package", e))?;
        let msg = key_attestation(&key_id, node.id, &bytes);
        if f.signer != node.id
            || bytes != first
            || verifier::verify_bip340(&node.identity_key, &msg, &f.attestation).is_err()
        {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "dkg_failed",
                format!(
                    "signer {} reports a different or unsigned group key",
                    node.id
                ),
            ));
        }
    }
    let public = &finished[0].public_key_package;
    let rec = KeyRecord {
        key_id: key_id.clone(),
        threshold: t.t(),
        participants: t.n(),
        backend: crate::config::BackendName::as_str(c.cluster.backend).to_string(),
        group_key: hex::encode(
            public
                .verifying_key()
                .serialize()
                .map_err(|e| ApiError::internal("group key", e))?,
        ),
        public_key_package: serde_json::to_string(public)
            .map_err(|e| ApiError::internal("public key package", e))?,
        created_at: crate::clock::unix_now(),
    };
    let store_c = c.clone();
    let rec = blocking(move || {
        store_c
            .store
            .put_key(&rec)
            .map_err(|e| ApiError::internal("storing the key", e))?;
        Ok(rec)
    })
    .await?;
    tracing::info!(key = %key_id, "key created by DKG");
    Ok((StatusCode::CREATED, Json(key_info(&rec)?)))
}

fn status_name(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::Running => "running",
        RequestStatus::Signed => "signed",
        RequestStatus::Rejected => "rejected",
        RequestStatus::Failed => "failed",
    }
}

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
            let rules: Vec<&str> = excluded
                .iter()
                .filter_map(|x| x.refusal.rule.map(circuits::Rule::as_str))
                .collect();
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
            // The rule most signers named (ties: the first in rule order).
            let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
            for r in &rules {
                *counts.entry(r).or_default() += 1;
            }
            err.rule = counts
                .iter()
                .max_by_key(|(r, n)| (**n, std::cmp::Reverse(**r)))
                .map(|(r, _)| r.to_string());
            err.signers = Some(excluded);
            (state, err)
        }
        other => (
            RequestStatus::Failed,
            ApiError::new(StatusCode::BAD_GATEWAY, "session_failed", other.to_string()),
        ),
    }
}

async fn sign<P: ProofSystem + 'static>(
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

async fn session_status<P: ProofSystem + 'static>(
    State(c): State<Arc<CoordinatorState<P>>>,
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

/// Opens the coordinator (database, TLS) before the caller binds its port, so an open
/// port means a ready coordinator. Returns its TLS configuration and router.
pub async fn prepare<P: ProofSystem + 'static>(
    config: CoordinatorConfig,
    cluster: ClusterConfig,
    system: &'static P,
) -> Result<(Arc<rustls::ServerConfig>, Router), Box<dyn std::error::Error + Send + Sync>> {
    let tls = crate::tls::server_config(&config.tls_cert, &config.tls_key, &cluster.ca)?;
    let state =
        tokio::task::spawn_blocking(move || CoordinatorState::open(&config, cluster, system))
            .await??;
    tracing::info!("coordinator ready");
    Ok((tls, Arc::new(state).router()))
}
