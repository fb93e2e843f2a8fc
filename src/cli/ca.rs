//! `zkquorum ca init|issue|revoke` (the admins, on the machine that keeps the CA offline)
//! and `zkquorum csr` (anyone who needs a certificate, on their own machine).
//!
//! ```text
//! zkquorum ca init   --dir CA [--name NAME]
//! zkquorum csr       --dir D --name NAME [--host H]...            # tls.key (0600) + tls.csr
//! zkquorum ca issue  --ca CA --role R [--name N] [--keys K1,K2|*] --csr FILE --out cert.pem [--days D]
//! zkquorum ca revoke --ca CA --cert cert.pem [--key] [--list FILE]
//! ```
//!
//! `--csr` takes a PEM request (`zkquorum csr`) or a node's `enrollment.json`
//! (`zkquorum node init`); for the latter `ca issue` also checks the enrollment and prints the
//! node's `[[nodes]]` entry for `cluster.toml`. Renewal is `ca issue` again from the same
//! request. `ca revoke` appends to `CA/revoked.txt` (or `--list`), which the admins copy to
//! the path every server's `cluster.toml` names; servers pick it up without a restart.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use zkquorum::cluster::config::{create_private_dir, write_atomic};
use zkquorum::cluster::enroll::Enrollment;
use zkquorum::net::revocation::{revoke, RevokedKind, REVOKED_FILE};
use zkquorum::net::roles::{KeyScope, Role};
use zkquorum::net::tls::{read_csr, CertRequest, ClusterCa, Grant};

/// `zkquorum ca …`.
#[derive(Subcommand)]
pub enum CaCommand {
    /// Create a cluster CA in a new directory (ca.pem, ca.key 0600). Keep it offline.
    Init(CaInitArgs),
    /// Issue (or renew) a certificate from a signing request or a node's enrollment.
    Issue(IssueArgs),
    /// Revoke a certificate (or, with --key, every certificate of its key).
    Revoke(RevokeArgs),
}

/// `zkquorum ca init`.
#[derive(Args, Debug)]
pub struct CaInitArgs {
    /// Directory to create (must not exist).
    #[arg(long)]
    pub dir: PathBuf,
    /// Cluster name, written into the CA's name.
    #[arg(long, default_value = "local")]
    pub name: String,
}

/// `zkquorum ca issue`.
#[derive(Args, Debug)]
pub struct IssueArgs {
    /// The CA directory.
    #[arg(long)]
    pub ca: PathBuf,
    /// node, coordinator, operator, admin or auditor.
    #[arg(long)]
    pub role: String,
    /// The principal's name (the certificate's CN); a node's defaults to `node-<id>`.
    #[arg(long)]
    pub name: Option<String>,
    /// An operator's keys: comma-separated key ids, or `*` for every key.
    #[arg(long)]
    pub keys: Option<String>,
    /// The signing request (PEM) or a node's enrollment.json.
    #[arg(long)]
    pub csr: PathBuf,
    /// Where to write the certificate (PEM).
    #[arg(long)]
    pub out: PathBuf,
    /// Validity, days (default: 90 for node and coordinator, 30 for people).
    #[arg(long)]
    pub days: Option<u32>,
}

/// `zkquorum ca revoke`.
#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// The CA directory (its revoked.txt is the list unless --list is given).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The certificate to revoke (PEM).
    #[arg(long)]
    pub cert: PathBuf,
    /// Revoke the certificate's key: every certificate of it, renewals included.
    #[arg(long)]
    pub key: bool,
    /// The revocation list to append to (default: CA/revoked.txt).
    #[arg(long)]
    pub list: Option<PathBuf>,
}

/// `zkquorum csr`.
#[derive(Args, Debug)]
pub struct CsrArgs {
    /// Directory to write tls.key (0600) and tls.csr into (created 0700 if missing).
    #[arg(long)]
    pub dir: PathBuf,
    /// The name to request (the CA writes the name it grants).
    #[arg(long)]
    pub name: String,
    /// A DNS name or IP address for the certificate (servers; repeat for several).
    #[arg(long = "host")]
    pub hosts: Vec<String>,
}

/// Runs `zkquorum ca …`.
pub fn run(cmd: &CaCommand) -> Result<()> {
    match cmd {
        CaCommand::Init(args) => {
            ClusterCa::create_dir(&args.dir, &args.name)?;
            println!("CA written to {}", args.dir.display());
            println!(
                "  {}  the certificate every member trusts (cluster.toml `ca`)",
                args.dir.join("ca.pem").display()
            );
            println!(
                "  {}  the CA key (0600): keep this directory offline",
                args.dir.join("ca.key").display()
            );
            Ok(())
        }
        CaCommand::Issue(args) => issue(args),
        CaCommand::Revoke(args) => {
            let list = match (&args.list, &args.ca) {
                (Some(l), _) => l.clone(),
                (None, Some(ca)) => ca.join(REVOKED_FILE),
                (None, None) => bail!("give --ca (its revoked.txt) or --list"),
            };
            let cert = zkquorum::net::tls::load_certs(&args.cert)?;
            let kind = if args.key {
                RevokedKind::Key
            } else {
                RevokedKind::Cert
            };
            let line = revoke(&list, &cert[0], kind, zkquorum::clock::unix_now())?;
            println!("{line}");
            eprintln!(
                "appended to {}; copy it to the `revoked` path of every server's cluster.toml",
                list.display()
            );
            Ok(())
        }
    }
}

fn issue(args: &IssueArgs) -> Result<()> {
    let role: Role = args.role.parse()?;
    let text = std::fs::read_to_string(&args.csr)
        .with_context(|| format!("reading {}", args.csr.display()))?;
    let enrollment = if text.trim_start().starts_with('{') {
        let e = Enrollment::load(&args.csr)?;
        if role != Role::Node {
            bail!(
                "{} is a node's enrollment; it is issued with --role node",
                args.csr.display()
            );
        }
        Some(e)
    } else {
        None
    };
    let csr = enrollment
        .as_ref()
        .map_or(text.as_str(), |e| e.csr.as_str());
    let info = read_csr(csr).with_context(|| format!("{}", args.csr.display()))?;
    let name = match (&args.name, &enrollment) {
        (Some(n), _) => n.clone(),
        (None, Some(e)) => format!("node-{}", e.id.get()),
        (None, None) => bail!("--name is needed (the principal the certificate names)"),
    };
    let mut grant = Grant::new(role, &name);
    match (&args.keys, role) {
        (Some(k), Role::Operator) => {
            let scope: KeyScope = k.parse().context("--keys")?;
            grant = grant.with_scope(scope);
        }
        (None, Role::Operator) => bail!("an operator needs --keys (key ids, or * for every key)"),
        (Some(_), other) => {
            bail!("--keys is for operators; a {other} certificate has no key scope")
        }
        (None, _) => {}
    }
    if let Some(days) = args.days {
        grant = grant.with_days(days);
    }
    let ca = ClusterCa::load_dir(&args.ca)?;
    let cert = ca.issue(csr, &grant)?;
    write_atomic(&args.out, cert.as_bytes(), false)
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "issued {} certificate for {:?} ({} days, key {}{}) to {}",
        role,
        name,
        grant.days,
        hex::encode(&info.key_fingerprint[..8]),
        if info.hosts.is_empty() || !role.is_server() {
            String::new()
        } else {
            format!(", hosts {}", info.hosts.join(" "))
        },
        args.out.display()
    );
    if let Some(e) = enrollment {
        // The roster entry, for the admins' cluster.toml (or a roster record).
        let entry = toml::to_string(&NodesEntry {
            nodes: vec![e.node_entry()],
        })?;
        print!("{entry}");
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct NodesEntry {
    nodes: Vec<zkquorum::cluster::config::NodeEntry>,
}

/// Runs `zkquorum csr`.
pub fn csr(args: &CsrArgs) -> Result<()> {
    let key = args.dir.join("tls.key");
    let csr = args.dir.join("tls.csr");
    for p in [&key, &csr] {
        if p.exists() {
            bail!("{} exists; a key is never overwritten", p.display());
        }
    }
    create_private_dir(&args.dir).with_context(|| format!("creating {}", args.dir.display()))?;
    let req = CertRequest::generate(&args.name, &args.hosts)?;
    write_file(&key, req.key_pem.as_bytes(), true)?;
    write_file(&csr, req.csr_pem.as_bytes(), false)?;
    println!("{}", csr.display());
    eprintln!(
        "key in {} (0600, stays here); send {} to the admins",
        key.display(),
        csr.display()
    );
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    write_atomic(path, bytes, secret).with_context(|| format!("writing {}", path.display()))
}
