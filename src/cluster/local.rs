//! A whole cluster in one process: `n` signer nodes and a coordinator, each behind its own
//! mutual-TLS listener on 127.0.0.1 with its own SQLite database, written by
//! [`crate::cluster::init`] into a directory. `zkquorum demo` and the network benches run
//! on it; nothing in it is specific to one process except that the servers share a proof
//! system.

use std::path::{Path, PathBuf};

use circuits::spend::{SizeClass, SpendPolicy};
use circuits::{BackendId, Policy};
use prover::ProofSystem;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cluster::config::{
    ClientConfig, ClusterConfig, ConfigError, CoordinatorConfig, NodeConfig,
};
use crate::cluster::{self, InitError, InitOptions, Layout};
use crate::net::client::{ApiClient, ClientError};
use crate::node::store::NodeStore;
use crate::node::NodeError;
use crate::store::StoreError;

/// Why a local cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalClusterError {
    /// A loopback port could not be bound.
    #[error("binding a loopback port: {0}")]
    Bind(#[from] std::io::Error),
    /// `init` failed.
    #[error(transparent)]
    Init(#[from] InitError),
    /// A configuration it wrote does not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A node did not open.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The coordinator did not open.
    #[error("coordinator: {0}")]
    Coordinator(String),
    /// A node database could not be opened (policies).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A background task failed.
    #[error("task: {0}")]
    Task(String),
}

/// A running in-process cluster.
pub struct LocalCluster {
    /// Where its files are.
    pub layout: Layout,
    /// Its `cluster.toml`.
    pub cluster: ClusterConfig,
    /// The coordinator's database (keys, requests, audit log).
    pub coordinator_db: PathBuf,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
}

impl LocalCluster {
    /// Writes a `t`-of-`n` cluster into `dir` (which must not exist) and starts its nodes
    /// and coordinator on free loopback ports. Returns once every server is ready.
    pub async fn start<P: ProofSystem + 'static>(
        dir: &Path,
        backend: BackendId,
        t: u16,
        n: u16,
        kdf: signer::KdfParams,
    ) -> Result<Self, LocalClusterError> {
        Self::start_with::<P>(dir, backend, t, n, kdf, &[SizeClass::Two]).await
    }

    /// [`LocalCluster::start`], spending on regtest with the keys of `spend_classes`.
    pub async fn start_with<P: ProofSystem + 'static>(
        dir: &Path,
        backend: BackendId,
        t: u16,
        n: u16,
        kdf: signer::KdfParams,
        spend_classes: &[SizeClass],
    ) -> Result<Self, LocalClusterError> {
        // Listeners first (port 0), so the configuration names the ports actually bound.
        let mut listeners = Vec::new();
        for _ in 0..=n {
            listeners.push(TcpListener::bind("127.0.0.1:0").await?);
        }
        let addrs = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<std::io::Result<Vec<_>>>()?;
        let opts = InitOptions {
            name: "local".into(),
            threshold: t,
            backend,
            host: "127.0.0.1".into(),
            node_hosts: Default::default(),
            ca: None,
            coordinator: addrs[0],
            nodes: addrs[1..].to_vec(),
            kdf,
            admins: crate::governance::AdminOptions::default(),
            network: Some(verifier::bitcoin::Network::Regtest),
            spend_classes: spend_classes.to_vec(),
        };
        let target = dir.to_path_buf();
        let layout = tokio::task::spawn_blocking(move || cluster::init(&target, &opts))
            .await
            .map_err(|e| LocalClusterError::Task(e.to_string()))??;
        let cluster_cfg = ClusterConfig::load(&layout.cluster())?;
        let c2 = cluster_cfg.clone();
        let (system, spend) = tokio::task::spawn_blocking(move || {
            Ok::<_, cluster::InitError>((
                cluster::load_system::<P>(&c2)?,
                cluster::init::load_spend_keys::<P>(&c2)?,
            ))
        })
        .await
        .map_err(|e| LocalClusterError::Task(e.to_string()))??;
        // The coordinator loads its verifier as a separate coordinator process would.
        let c3 = cluster_cfg.clone();
        let verifier =
            tokio::task::spawn_blocking(move || cluster::load_verifier::<P::Verifier>(&c3))
                .await
                .map_err(|e| LocalClusterError::Task(e.to_string()))??;

        let (config, cluster) = CoordinatorConfig::load(&layout.coordinator())?;
        let coordinator_db = config.db.clone();
        let mut ready = vec![crate::coordinator::prepare(config, cluster, verifier)
            .await
            .map_err(|e| LocalClusterError::Coordinator(e.to_string()))?];
        for id in 1..=n {
            let (config, cluster) = NodeConfig::load(&layout.node(id))?;
            let pass = config.passphrase()?;
            ready.push(
                crate::node::prepare(config, cluster, pass, system.clone(), spend.clone()).await?,
            );
        }
        let (stop, stop_rx) = watch::channel(false);
        let servers = listeners
            .into_iter()
            .zip(ready)
            .map(|(listener, (tls, app))| {
                let mut rx = stop_rx.clone();
                tokio::spawn(crate::net::serve::serve(listener, tls, app, async move {
                    let _ = rx.wait_for(|s| *s).await;
                }))
            })
            .collect();
        Ok(Self {
            layout,
            cluster: cluster_cfg,
            coordinator_db,
            stop,
            servers,
        })
    }

    /// A client of the coordinator's API with the operator certificate.
    pub fn client(&self) -> Result<ApiClient, LocalClusterError> {
        self.client_as(crate::net::roles::Role::Operator)
    }

    /// A client of the coordinator's API with `role`'s certificate (the auditor's reads the
    /// log and the checkpoints; the operator's signs).
    pub fn client_as(&self, role: crate::net::roles::Role) -> Result<ApiClient, LocalClusterError> {
        let config = ClientConfig::load(&self.layout.client_of(role))?;
        ApiClient::from_config(&config)
            .map_err(|e: ClientError| LocalClusterError::Task(e.to_string()))
    }

    /// Sets node `id`'s policy (as `zkquorum policy set` does); returns its version.
    pub async fn set_policy(&self, id: u16, policy: Policy) -> Result<u64, LocalClusterError> {
        let (config, _) = NodeConfig::load(&self.layout.node(id))?;
        let pass = config.passphrase()?;
        tokio::task::spawn_blocking(move || {
            NodeStore::open(&config.db, pass.as_bytes())?.set_policy(&policy)
        })
        .await
        .map_err(|e| LocalClusterError::Task(e.to_string()))?
        .map_err(Into::into)
    }

    /// Proposes `policies` (per signer) for `key_id` as the next governance record,
    /// approves it with the first `approvals` admin keys of the cluster's `admins/`, and
    /// submits it to the coordinator with the admin certificate. Returns the accepted
    /// version, or the coordinator's refusal (e.g. too few approvals).
    pub async fn govern_policies(
        &self,
        key_id: &str,
        policies: &[(u16, Policy)],
        approvals: u16,
    ) -> Result<u64, LocalClusterError> {
        use crate::governance::{proposal, PolicyAssignments, RecordContent};
        let assignments = policies
            .iter()
            .map(|(id, p)| proposal::policy_assignment(key_id, *id, self.cluster.backend, p))
            .collect();
        self.govern(
            RecordContent::Policy(PolicyAssignments { assignments }),
            approvals,
        )
        .await
    }

    /// Sets node `id`'s spend policy from the file text `toml` (as `zkquorum policy set
    /// --spend` does); returns its version.
    pub async fn set_spend_policy(&self, id: u16, toml: String) -> Result<u64, LocalClusterError> {
        let (config, _) = NodeConfig::load(&self.layout.node(id))?;
        let pass = config.passphrase()?;
        tokio::task::spawn_blocking(move || {
            NodeStore::open(&config.db, pass.as_bytes())?
                .set_spend_policy(&toml)
                .map(|(v, _)| v)
        })
        .await
        .map_err(|e| LocalClusterError::Task(e.to_string()))?
        .map_err(Into::into)
    }

    /// [`LocalCluster::govern_policies`] for spend policies (a `spend_policy` record).
    pub async fn govern_spend_policies(
        &self,
        key_id: &str,
        policies: &[(u16, SpendPolicy)],
        approvals: u16,
    ) -> Result<u64, LocalClusterError> {
        use crate::governance::{proposal, PolicyAssignments, RecordContent};
        let assignments = policies
            .iter()
            .map(|(id, p)| proposal::spend_policy_assignment(key_id, *id, self.cluster.backend, p))
            .collect();
        self.govern(
            RecordContent::SpendPolicy(PolicyAssignments { assignments }),
            approvals,
        )
        .await
    }

    /// Proposes `content` as the next governance record in force from now, approves it with
    /// the first `approvals` admin keys and submits it with the admin certificate.
    pub async fn govern(
        &self,
        content: verifier::governance::RecordContent,
        approvals: u16,
    ) -> Result<u64, LocalClusterError> {
        use crate::governance::{bootstrap, proposal, AdminKey};
        let task = |e: String| LocalClusterError::Task(e);
        let dir = self.layout.dir.clone();
        let trust = verifier::governance::TrustRoot::load(&self.cluster.trust_root)
            .map_err(|e| task(e.to_string()))?;
        let head = crate::store::governance::read_records_at(&self.coordinator_db)
            .map_err(|e| task(e.to_string()))?
            .len() as u64;
        // In force from now: a record may not take effect before what the log already holds
        // (a key record, earlier signatures).
        let mut signed = proposal::propose(&trust, head + 1, crate::clock::unix_now(), content);
        for i in 1..=approvals {
            let path = bootstrap::admin_key_path(&dir, i);
            let pass = std::fs::read_to_string(bootstrap::passphrase_path(&path))?;
            let key =
                AdminKey::load(&path, pass.trim().as_bytes()).map_err(|e| task(e.to_string()))?;
            signed.add_approval(
                key.approve(&signed.record)
                    .map_err(|e| task(e.to_string()))?,
            );
        }
        let config = ClientConfig::load(&dir.join("client-admin").join("client.toml"))?;
        let tls = crate::net::tls::client_config(&config.tls_cert, &config.tls_key, &config.ca)
            .map_err(|e| task(e.to_string()))?;
        let http = crate::net::client::HttpClient::new(tls, std::time::Duration::from_secs(60))
            .map_err(|e| task(e.to_string()))?;
        let url = format!(
            "{}/v1/governance",
            config.coordinator_url.trim_end_matches('/')
        );
        let reply: crate::net::api::governance::SubmitReply = http
            .post(&url, &signed)
            .await
            .map_err(|e: ClientError| task(e.to_string()))?;
        Ok(reply.version)
    }

    /// Stops every server and waits for their accept loops to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for s in self.servers {
            let _ = s.await;
        }
    }
}
