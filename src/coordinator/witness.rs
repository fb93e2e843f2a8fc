//! Witnessing: after each append the coordinator brings every node the records it has not
//! seen (`GET` then `POST /v1/node/witness`, paged), and keeps each node's signature over
//! the new state. The nodes verify the records themselves and sign only extensions of what
//! they signed before, so the coordinator can relay the log but not rewrite it unseen (see
//! [`verifier::audit::checkpoint`]).
//!
//! The rounds run in the background, one task per node: an append wakes them and is
//! answered at once, so witnessing costs a session no latency, and appends that arrive
//! while a node's round runs are covered by its next round together (one verification and
//! one signature for the batch). A node that is down catches up at a later append; a
//! failure is logged and never fails the request that appended. An auditor who wants the
//! checkpoints over the log as it is now asks `GET /v1/audit/checkpoints?wait=true`.

use std::sync::{Arc, Once, Weak};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use verifier::audit::{WitnessSignature, Witnesses};
use verifier::StatementVerifier;

use super::state::CoordinatorState;
use crate::cluster::config::NodeEntry;
use crate::net::api::{blocking, ApiError, WitnessRequest, WitnessStateWire};
use crate::node::witness::MAX_WITNESS_LINES;

/// How long `GET /v1/audit/checkpoints?wait=true` waits for the nodes to cover the log.
pub const WITNESS_WAIT: Duration = Duration::from_secs(5);

/// The background witness rounds of one coordinator.
pub(super) struct Witnessing {
    /// Bumped by every append; each node's task wakes on it and pages to the log's end.
    appended: watch::Sender<u64>,
    /// Starts the per-node tasks at the first append.
    started: Once,
    /// Notified whenever a node's round ends (its new signature stored, or a failure).
    progress: Notify,
}

impl Default for Witnessing {
    fn default() -> Self {
        Self {
            appended: watch::channel(0).0,
            started: Once::new(),
            progress: Notify::new(),
        }
    }
}

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

    /// Wakes every node's witness round after an append; returns at once.
    pub fn witness_soon(self: &Arc<Self>) {
        self.witnessing.started.call_once(|| {
            for node in self.cluster.nodes.clone() {
                let appended = self.witnessing.appended.subscribe();
                tokio::spawn(witness_rounds(Arc::downgrade(self), node, appended));
            }
        });
        self.witnessing
            .appended
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Every node's latest signature, once each rostered node's covers the whole log as it
    /// is now, or after `wait` (whatever is stored then: an auditor accepts the prefix that
    /// enough nodes signed).
    pub(super) async fn witnesses_covering_log(
        self: &Arc<Self>,
        wait: Duration,
    ) -> Result<Witnesses, ApiError> {
        let c = Arc::clone(self);
        let size = blocking(move || {
            c.store
                .audit_page(0, 1)
                .map(|(size, _)| size)
                .map_err(|e| ApiError::internal("reading audit", e))
        })
        .await?;
        self.witness_soon();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before the check, so a round ending in between is not missed.
            let progress = self.witnessing.progress.notified();
            tokio::pin!(progress);
            progress.as_mut().enable();
            let c = Arc::clone(self);
            let witnesses = blocking(move || c.witnesses()).await?;
            let covered = self.cluster.nodes.iter().all(|n| {
                witnesses
                    .signatures
                    .iter()
                    .any(|s| s.signer_id == n.id.get() && s.size >= size)
            });
            if covered || tokio::time::timeout_at(deadline, progress).await.is_err() {
                return Ok(witnesses);
            }
        }
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

/// One node's witness rounds: each wake-up pages the node to the log's end. Ends with the
/// coordinator (its sender dropped).
async fn witness_rounds<V: StatementVerifier + 'static>(
    state: Weak<CoordinatorState<V>>,
    node: NodeEntry,
    mut appended: watch::Receiver<u64>,
) {
    while appended.changed().await.is_ok() {
        let Some(c) = state.upgrade() else { return };
        if let Err(e) = c.witness_node(&node).await {
            tracing::warn!(signer = %node.id, error = %e, "node did not witness the audit log");
        }
        c.witnessing.progress.notify_waiters();
    }
}
