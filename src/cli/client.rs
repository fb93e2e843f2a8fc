//! The client-API commands, which talk to a running coordinator: `zkquorum keygen` (a DKG
//! across the nodes) and `zkquorum sign`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use circuits::Intent;
use clap::Args;
use zkquorum::cluster::config::ClientConfig;
use zkquorum::ids::{KeyId, RequestId};
use zkquorum::net::api::SignRequest;
use zkquorum::net::client::ApiClient;

use super::runtime;

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

pub(crate) fn api_client(args: &ClientArgs) -> Result<ApiClient> {
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
    /// Also append the key record to this JSON Lines file, byte for byte as the log stores
    /// it (then `sign --record-out` the same file: it verifies as a log).
    #[arg(long)]
    pub record_out: Option<PathBuf>,
}

/// `zkquorum keygen`: DKG across the running nodes.
pub fn keygen(args: &KeygenArgs) -> Result<()> {
    let client = api_client(&args.client)?;
    let info = runtime()?.block_on(client.create_key(&args.key_id))?;
    if let (Some(out), Some(line)) = (&args.record_out, &info.key_record) {
        append_line(out, line)?;
    }
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

/// Appends `line` and a newline to `path`, on disk before returning.
fn append_line(path: &std::path::Path, line: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("open {}", path.display()))?;
    writeln!(f, "{line}")?;
    f.sync_data()?;
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
    /// Also append the audit record to this JSON Lines file, byte for byte as the log
    /// stores it.
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
                append_line(out, &serde_json::to_string(&resp.audit_record)?)?;
            }
            println!("{}", serde_json::to_string_pretty(&resp)?);
            Ok(())
        }
        Err(zkquorum::net::client::ClientError::Api(e)) => {
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

/// Options of `zkquorum sign-psbt`.
#[derive(Args, Debug)]
pub struct SignPsbtArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The key whose Taproot output every input spends.
    #[arg(long)]
    pub key_id: KeyId,
    /// The unsigned PSBT file (BIP-174: base64 text, or binary starting with `psbt\xff`).
    pub psbt: PathBuf,
    /// Write the finalized PSBT (base64) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Idempotency id: resubmitting with the same id returns the first outcome.
    #[arg(long)]
    pub request_id: Option<RequestId>,
}

/// `zkquorum sign-psbt`: prints the txid and the signed transaction (hex, ready to
/// broadcast); exits non-zero when the spend is refused, printing each signer's reason.
pub fn sign_psbt(args: &SignPsbtArgs) -> Result<()> {
    use bitcoin::base64::Engine;
    let bytes =
        std::fs::read(&args.psbt).with_context(|| format!("read {}", args.psbt.display()))?;
    let psbt = if bytes.starts_with(b"psbt\xff") {
        bitcoin::base64::engine::general_purpose::STANDARD.encode(&bytes)
    } else {
        String::from_utf8(bytes)
            .map_err(|_| {
                anyhow::anyhow!(
                    "{}: neither base64 text nor a binary PSBT",
                    args.psbt.display()
                )
            })?
            .trim()
            .to_string()
    };
    let client = api_client(&args.client)?;
    let req = zkquorum::net::api::spend::SignPsbtRequest {
        key_id: args.key_id.clone(),
        psbt,
        request_id: args.request_id.clone(),
    };
    match runtime()?.block_on(client.sign_psbt(&req)) {
        Ok(resp) => {
            if let Some(out) = &args.out {
                std::fs::write(out, format!("{}\n", resp.psbt))
                    .with_context(|| format!("write {}", out.display()))?;
            }
            println!("txid {}", resp.txid);
            println!("tx {}", resp.tx_hex);
            println!("audit record {}", resp.audit_index);
            for s in &resp.excluded {
                println!("  signer {} left out: {}", s.signer, s.refusal.reason);
            }
            Ok(())
        }
        Err(zkquorum::net::client::ClientError::Api(e)) => {
            eprintln!("refused: {} ({})", e.message, e.error);
            for s in e.signers.iter().flatten() {
                eprintln!("  signer {}: {}", s.signer, s.refusal.reason);
            }
            bail!("spend refused: {}", e.error)
        }
        Err(e) => Err(e.into()),
    }
}
