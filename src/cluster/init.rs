//! `zkquorum init`: writes a local cluster — CA and certificates, node databases with
//! fresh identity keys, the proof system's keys, every configuration file, example
//! policy and intent files, and its governance (admin keys, `trust-root.json`, the
//! genesis roster in every database: [`crate::governance::bootstrap()`]).
//!
//! Every node is provisioned through the multi-host path, on this one machine: the node
//! makes its secrets in its own directory ([`crate::cluster::enroll::node_init`]: sealed
//! database, TLS key, certificate request, `enrollment.json`), the CA issues its
//! certificate from the request ([`ClusterCa::issue`], role `node`, the node's own hosts),
//! and the roster entry is the enrollment's. The coordinator and three people get their
//! certificates the same way (a key and request made in their directory, then issued):
//! `client/` is an operator granted every key (`*`), `client-admin/` a policy admin,
//! `client-auditor/` an auditor, each with a `client.toml`.
//!
//! Everything is written into a temporary sibling directory that is renamed into place at
//! the end, so an interrupted `init` leaves nothing half-made. Directories are 0700 and
//! secret files 0600. The CA is either an existing CA directory (`--ca`, made by
//! `zkquorum ca init` and kept offline by the admins) or a throw-away CA made in memory
//! whose key is never written: such a cluster cannot issue, renew or revoke by grant
//! change later (it can still revoke: the list needs no CA key).
//!
//! Demo convenience: each node's database passphrase is a random 256-bit value in
//! `node-<i>/passphrase` (mode 0600), next to its database, so that one machine can start
//! every node. A real node never has it there: `zkquorum node init` takes the passphrase
//! from `ZKQUORUM_PASSPHRASE` or a file outside the node directory, and never writes it.
//!
//! The Groth16 setup run here is a single-party setup: whoever runs `init` could forge
//! proofs. It suits a demo or a test cluster; production keys come from a multi-party
//! ceremony (or use the transparent halo2 backend).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use circuits::spend::SizeClass;
use circuits::{BackendId, Intent, Policy};
use prover::groth16::Groth16System;
use prover::halo2::Halo2System;
use prover::spend::SpendKeys;
use prover::ProofSystem;
use rand::rngs::OsRng;
use rand_core::RngCore;
use signer::{KdfParams, SignerId};
use verifier::StatementVerifier;

use crate::cluster::config::{
    create_private_dir, write_atomic, write_toml, ClientConfig, ClusterConfig, CoordinatorConfig,
};
use crate::cluster::enroll::{node_init, EnrollError, NodeInitOptions};
use crate::net::roles::{KeyScope, Role};
use crate::net::tls::{CertRequest, ClusterCa, Grant};

/// What `init` makes.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Cluster name (certificates, logs).
    pub name: String,
    /// Signers needed.
    pub threshold: u16,
    /// The proof system.
    pub backend: BackendId,
    /// Host name or IP the certificates are issued for and URLs use (with `localhost`).
    pub host: String,
    /// Node `i`'s own hosts (its URL uses the first), for nodes not on `host`: a
    /// multi-host cluster. A node not listed uses `host`.
    pub node_hosts: std::collections::BTreeMap<u16, Vec<String>>,
    /// An existing CA directory (`zkquorum ca init`) to issue from; `None`: a throw-away
    /// CA in memory, its key never written.
    pub ca: Option<PathBuf>,
    /// The coordinator's client-API address.
    pub coordinator: SocketAddr,
    /// One listen address per node (`n` = its length).
    pub nodes: Vec<SocketAddr>,
    /// Argon2id cost of the node databases' passphrases.
    pub kdf: KdfParams,
    /// The policy admins and their threshold (see [`crate::governance::bootstrap()`]).
    pub admins: crate::governance::AdminOptions,
    /// The Bitcoin network the keys spend on (`None`: no spends).
    pub network: Option<verifier::bitcoin::Network>,
    /// The spend size classes whose keys are generated (Groth16: a setup each; the
    /// 256-output class takes about a minute on two cores).
    pub spend_classes: Vec<SizeClass>,
}

/// Where the files went.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The cluster directory.
    pub dir: PathBuf,
}

impl Layout {
    /// `cluster.toml`.
    pub fn cluster(&self) -> PathBuf {
        self.dir.join("cluster.toml")
    }
    /// `node-<i>/node.toml`.
    pub fn node(&self, id: u16) -> PathBuf {
        self.dir.join(format!("node-{id}")).join("node.toml")
    }
    /// `coordinator/coordinator.toml`.
    pub fn coordinator(&self) -> PathBuf {
        self.dir.join("coordinator").join("coordinator.toml")
    }
    /// `client/client.toml`: the operator (every key).
    pub fn client(&self) -> PathBuf {
        self.dir.join("client").join("client.toml")
    }
    /// `client-<role>/client.toml`: the admin's or the auditor's client (the operator's is
    /// [`Self::client`]).
    pub fn client_of(&self, role: Role) -> PathBuf {
        match role {
            Role::Operator => self.client(),
            other => self.dir.join(format!("client-{other}")).join("client.toml"),
        }
    }
    /// `policy.example.toml`.
    pub fn example_policy(&self) -> PathBuf {
        self.dir.join("policy.example.toml")
    }
    /// `intent.example.json`.
    pub fn example_intent(&self) -> PathBuf {
        self.dir.join("intent.example.json")
    }
}

/// The example policy: asset 7, at most 1 000 000 units, not before an hour ago, the
/// sample scenario's five recipients, and a fresh random salt (each call gives another, so
/// policies made from it are not linkable by their commitment).
pub fn example_policy(now: u64) -> Policy {
    let p = circuits::sample::policy();
    let salt = circuits::PolicySalt::random(&mut OsRng);
    Policy::new(
        p.asset(),
        p.max_amount(),
        now.saturating_sub(3600),
        p.allowlist().to_vec(),
        salt.clone(),
    )
    .unwrap_or_else(|_| p.with_salt(salt))
}

/// An example intent that the example policy allows: 250 000 units of asset 7 to the
/// fourth sample recipient, valid from a minute ago for thirty days.
pub fn example_intent(now: u64, nonce: u64) -> Intent {
    let mut i = circuits::sample::intent(nonce);
    i.valid_after = now.saturating_sub(60);
    i.valid_before = now + 30 * 24 * 3600;
    i.salt = circuits::intent::Salt::random(&mut OsRng);
    i
}

/// Why `init` could not write a cluster.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The target exists already (init never overwrites).
    #[error("{0} already exists; choose a new directory")]
    Exists(PathBuf),
    /// The options are inconsistent.
    #[error("invalid cluster options: {0}")]
    Invalid(String),
    /// A file or directory could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Certificates could not be made.
    #[error(transparent)]
    Tls(#[from] crate::net::tls::TlsError),
    /// A node could not be provisioned.
    #[error(transparent)]
    Enroll(#[from] EnrollError),
    /// The proof system's setup or key files failed.
    #[error("proof system: {0}")]
    ProofSystem(String),
    /// The admins, trust root or genesis roster could not be made.
    #[error("governance: {0}")]
    Governance(#[from] crate::governance::AdminError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> InitError + '_ {
    move |source| InitError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn mkdir(p: &Path) -> Result<(), InitError> {
    create_private_dir(p).map_err(io_err(p))
}

fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<(), InitError> {
    write_atomic(path, bytes, secret).map_err(io_err(path))
}

fn write_config<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), InitError> {
    write_toml(path, value).map_err(io_err(path))
}

/// Writes a cluster into `dir`, which must not exist yet.
pub fn init(dir: &Path, opts: &InitOptions) -> Result<Layout, InitError> {
    if dir.exists() {
        return Err(InitError::Exists(dir.to_path_buf()));
    }
    let n = u16::try_from(opts.nodes.len())
        .map_err(|_| InitError::Invalid(format!("{} nodes", opts.nodes.len())))?;
    signer::Threshold::new(opts.threshold, n).map_err(|e| InitError::Invalid(e.to_string()))?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The parent is the caller's: created if missing, its mode left alone.
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".zkquorum-init-")
        .tempdir_in(parent)
        .map_err(io_err(parent))?;
    let root = staging.path();
    // The cluster directory is the owner's alone, like every directory inside it.
    mkdir(root)?;

    let ca = match &opts.ca {
        Some(dir) => ClusterCa::load_dir(dir)?,
        None => ClusterCa::generate(&opts.name)?,
    };
    write(&root.join("ca.pem"), ca.cert_pem().as_bytes(), false)?;
    let with_localhost = |host: &str| {
        let mut hosts = vec![host.to_string()];
        if host != "localhost" {
            hosts.push("localhost".into());
        }
        hosts
    };
    // A key and request made in the principal's directory, the certificate issued from it.
    let provision = |sub: &str, grant: &Grant, hosts: &[String]| -> Result<(), InitError> {
        let d = root.join(sub);
        mkdir(&d)?;
        let req = CertRequest::generate(&grant.name, hosts)?;
        write(&d.join("tls.key"), req.key_pem.as_bytes(), true)?;
        write(
            &d.join("tls.pem"),
            ca.issue(&req.csr_pem, grant)?.as_bytes(),
            false,
        )?;
        Ok(())
    };
    provision(
        "coordinator",
        &Grant::new(Role::Coordinator, "coordinator"),
        &with_localhost(&opts.host),
    )?;
    let coordinator_url = format!("https://{}:{}", opts.host, opts.coordinator.port());
    for (role, sub) in [
        (Role::Operator, "client"),
        (Role::Admin, "client-admin"),
        (Role::Auditor, "client-auditor"),
    ] {
        let mut grant = Grant::new(role, role.as_str());
        if role == Role::Operator {
            grant = grant.with_scope(KeyScope::All);
        }
        provision(sub, &grant, &[])?;
        write_config(
            &root.join(sub).join("client.toml"),
            &ClientConfig {
                coordinator_url: coordinator_url.clone(),
                ca: "../ca.pem".into(),
                tls_cert: "tls.pem".into(),
                tls_key: "tls.key".into(),
            },
        )?;
    }

    let mut entries = Vec::new();
    for (i, addr) in opts.nodes.iter().enumerate() {
        let id = SignerId::new(i as u16 + 1).map_err(|e| InitError::Invalid(e.to_string()))?;
        let hosts = match opts.node_hosts.get(&id.get()) {
            Some(h) if !h.is_empty() => h.clone(),
            Some(_) => return Err(InitError::Invalid(format!("node {id}: no host"))),
            None => with_localhost(&opts.host),
        };
        let sub = root.join(format!("node-{}", id.get()));
        let mut pass = [0u8; 32];
        OsRng.fill_bytes(&mut pass);
        let pass = zeroize::Zeroizing::new(hex::encode(pass));
        let enrollment = node_init(
            &sub,
            &NodeInitOptions {
                id,
                url: format!("https://{}:{}", url_host(&hosts[0]), addr.port()),
                hosts,
                listen: *addr,
                cluster: "../cluster.toml".into(),
                passphrase_file: Some("passphrase".into()),
                kdf: opts.kdf,
            },
            pass.as_bytes(),
        )?;
        // The demo convenience (see the module documentation).
        write(&sub.join("passphrase"), pass.as_bytes(), true)?;
        let cert = ca.issue(
            &enrollment.csr,
            &Grant::new(Role::Node, &format!("node-{}", id.get())),
        )?;
        write(&sub.join("tls.pem"), cert.as_bytes(), false)?;
        entries.push(enrollment.node_entry());
    }

    mkdir(&root.join("keys"))?;
    match opts.backend {
        BackendId::Groth16Bn254 => {
            setup_keys::<Groth16System>(&root.join("keys"), &opts.spend_classes)?
        }
        BackendId::Halo2Pasta => {
            setup_keys::<Halo2System>(&root.join("keys"), &opts.spend_classes)?
        }
    }

    let cluster = ClusterConfig {
        name: opts.name.clone(),
        threshold: opts.threshold,
        backend: opts.backend,
        keys_dir: "keys".into(),
        ca: "ca.pem".into(),
        coordinator_cert: "coordinator/tls.pem".into(),
        revoked: crate::net::revocation::REVOKED_FILE.into(),
        trust_root: verifier::governance::trust::TRUST_ROOT_FILE.into(),
        network: opts
            .network
            .map(|n| verifier::bitcoin::network_name(n).to_string()),
        spend_classes: opts
            .spend_classes
            .iter()
            .map(|c| c.slots() as u16)
            .collect(),
        nodes: entries,
    };
    write_config(&root.join("cluster.toml"), &cluster)?;
    write_config(
        &root.join("coordinator").join("coordinator.toml"),
        &CoordinatorConfig {
            listen: opts.coordinator,
            db: "coordinator.db".into(),
            tls_cert: "tls.pem".into(),
            tls_key: "tls.key".into(),
            cluster: "../cluster.toml".into(),
            signer_timeout_secs: 30,
            request_timeout_secs: 120,
            max_reply_bytes: crate::net::client::DEFAULT_REPLY_LIMIT,
        },
    )?;
    let now = crate::clock::unix_now();
    let policy = example_policy(now)
        .to_toml_string()
        .map_err(|e| InitError::Invalid(e.to_string()))?;
    write(&root.join("policy.example.toml"), policy.as_bytes(), false)?;
    write(
        &root.join("intent.example.json"),
        example_intent(now, 1).to_json_string().as_bytes(),
        false,
    )?;
    // Last: the genesis roster describes the files written above.
    // The example policy is registered (version 2) for every signer and key unless the
    // caller names another: a fresh cluster signs what its policy files allow, and every
    // later policy change goes through the admin quorum.
    let mut admins = opts.admins.clone();
    admins
        .initial_policy
        .get_or_insert_with(|| root.join("policy.example.toml"));
    crate::governance::bootstrap(root, opts.kdf, &admins)?;
    let staging = staging.keep();
    std::fs::rename(&staging, dir).map_err(io_err(dir))?;
    Ok(Layout {
        dir: dir.to_path_buf(),
    })
}

/// A host as a URL writes it: an IPv6 address in brackets.
fn url_host(host: &str) -> String {
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn setup_keys<P: ProofSystem>(dir: &Path, spend: &[SizeClass]) -> Result<(), InitError> {
    let system = P::setup(&mut OsRng).map_err(|e| InitError::ProofSystem(e.to_string()))?;
    system
        .save(dir)
        .map_err(|e| InitError::ProofSystem(format!("writing keys to {}: {e}", dir.display())))?;
    SpendKeys::<P::Spend>::setup_and_save(dir, spend, &mut OsRng)
        .map_err(|e| InitError::ProofSystem(format!("spend keys in {}: {e}", dir.display())))?;
    Ok(())
}

/// Loads the spend keys of the classes the cluster signs from `keys_dir`.
pub fn load_spend_keys<P: ProofSystem>(
    cluster: &ClusterConfig,
) -> Result<Arc<SpendKeys<P::Spend>>, InitError> {
    SpendKeys::load(&cluster.keys_dir, &cluster.spend_classes())
        .map(Arc::new)
        .map_err(|e| {
            InitError::ProofSystem(format!(
                "loading spend keys from {}: {e}",
                cluster.keys_dir.display()
            ))
        })
}

/// Loads the cluster's proof system from `keys_dir`, to be shared (`Arc`) by the servers
/// of this process.
pub fn load_system<P: ProofSystem>(cluster: &ClusterConfig) -> Result<Arc<P>, InitError> {
    let system = P::load(&cluster.keys_dir).map_err(|e| {
        InitError::ProofSystem(format!(
            "loading keys from {}: {e}",
            cluster.keys_dir.display()
        ))
    })?;
    Ok(Arc::new(system))
}

/// Loads only the cluster's statement verifier from `keys_dir` (the verifying key, checked
/// against the key directory's manifest; never the proving key): what the coordinator,
/// which only verifies, holds.
pub fn load_verifier<V: StatementVerifier>(cluster: &ClusterConfig) -> Result<Arc<V>, InitError> {
    let verifier = V::load_dir(&cluster.keys_dir).map_err(|e| {
        InitError::ProofSystem(format!(
            "loading the verifying key from {}: {e}",
            cluster.keys_dir.display()
        ))
    })?;
    Ok(Arc::new(verifier))
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuits::bn254::Bn254;

    /// Issue 10: the generated example policy carries a fresh random salt (so policies
    /// made from it are not linkable by `P`), written into its TOML and read back.
    #[test]
    fn example_policy_has_a_fresh_salt_that_round_trips() {
        let (a, b) = (example_policy(1_700_000_000), example_policy(1_700_000_000));
        assert_eq!(
            (a.asset(), a.max_amount(), a.not_before(), a.allowlist()),
            (b.asset(), b.max_amount(), b.not_before(), b.allowlist())
        );
        assert_ne!(a.salt(), b.salt());
        assert_ne!(a.salt(), circuits::sample::policy().salt());
        assert_ne!(a.commitment::<Bn254>(), b.commitment::<Bn254>());
        let text = a.to_toml_string().unwrap();
        assert!(text.contains(&format!("salt = \"{}\"", a.salt().to_hex().as_str())));
        assert_eq!(Policy::from_toml_str(&text).unwrap(), a);
    }
}
