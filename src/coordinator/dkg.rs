//! The DKG driver: creates a threshold key by running the three DKG steps across every
//! node of the cluster (start → round 2 → finish), each step sent to all nodes at once.
//!
//! The coordinator only relays: round-2 shares are sealed by their sender to their
//! recipient ([`crate::net::dkg_seal`]), so it routes them without reading them. At the end
//! every node reports the group's public key package signed with its identity key; the key
//! is accepted only if all `n` report the same package, so a relay that showed different
//! broadcasts to different nodes is caught here.

use frost_core::keys::PublicKeyPackage;
use signer::taproot::Taproot;
use signer::{SignerId, Threshold};
use tokio::task::JoinSet;

use crate::cluster::config::NodeEntry;
use crate::ids::KeyId;
use crate::net::api::{
    key_attestation, DkgFinish, DkgFinishReply, DkgRound2, DkgRound2Reply, DkgStart, DkgStartReply,
};
use crate::net::client::{ClientError, HttpClient};

/// Why a DKG did not produce a key.
#[derive(Debug, thiserror::Error)]
pub enum DkgError {
    /// A step needs every node, and these did not answer it (or refused it).
    #[error("DKG needs every node ({step}): {}", fmt_failures(.failures))]
    NodesFailed {
        /// The step's route, e.g. `/v1/dkg/start`.
        step: &'static str,
        /// Each node that failed and how.
        failures: Vec<(SignerId, ClientError)>,
    },
    /// A node reported another group key than the first node, or did not sign it.
    #[error("signer {signer} reports a different or unsigned group key")]
    Disagreement {
        /// The node.
        signer: SignerId,
    },
    /// The cluster lists no node to run the DKG with.
    #[error("the cluster has no nodes")]
    NoNodes,
    /// A public key package could not be serialised for comparison.
    #[error("public key package of signer {signer}: {reason}")]
    Encoding {
        /// The node whose package it was.
        signer: SignerId,
        /// What failed.
        reason: String,
    },
}

fn fmt_failures(failures: &[(SignerId, ClientError)]) -> String {
    failures
        .iter()
        .map(|(id, e)| format!("signer {id}: {e}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Posts to `step` on every node at once, the body for node `i` being `body(i)`; returns
/// the answers in node order, or every failure when any node failed.
async fn all_nodes<B, T>(
    http: &HttpClient,
    nodes: &[NodeEntry],
    step: &'static str,
    body: impl Fn(usize) -> B,
) -> Result<Vec<T>, DkgError>
where
    B: serde::Serialize + Send + Sync + 'static,
    T: serde::de::DeserializeOwned + Send + 'static,
{
    let mut calls = JoinSet::new();
    for (i, n) in nodes.iter().enumerate() {
        let url = format!("{}{step}", n.url.trim_end_matches('/'));
        let (http, b, id) = (http.clone(), body(i), n.id);
        calls.spawn(async move { (i, id, http.post::<B, T>(&url, &b).await) });
    }
    let mut answers: Vec<Option<T>> = (0..nodes.len()).map(|_| None).collect();
    let mut failures = Vec::new();
    while let Some(joined) = calls.join_next().await {
        let (i, id, r) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        match r {
            Ok(v) => answers[i] = Some(v),
            Err(e) => failures.push((id, e)),
        }
    }
    if !failures.is_empty() {
        failures.sort_by_key(|(id, _)| *id);
        return Err(DkgError::NodesFailed { step, failures });
    }
    Ok(answers.into_iter().flatten().collect())
}

/// Runs a DKG for `key_id` with `threshold` across `nodes` (all of the cluster's) and
/// returns the group's public key package, on which every node agreed and which every node
/// signed.
pub async fn run_dkg(
    http: &HttpClient,
    nodes: &[NodeEntry],
    threshold: Threshold,
    key_id: &KeyId,
) -> Result<PublicKeyPackage<Taproot>, DkgError> {
    if nodes.is_empty() {
        return Err(DkgError::NoNodes);
    }
    let start = DkgStart {
        key_id: key_id.clone(),
        threshold: threshold.t(),
        participants: threshold.n(),
    };
    let r1: Vec<DkgStartReply> = all_nodes(http, nodes, "/v1/dkg/start", |_| start.clone()).await?;
    let round1: Vec<_> = r1.into_iter().map(|r| r.message).collect();
    let r2: Vec<DkgRound2Reply> = all_nodes(http, nodes, "/v1/dkg/round2", |_| DkgRound2 {
        key_id: key_id.clone(),
        round1: round1.clone(),
    })
    .await?;
    // Route each sealed share to its recipient; the coordinator cannot open them.
    let sealed: Vec<_> = r2.into_iter().flat_map(|r| r.shares).collect();
    let finished: Vec<DkgFinishReply> = all_nodes(http, nodes, "/v1/dkg/finish", |i| DkgFinish {
        key_id: key_id.clone(),
        shares: sealed
            .iter()
            .filter(|s| s.to == nodes[i].id)
            .cloned()
            .collect(),
    })
    .await?;
    check_agreement(key_id, nodes, &finished)?;
    finished
        .into_iter()
        .next()
        .map(|f| f.public_key_package)
        .ok_or(DkgError::NoNodes)
}

/// Every node must report the first node's public key package, signed by its identity key.
fn check_agreement(
    key_id: &KeyId,
    nodes: &[NodeEntry],
    finished: &[DkgFinishReply],
) -> Result<(), DkgError> {
    let encode = |signer: SignerId, f: &DkgFinishReply| {
        f.public_key_package
            .serialize()
            .map_err(|e| DkgError::Encoding {
                signer,
                reason: e.to_string(),
            })
    };
    let Some(first) = finished.first() else {
        return Ok(());
    };
    let first = encode(nodes[0].id, first)?;
    for (node, f) in nodes.iter().zip(finished) {
        let bytes = encode(node.id, f)?;
        let msg = key_attestation(key_id, node.id, &bytes);
        if f.signer != node.id
            || bytes != first
            || verifier::verify_bip340(&node.identity_key, &msg, &f.attestation).is_err()
        {
            return Err(DkgError::Disagreement { signer: node.id });
        }
    }
    Ok(())
}
