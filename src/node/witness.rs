//! The node as a witness of the audit log (`GET`/`POST /v1/node/witness`): it verifies the
//! records it has not seen with its own keys and registry, checks they extend the state it
//! signed last, and signs the new state (see [`verifier::audit::checkpoint`]).

use std::io::Cursor;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use prover::ProofSystem;
use rand::rngs::OsRng;
use verifier::audit::{
    chain_hash, checkpoint_message, verify_log_from, AuditKeys, LogEntry, WitnessSignature,
};

use super::NodeState;
use crate::net::api::{blocking, ApiError, ApiJson, WitnessRequest, WitnessStateWire};
use crate::node::store::WitnessState;

/// Most records one witness request may carry (the coordinator pages).
pub const MAX_WITNESS_LINES: usize = 64;

impl<P: ProofSystem + 'static> NodeState<P> {
    /// The log this node witnesses: the cluster name of its trust root.
    pub(super) fn log_id(&self) -> String {
        self.governance
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .trust()
            .cluster()
            .to_string()
    }
}

/// `GET /v1/node/witness`: the state this node signed last.
pub(super) async fn witness_state<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
) -> Result<Json<WitnessStateWire>, ApiError> {
    blocking(move || {
        let log_id = node.log_id();
        let s = node
            .store
            .witness_state(&log_id)
            .map_err(|e| ApiError::internal("reading the witness state", e))?;
        Ok(Json(WitnessStateWire {
            log_id,
            size: s.size,
            head: s.head,
        }))
    })
    .await
}

/// `POST /v1/node/witness`: verify `lines` (records `from..`) and sign the new state.
pub(super) async fn witness<P: ProofSystem + 'static>(
    State(node): State<Arc<NodeState<P>>>,
    ApiJson(req): ApiJson<WitnessRequest>,
) -> Result<Json<WitnessSignature>, ApiError> {
    blocking(move || {
        let log_id = node.log_id();
        if req.log_id != log_id {
            return Err(ApiError::bad_request(format!(
                "this node witnesses log {log_id}, not {}",
                req.log_id
            )));
        }
        if req.lines.len() > MAX_WITNESS_LINES {
            return Err(ApiError::bad_request(format!(
                "at most {MAX_WITNESS_LINES} records per witness request, got {}",
                req.lines.len()
            )));
        }
        // One witness step at a time: each extends the state the previous one stored.
        let mut step = node.witness.lock().unwrap_or_else(|e| e.into_inner());
        let from = node
            .store
            .witness_state(&log_id)
            .map_err(|e| ApiError::internal("reading the witness state", e))?;
        if req.from != from.size {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "witness_out_of_order",
                format!(
                    "signer {} has witnessed {} records (head {}); send the records from there",
                    node.id,
                    from.size,
                    hex::encode(from.head)
                ),
            ));
        }
        let keys = match step.take() {
            Some(keys) => keys,
            None => witness_keys(&node)?,
        };
        let mut text = req.lines.join("\n");
        text.push('\n');
        let report = verify_log_from(Cursor::new(text), &keys, from.size, from.head);
        *step = Some(keys);
        if !report.is_ok() {
            let shown: Vec<String> = report.failures.iter().take(5).map(|f| f.to_string()).collect();
            tracing::warn!(failures = report.failures.len(), first = %shown[0], "refused to witness the audit log");
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "log_rejected",
                format!(
                    "signer {} does not witness these records: {} failure(s): {}",
                    node.id,
                    report.failures.len(),
                    shown.join("; ")
                ),
            ));
        }
        let to = WitnessState {
            size: from.size + req.lines.len() as u64,
            head: req
                .lines
                .last()
                .map_or(from.head, |l| chain_hash(l.as_bytes())),
        };
        let key_records: Vec<(String, String)> = req
            .lines
            .iter()
            .filter_map(|l| match LogEntry::from_line(l.as_bytes()) {
                Ok(LogEntry::Key(k)) => Some((k.key_id, l.clone())),
                _ => None,
            })
            .collect();
        let time = crate::clock::unix_now();
        let signature = node
            .identity
            .sign(&checkpoint_message(&log_id, to.size, &to.head, time), &mut OsRng)
            .map_err(|e| ApiError::internal("identity signature", e))?;
        node.store
            .advance_witness(&log_id, from, to, &key_records)
            .map_err(|e| ApiError::internal("storing the witness state", e))?;
        // The new key records vouch for the signing records of later steps.
        for (_, line) in &key_records {
            if let (Some(keys), Ok(LogEntry::Key(k))) =
                (step.take(), LogEntry::from_line(line.as_bytes()))
            {
                *step = keys.with_key_record(&k).ok();
            }
        }
        Ok(Json(WitnessSignature {
            signer_id: node.id.get(),
            identity_key: node.identity.public_key(),
            size: to.size,
            head: to.head,
            time,
            signature,
        }))
    })
    .await
}

/// What this node checks records with: its verifying key, its governance registry and the
/// key records it witnessed before.
fn witness_keys<P: ProofSystem + 'static>(node: &NodeState<P>) -> Result<AuditKeys, ApiError> {
    let mut keys = AuditKeys::new()
        .with_registry(Arc::clone(&node.registry))
        // The session's clock skew plus the longest a session may run before it is recorded
        // (the coordinator's default request timeout), as the auditor allows by default.
        .with_max_skew(node.max_skew.saturating_add(120));
    keys.add_verifier(node.system.verifier());
    // And its spend keys: a spend record is witnessed like any other.
    for (_, v) in node.spend.verifiers() {
        verifier::SpendVerifier::add_to_audit(v, &mut keys);
    }
    for line in node
        .store
        .witnessed_key_records()
        .map_err(|e| ApiError::internal("reading witnessed key records", e))?
    {
        if let Ok(LogEntry::Key(k)) = LogEntry::from_line(line.as_bytes()) {
            keys = keys
                .with_key_record(&k)
                .map_err(|e| ApiError::internal("a witnessed key record", format!("{e:?}")))?;
        }
    }
    Ok(keys)
}
