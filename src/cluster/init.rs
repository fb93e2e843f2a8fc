//! `zkquorum init`: writes a local cluster — CA and certificates, node databases with
//! fresh identity keys, the proof system's keys, every configuration file, example
//! policy and intent files, and its governance (admin keys, `trust-root.json`, the
//! genesis roster in every database: [`crate::governance::bootstrap()`]).
//!
//! Everything is written into a temporary sibling directory that is renamed into place at
//! the end, so an interrupted `init` leaves nothing half-made. Each node's database
//! passphrase is a random 256-bit value in `node-<i>/passphrase` (mode 0600); operators
//! who keep it elsewhere delete the file and set `ZKQUORUM_PASSPHRASE`.
//!
//! The Groth16 setup run here is a single-party setup: whoever runs `init` could forge
//! proofs. It suits a demo or a test cluster; production keys come from a multi-party
//! ceremony (or use the transparent halo2 backend).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use circuits::{BackendId, Intent, Policy};
use prover::groth16::Groth16System;
use prover::halo2::Halo2System;
use prover::ProofSystem;
use rand::rngs::OsRng;
use rand_core::RngCore;
use signer::session::Identity;
use signer::{KdfParams, SignerId};
use verifier::StatementVerifier;

use crate::cluster::config::{
    write_atomic, write_toml, ClientConfig, ClusterConfig, CoordinatorConfig, NodeConfig, NodeEntry,
};
use crate::net::dkg_seal::HpkeKey;
use crate::net::tls::ClusterCa;
use crate::node::store::{IdentitySecrets, NodeStore};

/// What `init` makes.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Cluster name (certificates, logs).
    pub name: String,
    /// Signers needed.
    pub threshold: u16,
    /// The proof system.
    pub backend: BackendId,
    /// Host name or IP the certificates are issued for and URLs use.
    pub host: String,
    /// The coordinator's client-API address.
    pub coordinator: SocketAddr,
    /// One listen address per node (`n` = its length).
    pub nodes: Vec<SocketAddr>,
    /// Argon2id cost of the node databases' passphrases.
    pub kdf: KdfParams,
    /// The policy admins and their threshold (see [`crate::governance::bootstrap()`]).
    pub admins: crate::governance::AdminOptions,
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
    /// `client/client.toml`.
    pub fn client(&self) -> PathBuf {
        self.dir.join("client").join("client.toml")
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
/// sample scenario's five recipients.
pub fn example_policy(now: u64) -> Policy {
    let mut p = circuits::sample::policy();
    p = Policy::new(
        p.asset(),
        p.max_amount(),
        now.saturating_sub(3600),
        p.allowlist().to_vec(),
    )
    .unwrap_or(p);
    p
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
    /// A node database could not be created.
    #[error("node {id} database: {source}")]
    Store {
        /// The node.
        id: u16,
        /// The store error.
        source: crate::store::StoreError,
    },
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
    std::fs::create_dir_all(p).map_err(io_err(p))
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
    mkdir(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".zkquorum-init-")
        .tempdir_in(parent)
        .map_err(io_err(parent))?;
    let root = staging.path();

    let ca = ClusterCa::generate(&opts.name)?;
    write(&root.join("ca.pem"), ca.cert_pem().as_bytes(), false)?;
    let hosts = vec![opts.host.clone(), "localhost".to_string()];
    let write_cert = |sub: &str, cn: &str| -> Result<(), InitError> {
        let d = root.join(sub);
        mkdir(&d)?;
        let c = ca.issue(cn, &hosts)?;
        write(&d.join("tls.pem"), c.cert_pem.as_bytes(), false)?;
        write(&d.join("tls.key"), c.key_pem.as_bytes(), true)?;
        Ok(())
    };
    write_cert("coordinator", &format!("{} coordinator", opts.name))?;
    write_cert("client", &format!("{} client", opts.name))?;

    let mut entries = Vec::new();
    for (i, addr) in opts.nodes.iter().enumerate() {
        let id = SignerId::new(i as u16 + 1).map_err(|e| InitError::Invalid(e.to_string()))?;
        let sub = format!("node-{}", id.get());
        write_cert(&sub, &format!("{} node {id}", opts.name))?;
        let identity = Identity::random(&mut OsRng);
        let hpke = HpkeKey::generate(&mut OsRng);
        let mut pass = [0u8; 32];
        OsRng.fill_bytes(&mut pass);
        let pass = zeroize::Zeroizing::new(hex::encode(pass));
        write(&root.join(&sub).join("passphrase"), pass.as_bytes(), true)?;
        NodeStore::create(
            &root.join(&sub).join("node.db"),
            id,
            pass.as_bytes(),
            opts.kdf,
            &IdentitySecrets {
                signing: identity.to_bytes(),
                hpke: hpke.secret_bytes(),
            },
        )
        .map_err(|source| InitError::Store {
            id: id.get(),
            source,
        })?;
        let node = NodeConfig {
            id,
            listen: *addr,
            db: "node.db".into(),
            tls_cert: "tls.pem".into(),
            tls_key: "tls.key".into(),
            passphrase_file: Some("passphrase".into()),
            cluster: "../cluster.toml".into(),
            max_clock_skew_secs: 120,
        };
        write_config(&root.join(&sub).join("node.toml"), &node)?;
        entries.push(NodeEntry {
            id,
            url: format!("https://{}:{}", opts.host, addr.port()),
            identity_key: identity.public_key(),
            hpke_key: hpke.public_bytes(),
        });
    }

    match opts.backend {
        BackendId::Groth16Bn254 => setup_keys::<Groth16System>(&root.join("keys"))?,
        BackendId::Halo2Pasta => setup_keys::<Halo2System>(&root.join("keys"))?,
    }

    let cluster = ClusterConfig {
        name: opts.name.clone(),
        threshold: opts.threshold,
        backend: opts.backend,
        keys_dir: "keys".into(),
        ca: "ca.pem".into(),
        coordinator_cert: "coordinator/tls.pem".into(),
        trust_root: verifier::governance::trust::TRUST_ROOT_FILE.into(),
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
    write_config(
        &root.join("client").join("client.toml"),
        &ClientConfig {
            coordinator_url: format!("https://{}:{}", opts.host, opts.coordinator.port()),
            ca: "../ca.pem".into(),
            tls_cert: "tls.pem".into(),
            tls_key: "tls.key".into(),
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
    crate::governance::bootstrap(root, opts.kdf, &opts.admins)?;
    let staging = staging.keep();
    std::fs::rename(&staging, dir).map_err(io_err(dir))?;
    Ok(Layout {
        dir: dir.to_path_buf(),
    })
}

fn setup_keys<P: ProofSystem>(dir: &Path) -> Result<(), InitError> {
    let system = P::setup(&mut OsRng).map_err(|e| InitError::ProofSystem(e.to_string()))?;
    system
        .save(dir)
        .map_err(|e| InitError::ProofSystem(format!("writing keys to {}: {e}", dir.display())))
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
