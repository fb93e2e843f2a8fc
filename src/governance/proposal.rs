//! Proposal files and the records they propose.
//!
//! A proposal is a [`SignedRecord`] in a JSON file (pretty-printed), with the approvals
//! gathered so far. It is created by `zkquorum admin propose` ([`propose`] with
//! [`roster_from_cluster`] or [`policy_assignment`]), passed from admin to admin, each
//! adding an approval by rewriting the file atomically ([`approve_file`]: a crash leaves
//! the old file or the new one, never half of one), and submitted once it has `k`.

use std::path::{Path, PathBuf};

use circuits::bn254::Bn254;
use circuits::pasta::Pasta;
use circuits::{BackendId, Policy};
use verifier::governance::{
    GovernanceRecord, PinnedKey, PinnedSpendKey, PolicyAssignment, RecordContent, Roster,
    RosterNode, SignedRecord, TrustRoot,
};

use verifier::SpendVerifier;

use super::admin_key::AdminKey;
use super::error::AdminError;
use crate::cluster::config::{write_atomic, ClusterConfig};

/// Reads a proposal (or any signed record) file.
pub fn read_proposal(path: &Path) -> Result<SignedRecord, AdminError> {
    let text = std::fs::read_to_string(path).map_err(AdminError::io(path))?;
    SignedRecord::from_json(&text).map_err(|e| AdminError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes a proposal file atomically (temporary file, fsync, rename).
pub fn write_proposal(path: &Path, signed: &SignedRecord) -> Result<(), AdminError> {
    let mut text = signed.to_json_pretty();
    text.push('\n');
    write_atomic(path, text.as_bytes(), false).map_err(AdminError::io(path))
}

/// A new proposal under `trust`: a record for its cluster with no approvals yet.
pub fn propose(
    trust: &TrustRoot,
    version: u64,
    effective_from: u64,
    content: RecordContent,
) -> SignedRecord {
    SignedRecord::new(GovernanceRecord::new(
        trust.cluster(),
        version,
        effective_from,
        content,
    ))
}

/// Adds `key`'s approval to the proposal at `path` and rewrites it atomically; returns
/// the proposal as written. Refuses to approve a record whose content no longer matches
/// its hash (it was changed after it was proposed) and, given the trust root, a record for
/// another cluster or a key that is not one of its admins.
pub fn approve_file(
    path: &Path,
    key: &AdminKey,
    trust: Option<&TrustRoot>,
) -> Result<SignedRecord, AdminError> {
    let mut signed = read_proposal(path)?;
    signed.record.check_content_hash()?;
    if let Some(trust) = trust {
        if signed.record.cluster != trust.cluster() {
            return Err(verifier::governance::GovernanceError::WrongCluster {
                expected: trust.cluster().to_string(),
                found: signed.record.cluster.clone(),
                version: signed.record.version,
            }
            .into());
        }
        if !trust.is_admin(&key.public_key()) {
            return Err(AdminError::NotAnAdmin {
                key: hex::encode(key.public_key()),
                cluster: trust.cluster().to_string(),
            });
        }
    }
    signed.add_approval(key.approve(&signed.record)?);
    write_proposal(path, &signed)?;
    Ok(signed)
}

/// The fingerprint of the key of the first certificate in the PEM file `path` (BLAKE3 of
/// its SubjectPublicKeyInfo, `crate::net::tls::key_fingerprint`): what servers pin, so a
/// certificate renewed from the same key keeps it.
pub fn cert_fingerprint(path: &Path) -> Result<[u8; 32], AdminError> {
    crate::net::tls::key_fingerprint_of_file(path).map_err(|e| AdminError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Where `init` puts node `id`'s certificate in the cluster directory `dir`.
pub fn default_node_cert(dir: &Path, id: u16) -> PathBuf {
    dir.join(format!("node-{id}")).join("tls.pem")
}

/// The roster `cluster` describes: its nodes (id, URL, identity, HPKE and TLS keys as
/// `cluster.toml` lists them), the coordinator's TLS key from `cluster.coordinator_cert`,
/// and the threshold. Where `node_cert(id)` names a certificate file that exists, its key
/// must be the one `cluster.toml` lists (an admin about to approve the roster checks the
/// certificates the CA issued against it). Checked as a registry would check it.
pub fn roster_from_cluster(
    cluster: &ClusterConfig,
    node_cert: impl Fn(u16) -> PathBuf,
) -> Result<Roster, AdminError> {
    let mut nodes = Vec::with_capacity(cluster.nodes.len());
    for n in &cluster.nodes {
        let id = n.id.get();
        let cert = node_cert(id);
        if cert.exists() && cert_fingerprint(&cert)? != n.tls_fingerprint {
            return Err(AdminError::Invalid(format!(
                "node {id}: the key of {} is not the tls_fingerprint cluster.toml lists",
                cert.display()
            )));
        }
        nodes.push(RosterNode {
            id,
            url: n.url.clone(),
            identity_key: n.identity_key,
            hpke_key: n.hpke_key,
            tls_fingerprint: n.tls_fingerprint,
        });
    }
    // The proof key the cluster's key directory holds, checked against its manifest (and,
    // for halo2, against the transparent parameters): the one key proofs may name.
    let bad_key = |e: verifier::keys::KeyStoreError| {
        AdminError::Invalid(format!(
            "verifying key in {}: {e}",
            cluster.keys_dir.display()
        ))
    };
    let fingerprint = match cluster.backend {
        BackendId::Groth16Bn254 => {
            verifier::groth16::Groth16VerifyingKey::load_dir(&cluster.keys_dir)
                .map_err(bad_key)?
                .fingerprint()
        }
        BackendId::Halo2Pasta => verifier::halo2::Halo2VerifyingKey::load_dir(&cluster.keys_dir)
            .map_err(bad_key)?
            .fingerprint(),
    };
    // And the spend key of each class the cluster signs, loaded the same way.
    let spend_keys = cluster
        .spend_classes()
        .into_iter()
        .map(|class| {
            let fingerprint = match cluster.backend {
                BackendId::Groth16Bn254 => {
                    verifier::groth16::Groth16VerifyingKey::load_class(&cluster.keys_dir, class)
                        .map_err(bad_key)?
                        .fingerprint()
                }
                BackendId::Halo2Pasta => {
                    verifier::halo2::Halo2VerifyingKey::load_class(&cluster.keys_dir, class)
                        .map_err(bad_key)?
                        .fingerprint()
                }
            };
            Ok(PinnedSpendKey {
                backend: cluster.backend,
                slots: class.slots() as u16,
                fingerprint: fingerprint.0,
            })
        })
        .collect::<Result<Vec<_>, AdminError>>()?;
    let roster = Roster {
        nodes,
        coordinator_tls_fingerprint: cert_fingerprint(&cluster.coordinator_cert)?,
        threshold: cluster.threshold,
        verifying_keys: vec![PinnedKey {
            backend: cluster.backend,
            fingerprint: fingerprint.0,
        }],
        spend_keys,
    };
    roster.validate().map_err(|reason| {
        AdminError::Invalid(format!("the cluster is not a valid roster: {reason}"))
    })?;
    Ok(roster)
}

/// The policy commitment `P` of `policy` on `backend` (canonical little-endian bytes).
pub fn policy_commitment(policy: &Policy, backend: BackendId) -> [u8; 32] {
    match backend {
        BackendId::Groth16Bn254 => policy.commitment::<Bn254>().to_le_bytes(),
        BackendId::Halo2Pasta => policy.commitment::<Pasta>().to_le_bytes(),
    }
}

/// Assigns `policy`'s commitment on `backend` to `signer` for `key_id` (`"*"`: every key
/// without its own assignment).
pub fn policy_assignment(
    key_id: &str,
    signer: u16,
    backend: BackendId,
    policy: &Policy,
) -> PolicyAssignment {
    PolicyAssignment {
        key_id: key_id.to_string(),
        signer,
        backend,
        commitment: policy_commitment(policy, backend),
    }
}

/// Assigns spend policy `policy`'s commitment on `backend` to `signer` for `key_id` (in a
/// `spend_policy` record).
pub fn spend_policy_assignment(
    key_id: &str,
    signer: u16,
    backend: BackendId,
    policy: &circuits::spend::SpendPolicy,
) -> PolicyAssignment {
    PolicyAssignment {
        key_id: key_id.to_string(),
        signer,
        backend,
        commitment: match backend {
            BackendId::Groth16Bn254 => policy.commitment::<Bn254>().to_le_bytes(),
            BackendId::Halo2Pasta => policy.commitment::<Pasta>().to_le_bytes(),
        },
    }
}

#[cfg(test)]
mod tests {
    use verifier::governance::{GovernanceError, PolicyAssignments};

    use super::*;
    use crate::store::seal::TEST_KDF;

    #[test]
    fn approvals_are_added_by_rewriting_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let keys: Vec<AdminKey> = (0..3).map(|_| AdminKey::generate()).collect();
        let trust =
            TrustRoot::new("c", keys.iter().map(AdminKey::public_key).collect(), 2).unwrap();
        let policy = circuits::sample::policy();
        let content = RecordContent::Policy(PolicyAssignments {
            assignments: vec![policy_assignment("*", 1, BackendId::Groth16Bn254, &policy)],
        });
        let path = dir.path().join("p.json");
        write_proposal(&path, &propose(&trust, 2, 5, content)).unwrap();
        approve_file(&path, &keys[0], Some(&trust)).unwrap();
        approve_file(&path, &keys[0], Some(&trust)).unwrap();
        let signed = approve_file(&path, &keys[2], None).unwrap();
        assert_eq!(read_proposal(&path).unwrap(), signed);
        assert_eq!(
            signed.approvers(&trust).unwrap(),
            vec![keys[0].public_key(), keys[2].public_key()]
        );
        assert_eq!(
            signed.record.content_hash,
            signed.record.content.content_hash()
        );

        // An outsider's key, with the trust root at hand, is refused before signing.
        let outsider = AdminKey::generate();
        assert!(matches!(
            approve_file(&path, &outsider, Some(&trust)),
            Err(AdminError::NotAnAdmin { .. })
        ));
        // A proposal edited after it was made is not approved.
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen("\"signer\": 1", "\"signer\": 2", 1);
        assert_ne!(text, edited);
        std::fs::write(&path, edited).unwrap();
        assert!(matches!(
            approve_file(&path, &keys[1], Some(&trust)),
            Err(AdminError::Governance(
                GovernanceError::ContentHashMismatch { version: 2 }
            ))
        ));
        // Keys survive their file.
        let kp = dir.path().join("k");
        keys[1].save(&kp, b"pw", TEST_KDF).unwrap();
        assert_eq!(
            AdminKey::load(&kp, b"pw").unwrap().public_key(),
            keys[1].public_key()
        );
    }
}
