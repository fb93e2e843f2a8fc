//! The cluster commands: `init`, `node`, `coordinator`, `keygen`, `policy set|show`,
//! `sign`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use circuits::{Intent, Policy};
use clap::{Args, Subcommand};
use prover::groth16::Groth16System;
use prover::halo2::Halo2System;
use prover::ProofSystem;
use zkquorum::api::SignRequest;
use zkquorum::client::ApiClient;
use zkquorum::cluster::{self, InitOptions};
use zkquorum::config::{BackendName, ClientConfig, CoordinatorConfig, NodeConfig};
use zkquorum::ids::{KeyId, RequestId};
use zkquorum::store::NodeStore;

/// Options of `zkquorum init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// Directory to create (must not exist).
    #[arg(long, default_value = "zkquorum-cluster")]
    pub dir: PathBuf,
    /// Number of signer nodes.
    #[arg(long, short, default_value_t = 5)]
    pub nodes: u16,
    /// Signers needed for a signature.
    #[arg(long, short, default_value_t = 3)]
    pub threshold: u16,
    /// Proof backend.
    #[arg(long, value_enum, default_value_t = BackendName::Groth16)]
    pub backend: BackendName,
    /// Host (IP or DNS name) for URLs and certificates.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The coordinator listens on this port, node i on port + i.
    #[arg(long, default_value_t = 7700)]
    pub base_port: u16,
    /// Cluster name.
    #[arg(long, default_value = "local")]
    pub name: String,
}

/// `zkquorum init`.
pub fn init(args: &InitArgs) -> Result<()> {
    let ip: std::net::IpAddr = if args.host == "localhost" {
        [127, 0, 0, 1].into()
    } else {
        args.host
            .parse()
            .with_context(|| format!("--host {:?} must be an IP address or localhost", args.host))?
    };
    let port = |i: u16| -> Result<SocketAddr> {
        let p = args
            .base_port
            .checked_add(i)
            .filter(|p| *p != 0)
            .with_context(|| format!("--base-port {} + {i} is not a port", args.base_port))?;
        Ok(SocketAddr::new(ip, p))
    };
    let nodes = (1..=args.nodes).map(port).collect::<Result<Vec<_>>>()?;
    let opts = InitOptions {
        name: args.name.clone(),
        threshold: args.threshold,
        backend: args.backend,
        host: args.host.clone(),
        coordinator: port(0)?,
        nodes,
        kdf: signer::KdfParams::RECOMMENDED,
    };
    eprintln!(
        "writing a {}-of-{} {} cluster into {} (proof-system setup takes a few seconds)",
        args.threshold,
        args.nodes,
        args.backend.as_str(),
        args.dir.display()
    );
    let layout = cluster::init(&args.dir, &opts)?;
    println!("cluster written to {}", layout.dir.display());
    println!(
        "  nodes:        zkquorum node --config {}",
        layout.node(1).display()
    );
    println!(
        "  coordinator:  zkquorum coordinator --config {}",
        layout.coordinator().display()
    );
    println!("  client:       {}", layout.client().display());
    println!(
        "  examples:     {} {}",
        layout.example_policy().display(),
        layout.example_intent().display()
    );
    Ok(())
}

/// Options shared by the two servers.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The node's or coordinator's configuration file.
    #[arg(long, env = "ZKQUORUM_CONFIG")]
    pub config: PathBuf,
    /// Overrides the configured listen address.
    #[arg(long, env = "ZKQUORUM_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Overrides the configured database path.
    #[arg(long, env = "ZKQUORUM_DB")]
    pub db: Option<PathBuf>,
    /// Once listening, writes the bound address (`127.0.0.1:40123`) to this file, atomically:
    /// with `--listen 127.0.0.1:0` the system picks a free port and this file names it.
    #[arg(long, env = "ZKQUORUM_READY_FILE")]
    pub ready_file: Option<PathBuf>,
}

impl ServeArgs {
    /// Applies the flag/environment overrides to a loaded configuration.
    fn apply(&self, listen: &mut SocketAddr, db: &mut PathBuf) {
        if let Some(l) = self.listen {
            *listen = l;
        }
        if let Some(d) = &self.db {
            *db = d.clone();
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

async fn bind_and_serve(
    addr: SocketAddr,
    ready_file: Option<&std::path::Path>,
    (tls, app): (std::sync::Arc<rustls::ServerConfig>, axum::Router),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    // The bound address, not the asked one: port 0 means "any free port".
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "listening");
    if let Some(path) = ready_file {
        zkquorum::config::write_atomic(path, addr.to_string().as_bytes(), false)
            .with_context(|| format!("writing the bound address to {}", path.display()))?;
    }
    zkquorum::serve::serve(listener, tls, app, shutdown_signal()).await;
    Ok(())
}

/// `zkquorum node`.
pub fn node(args: &ServeArgs) -> Result<()> {
    let (mut config, cluster) = NodeConfig::load(&args.config)?;
    args.apply(&mut config.listen, &mut config.db);
    let passphrase = config.passphrase()?;
    let addr = config.listen;
    runtime()?.block_on(async move {
        let ready = match cluster.backend {
            BackendName::Groth16 => {
                let system = cluster::load_system::<Groth16System>(&cluster)?;
                zkquorum::node::prepare(config, cluster, passphrase, system).await?
            }
            BackendName::Halo2 => {
                let system = cluster::load_system::<Halo2System>(&cluster)?;
                zkquorum::node::prepare(config, cluster, passphrase, system).await?
            }
        };
        bind_and_serve(addr, args.ready_file.as_deref(), ready).await
    })
}

/// `zkquorum coordinator`.
pub fn coordinator(args: &ServeArgs) -> Result<()> {
    let (mut config, cluster) = CoordinatorConfig::load(&args.config)?;
    args.apply(&mut config.listen, &mut config.db);
    let addr = config.listen;
    runtime()?.block_on(async move {
        let ready = match cluster.backend {
            BackendName::Groth16 => prepare_coordinator::<Groth16System>(config, cluster).await?,
            BackendName::Halo2 => prepare_coordinator::<Halo2System>(config, cluster).await?,
        };
        bind_and_serve(addr, args.ready_file.as_deref(), ready).await
    })
}

async fn prepare_coordinator<P: ProofSystem + 'static>(
    config: CoordinatorConfig,
    cluster: zkquorum::config::ClusterConfig,
) -> Result<(std::sync::Arc<rustls::ServerConfig>, axum::Router)> {
    let system = cluster::load_system::<P>(&cluster)?;
    zkquorum::service::prepare(config, cluster, system)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}

/// Options of the client commands.
#[derive(Args, Debug)]
pub struct ClientArgs {
    /// The client configuration (`client/client.toml` of the cluster).
    #[arg(long, env = "ZKQUORUM_CLIENT_CONFIG")]
    pub config: PathBuf,
    /// Overrides the configured coordinator URL.
    #[arg(long, env = "ZKQUORUM_COORDINATOR_URL")]
    pub coordinator_url: Option<String>,
}

fn api_client(args: &ClientArgs) -> Result<ApiClient> {
    let mut c = ClientConfig::load(&args.config)?;
    if let Some(u) = &args.coordinator_url {
        c.coordinator_url = u.clone();
    }
    Ok(ApiClient::from_config(&c)?)
}

/// Options of `zkquorum keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The new key's id.
    #[arg(long)]
    pub key_id: KeyId,
}

/// `zkquorum keygen`: DKG across the running nodes.
pub fn keygen(args: &KeygenArgs) -> Result<()> {
    let client = api_client(&args.client)?;
    let info = runtime()?.block_on(client.create_key(&args.key_id))?;
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

/// `zkquorum policy …`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Load a policy file (TOML) into a signer node's database. A running node uses it
    /// from its next session on; the previous policies stay in the history.
    Set(PolicySetArgs),
    /// Print a node's active policy and its version.
    Show(PolicyShowArgs),
}

/// Options of `zkquorum policy set`.
#[derive(Args, Debug)]
pub struct PolicySetArgs {
    /// The node's configuration file.
    #[arg(long, env = "ZKQUORUM_CONFIG")]
    pub config: PathBuf,
    /// The policy file.
    pub policy: PathBuf,
}

/// Options of `zkquorum policy show`.
#[derive(Args, Debug)]
pub struct PolicyShowArgs {
    /// The node's configuration file.
    #[arg(long, env = "ZKQUORUM_CONFIG")]
    pub config: PathBuf,
}

fn open_node_store(config: &std::path::Path) -> Result<(NodeStore, BackendName)> {
    let (config, cluster) = NodeConfig::load(config)?;
    let pass = config.passphrase()?;
    Ok((
        NodeStore::open(&config.db, pass.as_bytes())?,
        cluster.backend,
    ))
}

/// The policy commitment the cluster's backend proves against (what audit records show).
fn commitment_hex(policy: &Policy, backend: BackendName) -> String {
    hex::encode(match backend {
        BackendName::Groth16 => policy.commitment::<circuits::bn254::Bn254>().to_le_bytes(),
        BackendName::Halo2 => policy.commitment::<circuits::pasta::Pasta>().to_le_bytes(),
    })
}

/// Runs a `policy` subcommand.
pub fn policy(cmd: &PolicyCommand) -> Result<()> {
    match cmd {
        PolicyCommand::Set(a) => {
            let policy = Policy::from_file(&a.policy)
                .with_context(|| format!("policy file {}", a.policy.display()))?;
            let (store, backend) = open_node_store(&a.config)?;
            let version = store.set_policy(&policy)?;
            println!(
                "signer {}: policy version {version} active (commitment {})",
                store.node_id().get(),
                commitment_hex(&policy, backend)
            );
        }
        PolicyCommand::Show(a) => {
            let (store, _) = open_node_store(&a.config)?;
            match store.policy()? {
                Some((v, p)) => {
                    println!("# signer {} policy version {v}", store.node_id().get());
                    print!("{}", p.to_toml_string()?);
                }
                None => bail!("signer {} has no policy", store.node_id().get()),
            }
        }
    }
    Ok(())
}

/// Options of `zkquorum sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The key to sign with.
    #[arg(long)]
    pub key_id: KeyId,
    /// The intent file (JSON, or TOML if it ends in `.toml`).
    pub intent: PathBuf,
    /// Idempotency id: resubmitting with the same id returns the first outcome.
    #[arg(long)]
    pub request_id: Option<RequestId>,
    /// Also append the audit record to this JSON Lines file.
    #[arg(long)]
    pub record_out: Option<PathBuf>,
}

/// `zkquorum sign`: prints the signature and the audit record; exits non-zero when the
/// request is refused, printing each signer's reason and rule.
pub fn sign(args: &SignArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.intent)
        .with_context(|| format!("read {}", args.intent.display()))?;
    let intent = if args.intent.extension().is_some_and(|e| e == "toml") {
        Intent::from_toml_str(&text)
    } else {
        Intent::from_json_str(&text)
    }
    .with_context(|| format!("intent file {}", args.intent.display()))?;
    let client = api_client(&args.client)?;
    let req = SignRequest {
        key_id: args.key_id.clone(),
        intent,
        request_id: args.request_id.clone(),
    };
    match runtime()?.block_on(client.sign(&req)) {
        Ok(resp) => {
            if let Some(out) = &args.record_out {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(out)
                    .with_context(|| format!("open {}", out.display()))?;
                writeln!(f, "{}", serde_json::to_string(&resp.audit_record)?)?;
                f.sync_data()?;
            }
            println!("{}", serde_json::to_string_pretty(&resp)?);
            Ok(())
        }
        Err(zkquorum::client::ClientError::Api(e)) => {
            eprintln!("refused: {} ({})", e.message, e.error);
            for s in e.signers.iter().flatten() {
                match &s.refusal.rule {
                    Some(rule) => {
                        eprintln!("  signer {}: rule {rule}: {}", s.signer, s.refusal.reason)
                    }
                    None => eprintln!("  signer {}: {}", s.signer, s.refusal.reason),
                }
            }
            bail!("request refused: {}", e.error)
        }
        Err(e) => Err(e.into()),
    }
}
