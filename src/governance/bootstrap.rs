//! The governance of a new cluster, as `zkquorum init` makes it: `m` admin keys with
//! threshold `k`, the trust root, and the genesis roster (version 1) approved by `k`
//! admins and stored in every node's database and in the coordinator's.
//!
//! `init` makes the admin keys itself, into `<cluster>/admins/admin-<i>.key` (sealed under
//! a passphrase: the one given, or a random one per key in `admin-<i>.passphrase`, mode
//! 0600), so that a test or demo cluster is governed from the start. That is a
//! convenience: whoever ran `init` held every admin key. In production each admin runs
//! `zkquorum admin keygen` on their own machine and only the public keys come together
//! into `trust-root.json`; the keys `init` wrote are then deleted.
//!
//! The genesis roster is in force from time 0 (so no clock skew between hosts can leave a
//! node without a roster) and lists each node's id, URL, identity and HPKE keys and TLS
//! fingerprint, the coordinator's TLS fingerprint and the threshold, all read from the
//! files `init` wrote.

use std::path::{Path, PathBuf};

use circuits::Policy;
use rand::rngs::OsRng;
use rand_core::RngCore;
use signer::KdfParams;
use verifier::governance::{PolicyAssignments, RecordContent, Registry, SignedRecord, TrustRoot};
use zeroize::Zeroizing;

use super::admin_key::AdminKey;
use super::error::AdminError;
use super::proposal::{policy_assignment, propose, roster_from_cluster};
use crate::cluster::config::{write_atomic, ClusterConfig, CoordinatorConfig, NodeConfig};
use crate::cluster::Layout;
use crate::coordinator::store::CoordinatorStore;
use crate::node::store::NodeStore;

/// The admins `init` makes.
#[derive(Clone, Debug)]
pub struct AdminOptions {
    /// `m`: admin keys to make.
    pub admins: u16,
    /// `k`: approvals a record needs.
    pub threshold: u16,
    /// The passphrase every admin key is sealed under; `None`: a random one per key,
    /// written next to it (`admin-<i>.passphrase`, mode 0600).
    pub passphrase: Option<Zeroizing<String>>,
    /// A policy file registered, as version 2, for every signer and every key (`"*"`) on
    /// the cluster's backend; `None`: the registry holds the genesis roster only.
    pub initial_policy: Option<PathBuf>,
}

impl Default for AdminOptions {
    /// Three admins, two of whom must approve; random passphrases; no initial policy.
    fn default() -> Self {
        Self {
            admins: 3,
            threshold: 2,
            passphrase: None,
            initial_policy: None,
        }
    }
}

/// What [`bootstrap`] made.
#[derive(Debug)]
pub struct Bootstrap {
    /// The trust root (also written to the cluster's `trust_root` file).
    pub trust: TrustRoot,
    /// Each admin's key file, by admin (1-based in the file names).
    pub admin_keys: Vec<PathBuf>,
    /// The records stored in every database: the genesis roster, then the initial policy
    /// if one was asked for.
    pub records: Vec<SignedRecord>,
}

/// `admins/admin-<i>.key` in the cluster directory.
pub fn admin_key_path(dir: &Path, i: u16) -> PathBuf {
    dir.join("admins").join(format!("admin-{i}.key"))
}

/// The file holding the passphrase of `key` when [`AdminOptions::passphrase`] is `None`.
pub fn passphrase_path(key: &Path) -> PathBuf {
    key.with_extension("passphrase")
}

/// A node's database passphrase as `init` wrote it (the file named by `node.toml`; the
/// environment's `ZKQUORUM_PASSPHRASE` is for running nodes, not for `init`).
fn node_passphrase(config: &NodeConfig, node: &Path) -> Result<Zeroizing<String>, AdminError> {
    let path = config.passphrase_file.as_ref().ok_or_else(|| {
        AdminError::Invalid(format!(
            "{}: no passphrase_file, so the genesis record cannot be stored",
            node.display()
        ))
    })?;
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(AdminError::io(path))?);
    Ok(Zeroizing::new(
        text.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

/// Makes the governance of the cluster `init` is writing in `dir` (the files of
/// [`Layout`] must be there): admin keys, the trust root, the genesis roster approved by
/// `k` admins (and the initial policy, if asked), stored into every node database and the
/// coordinator database. `kdf` is the Argon2id cost of the admin key files.
pub fn bootstrap(dir: &Path, kdf: KdfParams, opts: &AdminOptions) -> Result<Bootstrap, AdminError> {
    if opts.admins == 0 || opts.threshold == 0 || opts.threshold > opts.admins {
        return Err(AdminError::Invalid(format!(
            "admin threshold {} of {} admins: need 1 <= threshold <= admins",
            opts.threshold, opts.admins
        )));
    }
    let layout = Layout {
        dir: dir.to_path_buf(),
    };
    let cluster = ClusterConfig::load(&layout.cluster())?;

    let admins_dir = dir.join("admins");
    std::fs::create_dir_all(&admins_dir).map_err(AdminError::io(&admins_dir))?;
    #[cfg(unix)]
    {
        // Only the key files' owner lists them.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&admins_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(AdminError::io(&admins_dir))?;
    }
    let mut keys = Vec::new();
    let mut admin_keys = Vec::new();
    for i in 1..=opts.admins {
        let key = AdminKey::generate();
        let path = admin_key_path(dir, i);
        match &opts.passphrase {
            Some(p) => key.save(&path, p.as_bytes(), kdf)?,
            None => {
                let mut raw = Zeroizing::new([0u8; 32]);
                OsRng.fill_bytes(raw.as_mut());
                let pass = Zeroizing::new(hex::encode(AsRef::<[u8]>::as_ref(&raw)));
                let pass_path = passphrase_path(&path);
                write_atomic(&pass_path, pass.as_bytes(), true)
                    .map_err(AdminError::io(&pass_path))?;
                key.save(&path, pass.as_bytes(), kdf)?;
            }
        }
        keys.push(key);
        admin_keys.push(path);
    }
    let trust = TrustRoot::new(
        cluster.name.clone(),
        keys.iter().map(AdminKey::public_key).collect(),
        opts.threshold,
    )?;
    write_atomic(&cluster.trust_root, trust.to_json().as_bytes(), false)
        .map_err(AdminError::io(&cluster.trust_root))?;

    let mut node_configs = Vec::new();
    for n in &cluster.nodes {
        let path = layout.node(n.id.get());
        let (config, _) = NodeConfig::load(&path)?;
        node_configs.push((path, config));
    }
    let roster = roster_from_cluster(&cluster, |id| {
        node_configs
            .iter()
            .find(|(_, c)| c.id.get() == id)
            .map(|(_, c)| c.tls_cert.clone())
            .unwrap_or_else(|| super::proposal::default_node_cert(dir, id))
    })?;
    let k = usize::from(opts.threshold);
    let approve = |mut signed: SignedRecord| -> Result<SignedRecord, AdminError> {
        for key in &keys[..k] {
            signed.add_approval(key.approve(&signed.record)?);
        }
        Ok(signed)
    };
    let mut registry = Registry::new(trust.clone());
    registry.apply(approve(propose(
        &trust,
        1,
        0,
        RecordContent::Roster(roster),
    ))?)?;
    if let Some(file) = &opts.initial_policy {
        let policy = Policy::from_file(file).map_err(|e| AdminError::Format {
            path: file.clone(),
            reason: e.to_string(),
        })?;
        let assignments = cluster
            .nodes
            .iter()
            .map(|n| policy_assignment("*", n.id.get(), cluster.backend, &policy))
            .collect();
        let content = RecordContent::Policy(PolicyAssignments { assignments });
        registry.apply(approve(propose(&trust, 2, 0, content))?)?;
    }
    let records = registry.records().to_vec();

    for (path, config) in &node_configs {
        let what = || format!("node {} database {}", config.id, config.db.display());
        let pass = node_passphrase(config, path)?;
        let store =
            NodeStore::open(&config.db, pass.as_bytes()).map_err(|source| AdminError::Store {
                what: what(),
                source,
            })?;
        for r in &records {
            store
                .append_governance(r)
                .map_err(|source| AdminError::Store {
                    what: what(),
                    source,
                })?;
        }
    }
    let (coordinator, _) = CoordinatorConfig::load(&layout.coordinator())?;
    let what = || format!("coordinator database {}", coordinator.db.display());
    let store = CoordinatorStore::open(&coordinator.db).map_err(|source| AdminError::Store {
        what: what(),
        source,
    })?;
    for r in &records {
        store
            .append_governance(r)
            .map_err(|source| AdminError::Store {
                what: what(),
                source,
            })?;
    }
    Ok(Bootstrap {
        trust,
        admin_keys,
        records,
    })
}
