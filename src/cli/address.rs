//! `zkquorum address`: the group's P2TR address (bech32m, BIP-86 style: key path only, no
//! script tree) on a network.
//!
//! The address is derived here, from the group key the coordinator reports
//! (`GET /v1/keys/{id}`), with `verifier::bitcoin::GroupWallet`: internal key `P` = the
//! stored group key, output key `Q = P + H_TapTweak(P)·G`. With `--trust-root` the key record
//! (every rostered node's signature over the key) is checked first, as `key verify` does —
//! do that before funding the address.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use verifier::bitcoin::{parse_network, GroupWallet, Network};
use zkquorum::ids::KeyId;
use zkquorum::net::api::TaprootInfo;

use super::client::{api_client, ClientArgs};
use super::runtime;

/// Options of `zkquorum address`.
#[derive(Args, Debug)]
pub struct AddressArgs {
    #[command(flatten)]
    client: ClientArgs,
    /// The key.
    #[arg(long)]
    key_id: KeyId,
    /// bitcoin, testnet, signet or regtest.
    #[arg(long, value_parser = network)]
    network: Network,
    /// Check the key record against this trust root first (`trust-root.json`).
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// The governance registry for `--trust-root` (default: fetched from the coordinator).
    #[arg(long, value_name = "FILE", requires = "trust_root")]
    registry: Option<PathBuf>,
    /// Also print the internal key, the output key and the scriptPubKey.
    #[arg(long)]
    details: bool,
}

fn network(s: &str) -> Result<Network, String> {
    parse_network(s).map_err(|e| e.to_string())
}

/// Prints the group's address on the chosen network.
pub fn run(args: &AddressArgs) -> Result<()> {
    let client = api_client(&args.client)?;
    let rt = runtime()?;
    let info = rt.block_on(client.key(&args.key_id))?;
    if let Some(root) = &args.trust_root {
        super::key::check_record(&rt, &client, &info, root, args.registry.as_deref())?;
    }
    let wallet = GroupWallet::from_internal_key(&info.x_only_key)?;
    if let Some(theirs) = &info.taproot {
        if *theirs != TaprootInfo::of(&wallet) {
            bail!(
                "the coordinator's Taproot wallet for key {} differs from the one its group key gives",
                info.key_id
            );
        }
    }
    println!("{}", wallet.address(args.network));
    if args.details {
        println!(
            "internal key (tap_internal_key): {}",
            hex::encode(wallet.internal_key())
        );
        println!(
            "output key (signs spends):       {}",
            hex::encode(wallet.output_key())
        );
        println!(
            "scriptPubKey:                    {}",
            hex::encode(wallet.script_pubkey().as_bytes())
        );
    }
    Ok(())
}
