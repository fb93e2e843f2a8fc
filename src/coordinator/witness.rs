//! Witnessing: after each append the coordinator brings every node the records it has not
//! seen (`GET` then `POST /v1/node/witness`, paged), and keeps each node's signature over
//! the new state. The nodes verify the records themselves and sign only extensions of what
//! they signed before, so the coordinator can relay the log but not rewrite it unseen (see
//! [`verifier::audit::checkpoint`]). A node that is down catches up at a later append; a
//! failure is logged and never fails the request that appended.

use std::sync::Arc;
use std::time::Duration;

use verifier::audit::{WitnessSignature, Witnesses};
use verifier::StatementVerifier;

use super::state::CoordinatorState;
use crate::cluster::config::NodeEntry;
use crate::net::api::{blocking, ApiError, WitnessRequest, WitnessStateWire};
use crate::node::witness::MAX_WITNESS_LINES;

/// How long an append waits for the nodes' witness signatures before it answers.
pub const WITNESS_WAIT: Duration = Duration::from_secs(5);

impl<V: StatementVerifier + 'static> CoordinatorState<V> {
    /// The log id: the cluster name of the trust root.
    pub(super) fn log_id(&self) -> String {
        self.registry().trust().cluster().to_string()
    }

    /// Every node's latest signature over the log.
    pub(super) fn witnesses(&self) -> Result<Witnesses, ApiError> {
        Ok(Witnesses {
            log_id: self.log_id(),
            signatures: self
                .store
                .witnesses()
                .map_err(|e| ApiError::internal("reading witnesses", e))?,
        })
    }

    /// Brings every node up to the log's current size, at once, waiting at most
    /// [`WITNESS_WAIT`] (a node that is slower, or hangs, goes on in the background and
    /// catches up at a later append); returns how many nodes signed within the wait.
    pub async fn witness(self: &Arc<Self>) -> usize {
        let calls: Vec<_> = self
            .cluster
            .nodes
            .clone()
            .into_iter()
            .map(|node| {
                let c = Arc::clone(self);
                tokio::spawn(async move {
                    let id = node.id;
                    // One round per node at a time; a round already running for it pages on
                    // to the log's end, so this one has nothing to add.
                    if !c.witnessing.lock().await.insert(id.get()) {
                        return false;
                    }
                    let done = c.witness_node(&node).await;
                    c.witnessing.lock().await.remove(&id.get());
                    match done {
                        Ok(()) => true,
                        Err(e) => {
                            tracing::warn!(signer = %id, error = %e, "node did not witness the audit log");
                            false
                        }
                    }
                })
            })
            .collect();
        let mut signed = 0;
        let deadline = tokio::time::Instant::now() + WITNESS_WAIT;
        for call in calls {
            if let Ok(Ok(true)) = tokio::time::timeout_at(deadline, call).await {
                signed += 1;
            }
        }
        signed
    }

    async fn witness_node(self: &Arc<Self>, node: &NodeEntry) -> Result<(), String> {
        let url = format!("{}/v1/node/witness", node.url.trim_end_matches('/'));
        let log_id = self.log_id();
        let state: WitnessStateWire = self.http.get(&url).await.map_err(|e| e.to_string())?;
        if state.log_id != log_id {
            return Err(format!("witnesses log {}, not {log_id}", state.log_id));
        }
        let mut from = state.size;
        // The size of this node's latest signature we keep.
        let mut signed = self
            .store
            .witnesses()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|w| w.signer_id == node.id.get())
            .map(|w| w.size);
        // Page on until the log's end (records appended meanwhile included).
        loop {
            let c = Arc::clone(self);
            let (size, lines) = blocking(move || {
                c.store
                    .audit_page(from, MAX_WITNESS_LINES as u32)
                    .map_err(|e| ApiError::internal("reading audit", e))
            })
            .await
            .map_err(|e| e.to_string())?;
            if from > size {
                return Err(format!(
                    "the node witnessed {from} records, the log has {size}: the log was truncated"
                ));
            }
            // Nothing new, and its signature over this state is kept: done.
            if lines.is_empty() && signed == Some(from) {
                return Ok(());
            }
            let n = lines.len() as u64;
            let req = WitnessRequest {
                log_id: log_id.clone(),
                from,
                lines,
            };
            let sig: WitnessSignature = self
                .http
                .post(&url, &req)
                .await
                .map_err(|e| e.to_string())?;
            if sig.signer_id != node.id.get()
                || sig.identity_key != node.identity_key
                || sig.size != from + n
                || verifier::verify_bip340(
                    &node.identity_key,
                    &sig.message(&log_id),
                    &sig.signature,
                )
                .is_err()
            {
                return Err(
                    "answered with a signature that is not its own over the new state".into(),
                );
            }
            let c = Arc::clone(self);
            blocking(move || {
                c.store
                    .put_witness(&sig)
                    .map_err(|e| ApiError::internal("storing a witness signature", e))
            })
            .await
            .map_err(|e| e.to_string())?;
            from += n;
            signed = Some(from);
        }
    }
}
