//! `zkquorum audit verify`: re-verify an audit log offline; `zkquorum audit export`: fetch
//! it (from the coordinator's API as an auditor, or from its database file) as JSON Lines,
//! each stored line verbatim.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use circuits::BackendId;
use clap::{Args, Subcommand};
use verifier::audit::{verify_log, AuditKeys, Witnesses};
use verifier::governance::{Registry, TrustRoot};

/// `zkquorum audit …`.
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Verify an audit log: the hash chain, every final signature, every signer's
    /// attestation, binding and proof. Exits non-zero on any failure.
    ///
    /// halo2 proofs are checked with the transparent key (no file needed). Groth16 proofs
    /// need the verifying key (`groth16-bn254.vk`) from `--keys DIR`; without it every
    /// Groth16 record fails with "no verifying key" (UnknownVerifyingKey).
    Verify(VerifyArgs),
    /// Export the audit log as JSON Lines, every record's stored bytes verbatim (so the
    /// file verifies and chains exactly as stored): from the coordinator's API
    /// (`--config client.toml`, `GET /v1/audit`) or from its database file (`--db`).
    Export(ExportArgs),
}

/// Options of `zkquorum audit export`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["config", "db"])))]
pub struct ExportArgs {
    /// The client configuration of an auditor (its certificate), to fetch over the API.
    #[arg(long, env = "ZKQUORUM_CLIENT_CONFIG")]
    config: Option<PathBuf>,
    /// The coordinator's database file, read directly (read-only).
    #[arg(long)]
    db: Option<PathBuf>,
    /// Export from this record index on (an auditor appending to what it has).
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// The output file (written atomically); `-` for standard output.
    #[arg(long, short)]
    out: PathBuf,
    /// Also write every node's latest signature over the log (JSON) to this file: what
    /// `audit verify --checkpoints` needs to accept the log.
    #[arg(long, value_name = "FILE")]
    checkpoints_out: Option<PathBuf>,
}

/// Options of `zkquorum audit verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The audit log: a JSON Lines file (one record per line), or the coordinator's SQLite
    /// database (`coordinator/coordinator.db`), detected by its header.
    log: PathBuf,
    /// Key directory as the prover saves it: the Groth16/BN254 verifying key and/or the
    /// halo2 params, each checked against its manifest. Without it, only halo2 proofs can
    /// be checked.
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// Also check halo2 spend records of these size classes (2, 16, 256; comma-separated),
    /// with their transparent keys, recomputed here: class 16 takes seconds, 256 about two
    /// minutes on two cores. Groth16 spend keys come from `--keys`.
    #[arg(long, value_delimiter = ',', value_parser = super::parse_spend_class)]
    halo2_spend_classes: Vec<circuits::spend::SizeClass>,
    /// The auditor's trust root (`trust-root.json`: the admin keys and threshold). Every
    /// governance record is checked against it; the policies it registers are what each
    /// signer's `P` must be.
    #[arg(long, value_name = "FILE")]
    trust_root: PathBuf,
    /// The governance registry: a node or coordinator database, or a JSON export
    /// (`GET /v1/governance`). Default: the log itself when it is the coordinator's
    /// database.
    #[arg(long, value_name = "FILE")]
    registry: Option<PathBuf>,
    /// Largest accepted difference between a record's session time and its append time,
    /// in seconds.
    #[arg(long, default_value_t = verifier::audit::DEFAULT_MAX_SKEW_SECS)]
    max_skew: u64,
    /// The nodes' signatures over the log (`audit export --checkpoints-out`). Default: read
    /// from the log itself when it is the coordinator's database.
    #[arg(long, value_name = "FILE")]
    checkpoints: Option<PathBuf>,
    /// Rostered nodes that must have witnessed a record for it to be accepted. Default:
    /// the signing threshold of the newest roster.
    #[arg(long)]
    min_witnesses: Option<usize>,
    /// Verify without any checkpoint (nothing then shows that this log is the one the
    /// nodes witnessed: the report says so).
    #[arg(long)]
    allow_unwitnessed: bool,
}

/// Runs an `audit` subcommand.
pub fn run(cmd: &AuditCommand) -> Result<()> {
    match cmd {
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Export(args) => export(args),
    }
}

fn export(args: &ExportArgs) -> Result<()> {
    let (lines, witnesses) = match (&args.config, &args.db) {
        (_, Some(db)) => {
            let lines = zkquorum::coordinator::store::read_audit_lines(db)
                .with_context(|| format!("read the audit log in {}", db.display()))?;
            let from = usize::try_from(args.from).unwrap_or(usize::MAX);
            let signatures = zkquorum::coordinator::store::read_witnesses(db)
                .with_context(|| format!("read the witnesses in {}", db.display()))?;
            let log_id = zkquorum::store::governance::read_records_at(db)?
                .first()
                .map(|r| r.record.cluster.clone())
                .unwrap_or_default();
            let witnesses = Witnesses { log_id, signatures };
            (lines.into_iter().skip(from).collect::<Vec<_>>(), witnesses)
        }
        (Some(config), None) => {
            let client = super::client::api_client(&super::client::ClientArgs {
                config: config.clone(),
                coordinator_url: None,
            })?;
            let rt = super::runtime()?;
            // The checkpoints first: the lines fetched after them reach at least as far.
            let witnesses = rt.block_on(client.checkpoints())?;
            (rt.block_on(client.audit_from(args.from))?, witnesses)
        }
        (None, None) => bail!("give --config (over the API) or --db (a database file)"),
    };
    if let Some(path) = &args.checkpoints_out {
        zkquorum::cluster::config::write_atomic(
            path,
            serde_json::to_string_pretty(&witnesses)?.as_bytes(),
            false,
        )
        .with_context(|| format!("write {}", path.display()))?;
    }
    let mut text = String::new();
    for l in &lines {
        text.push_str(l);
        text.push('\n');
    }
    if args.out.as_os_str() == "-" {
        print!("{text}");
    } else {
        zkquorum::cluster::config::write_atomic(&args.out, text.as_bytes(), false)
            .with_context(|| format!("write {}", args.out.display()))?;
        eprintln!(
            "exported {} record(s) from index {} to {}",
            lines.len(),
            args.from,
            args.out.display()
        );
    }
    Ok(())
}

fn verify(args: &VerifyArgs) -> Result<()> {
    let trust = TrustRoot::load(&args.trust_root)
        .with_context(|| format!("trust root {}", args.trust_root.display()))?;
    let registry_path = match &args.registry {
        Some(p) => p.clone(),
        None if zkquorum::coordinator::store::is_sqlite_file(&args.log) => args.log.clone(),
        None => bail!("give --registry (a database or a governance export) for a JSON Lines log"),
    };
    let records = super::admin::registry_file(&registry_path)?;
    let count = records.len();
    let registry = Registry::from_records(trust, records).with_context(|| {
        format!(
            "the governance registry in {} does not verify against the trust root",
            registry_path.display()
        )
    })?;
    let is_db = zkquorum::coordinator::store::is_sqlite_file(&args.log);
    let witnesses: Option<Witnesses> = match &args.checkpoints {
        Some(path) => Some(
            serde_json::from_str(
                &std::fs::read_to_string(path)
                    .with_context(|| format!("read {}", path.display()))?,
            )
            .with_context(|| format!("{}: not a checkpoints file", path.display()))?,
        ),
        None if is_db => Some(Witnesses {
            log_id: registry.trust().cluster().to_string(),
            signatures: zkquorum::coordinator::store::read_witnesses(&args.log)?,
        }),
        None if args.allow_unwitnessed => None,
        None => bail!(
            "give --checkpoints (the nodes' signatures, `audit export --checkpoints-out`), \
             or --allow-unwitnessed to verify the records alone"
        ),
    };
    if let Some(w) = &witnesses {
        if w.log_id != registry.trust().cluster() {
            bail!(
                "the checkpoints are for log {}, the trust root is cluster {}",
                w.log_id,
                registry.trust().cluster()
            );
        }
    }
    let min = args.min_witnesses.unwrap_or_else(|| {
        registry
            .latest_roster()
            .map_or(1, |r| usize::from(r.threshold))
    });
    let mut keys = match &args.keys {
        Some(dir) => AuditKeys::load_dir(dir)?,
        None => AuditKeys::new(),
    }
    .with_transparent_halo2()?
    .with_transparent_halo2_spend(&args.halo2_spend_classes)?
    .with_registry(Arc::new(registry))
    .with_max_skew(args.max_skew);
    if let Some(w) = witnesses {
        keys = keys.with_witnesses(w, min);
    }
    let report = if is_db {
        let lines = zkquorum::coordinator::store::read_audit_lines(&args.log)
            .with_context(|| format!("read the audit log in {}", args.log.display()))?;
        let mut text = lines.join("\n");
        text.push('\n');
        verify_log(std::io::Cursor::new(text), &keys)
    } else {
        let file = File::open(&args.log).with_context(|| format!("open {}", args.log.display()))?;
        verify_log(BufReader::new(file), &keys)
    };
    println!("audit log {}", args.log.display());
    println!("  registry:  {count} governance record(s) verified against the trust root");
    println!("  records:   {}", report.records);
    println!("  key records: {}", report.key_records);
    println!("  signatures:  {}", report.signatures());
    println!("  keys:      {}", report.keys);
    println!("  signers:   {}", report.signers);
    let backends: Vec<String> = report
        .backends
        .iter()
        .map(|(b, n)| {
            let name = BackendId::try_from(*b)
                .map_or_else(|_| format!("unknown({b})"), |b| b.name().to_string());
            format!("{name}: {n}")
        })
        .collect();
    let backends = if backends.is_empty() {
        "none".to_string()
    } else {
        backends.join(", ")
    };
    println!("  backends:  {backends}");
    if let Some(head) = report.head {
        println!("  head:      {}", hex::encode(head));
    }
    match report.witnessed {
        Some(w) => println!("  witnessed: {w} record(s) by at least {min} rostered node(s)"),
        None => println!("  witnessed: not checked (--allow-unwitnessed): nothing shows this is the log the nodes saw"),
    }
    println!("  failures:  {}", report.failures.len());
    for f in &report.failures {
        println!("    record {}: {}", f.index, f.reason);
    }
    if !report.is_ok() {
        bail!(
            "audit log {} failed verification: {} failure(s), first at record {}",
            args.log.display(),
            report.failures.len(),
            report.failures[0].index
        );
    }
    println!("audit log OK");
    Ok(())
}
