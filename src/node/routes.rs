//! The node's HTTP routes: the router (coordinator-only, body limit, timeout), the status
//! route and the two signing rounds. The DKG routes are in [`super::dkg`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::session::{LedgerError, SessionError};
use signer::SignerError;

use super::dkg::{check_new_key, dkg_commit, dkg_finish, dkg_round2, dkg_start};
use super::NodeState;
use crate::net::api::governance::{accept_records, GovernanceHead, GovernancePush};
use crate::net::api::spend::{
    SpendRound1ReplyWire, SpendRound1Wire, SpendRound2ReplyWire, SpendRound2Wire,
};
use crate::net::api::{
    blocking, ApiError, ApiJson, NodeStatus, Round1ReplyWire, Round2ReplyWire, SignRound1,
    SignRound2, MAX_BODY_BYTES,
};
use crate::net::roles::{Peer, Role};

impl<P: ProofSystem + 'static> NodeState<P> {
    /// The node's router (to be served over mutual TLS by [`crate::net::serve::serve`]).
    /// Every route answers only the coordinator: a request whose certificate is not a
    /// `coordinator` one with the key `coordinator_pin` (the key fingerprint of
    /// `cluster.toml`'s `coordinator_cert`, see [`crate::net::tls::key_fingerprint`]) is
    /// answered 403 `forbidden`, whatever route it asks for.
    pub fn router(self: Arc<Self>, coordinator_pin: [u8; 32]) -> Router {
        Router::new()
            .route("/v1/status", get(status::<P>))
            .route("/v1/dkg/start", post(dkg_start::<P>))
            .route("/v1/dkg/round2", post(dkg_round2::<P>))
            .route("/v1/dkg/finish", post(dkg_finish::<P>))
            .route("/v1/dkg/commit", post(dkg_commit::<P>))
            .route("/v1/sign/round1", post(round1::<P>))
            .route("/v1/sign/round2", post(round2::<P>))
            .route("/v1/node/spend/round1", post(spend_round1::<P>))
            .route("/v1/node/spend/round2", post(spend_round2::<P>))
            .route("/v1/node/governance", post(governance::<P>))
            .route(
                "/v1/node/witness",
                post(super::witness::witness::<P>).get(super::witness::witness_state::<P>),
            )
            .fallback(|| async {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
            })
            .layer(middleware::from_fn(move |req: Request, next: Next| {
                only_coordinator(coordinator_pin, req, next)
            }))
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                Duration::from_secs(60),
            ))
            .with_state(self)
    }
}

/// The node's guard: the role `coordinator` and the pinned key, both. The role alone would
/// let any certificate the CA ever issued to a coordinator in; the pin alone would accept
/// the coordinator's key in a certificate granting another role.
async fn only_coordinator(pin: [u8; 32], req: Request, next: Next) -> Response {
    let refuse = |who: String| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("signer nodes serve only the cluster's coordinator; {who}"),
        )
        .into_response()
    };
    match req.extensions().get::<Peer>() {
        Some(p) if p.role == Role::Coordinator && p.key_fingerprint == pin => next.run(req).await,
        Some(p) if p.role == Role::Coordinator => refuse(format!(
            "the coordinator certificate {:?} is not of the pinned coordinator key",
            p.name
        )),
        Some(p) => refuse(format!("this certificate is {} {:?}", p.role, p.name)),
        None => refuse("the connection carries no client certificate".into()),
    }
}

fn session_error(e: SessionError) -> ApiError {
    let (status, code) = match &e {
        SessionError::Policy(_) => (StatusCode::UNPROCESSABLE_ENTITY, "policy_violation"),
        SessionError::PolicyNotRegistered { .. } => (StatusCode::CONFLICT, "policy_not_registered"),
        SessionError::Replayed(LedgerError::AlreadySigned { .. }) => {
            (StatusCode::CONFLICT, "intent_replayed")
        }
        SessionError::Replayed(LedgerError::Storage(_)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "intent_ledger")
        }
        SessionError::NotSelected(_) => (StatusCode::BAD_REQUEST, "not_selected"),
        SessionError::UnknownSession(_) => (StatusCode::CONFLICT, "unknown_session"),
        SessionError::Expired { .. } => (StatusCode::CONFLICT, "session_expired"),
        SessionError::DigestMismatch => (StatusCode::BAD_REQUEST, "digest_mismatch"),
        SessionError::BadReply { .. } => (StatusCode::BAD_REQUEST, "bad_reply"),
        SessionError::Spend(_) => (StatusCode::UNPROCESSABLE_ENTITY, "spend_policy_violation"),
        SessionError::Psbt(_) => (StatusCode::UNPROCESSABLE_ENTITY, "psbt_refused"),
        SessionError::NoSpendKeys(_) => (StatusCode::CONFLICT, "no_spend_keys"),
        SessionError::TxAlreadySigned(_) => (StatusCode::CONFLICT, "transaction_replayed"),
        SessionError::InputCount { .. } | SessionError::SighashMismatch { .. } => {
            (StatusCode::BAD_REQUEST, "sighash_mismatch")
        }
        SessionError::Prove(_) => (StatusCode::INTERNAL_SERVER_ERROR, "prove_failed"),
        SessionError::Signer(SignerError::NonceExists(_)) => {
            (StatusCode::CONFLICT, "session_replayed")
        }
        SessionError::Signer(SignerError::NonceAlreadyUsed(_)) => {
            (StatusCode::CONFLICT, "nonce_used")
        }
        SessionError::Signer(SignerError::UnknownSession(_)) => {
            (StatusCode::CONFLICT, "unknown_session")
        }
        SessionError::Signer(SignerError::NonceStore(_)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "nonce_store")
        }
        SessionError::Signer(_) => (StatusCode::BAD_REQUEST, "signing_refused"),
    };
    let mut err = ApiError::new(status, code, e.public_message());
    if let SessionError::Policy(v) = &e {
        // The values stay on this node: the answer names the rule only.
        tracing::info!(rule = %v.rule(), detail = %v, "round 1 refused by the policy");
        err.rule = Some(v.rule());
    }
    err
}

async fn status<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
) -> Result<Json<NodeStatus>, ApiError> {
    blocking(move || {
        Ok(Json(NodeStatus {
            signer: node.id,
            keys: node
                .store
                .key_ids()
                .map_err(|e| ApiError::internal("listing keys", e))?,
            policy_version: node
                .store
                .active_policy_version()
                .map_err(|e| ApiError::internal("reading the policy version", e))?,
        }))
    })
    .await
}

async fn round1<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<SignRound1>,
) -> Result<Json<Round1ReplyWire>, ApiError> {
    let permit = node.prover_permit().await?;
    blocking(move || {
        let _permit = permit;
        node.check_session_time(req.now)?;
        let key_id = req.key_id.clone();
        let signer = node.signer(&key_id)?;
        node.refresh_roster(&signer, req.now)?;
        node.refresh_policies(&signer)?;
        let reply = signer
            .round1(&req.decode(), &mut OsRng)
            .map_err(session_error)?;
        Ok(Json(Round1ReplyWire::encode(&reply)?))
    })
    .await
}

async fn round2<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<SignRound2>,
) -> Result<Json<Round2ReplyWire>, ApiError> {
    blocking(move || {
        let (key_id, req) = req.decode()?;
        let Some(signer) = node.loaded_signer(&key_id) else {
            // A held key with no signer loaded has had no round 1 since this node started.
            check_new_key(&node, &key_id)
                .map_err(|_| session_error(SessionError::UnknownSession(req.session)))?;
            return Err(ApiError::unknown_key(&key_id));
        };
        node.refresh_roster(&signer, crate::clock::unix_now())?;
        let reply = signer.round2(&req, &mut OsRng).map_err(session_error)?;
        Ok(Json(Round2ReplyWire::encode(&reply)))
    })
    .await
}

/// `POST /v1/node/spend/round1`: derive the spend from the PSBT on this node's network,
/// check the registered spend policy, nonces per input, one proof (see
/// [`signer::session::spend`]).
async fn spend_round1<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<SpendRound1Wire>,
) -> Result<Json<SpendRound1ReplyWire>, ApiError> {
    let permit = node.prover_permit().await?;
    blocking(move || {
        let _permit = permit;
        node.check_session_time(req.now)?;
        let network = node.network()?;
        let key_id = req.key_id.clone();
        let req = req.decode(network)?;
        let signer = node.signer(&key_id)?;
        node.refresh_roster(&signer, req.now)?;
        node.check_spend_pins(req.now)?;
        node.refresh_spend_policies(&signer)?;
        let reply = signer
            .spend_round1(&req, &node.spend, &mut OsRng)
            .map_err(session_error)?;
        SpendRound1ReplyWire::encode(&reply).map(Json)
    })
    .await
}

/// `POST /v1/node/spend/round2`: every co-signer's contribution checked, each input's
/// package checked against this node's own sighash, then one share per input.
async fn spend_round2<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<SpendRound2Wire>,
) -> Result<Json<SpendRound2ReplyWire>, ApiError> {
    blocking(move || {
        let (key_id, req) = req.decode()?;
        let Some(signer) = node.loaded_signer(&key_id) else {
            return Err(session_error(SessionError::UnknownSession(req.session)));
        };
        node.refresh_roster(&signer, crate::clock::unix_now())?;
        let reply = signer
            .spend_round2(&req, &node.spend, &mut OsRng)
            .map_err(session_error)?;
        Ok(Json(SpendRound2ReplyWire::encode(&reply)))
    })
    .await
}

/// `POST /v1/node/governance`: records the coordinator relays. Each is checked against this
/// node's own registry (the coordinator's word counts for nothing), appended with the
/// sealed high-water mark in one transaction, then applied; a version already held must be
/// byte-identical. An empty list only asks for the head.
async fn governance<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<GovernancePush>,
) -> Result<Json<GovernanceHead>, ApiError> {
    blocking(move || {
        let mut registry = node.governance.write().unwrap_or_else(|e| e.into_inner());
        let before = registry.head();
        let head = accept_records(&mut registry, req.records, |signed| {
            node.store
                .append_governance(signed)
                .map_err(|e| ApiError::internal("storing a governance record", e))
        })?;
        if head.head != before {
            tracing::info!(from = before, to = head.head, "governance records accepted");
        }
        Ok(Json(head))
    })
    .await
}
