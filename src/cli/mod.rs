//! The command line: the clap definitions and one module per command group.
//!
//! - [`init`]: `zkquorum init`, which writes a cluster;
//! - [`node_init`]: `zkquorum node init`, a node making its own secrets (enrollment);
//! - [`ca`]: `zkquorum ca init|issue|revoke` and `zkquorum csr`: certificates and roles;
//! - [`serve`]: the two servers, `node` and `coordinator`;
//! - [`client`]: the client-API commands `keygen` and `sign`;
//! - [`address`]: `zkquorum address`, the group's P2TR address on a network;
//! - [`policy`]: `policy set|show` on a node's database;
//! - [`demo`]: a whole cluster in one process, end to end;
//! - [`lifecycle`]: the key lifecycle offline;
//! - [`bench`]: the proof-backend comparison;
//! - [`audit`]: `zkquorum audit verify`;
//! - [`admin`]: the policy admins' `admin keygen|propose|approve|submit|show`.

pub mod address;
pub mod admin;
pub mod audit;
pub mod bench;
pub mod ca;
pub mod client;
pub mod demo;
pub mod init;
pub mod key;
pub mod lifecycle;
pub mod node_init;
pub mod policy;
pub mod serve;

use clap::{Parser, Subcommand};

/// Threshold Schnorr signing over secp256k1 with zero-knowledge policy proofs.
#[derive(Parser)]
#[command(name = "zkquorum", version, about)]
pub struct Cli {
    #[command(subcommand)]
    /// The command.
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a 3-of-5 cluster on loopback TLS in one process: DKG, a policy per signer,
    /// compliant and non-compliant requests, the audit log written and verified.
    Demo(demo::DemoArgs),
    /// Write a local cluster: CA and certificates, node databases and identity keys,
    /// proof-system keys, configuration files, example policy and intent.
    Init(init::InitArgs),
    /// Run a signer node (`node --config node.toml`), or make one (`node init`).
    Node(node_init::NodeArgs),
    /// Run the coordinator (client API and session driver).
    Coordinator(serve::ServeArgs),
    /// The cluster CA: create it, issue and renew certificates with a role, revoke.
    #[command(subcommand)]
    Ca(ca::CaCommand),
    /// Make a private key and a certificate signing request (for `ca issue`) here.
    Csr(ca::CsrArgs),
    /// Create a threshold key by DKG across the running nodes.
    Keygen(client::KeygenArgs),
    /// Check a key's record (every node's signature over it) before funding it.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Print a key's Taproot (P2TR, BIP-86 key path) address on a network.
    Address(address::AddressArgs),
    /// A signer node's policy.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Submit an intent for signing; prints the signature and the audit record.
    Sign(client::SignArgs),
    /// Sign every input of a Bitcoin PSBT spending the group's Taproot output (each signer
    /// proves the spend meets its spend policy); prints the txid and the signed transaction.
    SignPsbt(client::SignPsbtArgs),
    /// Audit-log tools.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Governance by the policy admins: keys, proposals, approvals, the registry.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Tour the threshold key lifecycle in one process, without the network: DKG, signing,
    /// nonce-reuse refusal, refresh, repair, reshare, proof-carrying signatures.
    Lifecycle(lifecycle::LifecycleArgs),
    /// Compare the proof backends on the sample statement and print a Markdown table.
    BenchBackends(bench::BenchArgs),
}

impl Command {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Demo(args) => demo::run(&args),
            Command::Init(args) => init::init(&args),
            Command::Node(args) => match (&args.command, &args.serve) {
                (Some(node_init::NodeCommand::Init(init)), _) => node_init::init(init),
                (None, Some(serve)) => serve::node(serve),
                (None, None) => anyhow::bail!("zkquorum node needs --config (or `node init`)"),
            },
            Command::Ca(cmd) => ca::run(&cmd),
            Command::Csr(args) => ca::csr(&args),
            Command::Coordinator(args) => serve::coordinator(&args),
            Command::Keygen(args) => client::keygen(&args),
            Command::Key(cmd) => key::run(&cmd),
            Command::Address(args) => address::run(&args),
            Command::Policy(cmd) => policy::policy(&cmd),
            Command::Sign(args) => client::sign(&args),
            Command::SignPsbt(args) => client::sign_psbt(&args),
            Command::Audit(cmd) => audit::run(&cmd),
            Command::Admin(cmd) => admin::run(&cmd),
            Command::Lifecycle(args) => lifecycle::run(&args),
            Command::BenchBackends(args) => bench::run(&args),
        }
    }
}

/// A multi-threaded tokio runtime for the commands that serve or call over the network.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// clap's parser for a spend size class given by its output slots (2, 16 or 256).
pub(crate) fn parse_spend_class(s: &str) -> Result<circuits::spend::SizeClass, String> {
    let slots: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of output slots"))?;
    verifier::keys::spend_class(slots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuits::spend::SizeClass;

    #[test]
    fn spend_classes_are_parsed_and_a_wrong_one_is_named() {
        assert_eq!(parse_spend_class(" 256"), Ok(SizeClass::TwoFiftySix));
        assert!(parse_spend_class("3")
            .unwrap_err()
            .contains("3 is not a spend size class"));
        assert!(parse_spend_class("two")
            .unwrap_err()
            .contains("not a number"));
        let audit = |classes: &str| {
            Cli::try_parse_from([
                "zkquorum",
                "audit",
                "verify",
                "log.jsonl",
                "--trust-root",
                "t.json",
                "--halo2-spend-classes",
                classes,
            ])
        };
        assert!(matches!(
            audit("2,16").map(|c| c.command),
            Ok(Command::Audit(audit::AuditCommand::Verify(_)))
        ));
        let refused = |args: Result<Cli, clap::Error>| args.err().expect("refused").to_string();
        let err = refused(audit("2,17"));
        assert!(err.contains("17 is not a spend size class"), "{err}");
        let err = refused(Cli::try_parse_from([
            "zkquorum",
            "init",
            "--spend-classes",
            "32",
        ]));
        assert!(err.contains("32 is not a spend size class"), "{err}");
    }
}
