//! The node's side of a DKG: four routes the coordinator's DKG driver calls in turn
//! (start → round 2 → finish → commit). Round-2 shares leave sealed to their recipient,
//! arrive sealed from their sender; the finished share is stored encrypted as `prepared`
//! and the key statement (key id, backend, threshold, participants, roster version, public
//! key package) returned signed by the node's identity key. The share signs only after
//! commit, which brings every participant's signature: the node checks each against the
//! governed roster and its own package, so it never signs under a key the others did not
//! make with it. Unfinished DKG state expires after [`super::state::DKG_TTL`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::keys::dkg::{DkgParticipant, DkgRound2Message};
use signer::taproot::Taproot;
use signer::Threshold;

use super::state::DkgState;
use super::NodeState;
use crate::ids::KeyId;
use crate::net::api::{
    blocking, ApiError, ApiJson, DkgCommit, DkgCommitReply, DkgFinish, DkgFinishReply,
    DkgRound2 as DkgRound2Req, DkgRound2Reply, DkgStart, DkgStartReply,
};
use verifier::audit::{key_attestation_message, KeyStatement};

pub(super) fn check_new_key<P: ProofSystem + 'static>(
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

pub(super) fn no_dkg(key_id: &KeyId, step: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "dkg_out_of_order",
        format!("no DKG for {key_id} waiting for {step}"),
    )
}

pub(super) async fn dkg_start<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<DkgStart>,
) -> Result<Json<DkgStartReply>, ApiError> {
    blocking(move || {
        // A key is made only among the nodes of the roster the admins approved.
        node.governed_roster(crate::clock::unix_now())?;
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
        node.put_dkg(req.key_id, DkgState::Round1(state));
        Ok(Json(DkgStartReply { message }))
    })
    .await
}

pub(super) async fn dkg_round2<P: ProofSystem + 'static>(
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
        node.put_dkg(req.key_id, DkgState::Round2(state));
        Ok(Json(DkgRound2Reply { shares }))
    })
    .await
}

pub(super) async fn dkg_finish<P: ProofSystem + 'static>(
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
        // Prepared: it signs only once every node attested the same key (`/v1/dkg/commit`).
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
        let (roster_version, _) = node.governed_roster_version(crate::clock::unix_now())?;
        let statement = key_statement(&node, &req.key_id, roster_version, &bytes);
        let attestation = node
            .identity
            .sign(
                &key_attestation_message(&statement, node.id.get()),
                &mut OsRng,
            )
            .map_err(|e| ApiError::internal("identity signature", e))?;
        tracing::info!(key = %req.key_id, "DKG finished; share stored, prepared");
        Ok(Json(DkgFinishReply {
            signer: node.id,
            public_key_package: public,
            roster_version,
            attestation,
        }))
    })
    .await
}

/// What this node attests about `key_id`: its cluster's backend and threshold, the roster
/// version and its own package bytes.
fn key_statement<'a, P: ProofSystem + 'static>(
    node: &NodeState<P>,
    key_id: &'a KeyId,
    roster_version: u64,
    package: &'a [u8],
) -> KeyStatement<'a> {
    let t = node.cluster.threshold();
    KeyStatement {
        key_id: key_id.as_str(),
        backend: node.cluster.backend as u8,
        threshold: t.t(),
        participants: t.n(),
        roster_version,
        public_key_package: package,
    }
}

pub(super) async fn dkg_commit<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<DkgCommit>,
) -> Result<Json<DkgCommitReply>, ApiError> {
    blocking(move || {
        let refused = |e: String| ApiError::new(StatusCode::CONFLICT, "dkg_commit_refused", e);
        let (share, committed) = node
            .store
            .any_share::<Taproot>(&req.key_id)
            .map_err(|e| ApiError::internal("reading the key share", e))?
            .ok_or_else(|| refused(format!("signer {} holds no share of {}", node.id, req.key_id)))?;
        let bytes = share
            .public_key_package()
            .serialize()
            .map_err(|e| ApiError::internal("public key package", e))?;
        let (roster_version, roster) = node.governed_roster_version(crate::clock::unix_now())?;
        let statement = key_statement(&node, &req.key_id, roster_version, &bytes);
        // Every rostered node, and no one else, must have attested this very statement.
        if req.attestations.len() != roster.nodes.len() {
            return Err(refused(format!(
                "{} attestations for {} rostered nodes",
                req.attestations.len(),
                roster.nodes.len()
            )));
        }
        for member in &roster.nodes {
            let a = req
                .attestations
                .iter()
                .find(|a| a.signer_id == member.id)
                .ok_or_else(|| refused(format!("no attestation by signer {}", member.id)))?;
            if a.identity_key != member.identity_key
                || verifier::verify_bip340(
                    &member.identity_key,
                    &key_attestation_message(&statement, member.id),
                    &a.signature,
                )
                .is_err()
            {
                return Err(refused(format!(
                    "signer {} did not attest the key this node holds under roster v{roster_version}",
                    member.id
                )));
            }
        }
        if !committed {
            node.store
                .commit_share(&req.key_id)
                .map_err(|e| ApiError::internal("committing the key share", e))?;
            tracing::info!(key = %req.key_id, "key committed: every node attested it");
        }
        Ok(Json(DkgCommitReply { signer: node.id }))
    })
    .await
}
