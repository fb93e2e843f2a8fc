//! `zkquorum init`: writes a local cluster (see [`zkquorum::cluster::init`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use circuits::BackendId;
use clap::Args;
use zkquorum::cluster::{self, InitOptions};

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
    /// Proof backend (`groth16` or `halo2`).
    #[arg(long, default_value = "groth16")]
    pub backend: BackendId,
    /// Host (IP or localhost) for URLs and certificates.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// A node on its own host: `ID=HOST` (IP or DNS name; repeat for several hosts of one
    /// node, the first is its URL's). Its certificate carries its hosts, not --host; it
    /// listens on HOST if HOST is an IP address, else on 0.0.0.0.
    #[arg(long = "node-host", value_parser = parse_node_host)]
    pub node_hosts: Vec<(u16, String)>,
    /// An existing CA directory (`zkquorum ca init`) to issue from; by default a
    /// throw-away CA whose key is not written.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The coordinator listens on this port, node i on port + i.
    #[arg(long, default_value_t = 7700)]
    pub base_port: u16,
    /// Cluster name.
    #[arg(long, default_value = "local")]
    pub name: String,
    /// Policy admin keys to make (`m`), into `<dir>/admins/`. In production each admin
    /// makes their own with `zkquorum admin keygen`; these are for test and demo clusters.
    #[arg(long, default_value_t = 3)]
    pub admins: u16,
    /// Admin approvals a governance record needs (`k`).
    #[arg(long, default_value_t = 2)]
    pub admin_threshold: u16,
    /// The Bitcoin network the cluster's keys spend on (bitcoin, testnet, signet, regtest).
    #[arg(long, default_value = "regtest")]
    pub network: String,
    /// Spend size classes (output slots) to make keys for, comma-separated: 2, 16, 256.
    /// Each is a Groth16 setup (16: about ten seconds; 256: about a minute on two cores).
    #[arg(long, value_delimiter = ',', default_value = "2", value_parser = super::parse_spend_class)]
    pub spend_classes: Vec<circuits::spend::SizeClass>,
}

fn parse_node_host(s: &str) -> Result<(u16, String), String> {
    let (id, host) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ID=HOST, e.g. 2=10.0.0.2"))?;
    let id = id
        .trim()
        .parse::<u16>()
        .map_err(|e| format!("{s:?}: node id: {e}"))?;
    if host.trim().is_empty() {
        return Err(format!("{s:?}: empty host"));
    }
    Ok((id, host.trim().to_string()))
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
    let mut node_hosts = std::collections::BTreeMap::<u16, Vec<String>>::new();
    for (id, host) in &args.node_hosts {
        if *id == 0 || *id > args.nodes {
            anyhow::bail!(
                "--node-host {id}={host}: there is no node {id} of {}",
                args.nodes
            );
        }
        node_hosts.entry(*id).or_default().push(host.clone());
    }
    let nodes = (1..=args.nodes)
        .map(|i| {
            let mut addr = port(i)?;
            if let Some(first) = node_hosts.get(&i).and_then(|h| h.first()) {
                addr.set_ip(first.parse().unwrap_or([0, 0, 0, 0].into()));
            }
            Ok(addr)
        })
        .collect::<Result<Vec<_>>>()?;
    let opts = InitOptions {
        name: args.name.clone(),
        threshold: args.threshold,
        backend: args.backend,
        host: args.host.clone(),
        node_hosts,
        ca: args.ca.clone(),
        coordinator: port(0)?,
        nodes,
        kdf: signer::KdfParams::RECOMMENDED,
        admins: zkquorum::governance::AdminOptions {
            admins: args.admins,
            threshold: args.admin_threshold,
            // One passphrase for every admin key if given; else a random one per key.
            passphrase: std::env::var("ZKQUORUM_ADMIN_PASSPHRASE")
                .ok()
                .map(zeroize::Zeroizing::new),
            initial_policy: None,
        },
        network: Some(
            verifier::bitcoin::parse_network(&args.network)
                .map_err(|e| anyhow::anyhow!("--network: {e}"))?,
        ),
        spend_classes: args.spend_classes.clone(),
    };
    eprintln!(
        "writing a {}-of-{} {} cluster into {} (proof-system setup takes a few seconds)",
        args.threshold,
        args.nodes,
        args.backend.short_name(),
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
    println!(
        "  clients:      {} (operator, every key), {} (admin), {} (auditor)",
        layout.client().display(),
        layout
            .client_of(zkquorum::net::roles::Role::Admin)
            .display(),
        layout
            .client_of(zkquorum::net::roles::Role::Auditor)
            .display()
    );
    println!(
        "  examples:     {} {}",
        layout.example_policy().display(),
        layout.example_intent().display()
    );
    println!(
        "  admins:       {} of {} must approve a governance record; keys in {} (for tests and \
         demos: in production each admin runs `zkquorum admin keygen` and only public keys \
         go into {})",
        args.admin_threshold,
        args.admins,
        layout.dir.join("admins").display(),
        layout.dir.join("trust-root.json").display()
    );
    Ok(())
}
