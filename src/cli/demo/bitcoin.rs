//! `zkquorum demo` in Bitcoin mode (the default): the cluster spends regtest bitcoin.
//!
//! The group's regtest P2TR address is funded by synthetic previous transactions (one per
//! payout, so every PSBT spends coins the group holds); each payout is a PSBT sent to
//! `POST /v1/sign-psbt`. Every node derives the sighashes and the public inputs from the
//! PSBT, checks its own sealed spend policy (registered by the admins), proves, and signs
//! one share per input; the coordinator finalizes the transaction. Every signed transaction
//! is checked by Bitcoin Core's consensus code (`bitcoinconsensus`, Taproot), and the audit
//! log, spend records included, is verified offline with the txids listed.
//!
//! The spend policies differ on purpose: signers 1, 3 and 4 allow 1 500 000 sat per
//! transaction, signer 2 only 500 000 (it refuses larger payouts and is replaced), signer 5
//! is time-locked for a day. Among the payouts: plain payments of 2 outputs (the 2-output
//! class), a 3-input payment to 10 payees (16-output class), one batch of `--batch` payees
//! (256-output class, default 100), and refusals, each named by rule and output: a payee
//! outside the allowlist, a total above every limit, a fee above the limit, change sent to
//! a key that is not the group's (it counts as a payment).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use bitcoin::{Address, Network, OutPoint, ScriptBuf, TxOut};
use circuits::spend::SizeClass;
use prover::ProofSystem;
use verifier::bitcoin::GroupWallet;
use zkquorum::cluster::local::LocalCluster;
use zkquorum::ids::KeyId;
use zkquorum::net::api::spend::{SignPsbtRequest, SignPsbtResponse};
use zkquorum::net::client::ClientError;
use zkquorum::regtest::{coins, consensus_check, external, funding, pay, psbt_spending};

use super::{spinner, verify_audit, DemoArgs, N, T};

/// Payees on every allowlist: `external(0..PAYEES)`.
const PAYEES: usize = 120;
/// The fee each payout pays (sat).
const FEE: u64 = 1_000;

/// One payout of the demo.
struct Payout {
    label: String,
    /// Coin values the group is funded with for it.
    coins: Vec<u64>,
    /// External outputs (script, sat); the rest of the coins, less the fee, is change.
    pays: Vec<(ScriptBuf, u64)>,
    fee: u64,
    /// Change goes to this script instead of the group's (a foreign "change").
    change_to: Option<ScriptBuf>,
}

impl Payout {
    fn payment(label: String, coin: u64, pays: Vec<(ScriptBuf, u64)>) -> Self {
        Self {
            label,
            coins: vec![coin],
            pays,
            fee: FEE,
            change_to: None,
        }
    }

    fn class(&self) -> Result<SizeClass> {
        let external = self.pays.len() + usize::from(self.change_to.is_some());
        Ok(SizeClass::for_outputs(external)?)
    }
}

fn payouts(count: usize, batch: usize) -> Vec<Payout> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let p = match i % 8 {
            _ if i == 10 && batch > 0 => Payout::payment(
                format!("batch: {batch} payees x 12 000 sat"),
                12_000 * batch as u64 + 50_000,
                (0..batch).map(|j| (external(j % PAYEES), 12_000)).collect(),
            ),
            _ if i == 6 => Payout {
                label: "3 inputs, 10 payees x 40 000 sat".into(),
                coins: vec![200_000, 150_000, 100_000],
                pays: (0..10).map(|j| (external(20 + j), 40_000)).collect(),
                fee: FEE,
                change_to: None,
            },
            3 => Payout::payment(
                "2 000 000 sat (above every limit)".into(),
                3_000_000,
                vec![(external(3), 2_000_000)],
            ),
            5 => Payout::payment(
                "payee not on the allowlist".into(),
                1_000_000,
                vec![(external(PAYEES + 7), 100_000)],
            ),
            7 if i % 16 == 7 => Payout {
                fee: 50_000,
                ..Payout::payment(
                    "fee 50 000 sat (above the limit)".into(),
                    1_000_000,
                    vec![(external(4), 100_000)],
                )
            },
            7 => Payout {
                change_to: Some(external(60_000)),
                ..Payout::payment(
                    "change to a key not the group's".into(),
                    1_000_000,
                    vec![(external(5), 100_000)],
                )
            },
            _ => {
                let sat = [120_000, 250_000, 480_000, 750_000, 990_000][i % 5];
                Payout::payment(
                    format!("{sat} sat to payee {}", i % 5),
                    sat + 500_000,
                    vec![(external(i % 5), sat)],
                )
            }
        };
        out.push(p);
    }
    out
}

/// Signer `id`'s spend policy file (see the module docs).
fn policy_file(id: u16, now: u64) -> String {
    let (limit, not_before) = match id {
        2 => (500_000, now - 3600),
        5 => (1_500_000, now + 24 * 3600),
        _ => (1_500_000, now - 3600),
    };
    let allow: Vec<String> = (0..PAYEES)
        .map(|i| {
            let a = Address::from_script(&external(i), Network::Regtest)
                .map_or_else(|_| String::new(), |a| a.to_string());
            format!("\"{a}\"")
        })
        .collect();
    let mut salt = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    format!(
        "network = \"regtest\"\nmax_total_sat = {limit}\nmax_fee_sat = 20000\n\
         not_before = {not_before}\nallowlist = [{}]\nsalt = \"{}\"\n",
        allow.join(", "),
        hex::encode(salt)
    )
}

/// The rule and output the signers named in a refusal (`spend policy refused: <rule>
/// (output i)`), or the error code.
fn refusal_rule(e: &zkquorum::net::api::ApiError) -> String {
    e.signers
        .iter()
        .flatten()
        .find_map(|s| s.refusal.reason.strip_prefix("spend policy refused: "))
        .map_or_else(|| e.error.clone(), str::to_string)
}

pub(super) async fn demo<P: ProofSystem + 'static>(
    args: &DemoArgs,
    dir: &Path,
    started: Instant,
) -> Result<()> {
    let plan = payouts(args.requests, args.batch);
    let mut classes = plan.iter().map(Payout::class).collect::<Result<Vec<_>>>()?;
    classes.sort();
    classes.dedup();
    let pb = spinner(&format!(
        "starting: CA, certificates, node databases, proof keys (intent + spend classes {}), servers",
        classes
            .iter()
            .map(|c| c.slots().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let local = LocalCluster::start_with::<P>(
        dir,
        args.backend,
        T,
        N,
        signer::KdfParams::RECOMMENDED,
        &classes,
    )
    .await?;
    pb.finish_with_message(format!(
        "started: {N} nodes and the coordinator on 127.0.0.1, spending on regtest"
    ));
    let client = local.client()?;

    let pb = spinner("keygen: DKG across 5 nodes");
    let key_id = KeyId::new("treasury")?;
    let key = client.create_key(&key_id).await.context("DKG")?;
    let taproot = key
        .taproot
        .as_ref()
        .context("the key's Taproot description")?;
    let wallet = GroupWallet::from_internal_key(&taproot.internal_key)?;
    pb.finish_with_message(format!(
        "keygen: key {} at {} (internal key {}, output key {})",
        key.key_id,
        wallet.address(Network::Regtest),
        hex::encode(taproot.internal_key),
        hex::encode(taproot.output_key)
    ));

    // Spend policies: each node holds its own file (sealed), the admins register their
    // commitments in one `spend_policy` record.
    let now = zkquorum::clock::unix_now();
    let mut registered = Vec::new();
    for id in 1..=N {
        let text = policy_file(id, now);
        local.set_spend_policy(id, text.clone()).await?;
        let policy = verifier::bitcoin::spend_policy_from_toml(&text)?;
        println!(
            "  spend policy signer {id}: at most {} sat out and {} sat fee per transaction, {} payees, {}",
            policy.max_total(),
            policy.max_fee(),
            policy.allowlist().len(),
            if policy.not_before() > now {
                "time-locked until tomorrow"
            } else {
                "in force"
            }
        );
        registered.push((id, policy));
    }
    let version = local
        .govern_spend_policies(key_id.as_str(), &registered, 2)
        .await
        .context("registering the spend policies")?;
    println!("  governance: the {N} spend policies approved by 2 of 3 admins (version {version})");

    // Payouts, one at a time (each session runs three proofs at once).
    let mut signed: Vec<(usize, SignPsbtResponse, Duration, usize)> = Vec::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut replaced = 0;
    for (i, payout) in plan.iter().enumerate() {
        let fund = funding(wallet.script_pubkey(), &payout.coins);
        let held: Vec<(OutPoint, TxOut)> = coins(std::slice::from_ref(&fund));
        let total_in: u64 = payout.coins.iter().sum();
        let paid: u64 = payout.pays.iter().map(|(_, v)| v).sum();
        let mut outputs: Vec<TxOut> = payout
            .pays
            .iter()
            .map(|(s, v)| pay(s.clone(), *v))
            .collect();
        let change = total_in
            .checked_sub(paid + payout.fee)
            .context("a payout spends more than its coins")?;
        outputs.push(pay(
            payout
                .change_to
                .clone()
                .unwrap_or_else(|| wallet.script_pubkey().clone()),
            change,
        ));
        let psbt = psbt_spending(&wallet, &held, outputs, 0);
        let t0 = Instant::now();
        let pb = spinner(&format!("#{i:<2} {}", payout.label));
        let result = client
            .sign_psbt(&SignPsbtRequest {
                key_id: key_id.clone(),
                psbt: psbt.to_string(),
                request_id: None,
            })
            .await;
        pb.finish_and_clear();
        let took = t0.elapsed();
        match result {
            Ok(resp) => {
                let tx: bitcoin::Transaction =
                    bitcoin::consensus::deserialize(&hex::decode(&resp.tx_hex)?)?;
                let spent: Vec<TxOut> = held.iter().map(|(_, o)| o.clone()).collect();
                consensus_check(&tx, &spent).map_err(|(input, e)| {
                    anyhow::anyhow!("payout {i}: input {input} fails Bitcoin consensus: {e}")
                })?;
                replaced += resp.excluded.len();
                let out: Vec<String> = resp
                    .excluded
                    .iter()
                    .map(|x| {
                        let why = x
                            .refusal
                            .reason
                            .strip_prefix("spend policy refused: ")
                            .unwrap_or("error");
                        format!("{} ({why})", x.signer.get())
                    })
                    .collect();
                println!(
                    "  #{i:<2} signed    {:<36} {} in, {} out, txid {} in {:.2} s, consensus ok{}",
                    payout.label,
                    tx.input.len(),
                    tx.output.len(),
                    resp.txid,
                    took.as_secs_f64(),
                    if out.is_empty() {
                        String::new()
                    } else {
                        format!("; refused by {}", out.join(", "))
                    }
                );
                signed.push((i, resp, took, tx.output.len()));
            }
            Err(ClientError::Api(e)) => {
                let rule = refusal_rule(&e);
                let per: Vec<String> = e
                    .signers
                    .iter()
                    .flatten()
                    .map(|x| {
                        format!(
                            "{}: {}",
                            x.signer.get(),
                            x.refusal
                                .reason
                                .strip_prefix("spend policy refused: ")
                                .unwrap_or(&x.refusal.reason)
                        )
                    })
                    .collect();
                println!(
                    "  #{i:<2} REJECTED  {:<36} {} [{}]",
                    payout.label,
                    rule,
                    per.join("; ")
                );
                *refusals.entry(rule).or_default() += 1;
            }
            Err(e) => bail!("payout {i}: {e}"),
        }
    }

    let (report, log_path) = verify_audit(&local, dir).await?;
    ensure!(
        report.is_ok(),
        "audit log failed verification: {:?}",
        report.failures
    );
    let txids: Vec<&String> = signed.iter().map(|(_, r, _, _)| &r.txid).collect();
    ensure!(
        report.txids.iter().collect::<Vec<_>>() == txids,
        "the audit log lists {} spends, {} were signed",
        report.txids.len(),
        txids.len()
    );
    println!(
        "  audit: {} records verified ({} spends, every sighash, proof, share and signature re-derived from the PSBTs; {})",
        report.records,
        report.txids.len(),
        log_path.display()
    );
    local.shutdown().await;

    println!();
    println!("| what | value |");
    println!("|---|---|");
    println!("| signers / threshold | {N} / {T} |");
    println!("| backend | {} |", args.backend.short_name());
    println!("| network | regtest (synthetic funding) |");
    println!("| payouts | {} |", plan.len());
    println!(
        "| signed (each checked by Bitcoin consensus code) | {} |",
        signed.len()
    );
    for (rule, n) in &refusals {
        println!("| rejected: {rule} | {n} |");
    }
    println!("| signers refused and replaced in signed spends | {replaced} |");
    let mut by_size: Vec<&(usize, SignPsbtResponse, Duration, usize)> = signed.iter().collect();
    by_size.sort_by_key(|(_, _, _, outs)| *outs);
    if let Some((i, _, took, outs)) = by_size.last() {
        println!(
            "| largest spend | #{i}: {outs} outputs in {:.1} s |",
            took.as_secs_f64()
        );
    }
    println!(
        "| audit records verified | {} ({} spends, {} witnessed by {T}+ of {N} nodes) |",
        report.records,
        report.txids.len(),
        report.witnessed.unwrap_or(0)
    );
    println!("| total time | {:.1} s |", started.elapsed().as_secs_f64());
    println!();
    println!("txids:");
    for (i, r, _, _) in &signed {
        println!("  #{i:<2} {}", r.txid);
    }
    Ok(())
}
