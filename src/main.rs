//! `zkquorum`: the command-line entry point.
//!
//! `demo` runs a whole cluster in one process; `init`, `node`, `coordinator`, `keygen`,
//! `policy`, `sign` and `audit verify` run one as separate processes; `lifecycle` and
//! `bench-backends` tour the key lifecycle and compare the proof backends offline.

mod cli;

use clap::Parser;
use cli::{Cli, Command};

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
    cli.command.run()
}
