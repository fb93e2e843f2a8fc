//! `zkquorum demo`, the embedded default: a whole cluster in one process.
//!
//! Five signer nodes and a coordinator are started on loopback, each behind its own mutual
//! TLS listener and SQLite database in a temporary directory (exactly what `zkquorum init`
//! writes). By default the cluster spends regtest bitcoin ([`bitcoin`]); `--mode intent`
//! runs the generic intent statement instead, described here.
//!
//! Intent mode: a DKG across the nodes, a policy per signer, twenty signing requests of
//! which some break a rule (each refusal printed with the rule each signer named), every
//! signature checked as plain BIP-340, the coordinator's audit log exported and verified,
//! and a summary table.
//!
//! The signers' policies differ on purpose: signers 1, 3 and 4 allow up to 1 000 000
//! units, signer 2 only 500 000, and signer 5 is time-locked for a day. So a 750 000
//! request is refused by signer 2, which is replaced by signer 4, and a request for
//! 2 000 000 is refused by everyone.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use circuits::BackendId;
use circuits::{Intent, Policy};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use prover::groth16::Groth16System;
use prover::halo2::Halo2System;
use prover::ProofSystem;
use zkquorum::cluster;
use zkquorum::cluster::local::LocalCluster;
use zkquorum::ids::KeyId;
use zkquorum::net::api::{SignRequest, SignResponse};
use zkquorum::net::client::ClientError;

mod bitcoin;

/// What the demo signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoMode {
    /// Bitcoin spends: PSBTs in, consensus-checked Taproot transactions out.
    Bitcoin,
    /// The generic intent statement (asset, amount, recipient, time window).
    Intent,
}

/// Options of `zkquorum demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// What to sign.
    #[arg(long, value_enum, default_value = "bitcoin")]
    mode: DemoMode,
    /// Proof backend.
    #[arg(long, default_value = "groth16")]
    backend: BackendId,
    /// Number of signing requests or payouts (about one in four breaks a rule).
    #[arg(long, default_value_t = 20)]
    requests: usize,
    /// Bitcoin mode: payees of the batch payout (payout #10, needs `--requests` > 10; the
    /// 256-output class, whose key setup takes about a minute on two cores); 0: no batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Keep the cluster in this directory (must not exist) instead of a temporary one.
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

const N: u16 = 5;
const T: u16 = 3;

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// A request of the demo and the rule it is meant to break, if any.
struct Case {
    label: String,
    intent: Intent,
}

fn cases(count: usize, now: u64) -> Vec<Case> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let mut intent = cluster::example_intent(now, i as u64 + 1);
        let label;
        match i % 8 {
            3 => {
                intent.amount = 2_000_000;
                label = "2 000 000 units (above every limit)".to_string();
            }
            5 => {
                intent.recipient = circuits::sample::recipient(99);
                label = "recipient not on the allowlist".to_string();
            }
            7 if i % 16 == 7 => {
                intent.asset = 8;
                label = "another asset".to_string();
            }
            7 => {
                intent.valid_before = now - 10;
                intent.valid_after = now - 100;
                label = "intent expired".to_string();
            }
            _ => {
                intent.amount = [120_000, 250_000, 480_000, 750_000, 990_000][i % 5];
                intent.recipient = circuits::sample::recipient((i % 5) as u8);
                label = format!("{} units to recipient {}", intent.amount, i % 5);
            }
        }
        out.push(Case { label, intent });
    }
    out
}

fn policy_for(id: u16, now: u64) -> Result<Policy> {
    let base = cluster::example_policy(now);
    let (limit, not_before) = match id {
        2 => (500_000, base.not_before()),
        5 => (2_000_000, now + 24 * 3600),
        _ => (1_000_000, base.not_before()),
    };
    Ok(Policy::new(
        base.asset(),
        limit,
        not_before,
        base.allowlist().to_vec(),
        circuits::PolicySalt::random(&mut rand::rngs::OsRng),
    )?)
}

/// `zkquorum demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let tmp = tempfile::tempdir().context("temporary directory")?;
    let dir = match &args.keep {
        Some(d) => d.clone(),
        None => tmp.path().join("cluster"),
    };
    println!(
        "zkquorum demo: {T}-of-{N} signers + coordinator on loopback mutual TLS, {} proofs",
        args.backend.short_name()
    );
    println!("  cluster directory: {}", dir.display());
    ensure!(
        args.batch <= 256,
        "--batch {}: the largest spend class has 256 outputs",
        args.batch
    );
    match (args.mode, args.backend) {
        (DemoMode::Intent, BackendId::Groth16Bn254) => {
            rt.block_on(demo::<Groth16System>(args, &dir, started))
        }
        (DemoMode::Intent, BackendId::Halo2Pasta) => {
            rt.block_on(demo::<Halo2System>(args, &dir, started))
        }
        (DemoMode::Bitcoin, BackendId::Groth16Bn254) => {
            rt.block_on(bitcoin::demo::<Groth16System>(args, &dir, started))
        }
        (DemoMode::Bitcoin, BackendId::Halo2Pasta) => {
            rt.block_on(bitcoin::demo::<Halo2System>(args, &dir, started))
        }
    }
}

async fn demo<P: ProofSystem + 'static>(
    args: &DemoArgs,
    dir: &Path,
    started: Instant,
) -> Result<()> {
    // 1-2. init (CA, certificates, node databases, proof-system setup), then every node
    // and the coordinator on its own loopback TLS listener.
    let pb = spinner("starting: CA, certificates, node databases, proof-system setup, servers");
    let local =
        LocalCluster::start::<P>(dir, args.backend, T, N, signer::KdfParams::RECOMMENDED).await?;
    pb.finish_with_message(format!(
        "started: {N} nodes and the coordinator on 127.0.0.1"
    ));
    let client = local.client()?;

    // 3. DKG across the five nodes.
    let pb = spinner("keygen: DKG across 5 nodes (secret shares sealed to their recipients)");
    let key_id = KeyId::new("treasury")?;
    let key = client.create_key(&key_id).await.context("DKG")?;
    // As a client would before funding it: the key record, every node's signature over the
    // key, checked against the registry verified from the trust root.
    let trust = verifier::governance::TrustRoot::load(&local.cluster.trust_root)?;
    let records = zkquorum::store::governance::read_records_at(&local.coordinator_db)?;
    let registry = verifier::governance::Registry::from_records(trust, records)?;
    let record = key
        .verify(&verifier::audit::AuditKeys::new().with_registry(std::sync::Arc::new(registry)))?;
    pb.finish_with_message(format!(
        "keygen: key {} = {} (key record signed by {} of {} nodes, committed)",
        key.key_id,
        hex::encode(key.x_only_key),
        record.attestations.len(),
        record.participants
    ));

    // 4. A policy per signer: each node holds its own (sealed, salted), and the admin
    //    quorum registers their commitments P in one governance record. A change with
    //    fewer approvals than the quorum is refused and changes nothing.
    let now = zkquorum::clock::unix_now();
    let mut policies = Vec::new();
    for id in 1..=N {
        let policy = policy_for(id, now)?;
        println!(
            "  policy signer {id}: asset {}, limit {}, not before {}",
            policy.asset(),
            policy.max_amount(),
            if policy.not_before() > now {
                "tomorrow (time-locked)"
            } else {
                "an hour ago"
            }
        );
        local.set_policy(id, policy.clone()).await?;
        policies.push((id, policy));
    }
    let base = policy_for(1, now)?;
    let loose = Policy::new(
        base.asset(),
        u64::MAX / 2,
        base.not_before(),
        base.allowlist().to_vec(),
        circuits::PolicySalt::random(&mut rand::rngs::OsRng),
    )?;
    local.set_policy(1, loose.clone()).await?;
    match local
        .govern_policies(key_id.as_str(), &[(1, loose)], 1)
        .await
    {
        Ok(v) => anyhow::bail!("a change approved by 1 admin was accepted (version {v})"),
        Err(e) => println!(
            "  governance: signer 1's looser policy with 1 of 2 admin approvals refused: {e}"
        ),
    }
    let version = local
        .govern_policies(key_id.as_str(), &policies, 2)
        .await
        .context("registering the policies")?;
    println!(
        "  governance: the {N} policies approved by 2 of 3 admins, registered as version {version}; \
         signer 1 proves under its registered policy, not the looser one it also holds"
    );

    // 5. Requests, four at a time.
    let cases = Arc::new(cases(args.requests, now));
    let bar = ProgressBar::new(cases.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} requests ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let client = Arc::new(client);
    let sem = Arc::new(tokio::sync::Semaphore::new(4));
    let mut tasks = Vec::new();
    for i in 0..cases.len() {
        let (client, cases, sem, bar, key_id) = (
            client.clone(),
            cases.clone(),
            sem.clone(),
            bar.clone(),
            key_id.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            let t0 = Instant::now();
            let r = client
                .sign(&SignRequest {
                    key_id,
                    intent: cases[i].intent.clone(),
                    request_id: None,
                })
                .await;
            bar.inc(1);
            (r, t0.elapsed())
        }));
    }
    let mut results: Vec<(Result<SignResponse, ClientError>, Duration)> = Vec::new();
    for t in tasks {
        results.push(t.await?);
    }
    bar.finish();

    let mut signed = 0;
    let mut latencies = Vec::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut replaced = 0;
    for (i, ((r, took), case)) in results.iter().zip(cases.iter()).enumerate() {
        match r {
            Ok(resp) => {
                verifier::verify_bip340(&resp.x_only_key, &resp.digest, &resp.signature)
                    .with_context(|| format!("request {i}: signature must verify as BIP-340"))?;
                let by: Vec<String> = resp.audit_record["signers"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s["signer_id"].as_u64())
                            .map(|s| s.to_string())
                            .collect()
                    })
                    .unwrap_or_default();
                replaced += resp.excluded.len();
                let out: Vec<String> = resp
                    .excluded
                    .iter()
                    .map(|x| {
                        format!(
                            "{} ({})",
                            x.signer.get(),
                            x.refusal
                                .rule
                                .map(circuits::Rule::as_str)
                                .unwrap_or("error")
                        )
                    })
                    .collect();
                println!(
                    "  #{i:<2} signed    {:<40} by {} in {:.2} s{}",
                    case.label,
                    by.join(","),
                    took.as_secs_f64(),
                    if out.is_empty() {
                        String::new()
                    } else {
                        format!("; refused by {}", out.join(", "))
                    }
                );
                signed += 1;
                latencies.push(*took);
            }
            Err(ClientError::Api(e)) => {
                let per: Vec<String> = e
                    .signers
                    .iter()
                    .flatten()
                    .map(|x| {
                        format!(
                            "{}: {}",
                            x.signer.get(),
                            x.refusal
                                .rule
                                .map(circuits::Rule::as_str)
                                .unwrap_or(&x.refusal.reason)
                        )
                    })
                    .collect();
                println!(
                    "  #{i:<2} REJECTED  {:<40} rule {} [{}]",
                    case.label,
                    e.rule.map_or(e.error.as_str(), |r| r.as_str()),
                    per.join("; ")
                );
                *refusals
                    .entry(e.rule.map_or(e.error.clone(), |r| r.to_string()))
                    .or_default() += 1;
            }
            Err(e) => bail!("request {i}: {e}"),
        }
    }

    // 6. The audit log: exported from the coordinator's database and verified offline.
    let (report, log_path) = verify_audit(&local, dir).await?;
    println!(
        "  audit: {} records verified: {} key record(s), {} signatures, {} witnessed by {T}+ nodes ({})",
        report.records,
        report.key_records,
        report.signatures(),
        report.witnessed.unwrap_or(0),
        log_path.display()
    );
    ensure!(
        report.is_ok(),
        "audit log failed verification: {:?}",
        report.failures
    );
    ensure!(
        report.signatures() as usize == signed && report.key_records == 1,
        "audit log holds {} signing and {} key records for {signed} signatures under one key",
        report.signatures(),
        report.key_records
    );

    local.shutdown().await;

    // 7. Summary.
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    println!();
    println!("| what | value |");
    println!("|---|---|");
    println!("| signers / threshold | {N} / {T} |");
    println!("| backend | {} |", args.backend.short_name());
    println!("| requests | {} |", cases.len());
    println!("| signed (each checked as BIP-340) | {signed} |");
    for (rule, n) in &refusals {
        println!("| rejected: {rule} | {n} |");
    }
    println!("| signers refused and replaced in signed sessions | {replaced} |");
    println!(
        "| latency median / p90 (4 concurrent) | {:.2} s / {:.2} s |",
        pct(0.5),
        pct(0.9)
    );
    println!(
        "| audit records verified | {} ({} key record, {} signatures; {} witnessed by {T}+ of {N} nodes; chain head {}) |",
        report.records,
        report.key_records,
        report.signatures(),
        report.witnessed.unwrap_or(0),
        report
            .head
            .map(hex::encode)
            .unwrap_or_default()
            .get(..16)
            .unwrap_or("")
    );
    println!("| total time | {:.1} s |", started.elapsed().as_secs_f64());
    Ok(())
}

/// The audit log, exported from the coordinator's database to `dir/audit.jsonl` and
/// verified offline as an auditor would: the registry checked against the trust root, the
/// key directory's verifying keys (spend keys included), and only what at least `T`
/// rostered nodes witnessed.
async fn verify_audit(
    local: &LocalCluster,
    dir: &Path,
) -> Result<(verifier::audit::AuditReport, std::path::PathBuf)> {
    let pb = spinner("audit: verifying the chain, every signature, attestation and proof");
    // The nodes witness in the background: wait (a few seconds at most) for their signatures
    // over the whole log, as `audit export` does.
    let witnesses = local
        .client_as(zkquorum::net::roles::Role::Auditor)?
        .checkpoints()
        .await?;
    let db = local.coordinator_db.clone();
    let lines =
        tokio::task::spawn_blocking(move || zkquorum::coordinator::store::read_audit_lines(&db))
            .await??;
    let log_path = dir.join("audit.jsonl");
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&log_path, &text)?;
    let cluster = local.cluster.clone();
    let db = local.coordinator_db.clone();
    let report = tokio::task::spawn_blocking(move || -> Result<_> {
        let trust = verifier::governance::TrustRoot::load(&cluster.trust_root)?;
        let records = zkquorum::store::governance::read_records_at(&db)?;
        let registry = verifier::governance::Registry::from_records(trust, records)?;
        let mut keys =
            verifier::audit::AuditKeys::load_dir(&cluster.keys_dir)?.with_transparent_halo2()?;
        if cluster.backend == BackendId::Halo2Pasta {
            keys = keys.with_transparent_halo2_spend(&cluster.spend_classes())?;
        }
        let keys = keys
            .with_registry(std::sync::Arc::new(registry))
            .with_witnesses(witnesses, usize::from(T));
        Ok(verifier::audit::verify_log(
            std::io::Cursor::new(text),
            &keys,
        ))
    })
    .await??;
    pb.finish_and_clear();
    Ok((report, log_path))
}
