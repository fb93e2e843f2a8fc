//! `POST /v1/sign-psbt`: a Bitcoin spend from its idempotent start to its recorded outcome,
//! as [`super::sign`] does for intents.
//!
//! The coordinator parses the PSBT itself (refusing it before any node is asked, naming the
//! input), runs [`SpendCoordinator`] over the nodes' spend rounds, and appends the spend's
//! audit record ([`verifier::audit::SpendRecord`]: the unsigned PSBT with its spent outputs,
//! every signer's commitments, proof, shares and attestations, the signatures, the txid) in
//! the same transaction as the request's outcome.
//!
//! The spend coordinator is synchronous: it runs on the blocking pool, one scoped thread
//! per node in each round (so the nodes prove at once), each blocking on its HTTPS call.
//! The network it spends on is the cluster file's; the keys it checks proofs with are its
//! own, each matched against the roster's pin for its class before the session starts.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use circuits::spend::SizeClass;
use circuits::Backend;
use signer::session::spend::{
    RecordPlace, SpendCoordinator, SpendCoordinatorError, SpendEndpoint, SpendRound1Reply,
    SpendRound1Request, SpendRound2Reply, SpendRound2Request,
};
use signer::session::{CoordinatorError, Refusal};
use signer::SignerId;
use verifier::StatementVerifier;

use super::sign::{begin, coordinator_error, replay, Begun};
use super::state::CoordinatorState;
use super::store::RequestStatus;
use crate::ids::RequestId;
use crate::net::api::spend::{SignPsbtRequest, SignPsbtResponse};
use crate::net::api::{blocking, ApiError, ApiJson};
use crate::net::client::NodeClient;
use crate::store::StoreError;

/// A node as the synchronous spend coordinator reaches it: each call blocks this thread on
/// the node's HTTPS round (the coordinator runs on the blocking pool, never on a worker).
struct NodeSpend {
    client: NodeClient,
    runtime: tokio::runtime::Handle,
    /// Round 1's timeout ([`proving_timeout`]).
    prove_timeout: Duration,
}

/// How long a node may take over spend round 1, in which it proves: the signer timeout for
/// every 16 output slots of the spend's class, at most the request timeout (by default 30 s
/// for classes 2 and 16, and 120 s for 256: that class proves for tens of seconds, longer
/// where nodes share a host). `outputs` is the transaction's output count (an
/// upper bound on its external outputs; a PSBT that does not parse gets the smallest class
/// and is refused by the session anyway).
fn proving_timeout(signer: Duration, request: Duration, outputs: usize) -> Duration {
    let slots =
        SizeClass::for_outputs(outputs).map_or(SizeClass::TwoFiftySix.slots(), |c| c.slots());
    (signer * (slots.div_ceil(16) as u32))
        .min(request)
        .max(signer)
}

impl SpendEndpoint for NodeSpend {
    fn id(&self) -> SignerId {
        self.client.id()
    }

    fn spend_round1(&self, req: &SpendRound1Request) -> Result<SpendRound1Reply, Refusal> {
        self.runtime
            .block_on(self.client.spend_round1(req, self.prove_timeout))
    }

    fn spend_round2(&self, req: &SpendRound2Request) -> Result<SpendRound2Reply, Refusal> {
        self.runtime.block_on(self.client.spend_round2(req))
    }
}

/// What a failed spend answers, and how its request is recorded.
fn spend_error(e: SpendCoordinatorError) -> (RequestStatus, ApiError) {
    match e {
        SpendCoordinatorError::Psbt(m) => (
            RequestStatus::Rejected,
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "psbt_refused", m),
        ),
        SpendCoordinatorError::NoKeys(slots) => (
            RequestStatus::Rejected,
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_spend_keys",
                format!("the cluster signs no spend with more than the classes it has keys for ({slots} outputs needed)"),
            ),
        ),
        SpendCoordinatorError::Session(e) => {
            // A spend policy's refusal names its rule and output in the reason
            // (`spend policy refused: <rule> (output i)`): such a spend is rejected, not failed.
            let refused_by_policy = matches!(&e, CoordinatorError::TooFewSigners { excluded, .. }
                if excluded.iter().any(|x| x.refusal.reason.starts_with("spend policy refused")));
            let (status, mut err) = coordinator_error(e);
            if refused_by_policy {
                err.status = StatusCode::UNPROCESSABLE_ENTITY.as_u16();
                err.error = "spend_policy_violation".into();
                return (RequestStatus::Rejected, err);
            }
            (status, err)
        }
    }
}

/// Signs a PSBT (or replays its first outcome). The session runs as its own task, as for
/// intents: a client that leaves does not cut it short.
pub(super) async fn sign_psbt<V: StatementVerifier + 'static>(
    State(c): State<Arc<CoordinatorState<V>>>,
    ApiJson(req): ApiJson<SignPsbtRequest>,
) -> Result<Json<SignPsbtResponse>, ApiError> {
    tokio::spawn(run(c, req))
        .await
        .map_err(|e| ApiError::internal("spend task", e))?
}

async fn run<V: StatementVerifier + 'static>(
    c: Arc<CoordinatorState<V>>,
    req: SignPsbtRequest,
) -> Result<Json<SignPsbtResponse>, ApiError> {
    use bitcoin::base64::Engine;
    let request_id = req.request_id.clone().unwrap_or_else(RequestId::random);
    let now = crate::clock::unix_now();
    let network = c.cluster.bitcoin_network().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_network",
            "cluster.toml names no Bitcoin network: this cluster signs no spends",
        )
    })?;
    let psbt = bitcoin::base64::engine::general_purpose::STANDARD
        .decode(req.psbt.trim().as_bytes())
        .map_err(|e| ApiError::bad_request(format!("psbt: not base64: {e}")))?;
    let roster = c.governed_roster(now)?;
    // Proofs are checked only under spend keys the admins pinned.
    c.pinned_spend_keys(&roster)?;
    let identities = crate::cluster::roster::identities(&roster);
    let public = match begin(&c, &req.key_id, &request_id).await? {
        Begun::New(public) => public,
        Begun::Seen(existing) => return replay(existing),
    };
    let policies = c
        .registry()
        .spend_policies(req.key_id.as_str(), V::Backend::ID, now);
    let runtime = tokio::runtime::Handle::current();
    let outputs = bitcoin::psbt::Psbt::deserialize(&psbt).map_or(0, |p| p.unsigned_tx.output.len());
    let prove_timeout = proving_timeout(c.signer_timeout, c.request_timeout, outputs);
    let session = {
        let (c, key_id, public, identities) = (
            c.clone(),
            req.key_id.clone(),
            public.clone(),
            identities.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let endpoints: Vec<NodeSpend> = c
                .cluster
                .nodes
                .iter()
                .map(|n| NodeSpend {
                    client: NodeClient::new(n.id, &n.url, key_id.clone(), c.http.clone()),
                    runtime: runtime.clone(),
                    prove_timeout,
                })
                .collect();
            let endpoints: Vec<&dyn SpendEndpoint> =
                endpoints.iter().map(|e| e as &dyn SpendEndpoint).collect();
            let verifiers = c.spend.iter().map(|(class, v)| (*class, v)).collect();
            let coordinator = SpendCoordinator::<V::Spend> {
                public: &public,
                threshold: usize::from(c.cluster.threshold),
                roster: &identities,
                network,
                policies: &policies,
                verifiers,
            };
            coordinator.sign(&endpoints, &psbt, now, &mut rand::rngs::OsRng)
        })
        .await
        .map_err(|e| ApiError::internal("spend session", e))?
    };
    let outcome = match session {
        Ok(signed) => {
            let record = signed.audit_record(
                &public,
                &identities,
                RecordPlace {
                    key_id: req.key_id.as_str(),
                    threshold: c.cluster.threshold,
                    network,
                    // Set when appended, from the log's last line.
                    index: 0,
                    time: crate::clock::unix_now(),
                    prev: [0; 32],
                },
            );
            match record {
                Ok(mut record) => {
                    let response = SignPsbtResponse {
                        request_id: request_id.clone(),
                        key_id: req.key_id.clone(),
                        session: hex::encode(signed.session.as_bytes()),
                        psbt: signed.signed.psbt_base64(),
                        tx_hex: signed.signed.raw_tx_hex(),
                        txid: signed.signed.txid.to_string(),
                        audit_index: 0,
                        excluded: signed.excluded.clone(),
                    };
                    let (c2, id) = (c.clone(), request_id.clone());
                    blocking(move || {
                        let mut response = response;
                        c2.store
                            .append_spend_and_finish(&id, &mut record, |rec| {
                                response.audit_index = rec.index;
                                serde_json::to_string(&response)
                                    .map_err(|e| StoreError::Invalid(e.to_string()))
                            })
                            .map_err(|e| ApiError::internal("appending the audit record", e))?;
                        Ok(response)
                    })
                    .await
                    .map_err(|e| (RequestStatus::Failed, e))
                }
                Err(e) => Err((RequestStatus::Failed, ApiError::internal("audit record", e))),
            }
        }
        Err(e) => Err(spend_error(e)),
    };
    match outcome {
        Ok(resp) => {
            tracing::info!(request = %request_id, key = %req.key_id, txid = %resp.txid, "spend signed");
            c.witness_soon();
            Ok(Json(resp))
        }
        Err((status, mut err)) => {
            err.request_id = Some(request_id.clone());
            let json = serde_json::to_string(&err).map_err(|e| ApiError::internal("outcome", e))?;
            let (c2, id) = (c.clone(), request_id.clone());
            blocking(move || {
                c2.store
                    .finish_request(&id, status, &json)
                    .map_err(|e| ApiError::internal("recording the outcome", e))
            })
            .await?;
            tracing::info!(request = %request_id, key = %req.key_id, error = %err, "spend not signed");
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_class_gets_longer_to_prove_within_the_request_timeout() {
        let (signer, request) = (Duration::from_secs(30), Duration::from_secs(120));
        assert_eq!(proving_timeout(signer, request, 2), signer);
        assert_eq!(proving_timeout(signer, request, 16), signer, "class 16");
        assert_eq!(
            proving_timeout(signer, request, 101),
            request,
            "class 256, capped"
        );
        assert_eq!(
            proving_timeout(signer, Duration::from_secs(3_600), 101),
            Duration::from_secs(480)
        );
        // Too many outputs for any class: the largest class's bound (the session refuses it).
        assert_eq!(proving_timeout(signer, request, 10_000), request);
        // A request timeout below the signer timeout does not shorten a call.
        assert_eq!(proving_timeout(signer, Duration::from_secs(10), 2), signer);
    }
}
