//! `zkquorum node init`: a signer node makes its own secrets on its own host (see
//! [`zkquorum::cluster::enroll`]).
//!
//! ```text
//! ZKQUORUM_PASSPHRASE=… zkquorum node init --dir /var/lib/zkquorum/node-2 --id 2 \
//!     --url https://10.0.0.2:7702 --host 10.0.0.2 --host n2.example
//! ```
//!
//! The passphrase sealing `node.db` comes from `ZKQUORUM_PASSPHRASE` or `--passphrase-file`,
//! a file that must lie outside the node directory (a passphrase next to the database it
//! opens protects nothing); it is never written by this command. What to send the admins is
//! `enrollment.json`; what comes back is `tls.pem` (and `cluster.toml`, `ca.pem`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use zkquorum::cluster::enroll::{node_init, NodeInitOptions, ENROLLMENT_FILE};

use super::serve::ServeArgs;

/// `zkquorum node`: run a node, or `zkquorum node init` to make one.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct NodeArgs {
    /// `init`; without a subcommand the node is run.
    #[command(subcommand)]
    pub command: Option<NodeCommand>,
    /// Running the node.
    #[command(flatten)]
    pub serve: Option<ServeArgs>,
}

/// `zkquorum node …`.
#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// Make a node's secrets in a new directory: sealed node.db, TLS key and request,
    /// node.toml, and enrollment.json (public material only) for the admins.
    Init(NodeInitArgs),
}

/// `zkquorum node init`.
#[derive(Args, Debug)]
pub struct NodeInitArgs {
    /// The node directory (created 0700; must be absent or empty).
    #[arg(long)]
    pub dir: PathBuf,
    /// The node's signer id (1..=n).
    #[arg(long)]
    pub id: u16,
    /// The URL the coordinator will call it at, e.g. https://10.0.0.2:7702.
    #[arg(long)]
    pub url: String,
    /// A DNS name or IP address for its certificate (repeat; default: the URL's host).
    #[arg(long = "host")]
    pub hosts: Vec<String>,
    /// Address to listen on (default: 0.0.0.0 and the URL's port).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The shared cluster file, as node.toml names it (relative to the node directory).
    #[arg(long, default_value = "cluster.toml")]
    pub cluster: PathBuf,
    /// A file holding the database passphrase, outside --dir (else ZKQUORUM_PASSPHRASE).
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

/// Runs `zkquorum node init`.
pub fn init(args: &NodeInitArgs) -> Result<()> {
    let id = signer::SignerId::new(args.id).with_context(|| format!("--id {}", args.id))?;
    let (passphrase, file) = passphrase(args)?;
    let listen = match args.listen {
        Some(l) => l,
        None => {
            let url =
                reqwest::Url::parse(&args.url).with_context(|| format!("--url {}", args.url))?;
            let port = url
                .port_or_known_default()
                .with_context(|| format!("--url {} has no port", args.url))?;
            SocketAddr::from(([0, 0, 0, 0], port))
        }
    };
    let enrollment = node_init(
        &args.dir,
        &NodeInitOptions {
            id,
            url: args.url.clone(),
            hosts: args.hosts.clone(),
            listen,
            cluster: args.cluster.clone(),
            passphrase_file: file,
            kdf: signer::KdfParams::RECOMMENDED,
        },
        passphrase.as_bytes(),
    )?;
    let path = args.dir.join(ENROLLMENT_FILE);
    println!("{}", path.display());
    eprintln!(
        "node {} made in {} (identity {}, hosts {}); send {} to the admins \
         (zkquorum ca issue --role node --csr enrollment.json --out tls.pem)",
        enrollment.id.get(),
        args.dir.display(),
        hex::encode(enrollment.identity_key),
        enrollment.hosts.join(" "),
        path.display()
    );
    Ok(())
}

/// The passphrase, and the file node.toml should name (absolute), if it came from one.
fn passphrase(args: &NodeInitArgs) -> Result<(zeroize::Zeroizing<String>, Option<PathBuf>)> {
    if let Some(file) = &args.passphrase_file {
        let file = std::path::absolute(file).with_context(|| format!("{}", file.display()))?;
        if inside(&file, &args.dir)? {
            bail!(
                "--passphrase-file {} is inside --dir {}: keep the passphrase away from the \
                 database it opens",
                file.display(),
                args.dir.display()
            );
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let pass = zeroize::Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_string());
        return Ok((pass, Some(file)));
    }
    match std::env::var("ZKQUORUM_PASSPHRASE") {
        Ok(p) if !p.is_empty() => Ok((zeroize::Zeroizing::new(p), None)),
        _ => bail!(
            "no passphrase: set ZKQUORUM_PASSPHRASE or give --passphrase-file (outside --dir)"
        ),
    }
}

/// Whether `file` lies inside `dir` (both made absolute, symbolic links of existing parents
/// resolved).
fn inside(file: &Path, dir: &Path) -> Result<bool> {
    let canon = |p: &Path| -> Result<PathBuf> {
        let abs = std::path::absolute(p).with_context(|| format!("{}", p.display()))?;
        // The longest existing ancestor, resolved; the rest appended as given.
        let mut base = abs.clone();
        let mut rest = Vec::new();
        while !base.exists() {
            match (base.file_name().map(|n| n.to_os_string()), base.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    base = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut out = base.canonicalize().unwrap_or(base);
        out.extend(rest.iter().rev());
        Ok(out)
    };
    Ok(canon(file)?.starts_with(canon(dir)?))
}
