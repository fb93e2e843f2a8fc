//! The coordinator's side of governance: `POST /v1/governance` (a record submitted by an
//! admin: checked against the coordinator's own registry, appended to its database, then
//! pushed to every node), `GET /v1/governance?from=N` (its records), and the push of its
//! whole registry to every node at start-up.
//!
//! The coordinator only distributes: each node checks every record itself against its own
//! trust root, so a record the admins did not sign goes nowhere. A node that is down when
//! a record is accepted gets it at the next push (the next accepted record, or the
//! coordinator's next start).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use verifier::governance::{Registry, SignedRecord};
use verifier::StatementVerifier;

use super::state::CoordinatorState;
use crate::cluster::config::NodeEntry;
use crate::net::api::governance::{
    accept_records, GovernanceHead, GovernanceList, GovernancePush, GovernanceQuery, NodePush,
    SubmitReply,
};
use crate::net::api::{blocking, ApiError, ApiJson};
use crate::net::client::{ClientError, HttpClient};

/// Records sent to a node in one call (a push after a long outage is split).
const PUSH_CHUNK: usize = 64;

/// The node route records are pushed to.
pub const NODE_GOVERNANCE_ROUTE: &str = "/v1/node/governance";

/// Brings node `node` up to `records` (the coordinator's registry): asks its head, then
/// sends what it lacks in chunks. Returns the node's head.
pub async fn push_to_node(
    http: &HttpClient,
    node: &NodeEntry,
    records: &[SignedRecord],
) -> Result<u64, ClientError> {
    let url = format!("{}{NODE_GOVERNANCE_ROUTE}", node.url.trim_end_matches('/'));
    let ask = GovernancePush {
        records: Vec::new(),
    };
    let mut head = http.post::<_, GovernanceHead>(&url, &ask).await?.head;
    let start = usize::try_from(head)
        .unwrap_or(usize::MAX)
        .min(records.len());
    for chunk in records[start..].chunks(PUSH_CHUNK) {
        let body = GovernancePush {
            records: chunk.to_vec(),
        };
        head = http.post::<_, GovernanceHead>(&url, &body).await?.head;
    }
    if head > records.len() as u64 {
        tracing::warn!(
            signer = %node.id,
            node_head = head,
            coordinator_head = records.len(),
            "a node holds governance records this coordinator does not"
        );
    }
    Ok(head)
}

/// Pushes `records` to every node at once; one answer per node, in node order.
pub async fn push_to_all(
    http: &HttpClient,
    nodes: &[NodeEntry],
    records: Arc<Vec<SignedRecord>>,
) -> Vec<NodePush> {
    let calls = nodes.iter().map(|n| {
        let (http, n, records) = (http.clone(), n.clone(), records.clone());
        async move {
            match push_to_node(&http, &n, &records).await {
                Ok(head) => NodePush {
                    signer: n.id.get(),
                    head: Some(head),
                    error: None,
                },
                Err(e) => NodePush {
                    signer: n.id.get(),
                    head: None,
                    error: Some(e.to_string()),
                },
            }
        }
    });
    futures_util::future::join_all(calls).await
}

fn snapshot<V: StatementVerifier + 'static>(c: &CoordinatorState<V>) -> Arc<Vec<SignedRecord>> {
    Arc::new(c.registry().records().to_vec())
}

/// At start-up: pushes the registry to every node, retrying the ones not reachable yet
/// (with a growing pause, for about two minutes) so that nodes started after the
/// coordinator catch up too.
pub async fn push_at_startup<V: StatementVerifier + 'static>(c: Arc<CoordinatorState<V>>) {
    let mut pending: Vec<NodeEntry> = c.cluster.nodes.clone();
    let mut pause = Duration::from_millis(500);
    for attempt in 0..10 {
        if attempt > 0 {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(30));
        }
        let results = push_to_all(&c.http, &pending, snapshot(&c)).await;
        pending = pending
            .into_iter()
            .zip(results)
            .filter_map(|(node, r)| {
                let e = r.error?;
                tracing::debug!(signer = r.signer, error = %e, "governance push failed");
                Some(node)
            })
            .collect();
        if pending.is_empty() {
            return;
        }
    }
    for node in pending {
        tracing::warn!(signer = %node.id, "governance registry not pushed at start-up: node unreachable");
    }
}

/// `POST /v1/governance`: checks a submitted record against the coordinator's registry,
/// appends it, and pushes it to every node.
pub(super) async fn submit<V: StatementVerifier + 'static>(
    State(c): State<Arc<CoordinatorState<V>>>,
    ApiJson(signed): ApiJson<SignedRecord>,
) -> Result<(StatusCode, Json<SubmitReply>), ApiError> {
    let version = signed.record.version;
    let state = c.clone();
    blocking(move || {
        let mut registry = state.governance.write().unwrap_or_else(|e| e.into_inner());
        if registry.record(version).is_some() {
            // Replaying an accepted record (even byte for byte) is refused at the API: an
            // admin learns their record is not new. Nodes accept identical re-pushes.
            return Err(crate::net::api::governance::governance_error(
                &verifier::governance::GovernanceError::Replayed {
                    version,
                    head: registry.head(),
                },
            ));
        }
        // A record may not take effect before a session already signed: it would change
        // what the auditor finds in force for that session.
        let signed_at = state
            .store
            .last_audit_time()
            .map_err(|e| ApiError::internal("reading the audit log", e))?;
        if let Some(signed_at) = signed_at.filter(|t| signed.record.effective_from < *t) {
            return Err(crate::net::api::governance::governance_error(
                &verifier::governance::GovernanceError::EffectiveBeforeSigned {
                    version,
                    effective_from: signed.record.effective_from,
                    signed_at,
                },
            ));
        }
        accept_records(&mut registry, vec![signed], |s| {
            state
                .store
                .append_governance(s)
                .map_err(|e| ApiError::internal("storing a governance record", e))
        })
    })
    .await?;
    tracing::info!(version, "governance record accepted");
    let nodes = push_to_all(&c.http, &c.cluster.nodes, snapshot(&c)).await;
    for n in nodes.iter().filter(|n| n.error.is_some()) {
        tracing::warn!(signer = n.signer, error = ?n.error, "governance push failed");
    }
    Ok((StatusCode::CREATED, Json(SubmitReply { version, nodes })))
}

/// `GET /v1/governance?from=N`: the coordinator's records from version `N` on.
pub(super) async fn list<V: StatementVerifier + 'static>(
    State(c): State<Arc<CoordinatorState<V>>>,
    query: Result<Query<GovernanceQuery>, QueryRejection>,
) -> Result<Json<GovernanceList>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let registry: &Registry = &c.registry();
    Ok(Json(GovernanceList {
        head: registry.head(),
        records: registry.since(q.from.unwrap_or(1)).to_vec(),
    }))
}
