//! `zkquorum key verify`: check a key before funding it — its key record, signed by every
//! rostered node, against the registry verified from the trust root.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use verifier::audit::{AuditKeys, KeyRecord};
use verifier::bitcoin::GroupWallet;
use verifier::governance::{Registry, TrustRoot};
use zkquorum::ids::KeyId;
use zkquorum::net::api::KeyInfo;
use zkquorum::net::client::ApiClient;

use super::client::{api_client, ClientArgs};
use super::runtime;

/// `zkquorum key …`.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Fetch a key (`GET /v1/keys/{id}`) and check it was made by the rostered nodes: every
    /// node's signature over the public key package, with the identity key the admins
    /// rostered, and the threshold and participants of the roster in force. Exits non-zero
    /// otherwise.
    Verify(KeyVerifyArgs),
}

/// Options of `zkquorum key verify`.
#[derive(Args, Debug)]
pub struct KeyVerifyArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The key.
    #[arg(long)]
    key_id: KeyId,
    /// The trust root (`trust-root.json`: the admin keys and threshold).
    #[arg(long, value_name = "FILE")]
    trust_root: PathBuf,
    /// The governance registry: a node or coordinator database or a JSON export. Default:
    /// fetched from the coordinator (`GET /v1/governance`, for admin and auditor
    /// certificates); either way every record is checked against the trust root.
    #[arg(long, value_name = "FILE")]
    registry: Option<PathBuf>,
}

/// Runs a `key` subcommand.
pub fn run(cmd: &KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::Verify(args) => verify(args),
    }
}

fn verify(args: &KeyVerifyArgs) -> Result<()> {
    let client = api_client(&args.client)?;
    let rt = runtime()?;
    let info = rt.block_on(client.key(&args.key_id))?;
    let rec = check_record(
        &rt,
        &client,
        &info,
        &args.trust_root,
        args.registry.as_deref(),
    )?;
    println!("key {}", info.key_id);
    println!("  group key:  {}", hex::encode(rec.group_key));
    println!("  x-only key: {}", hex::encode(info.x_only_key));
    println!(
        "  threshold:  {} of {} (roster version {})",
        rec.threshold, rec.participants, rec.roster_version
    );
    for a in &rec.attestations {
        println!(
            "  signer {}: signed with identity key {}",
            a.signer_id,
            hex::encode(a.identity_key)
        );
    }
    // Derived here from the verified group key (KeyInfo::verify checked the coordinator's
    // own `taproot` object, if any, against the same derivation).
    let wallet = GroupWallet::from_internal_key(&info.x_only_key)?;
    println!(
        "  taproot internal key (tap_internal_key): {}",
        hex::encode(wallet.internal_key())
    );
    println!(
        "  taproot output key (signs spends):       {}",
        hex::encode(wallet.output_key())
    );
    for (name, net) in verifier::bitcoin::NETWORKS {
        println!("  address ({name}): {}", wallet.address(net));
    }
    println!("key record verified: every rostered node made and signed this key");
    Ok(())
}

/// Checks `info`'s key record against the registry verified from `trust_root` (from
/// `registry`, or fetched from the coordinator), and `info` against the record.
pub(super) fn check_record(
    rt: &tokio::runtime::Runtime,
    client: &ApiClient,
    info: &KeyInfo,
    trust_root: &Path,
    registry: Option<&Path>,
) -> Result<KeyRecord> {
    let trust = TrustRoot::load(trust_root)
        .with_context(|| format!("trust root {}", trust_root.display()))?;
    let records = match registry {
        Some(path) => super::admin::registry_file(path)?,
        None => {
            rt.block_on(client.governance())
                .context("reading the coordinator's registry (or give --registry)")?
                .records
        }
    };
    let registry = Registry::from_records(trust, records)
        .context("the governance registry does not verify against the trust root")?;
    let keys = AuditKeys::new().with_registry(Arc::new(registry));
    Ok(info.verify(&keys)?)
}
