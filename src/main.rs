//! `zkquorum`: the command-line entry point.
//!
//! `demo` runs a whole cluster in one process; `init`, `node`, `coordinator`, `keygen`,
//! `policy`, `sign` and `audit verify` run one as separate processes; `lifecycle` and
//! `bench-backends` tour the key lifecycle and compare the proof backends offline.

mod audit;
mod bench;
mod cmd;
mod demo;
mod lifecycle;

use clap::{Parser, Subcommand};

/// Threshold Schnorr signing over secp256k1 with zero-knowledge policy proofs.
#[derive(Parser)]
#[command(name = "zkquorum", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a 3-of-5 cluster on loopback TLS in one process: DKG, a policy per signer,
    /// compliant and non-compliant requests, the audit log written and verified.
    Demo(demo::DemoArgs),
    /// Write a local cluster: CA and certificates, node databases and identity keys,
    /// proof-system keys, configuration files, example policy and intent.
    Init(cmd::InitArgs),
    /// Run a signer node.
    Node(cmd::ServeArgs),
    /// Run the coordinator (client API and session driver).
    Coordinator(cmd::ServeArgs),
    /// Create a threshold key by DKG across the running nodes.
    Keygen(cmd::KeygenArgs),
    /// A signer node's policy.
    #[command(subcommand)]
    Policy(cmd::PolicyCommand),
    /// Submit an intent for signing; prints the signature and the audit record.
    Sign(cmd::SignArgs),
    /// Audit-log tools.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Tour the threshold key lifecycle in one process, without the network: DKG, signing,
    /// nonce-reuse refusal, refresh, repair, reshare, proof-carrying signatures.
    Lifecycle(lifecycle::LifecycleArgs),
    /// Compare the proof backends on the sample statement and print a Markdown table.
    BenchBackends(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The demo prints its own report; servers log their events.
    let default = if matches!(cli.command, Command::Demo(_)) {
        "warn"
    } else {
        "warn,zkquorum=info"
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("ZKQUORUM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // arkworks opens spans whose fields format whole constraint systems (minutes per
    // proof); they stay off whatever ZKQUORUM_LOG asks for.
    for target in [
        "ark_relations",
        "ark_r1cs_std",
        "ark_groth16",
        "ark_snark",
        "ark_crypto_primitives",
        "gr1cs",
        "r1cs",
    ] {
        if let Ok(d) = format!("{target}=off").parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Init(args) => cmd::init(&args),
        Command::Node(args) => cmd::node(&args),
        Command::Coordinator(args) => cmd::coordinator(&args),
        Command::Keygen(args) => cmd::keygen(&args),
        Command::Policy(cmd) => cmd::policy(&cmd),
        Command::Sign(args) => cmd::sign(&args),
        Command::Audit(cmd) => audit::run(&cmd),
        Command::Lifecycle(args) => lifecycle::run(&args),
        Command::BenchBackends(args) => bench::run(&args),
    }
}
