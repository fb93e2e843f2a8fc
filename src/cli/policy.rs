//! `zkquorum policy set|show`: a signer node's policy, read and written in its database
//! directly (a running node picks a new policy up at its next round 1).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use circuits::BackendId;
use circuits::Policy;
use clap::{Args, Subcommand};
use zkquorum::cluster::config::NodeConfig;
use zkquorum::node::store::NodeStore;

/// `zkquorum policy …`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Load a policy file (TOML) into a signer node's database. A running node uses it
    /// from its next session on; the previous policies stay in the history.
    Set(PolicySetArgs),
    /// Print a node's active policy and its version.
    Show(PolicyShowArgs),
}

/// Options of `zkquorum policy set`.
#[derive(Args, Debug)]
pub struct PolicySetArgs {
    /// The node's configuration file.
    #[arg(long, env = "ZKQUORUM_CONFIG")]
    pub config: PathBuf,
    /// The policy file.
    pub policy: PathBuf,
    /// The file is a Bitcoin spend policy (network, limits in sat, `not_before`, allowlist
    /// as addresses, salt): it joins the spend-policy history.
    #[arg(long)]
    pub spend: bool,
}

/// Options of `zkquorum policy show`.
#[derive(Args, Debug)]
pub struct PolicyShowArgs {
    /// The node's configuration file.
    #[arg(long, env = "ZKQUORUM_CONFIG")]
    pub config: PathBuf,
}

fn open_node_store(config: &std::path::Path) -> Result<(NodeStore, BackendId)> {
    let (config, cluster) = NodeConfig::load(config)?;
    let pass = config.passphrase()?;
    Ok((
        NodeStore::open(&config.db, pass.as_bytes())?,
        cluster.backend,
    ))
}

/// The policy commitment the cluster's backend proves against (what audit records show).
fn commitment_hex(policy: &Policy, backend: BackendId) -> String {
    hex::encode(match backend {
        BackendId::Groth16Bn254 => policy.commitment::<circuits::bn254::Bn254>().to_le_bytes(),
        BackendId::Halo2Pasta => policy.commitment::<circuits::pasta::Pasta>().to_le_bytes(),
    })
}

/// Runs a `policy` subcommand.
pub fn policy(cmd: &PolicyCommand) -> Result<()> {
    match cmd {
        PolicyCommand::Set(a) if a.spend => {
            let text = std::fs::read_to_string(&a.policy)
                .with_context(|| format!("spend policy file {}", a.policy.display()))?;
            let (store, backend) = open_node_store(&a.config)?;
            let (version, policy) = store.set_spend_policy(&text)?;
            let commitment = hex::encode(match backend {
                BackendId::Groth16Bn254 => {
                    policy.commitment::<circuits::bn254::Bn254>().to_le_bytes()
                }
                BackendId::Halo2Pasta => {
                    policy.commitment::<circuits::pasta::Pasta>().to_le_bytes()
                }
            });
            println!(
                "signer {}: spend policy version {version} held (commitment {commitment}); \
                 it is proved once the admins register that commitment (admin propose policy --spend)",
                store.node_id().get(),
            );
        }
        PolicyCommand::Set(a) => {
            let policy = Policy::from_file(&a.policy)
                .with_context(|| format!("policy file {}", a.policy.display()))?;
            let (store, backend) = open_node_store(&a.config)?;
            let version = store.set_policy(&policy)?;
            println!(
                "signer {}: policy version {version} active (commitment {})",
                store.node_id().get(),
                commitment_hex(&policy, backend)
            );
        }
        PolicyCommand::Show(a) => {
            let (store, _) = open_node_store(&a.config)?;
            match store.policy()? {
                Some((v, p)) => {
                    println!("# signer {} policy version {v}", store.node_id().get());
                    print!("{}", p.to_toml_string()?);
                }
                None => bail!("signer {} has no policy", store.node_id().get()),
            }
        }
    }
    Ok(())
}
