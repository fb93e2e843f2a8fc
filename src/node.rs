//! The signer node: an HTTPS server (mutual TLS, coordinator only) around
//! [`SessionSigner`], with its state in the node's SQLite database.
//!
//! Routes (all `POST` bodies JSON, see [`crate::api`]):
//!
//! | route | what |
//! |---|---|
//! | `GET /v1/status` | signer id, keys held, active policy version |
//! | `POST /v1/dkg/start` | begin a DKG: returns the round-1 broadcast |
//! | `POST /v1/dkg/round2` | everyone's broadcasts in; secret shares out, each sealed to its recipient |
//! | `POST /v1/dkg/finish` | the sealed shares for this node in; the share is stored encrypted; the public key package out, signed |
//! | `POST /v1/sign/round1` | policy check, fresh nonces (recorded before they leave), bound proof |
//! | `POST /v1/sign/round2` | every check of round 2, nonces marked used in a committed transaction, then the share |
//!
//! Requests must come over a connection authenticated with the coordinator's certificate
//! (pinned by fingerprint); anything else is 403. Proving and database work run on the
//! blocking pool, so slow proofs never stall the accept loop.
//!
//! The policy is read from the database at every round 1, so `zkquorum policy set` on a
//! running node takes effect for the next session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use circuits::Policy;
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::keys::dkg::{DkgParticipant, DkgRound1, DkgRound2, DkgRound2Message};
use signer::session::{Identity, SessionError, SessionSigner};
use signer::taproot::Taproot;
use signer::{Signer, SignerError, SignerId, Threshold};

use crate::api::{
    blocking, key_attestation, ApiError, ApiJson, DkgFinish, DkgFinishReply,
    DkgRound2 as DkgRound2Req, DkgRound2Reply, DkgStart, DkgStartReply, NodeStatus,
    Round1ReplyWire, Round2ReplyWire, SignRound1, SignRound2, MAX_BODY_BYTES,
};
use crate::config::{ClusterConfig, NodeConfig};
use crate::dkg_seal::HpkeKey;
use crate::ids::KeyId;
use crate::serve::PeerCert;
use crate::store::{NodeStore, SqliteNonceStore};

type NodeSigner<P> = SessionSigner<'static, Taproot, SqliteNonceStore<Taproot>, P>;

enum DkgState {
    Round1(DkgRound1<Taproot>),
    Round2(DkgRound2<Taproot>),
}

/// A running node's state.
pub struct NodeState<P: ProofSystem + 'static> {
    id: SignerId,
    cluster: ClusterConfig,
    store: Arc<NodeStore>,
    identity: Identity,
    hpke: HpkeKey,
    system: &'static P,
    max_skew: u64,
    /// The active policy and its version, as the signers below were given it.
    policy: Mutex<Option<(u64, Policy)>>,
    signers: RwLock<HashMap<KeyId, Arc<NodeSigner<P>>>>,
    dkg: Mutex<HashMap<KeyId, DkgState>>,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The database could not be opened (wrong passphrase, corrupt, newer schema).
    #[error("node database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Stored identity keys are unusable.
    #[error("identity keys: {0}")]
    Identity(String),
    /// TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The stored identity does not match the cluster file.
    #[error("node {id}: stored identity key does not match cluster.toml")]
    IdentityMismatch {
        /// The node.
        id: SignerId,
    },
}

impl<P: ProofSystem + 'static> NodeState<P> {
    /// Opens the node's database with `passphrase` and prepares its state. Fresh nonces left
    /// by a previous run are marked abandoned (they lived only in that process's memory).
    pub fn open(
        config: &NodeConfig,
        cluster: ClusterConfig,
        passphrase: &[u8],
        system: &'static P,
    ) -> Result<Self, NodeError> {
        let store = Arc::new(NodeStore::open(&config.db, passphrase)?);
        let secrets = store.identity()?;
        let identity = Identity::from_bytes(&secrets.signing)
            .map_err(|e| NodeError::Identity(e.to_string()))?;
        let hpke =
            HpkeKey::from_bytes(&secrets.hpke).map_err(|e| NodeError::Identity(e.to_string()))?;
        let entry = cluster
            .node(config.id)
            .ok_or(NodeError::IdentityMismatch { id: config.id })?;
        if store.node_id() != config.id
            || entry.identity_key != identity.public_key()
            || entry.hpke_key != hpke.public_bytes()
        {
            return Err(NodeError::IdentityMismatch { id: config.id });
        }
        let abandoned = store.abandon_fresh_nonces()?;
        if abandoned > 0 {
            tracing::warn!(
                abandoned,
                "nonces of unfinished sessions abandoned after a restart"
            );
        }
        Ok(Self {
            id: config.id,
            cluster,
            store,
            identity,
            hpke,
            system,
            max_skew: config.max_clock_skew_secs,
            policy: Mutex::new(None),
            signers: RwLock::new(HashMap::new()),
            dkg: Mutex::new(HashMap::new()),
        })
    }

    /// The node's router (to be served over mutual TLS by [`crate::serve::serve`]).
    pub fn router(self: Arc<Self>, coordinator_pin: [u8; 32]) -> Router {
        Router::new()
            .route("/v1/status", get(status::<P>))
            .route("/v1/dkg/start", post(dkg_start::<P>))
            .route("/v1/dkg/round2", post(dkg_round2::<P>))
            .route("/v1/dkg/finish", post(dkg_finish::<P>))
            .route("/v1/sign/round1", post(round1::<P>))
            .route("/v1/sign/round2", post(round2::<P>))
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

    /// The active policy. Its version is read from the database at every call (so a
    /// `zkquorum policy set` on the running node takes effect at the next round 1); the
    /// policy itself is decrypted and handed to the signers only when the version moved.
    fn current_policy(&self) -> Result<Policy, ApiError> {
        let no_policy = || {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_policy",
                format!(
                    "signer {} has no policy; run `zkquorum policy set`",
                    self.id
                ),
            )
        };
        let version = self
            .store
            .active_policy_version()
            .map_err(|e| ApiError::internal("reading the policy version", e))?
            .ok_or_else(no_policy)?;
        let mut active = self.policy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((v, p)) = active.as_ref() {
            if *v == version {
                return Ok(p.clone());
            }
        }
        let (version, policy) = self
            .store
            .policy()
            .map_err(|e| ApiError::internal("reading the policy", e))?
            .ok_or_else(no_policy)?;
        for s in self
            .signers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            s.set_policy(policy.clone());
        }
        *active = Some((version, policy.clone()));
        tracing::info!(version, "policy loaded");
        Ok(policy)
    }

    /// Takes the DKG state of `key_id` if `want` accepts it (the step `step` expects);
    /// a state at another step is left in place.
    fn take_dkg<T>(
        &self,
        key_id: &KeyId,
        step: &str,
        want: impl FnOnce(DkgState) -> Result<T, DkgState>,
    ) -> Result<T, ApiError> {
        let mut dkg = self.dkg.lock().unwrap_or_else(|e| e.into_inner());
        let state = dkg.remove(key_id).ok_or_else(|| no_dkg(key_id, step))?;
        want(state).map_err(|other| {
            dkg.insert(key_id.clone(), other);
            no_dkg(key_id, step)
        })
    }

    /// The session signer of `key_id`, built from the stored share on first use.
    fn signer(&self, key_id: &KeyId, policy: Policy) -> Result<Arc<NodeSigner<P>>, ApiError> {
        if let Some(s) = self
            .signers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key_id)
        {
            return Ok(s.clone());
        }
        let share = self
            .store
            .share::<Taproot>(key_id)
            .map_err(|e| ApiError::internal("reading the key share", e))?
            .ok_or_else(|| ApiError::unknown_key(key_id))?;
        let nonces = self.store.nonce_store::<Taproot>(key_id.clone());
        let identity = Identity::from_bytes(&self.identity.to_bytes())
            .map_err(|e| ApiError::internal("identity key", e))?;
        let signer = Arc::new(SessionSigner::new(
            Signer::new(share, nonces),
            policy,
            identity,
            self.cluster.roster(),
            self.system,
        ));
        let mut signers = self.signers.write().unwrap_or_else(|e| e.into_inner());
        Ok(signers.entry(key_id.clone()).or_insert(signer).clone())
    }
}

async fn only_coordinator(pin: [u8; 32], req: Request, next: Next) -> Response {
    match req.extensions().get::<PeerCert>() {
        Some(PeerCert(fp)) if *fp == pin => next.run(req).await,
        _ => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "signer nodes serve only the cluster's coordinator",
        )
        .into_response(),
    }
}

fn session_error(e: SessionError) -> ApiError {
    let (status, code) = match &e {
        SessionError::Policy(_) => (StatusCode::UNPROCESSABLE_ENTITY, "policy_violation"),
        SessionError::NotSelected(_) => (StatusCode::BAD_REQUEST, "not_selected"),
        SessionError::UnknownSession(_) => (StatusCode::CONFLICT, "unknown_session"),
        SessionError::Expired { .. } => (StatusCode::CONFLICT, "session_expired"),
        SessionError::DigestMismatch => (StatusCode::BAD_REQUEST, "digest_mismatch"),
        SessionError::BadReply { .. } => (StatusCode::BAD_REQUEST, "bad_reply"),
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
    let mut err = ApiError::new(status, code, e.to_string());
    if let SessionError::Policy(v) = &e {
        err.rule = Some(v.rule().to_string());
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

fn check_new_key<P: ProofSystem + 'static>(
    node: &NodeState<P>,
    key_id: &KeyId,
) -> Result<(), ApiError> {
    let held = node
        .store
        .share::<Taproot>(key_id)
        .map_err(|e| ApiError::internal("reading the key share", e))?;
    if held.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "key_exists",
            format!("signer {} already holds a share of {key_id}", node.id),
        ));
    }
    Ok(())
}

fn no_dkg(key_id: &KeyId, step: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "dkg_out_of_order",
        format!("no DKG for {key_id} waiting for {step}"),
    )
}

async fn dkg_start<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<DkgStart>,
) -> Result<Json<DkgStartReply>, ApiError> {
    blocking(move || {
        let expected = node.cluster.threshold();
        if req.threshold != expected.t() || req.participants != expected.n() {
            return Err(ApiError::bad_request(format!(
                "cluster is {}-of-{}, request asks {}-of-{}",
                expected.t(),
                expected.n(),
                req.threshold,
                req.participants
            )));
        }
        check_new_key(&node, &req.key_id)?;
        let t = Threshold::new(req.threshold, req.participants)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let (state, message) = DkgParticipant::start::<Taproot, _>(node.id, t, &mut OsRng)
            .map_err(|e| ApiError::internal("DKG start", e))?;
        // A new start replaces an unfinished DKG of the same key (the coordinator retries).
        node.dkg
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(req.key_id, DkgState::Round1(state));
        Ok(Json(DkgStartReply { message }))
    })
    .await
}

async fn dkg_round2<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<DkgRound2Req>,
) -> Result<Json<DkgRound2Reply>, ApiError> {
    blocking(move || {
        let state = node.take_dkg(&req.key_id, "round 2", |s| match s {
            DkgState::Round1(r) => Ok(r),
            other => Err(other),
        })?;
        let others = req
            .round1
            .into_iter()
            .filter(|m| m.from != node.id)
            .collect();
        let (state, outgoing) = state
            .receive(others)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "dkg_failed", e.to_string()))?;
        let mut shares = Vec::with_capacity(outgoing.len());
        for m in outgoing {
            let to = node
                .cluster
                .node(m.to)
                .ok_or_else(|| ApiError::internal("DKG", format!("no node {}", m.to)))?;
            let json = signer::wire::encode("DKG round-2 message", &m)
                .map_err(|e| ApiError::internal("DKG", e))?;
            let json = zeroize::Zeroizing::new(json);
            shares.push(
                node.hpke
                    .seal(
                        &req.key_id,
                        node.id,
                        m.to,
                        &to.hpke_key,
                        json.as_bytes(),
                        &mut OsRng,
                    )
                    .map_err(|e| ApiError::internal("sealing a DKG share", e))?,
            );
        }
        node.dkg
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(req.key_id, DkgState::Round2(state));
        Ok(Json(DkgRound2Reply { shares }))
    })
    .await
}

async fn dkg_finish<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<DkgFinish>,
) -> Result<Json<DkgFinishReply>, ApiError> {
    blocking(move || {
        let state = node.take_dkg(&req.key_id, "finish", |s| match s {
            DkgState::Round2(r) => Ok(r),
            other => Err(other),
        })?;
        let dkg_failed = |e: String| ApiError::new(StatusCode::BAD_REQUEST, "dkg_failed", e);
        let mut messages = Vec::with_capacity(req.shares.len());
        for sealed in &req.shares {
            let from = node
                .cluster
                .node(sealed.from)
                .ok_or_else(|| dkg_failed(format!("share from unknown signer {}", sealed.from)))?;
            let plain = node
                .hpke
                .open(&req.key_id, node.id, &from.hpke_key, sealed)
                .map_err(|e| dkg_failed(e.to_string()))?;
            let text = std::str::from_utf8(&plain).map_err(|e| dkg_failed(e.to_string()))?;
            let m: DkgRound2Message<Taproot> = signer::wire::decode("DKG round-2 message", text)
                .map_err(|e| dkg_failed(e.to_string()))?;
            if m.from != sealed.from || m.to != node.id {
                return Err(dkg_failed(format!(
                    "sealed share from {} holds a message from {} to {}",
                    sealed.from, m.from, m.to
                )));
            }
            messages.push(m);
        }
        let share = state
            .finish(messages)
            .map_err(|e| dkg_failed(e.to_string()))?;
        node.store
            .put_share(&req.key_id, &share)
            .map_err(|e| match e {
                crate::store::StoreError::Exists { .. } => ApiError::new(
                    StatusCode::CONFLICT,
                    "key_exists",
                    format!("signer {} already holds a share of {}", node.id, req.key_id),
                ),
                e => ApiError::internal("storing the key share", e),
            })?;
        let public = share.public_key_package().clone();
        let bytes = public
            .serialize()
            .map_err(|e| ApiError::internal("public key package", e))?;
        let attestation = node
            .identity
            .sign(&key_attestation(&req.key_id, node.id, &bytes), &mut OsRng)
            .map_err(|e| ApiError::internal("identity signature", e))?;
        tracing::info!(key = %req.key_id, "DKG finished; share stored");
        Ok(Json(DkgFinishReply {
            signer: node.id,
            public_key_package: public,
            attestation,
        }))
    })
    .await
}

async fn round1<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<SignRound1>,
) -> Result<Json<Round1ReplyWire>, ApiError> {
    blocking(move || {
        let clock = crate::clock::unix_now();
        if req.now.abs_diff(clock) > node.max_skew {
            return Err(ApiError::bad_request(format!(
                "session time {} is {} s from this signer's clock (at most {} s allowed)",
                req.now,
                req.now.abs_diff(clock),
                node.max_skew
            )));
        }
        let policy = node.current_policy()?;
        let key_id = req.key_id.clone();
        let signer = node.signer(&key_id, policy)?;
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
        let loaded = node
            .signers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key_id)
            .cloned();
        let Some(signer) = loaded else {
            // A held key with no signer loaded has had no round 1 since this node started.
            check_new_key(&node, &key_id)
                .map_err(|_| session_error(SessionError::UnknownSession(req.session)))?;
            return Err(ApiError::unknown_key(&key_id));
        };
        let reply = signer.round2(&req, &mut OsRng).map_err(session_error)?;
        Ok(Json(Round2ReplyWire::encode(&reply)))
    })
    .await
}

/// A node ready to serve: its TLS configuration and router.
pub type Ready = (Arc<rustls::ServerConfig>, Router);

/// Opens the node (database, keys, TLS): everything that can fail or take time happens
/// here, before the caller binds its port, so an open port means a ready node.
pub async fn prepare<P: ProofSystem + 'static>(
    config: NodeConfig,
    cluster: ClusterConfig,
    passphrase: zeroize::Zeroizing<String>,
    system: &'static P,
) -> Result<Ready, NodeError> {
    let tls = crate::tls::server_config(&config.tls_cert, &config.tls_key, &cluster.ca)?;
    let pin = crate::tls::fingerprint(&crate::tls::load_certs(&cluster.coordinator_cert)?[0]);
    // Argon2id and SQLite: off the async workers.
    let state = tokio::task::spawn_blocking(move || {
        NodeState::open(&config, cluster, passphrase.as_bytes(), system)
    })
    .await
    .map_err(|e| NodeError::Identity(e.to_string()))??;
    tracing::info!(signer = %state.id, "signer node ready");
    Ok((tls, Arc::new(state).router(pin)))
}
