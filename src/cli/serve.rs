//! `zkquorum node` and `zkquorum coordinator`: load a configuration (flags and environment
//! override its address and database), the proof system, and serve until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use circuits::BackendId;
use clap::Args;
use prover::groth16::Groth16System;
use prover::halo2::Halo2System;
use verifier::{Groth16VerifyingKey, Halo2VerifyingKey, StatementVerifier};
use zkquorum::cluster;
use zkquorum::cluster::config::{CoordinatorConfig, NodeConfig};

use super::runtime;

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
    (tls, app): (zkquorum::net::serve::ServerTls, axum::Router),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    // The bound address, not the asked one: port 0 means "any free port".
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(%addr, "listening");
    if let Some(path) = ready_file {
        zkquorum::cluster::config::write_atomic(path, addr.to_string().as_bytes(), false)
            .with_context(|| format!("writing the bound address to {}", path.display()))?;
    }
    zkquorum::net::serve::serve(listener, tls, app, shutdown_signal()).await;
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
            BackendId::Groth16Bn254 => {
                let system = cluster::load_system::<Groth16System>(&cluster)?;
                let spend = cluster::init::load_spend_keys::<Groth16System>(&cluster)?;
                zkquorum::node::prepare(config, cluster, passphrase, system, spend).await?
            }
            BackendId::Halo2Pasta => {
                let system = cluster::load_system::<Halo2System>(&cluster)?;
                let spend = cluster::init::load_spend_keys::<Halo2System>(&cluster)?;
                zkquorum::node::prepare(config, cluster, passphrase, system, spend).await?
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
            BackendId::Groth16Bn254 => {
                prepare_coordinator::<Groth16VerifyingKey>(config, cluster).await?
            }
            BackendId::Halo2Pasta => {
                prepare_coordinator::<Halo2VerifyingKey>(config, cluster).await?
            }
        };
        bind_and_serve(addr, args.ready_file.as_deref(), ready).await
    })
}

/// The coordinator only verifies: it loads the verifying key, never the proving key.
async fn prepare_coordinator<V: StatementVerifier + 'static>(
    config: CoordinatorConfig,
    cluster: zkquorum::cluster::config::ClusterConfig,
) -> Result<(zkquorum::net::serve::ServerTls, axum::Router)> {
    let verifier = cluster::load_verifier::<V>(&cluster)?;
    zkquorum::coordinator::prepare(config, cluster, verifier)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}
