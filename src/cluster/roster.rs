//! The roster in force: the one the policy admins approved, never the cluster file's word.
//!
//! `cluster.toml` says where the nodes are (URLs) and which keys its operator expects; the
//! governance registry says which nodes *are* the cluster: their identity keys (which sign
//! session replies), their HPKE keys (to which DKG shares are sealed), the keys of their TLS
//! certificates, the coordinator's TLS key and the threshold. A node and the coordinator use
//! only a roster the registry puts in force at the time of the call, and only if their
//! cluster file agrees with it key for key: a cluster file edited to add a node, swap an
//! identity key or lower the threshold is refused ([`RosterError::Disagrees`]) at start and
//! at every session and keygen, and so is a cluster whose admins have approved no roster
//! yet ([`RosterError::NotGoverned`]). URLs are locators only and are not compared: a node
//! moved to another address is still the node whose keys the roster names.

use signer::SignerId;
use verifier::governance::{Registry, Roster};

use super::config::ClusterConfig;
use crate::net::api::ApiError;

/// Why no governed roster can be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    /// The registry has no roster in force at `now` (none approved, or the first one takes
    /// effect later).
    #[error("no roster approved by the admins is in force at {now}")]
    NotGoverned {
        /// The time asked about (unix seconds).
        now: u64,
    },
    /// `cluster.toml` and the roster in force (registry version `version`) differ.
    #[error("cluster.toml disagrees with the roster approved by the admins (registry version {version}): {what}")]
    Disagrees {
        /// The registry version of the roster.
        version: u64,
        /// The first difference found.
        what: String,
    },
}

impl From<RosterError> for ApiError {
    fn from(e: RosterError) -> Self {
        let code = match e {
            RosterError::NotGoverned { .. } => "roster_not_governed",
            RosterError::Disagrees { .. } => "roster_mismatch",
        };
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code,
            e.to_string(),
        )
    }
}

/// The roster in force at `now`, after checking that `cluster` (whose coordinator TLS key
/// fingerprint is `coordinator_key`) agrees with it on every key and the threshold, and that
/// it pins `verifying_key` (the fingerprint of the proof key this process uses) for the
/// cluster's backend.
pub fn governed<'r>(
    cluster: &ClusterConfig,
    coordinator_key: &[u8; 32],
    verifying_key: &[u8; 32],
    registry: &'r Registry,
    now: u64,
) -> Result<&'r Roster, RosterError> {
    let (version, roster) = registry
        .roster_version_at(now)
        .ok_or(RosterError::NotGoverned { now })?;
    let differ = |what: String| RosterError::Disagrees { version, what };
    match roster.pinned_key(cluster.backend) {
        Some(fp) if fp == *verifying_key => {}
        pinned => {
            return Err(differ(format!(
                "this process's {} verifying key {} is not the pinned one ({})",
                cluster.backend.name(),
                hex::encode(verifying_key),
                pinned.map_or("none pinned".into(), hex::encode)
            )))
        }
    }
    if cluster.threshold != roster.threshold {
        return Err(differ(format!(
            "threshold {} in cluster.toml, {} approved",
            cluster.threshold, roster.threshold
        )));
    }
    if cluster.nodes.len() != roster.nodes.len() {
        return Err(differ(format!(
            "{} nodes in cluster.toml, {} approved",
            cluster.nodes.len(),
            roster.nodes.len()
        )));
    }
    if *coordinator_key != roster.coordinator_tls_fingerprint {
        return Err(differ(
            "the coordinator certificate's key is not the approved one".into(),
        ));
    }
    for (mine, theirs) in cluster.nodes.iter().zip(&roster.nodes) {
        let id = mine.id.get();
        if id != theirs.id {
            return Err(differ(format!(
                "node {id} in cluster.toml where the roster lists node {}",
                theirs.id
            )));
        }
        for (field, a, b) in [
            ("identity key", &mine.identity_key, &theirs.identity_key),
            ("HPKE key", &mine.hpke_key, &theirs.hpke_key),
            ("TLS key", &mine.tls_fingerprint, &theirs.tls_fingerprint),
        ] {
            if a != b {
                return Err(differ(format!(
                    "node {id}: {field} is not the approved one"
                )));
            }
        }
    }
    Ok(roster)
}

/// The identity keys of `roster`, as sessions check the replies' attestations.
pub fn identities(roster: &Roster) -> signer::session::Roster {
    roster
        .nodes
        .iter()
        .filter_map(|n| SignerId::new(n.id).ok().map(|id| (id, n.identity_key)))
        .collect()
}

/// Refuses (409 `spend_key_not_pinned`) unless `roster` pins `fingerprint` as the spend key
/// of `class` on `backend`; `whose` names the key's holder in the message ("this node's",
/// "the coordinator's"). Nobody proves or verifies a spend under a key the admins did not
/// approve.
pub fn check_spend_pin(
    roster: Option<&Roster>,
    backend: circuits::BackendId,
    class: circuits::spend::SizeClass,
    fingerprint: &verifier::VkFingerprint,
    whose: &str,
) -> Result<(), ApiError> {
    let pinned = roster.and_then(|r| r.pinned_spend_key(backend, class.slots() as u16));
    if pinned == Some(fingerprint.0) {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "spend_key_not_pinned",
        format!(
            "{whose} {}-output spend key {} is not the one the roster pins",
            class.slots(),
            fingerprint.to_hex()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::config::NodeEntry;
    use crate::governance::admin_key::AdminKey;
    use crate::governance::proposal::propose;
    use crate::governance::testing::Admins;
    use verifier::governance::{RecordContent, RosterNode};

    fn roster() -> Roster {
        Roster {
            spend_keys: Vec::new(),
            verifying_keys: vec![verifier::governance::PinnedKey {
                backend: circuits::BackendId::Groth16Bn254,
                fingerprint: [0xf1; 32],
            }],
            nodes: (1..=3u16)
                .map(|id| RosterNode {
                    id,
                    url: format!("https://n{id}.example"),
                    identity_key: AdminKey::generate().public_key(),
                    hpke_key: [0x40 + id as u8; 32],
                    tls_fingerprint: [0x80 + id as u8; 32],
                })
                .collect(),
            coordinator_tls_fingerprint: [0xcc; 32],
            threshold: 2,
        }
    }

    fn cluster(roster: &Roster) -> ClusterConfig {
        ClusterConfig {
            network: None,
            spend_classes: Vec::new(),
            name: "c".into(),
            threshold: roster.threshold,
            backend: circuits::BackendId::Groth16Bn254,
            keys_dir: "keys".into(),
            ca: "ca.pem".into(),
            coordinator_cert: "coordinator/tls.pem".into(),
            revoked: "revoked.txt".into(),
            trust_root: "trust-root.json".into(),
            nodes: roster
                .nodes
                .iter()
                .map(|n| NodeEntry {
                    id: SignerId::new(n.id).unwrap(),
                    // Another address: URLs are not compared.
                    url: format!("https://10.0.0.{}:7700", n.id),
                    identity_key: n.identity_key,
                    hpke_key: n.hpke_key,
                    tls_fingerprint: n.tls_fingerprint,
                })
                .collect(),
        }
    }

    /// A registry whose version 1 is `roster`, effective from 100.
    fn registry(roster: &Roster) -> Registry {
        let admins = Admins::new();
        let mut signed = propose(&admins.trust, 1, 100, RecordContent::Roster(roster.clone()));
        for k in &admins.keys[..2] {
            signed.add_approval(k.approve(&signed.record).unwrap());
        }
        let mut registry = Registry::new(admins.trust.clone());
        registry.apply(signed).unwrap();
        registry
    }

    #[test]
    fn an_agreeing_cluster_file_gets_the_governed_roster() {
        let r = roster();
        let reg = registry(&r);
        let got = governed(&cluster(&r), &[0xcc; 32], &[0xf1; 32], &reg, 100).unwrap();
        assert_eq!(got, &r);
        assert_eq!(identities(got).len(), 3);
    }

    #[test]
    fn no_roster_in_force_is_refused() {
        let r = roster();
        let reg = registry(&r);
        assert_eq!(
            governed(&cluster(&r), &[0xcc; 32], &[0xf1; 32], &reg, 99),
            Err(RosterError::NotGoverned { now: 99 })
        );
    }

    #[test]
    fn every_key_and_the_threshold_must_agree() {
        let r = roster();
        let reg = registry(&r);
        type Edit = Box<dyn Fn(&mut ClusterConfig)>;
        let mut edits: Vec<(&str, Edit)> = vec![
            ("threshold", Box::new(|c| c.threshold = 3)),
            (
                "identity key",
                Box::new(|c| c.nodes[1].identity_key = c.nodes[0].identity_key),
            ),
            ("HPKE key", Box::new(|c| c.nodes[2].hpke_key = [9; 32])),
            (
                "TLS key",
                Box::new(|c| c.nodes[0].tls_fingerprint = [9; 32]),
            ),
            (
                "nodes",
                Box::new(|c| {
                    c.nodes.pop();
                }),
            ),
        ];
        for (what, edit) in edits.drain(..) {
            let mut c = cluster(&r);
            edit(&mut c);
            match governed(&c, &[0xcc; 32], &[0xf1; 32], &reg, 100) {
                Err(RosterError::Disagrees {
                    version: 1,
                    what: w,
                }) => {
                    assert!(w.contains(what), "{what}: {w}")
                }
                other => panic!("{what}: {other:?}"),
            }
        }
        assert!(matches!(
            governed(&cluster(&r), &[0xcd; 32], &[0xf1; 32], &reg, 100),
            Err(RosterError::Disagrees { .. })
        ));
    }
}
