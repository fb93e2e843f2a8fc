//! The DKG driver: creates a threshold key by running the three DKG steps across every
//! node of the cluster (start → round 2 → finish), each step sent to all nodes at once.
//!
//! The coordinator only relays: round-2 shares are sealed by their sender to their
//! recipient ([`crate::net::dkg_seal`]), so it routes them without reading them. At the end
//! every node reports the group's public key package and the roster version, signed with
//! its identity key over the key statement
//! ([`verifier::audit::key_attestation_message`]); the key is accepted only if all `n`
//! report the same, so a relay that showed different broadcasts to different nodes is
//! caught here. The nodes hold the key as `prepared` until [`commit_dkg`] brings each of
//! them all `n` attestations (which each node checks itself): a key is usable only once
//! every node confirmed it holds the same package.

use frost_core::keys::PublicKeyPackage;
use signer::taproot::Taproot;
use signer::{SignerId, Threshold};
use tokio::task::JoinSet;

use crate::cluster::config::NodeEntry;
use crate::ids::KeyId;
use crate::net::api::{
    DkgCommit, DkgCommitReply, DkgFinish, DkgFinishReply, DkgRound2, DkgRound2Reply, DkgStart,
    DkgStartReply,
};
use crate::net::client::{ClientError, HttpClient};
use verifier::audit::{key_attestation_message, KeyAttestation, KeyStatement};

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

/// A finished DKG: what every node reported and signed.
#[derive(Clone, Debug)]
pub struct DkgOutcome {
    /// The group's public key package.
    pub package: PublicKeyPackage<Taproot>,
    /// Its `serialize()` bytes, which the nodes signed.
    pub package_bytes: Vec<u8>,
    /// The version of the governed roster the nodes made the key under.
    pub roster_version: u64,
    /// Every node's signature over the key statement, by node.
    pub attestations: Vec<KeyAttestation>,
}

/// Runs a DKG for `key_id` with `threshold` across `nodes` (all of the cluster's) with proof
/// backend `backend`, and returns the group's public key package, on which every node
/// agreed, with every node's signature over it. The nodes hold it as prepared.
pub async fn run_dkg(
    http: &HttpClient,
    nodes: &[NodeEntry],
    threshold: Threshold,
    backend: circuits::BackendId,
    key_id: &KeyId,
) -> Result<DkgOutcome, DkgError> {
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
    check_agreement(key_id, nodes, threshold, backend, finished)
}

/// Sends every node all `n` attestations of `key_id`; each checks them against the governed
/// roster and its own package and commits its share. Committing twice is harmless, so a
/// retry resends this after a node was down.
pub async fn commit_dkg(
    http: &HttpClient,
    nodes: &[NodeEntry],
    key_id: &KeyId,
    attestations: &[KeyAttestation],
) -> Result<(), DkgError> {
    let commit = DkgCommit {
        key_id: key_id.clone(),
        attestations: attestations.to_vec(),
    };
    let _: Vec<DkgCommitReply> =
        all_nodes(http, nodes, "/v1/dkg/commit", |_| commit.clone()).await?;
    Ok(())
}

/// Every node must report the first node's public key package and roster version, signed
/// by its identity key over the key statement.
fn check_agreement(
    key_id: &KeyId,
    nodes: &[NodeEntry],
    threshold: Threshold,
    backend: circuits::BackendId,
    finished: Vec<DkgFinishReply>,
) -> Result<DkgOutcome, DkgError> {
    let encode = |signer: SignerId, f: &DkgFinishReply| {
        f.public_key_package
            .serialize()
            .map_err(|e| DkgError::Encoding {
                signer,
                reason: e.to_string(),
            })
    };
    let Some(first) = finished.first() else {
        return Err(DkgError::NoNodes);
    };
    let package_bytes = encode(nodes[0].id, first)?;
    let roster_version = first.roster_version;
    let statement = KeyStatement {
        key_id: key_id.as_str(),
        backend: backend as u8,
        threshold: threshold.t(),
        participants: threshold.n(),
        roster_version,
        public_key_package: &package_bytes,
    };
    let mut attestations = Vec::with_capacity(finished.len());
    for (node, f) in nodes.iter().zip(&finished) {
        let bytes = encode(node.id, f)?;
        let msg = key_attestation_message(&statement, node.id.get());
        if f.signer != node.id
            || bytes != package_bytes
            || f.roster_version != roster_version
            || verifier::verify_bip340(&node.identity_key, &msg, &f.attestation).is_err()
        {
            return Err(DkgError::Disagreement { signer: node.id });
        }
        attestations.push(KeyAttestation {
            signer_id: node.id.get(),
            identity_key: node.identity_key,
            signature: f.attestation,
        });
    }
    let package = finished
        .into_iter()
        .next()
        .map(|f| f.public_key_package)
        .ok_or(DkgError::NoNodes)?;
    Ok(DkgOutcome {
        package,
        package_bytes,
        roster_version,
        attestations,
    })
}
