//! `zkquorum admin`: the policy admins' commands.
//!
//! - `admin keygen --out FILE`: a new admin key, sealed under a passphrase; prints its
//!   public key (what goes into `trust-root.json`);
//! - `admin propose --trust-root F --version V [--effective-from T] policy --cluster
//!   cluster.toml --key-id K --signer S --policy FILE [--signer S --policy FILE …] --out
//!   proposal.json`, or `… roster --cluster cluster.toml --out proposal.json`: a record with
//!   no approvals yet (a policy's commitment `P` is computed from its file for the cluster's
//!   backend);
//! - `admin approve --key FILE proposal.json`: adds this admin's approval (the file is
//!   rewritten atomically);
//! - `admin submit --config client.toml proposal.json`: sends it to the coordinator, which
//!   checks it, keeps it and hands it to every node;
//! - `admin show --trust-root F (proposal.json | --registry FILE | --coordinator
//!   client.toml)`: what a proposal or a registry holds, with its approvals checked against
//!   the trust root.
//!
//! Passphrases come from `--passphrase-file`, else `ZKQUORUM_ADMIN_PASSPHRASE`, else a
//! prompt on the terminal (echo off).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use circuits::Policy;
use clap::{Args, Subcommand};
use zeroize::Zeroizing;
use zkquorum::cluster::config::{ClientConfig, ClusterConfig};
use zkquorum::governance::proposal::{
    default_node_cert, policy_assignment, propose, roster_from_cluster, spend_policy_assignment,
};
use zkquorum::governance::{
    approve_file, read_proposal, write_proposal, AdminKey, PolicyAssignments, RecordContent,
    Registry, SignedRecord, TrustRoot,
};
use zkquorum::net::api::governance::{GovernanceList, SubmitReply};
use zkquorum::net::client::{ClientError, HttpClient};

use super::client::ClientArgs;
use super::runtime;

/// `zkquorum admin …`.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Make a new admin key (sealed under a passphrase); prints its public key.
    Keygen(KeygenArgs),
    /// Propose a governance record (a roster or policy assignments) into a file.
    Propose(ProposeArgs),
    /// Add this admin's approval to a proposal file.
    Approve(ApproveArgs),
    /// Submit an approved proposal to the coordinator.
    Submit(SubmitArgs),
    /// Show a proposal, or a registry (a database, an export, or the coordinator's).
    Show(ShowArgs),
}

/// Where a passphrase comes from.
#[derive(Args, Debug)]
pub struct PassphraseArgs {
    /// A file holding the passphrase (else `ZKQUORUM_ADMIN_PASSPHRASE`, else a prompt).
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

/// Options of `admin keygen`.
#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// The key file to write (refused if it exists).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// Options of `admin propose`.
#[derive(Args, Debug)]
pub struct ProposeArgs {
    /// The cluster's trust root (names the cluster the record is for).
    #[arg(long)]
    pub trust_root: PathBuf,
    /// The record's version: the registry's head + 1.
    #[arg(long)]
    pub version: u64,
    /// Unix time (s) from which the record is in force (default: now).
    #[arg(long)]
    pub effective_from: Option<u64>,
    /// What to propose.
    #[command(subcommand)]
    pub what: ProposeWhat,
}

/// The kinds of record.
#[derive(Subcommand, Debug)]
pub enum ProposeWhat {
    /// Policy commitments for one or more signers.
    Policy(PolicyProposal),
    /// The cluster's roster, from its `cluster.toml` and certificates.
    Roster(RosterProposal),
}

/// Options of `admin propose … policy`.
#[derive(Args, Debug)]
pub struct PolicyProposal {
    /// The cluster file (its backend decides which commitment `P` is registered).
    #[arg(long)]
    pub cluster: PathBuf,
    /// The key id (`*`: every key without its own assignment); once for all signers, or
    /// once per `--signer`.
    #[arg(long, default_value = "*")]
    pub key_id: Vec<String>,
    /// A signer id; each is paired with the `--policy` at the same position.
    #[arg(long, required = true)]
    pub signer: Vec<u16>,
    /// A policy file (TOML); paired with the `--signer` at the same position.
    #[arg(long, required = true)]
    pub policy: Vec<PathBuf>,
    /// The files are Bitcoin spend policies (`verifier::bitcoin::spend_policy_from_toml`):
    /// the record is a `spend_policy` one, what spends are proved against.
    #[arg(long)]
    pub spend: bool,
    /// The proposal file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Options of `admin propose … roster`.
#[derive(Args, Debug)]
pub struct RosterProposal {
    /// The cluster file: nodes, threshold, the coordinator's certificate.
    #[arg(long)]
    pub cluster: PathBuf,
    /// A node's certificate as `ID=FILE` (default: `node-<id>/tls.pem` next to the
    /// cluster file).
    #[arg(long)]
    pub node_cert: Vec<String>,
    /// The proposal file to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// Options of `admin approve`.
#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// This admin's key file.
    #[arg(long)]
    pub key: PathBuf,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// The trust root: when given, a record for another cluster or a key that is not an
    /// admin is refused before signing.
    #[arg(long)]
    pub trust_root: Option<PathBuf>,
    /// The proposal file (rewritten with the approval added).
    pub proposal: PathBuf,
}

/// Options of `admin submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The approved proposal file.
    pub proposal: PathBuf,
}

/// Options of `admin show`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["proposal", "registry", "coordinator"])))]
pub struct ShowArgs {
    /// The trust root approvals are checked against.
    #[arg(long)]
    pub trust_root: PathBuf,
    /// A proposal (or signed record) file.
    pub proposal: Option<PathBuf>,
    /// A registry: a node or coordinator database, or a JSON export (`GET /v1/governance`).
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// The coordinator's registry, reached with this `client.toml`.
    #[arg(long)]
    pub coordinator: Option<PathBuf>,
}

/// Runs an `admin` command.
pub fn run(cmd: &AdminCommand) -> Result<()> {
    match cmd {
        AdminCommand::Keygen(a) => keygen(a),
        AdminCommand::Propose(a) => propose_cmd(a),
        AdminCommand::Approve(a) => approve(a),
        AdminCommand::Submit(a) => submit(a),
        AdminCommand::Show(a) => show(a),
    }
}

/// Reads a line from the terminal with echo off.
fn prompt(question: &str) -> Result<Zeroizing<String>> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    let stdin = std::io::stdin();
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let saved = tcgetattr(&stdin).context("reading the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes -= LocalModes::ECHO;
    tcsetattr(&stdin, OptionalActions::Now, &quiet).context("turning echo off")?;
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    // Echo back on whatever the read did.
    let restored = tcsetattr(&stdin, OptionalActions::Now, &saved);
    eprintln!();
    read.context("reading the passphrase")?;
    restored.context("restoring the terminal settings")?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

/// The passphrase: `--passphrase-file`, `ZKQUORUM_ADMIN_PASSPHRASE`, or a prompt (asked
/// twice when `confirm`).
fn passphrase(args: &PassphraseArgs, confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(path) = &args.passphrase_file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the passphrase file {}", path.display()))?,
        );
        return Ok(Zeroizing::new(
            text.trim_end_matches(['\r', '\n']).to_string(),
        ));
    }
    if let Ok(p) = std::env::var("ZKQUORUM_ADMIN_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: use --passphrase-file, set ZKQUORUM_ADMIN_PASSPHRASE, or run on a terminal");
    }
    let p = prompt("admin key passphrase: ")?;
    if confirm {
        let again = prompt("again: ")?;
        if *again != *p {
            bail!("the passphrases differ");
        }
    }
    if p.is_empty() {
        bail!("an empty passphrase does not protect an admin key");
    }
    Ok(p)
}

fn keygen(args: &KeygenArgs) -> Result<()> {
    if args.out.exists() {
        bail!(
            "{} exists; an admin key is never overwritten",
            args.out.display()
        );
    }
    let pass = passphrase(&args.passphrase, true)?;
    let key = AdminKey::generate();
    key.save(&args.out, pass.as_bytes(), signer::KdfParams::RECOMMENDED)?;
    eprintln!("admin key written to {} (mode 0600)", args.out.display());
    println!("{}", hex::encode(key.public_key()));
    Ok(())
}

fn load_trust(path: &Path) -> Result<TrustRoot> {
    Ok(TrustRoot::load(path)?)
}

fn propose_cmd(args: &ProposeArgs) -> Result<()> {
    let trust = load_trust(&args.trust_root)?;
    if args.version == 0 {
        bail!("--version starts at 1 (the genesis roster); a new record is the head + 1");
    }
    let effective_from = args
        .effective_from
        .unwrap_or_else(zkquorum::clock::unix_now);
    let (content, out) = match &args.what {
        ProposeWhat::Policy(p) => {
            let cluster = ClusterConfig::load(&p.cluster)?;
            if p.signer.len() != p.policy.len() {
                bail!(
                    "{} --signer but {} --policy: give one policy file per signer",
                    p.signer.len(),
                    p.policy.len()
                );
            }
            if p.key_id.len() != 1 && p.key_id.len() != p.signer.len() {
                bail!(
                    "{} --key-id for {} signers: give one key id for all, or one per signer",
                    p.key_id.len(),
                    p.signer.len()
                );
            }
            let mut assignments = Vec::new();
            for (i, (signer, file)) in p.signer.iter().zip(&p.policy).enumerate() {
                let key_id = &p.key_id[if p.key_id.len() == 1 { 0 } else { i }];
                assignments.push(if p.spend {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("spend policy file {}", file.display()))?;
                    let policy = verifier::bitcoin::spend_policy_from_toml(&text)
                        .with_context(|| format!("spend policy file {}", file.display()))?;
                    spend_policy_assignment(key_id, *signer, cluster.backend, &policy)
                } else {
                    let policy = Policy::from_file(file)
                        .with_context(|| format!("policy file {}", file.display()))?;
                    policy_assignment(key_id, *signer, cluster.backend, &policy)
                });
            }
            let assignments = PolicyAssignments { assignments };
            let content = if p.spend {
                RecordContent::SpendPolicy(assignments)
            } else {
                RecordContent::Policy(assignments)
            };
            (content, &p.out)
        }
        ProposeWhat::Roster(r) => {
            let cluster = ClusterConfig::load(&r.cluster)?;
            let dir = r
                .cluster
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let mut certs = Vec::new();
            for spec in &r.node_cert {
                let (id, file) = spec
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--node-cert {spec:?}: expected ID=FILE"))?;
                let id: u16 = id
                    .parse()
                    .with_context(|| format!("--node-cert {spec:?}: {id:?} is not a node id"))?;
                certs.push((id, PathBuf::from(file)));
            }
            let roster = roster_from_cluster(&cluster, |id| {
                certs
                    .iter()
                    .find(|(i, _)| *i == id)
                    .map(|(_, f)| f.clone())
                    .unwrap_or_else(|| default_node_cert(&dir, id))
            })?;
            (RecordContent::Roster(roster), &r.out)
        }
    };
    if out.exists() {
        bail!("{} exists; choose a new proposal file", out.display());
    }
    let signed = propose(&trust, args.version, effective_from, content);
    // The record must make sense on its own before anyone signs it.
    if let RecordContent::Policy(p) | RecordContent::SpendPolicy(p) = &signed.record.content {
        p.validate()
            .map_err(|e| anyhow!("invalid policy assignment: {e}"))?;
    }
    write_proposal(out, &signed)?;
    eprintln!("proposal written to {}", out.display());
    print_record(&signed, &trust);
    Ok(())
}

fn approve(args: &ApproveArgs) -> Result<()> {
    let trust = args.trust_root.as_deref().map(load_trust).transpose()?;
    // Show what is about to be signed before asking for the passphrase.
    let current = read_proposal(&args.proposal)?;
    if let Some(t) = &trust {
        print_record(&current, t);
    }
    let pass = passphrase(&args.passphrase, false)?;
    let key = AdminKey::load(&args.key, pass.as_bytes())?;
    let signed = approve_file(&args.proposal, &key, trust.as_ref())?;
    eprintln!(
        "approved record version {} ({}) as {}; {} approval(s) in {}",
        signed.record.version,
        signed.record.kind(),
        hex::encode(key.public_key()),
        signed.approvals.len(),
        args.proposal.display()
    );
    Ok(())
}

/// A client with `client.toml`'s certificate, and the coordinator's base URL (`url`
/// overrides the configured one).
fn http_client(config: &Path, url: Option<&str>) -> Result<(HttpClient, String)> {
    let mut c = ClientConfig::load(config)?;
    if let Some(u) = url {
        c.coordinator_url = u.to_string();
    }
    let tls = zkquorum::net::tls::client_config(&c.tls_cert, &c.tls_key, &c.ca)?;
    let http = HttpClient::new(tls, Duration::from_secs(120))?;
    Ok((http, c.coordinator_url.trim_end_matches('/').to_string()))
}

fn submit(args: &SubmitArgs) -> Result<()> {
    let signed = read_proposal(&args.proposal)?;
    let (http, base) = http_client(&args.client.config, args.client.coordinator_url.as_deref())?;
    let url = format!("{base}/v1/governance");
    match runtime()?.block_on(http.post::<_, SubmitReply>(&url, &signed)) {
        Ok(reply) => {
            println!("accepted: record version {}", reply.version);
            for n in &reply.nodes {
                match (&n.head, &n.error) {
                    (Some(head), _) => println!("  node {}: holds version {head}", n.signer),
                    (None, Some(e)) => println!(
                        "  node {}: not reached ({e}); it gets the record at the next push",
                        n.signer
                    ),
                    (None, None) => println!("  node {}: no answer", n.signer),
                }
            }
            Ok(())
        }
        Err(ClientError::Api(e)) => {
            bail!(
                "the coordinator refused record version {}: {} ({})",
                signed.record.version,
                e.message,
                e.error
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn show(args: &ShowArgs) -> Result<()> {
    let trust = load_trust(&args.trust_root)?;
    if let Some(path) = &args.proposal {
        let signed = read_proposal(path)?;
        print_record(&signed, &trust);
        return Ok(());
    }
    let records = if let Some(path) = &args.registry {
        registry_file(path)?
    } else if let Some(config) = &args.coordinator {
        let (http, base) = http_client(config, None)?;
        let url = format!("{base}/v1/governance?from=1");
        runtime()?
            .block_on(http.get::<GovernanceList>(&url))
            .with_context(|| format!("reading the coordinator's registry ({url})"))?
            .records
    } else {
        bail!("give a proposal file, --registry or --coordinator");
    };
    let count = records.len();
    for r in &records {
        print_record(r, &trust);
    }
    match Registry::from_records(trust.clone(), records) {
        Ok(reg) => println!(
            "registry: {count} record(s), head version {}, every one verified against the trust root ({} of {} admins)",
            reg.head(),
            trust.threshold(),
            trust.admins().len()
        ),
        Err(e) => bail!("registry of {count} record(s) does not verify: {e}"),
    }
    Ok(())
}

/// The records of a registry file: a node or coordinator database, or a JSON export (an
/// object with `records`, or an array of signed records).
pub(crate) fn registry_file(path: &Path) -> Result<Vec<SignedRecord>> {
    if zkquorum::coordinator::store::is_sqlite_file(path) {
        return Ok(zkquorum::store::governance::read_records_at(path)?);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if let Ok(list) = serde_json::from_str::<GovernanceList>(&text) {
        return Ok(list.records);
    }
    serde_json::from_str::<Vec<SignedRecord>>(&text).with_context(|| {
        format!(
            "{}: neither a database nor a governance export (JSON)",
            path.display()
        )
    })
}

/// The admin's place in the trust root (1-based) and the start of its key.
fn admin_label(trust: &TrustRoot, key: &[u8; 32]) -> String {
    let short = &hex::encode(key)[..16];
    match trust.admins().iter().position(|a| a == key) {
        Some(i) => format!("#{} {short}…", i + 1),
        None => format!("(not an admin) {short}…"),
    }
}

fn print_record(signed: &SignedRecord, trust: &TrustRoot) {
    let r = &signed.record;
    let now = zkquorum::clock::unix_now();
    let when = if r.effective_from <= now {
        "in force".to_string()
    } else {
        format!("in force in {} s", r.effective_from - now)
    };
    println!(
        "record version {} ({}), cluster {:?}",
        r.version,
        r.kind(),
        r.cluster
    );
    println!("  effective_from: {} ({when})", r.effective_from);
    let hash_ok = if r.check_content_hash().is_ok() {
        "matches the content"
    } else {
        "DOES NOT match the content: changed after it was proposed"
    };
    println!(
        "  content_hash: {} ({hash_ok})",
        hex::encode(r.content_hash)
    );
    match &r.content {
        RecordContent::Roster(roster) => {
            println!(
                "  roster: {}-of-{}, coordinator TLS {}",
                roster.threshold,
                roster.nodes.len(),
                hex::encode(roster.coordinator_tls_fingerprint)
            );
            for n in &roster.nodes {
                println!(
                    "    node {}: {} identity {} TLS {}",
                    n.id,
                    n.url,
                    hex::encode(n.identity_key),
                    hex::encode(n.tls_fingerprint)
                );
            }
        }
        RecordContent::Policy(p) | RecordContent::SpendPolicy(p) => {
            for a in &p.assignments {
                println!(
                    "  {}: key {} signer {} backend {} P {}",
                    r.kind(),
                    a.key_id,
                    a.signer,
                    a.backend.short_name(),
                    hex::encode(a.commitment)
                );
            }
        }
    }
    let k = trust.threshold();
    match signed.approvers(trust) {
        Ok(approvers) => {
            let names: Vec<String> = approvers.iter().map(|a| admin_label(trust, a)).collect();
            println!(
                "  approvals: {} of {k} ({})",
                approvers.len(),
                if names.is_empty() {
                    "none yet".to_string()
                } else {
                    format!("admins {}", names.join(", "))
                }
            );
        }
        Err(e) => println!("  approvals: refused: {e}"),
    }
}
