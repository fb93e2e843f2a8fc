//! `zkquorum`: the command-line entry point.
//!
//! Today it runs the embedded demo of the threshold key lifecycle (`zkquorum demo`), the
//! backend comparison and `zkquorum audit verify`; the node and coordinator commands build
//! on the same crates.

mod audit;
mod bench;
mod demo;

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
    /// Run the embedded demo: DKG, signing, nonce-reuse refusal, refresh, repair, reshare.
    Demo(demo::DemoArgs),
    /// Compare the proof backends on the sample statement and print a Markdown table.
    BenchBackends(bench::BenchArgs),
    /// Audit-log tools.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Demo(args) => demo::run(&args),
        Command::BenchBackends(args) => bench::run(&args),
        Command::Audit(cmd) => audit::run(&cmd),
    }
}
