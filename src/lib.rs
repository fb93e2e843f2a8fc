//! The zkquorum service crate: signer nodes and a coordinator over mutual TLS, each with
//! its own SQLite database. The module tree follows the roles:
//!
//! - [`node`]: the signer node — its state, its HTTP routes, its side of the DKG, and its
//!   database (identity, sealed shares, policies, durable nonce records);
//! - [`coordinator`]: the coordinator service — its state, its client-API routes, the DKG
//!   driver that runs a key generation across the nodes, its database (keys, requests, the
//!   hash-chained audit log), and the transport-agnostic session driver
//!   ([`coordinator::Coordinator`]);
//! - [`net`]: what travels between them — the JSON messages of both APIs, the HTTPS
//!   clients, TLS, the mutual-TLS accept loop, HPKE-sealed DKG shares;
//! - [`store`]: the SQLite plumbing both databases share (open, schema migrations, the
//!   passphrase sealer);
//! - [`cluster`]: configuration files, `zkquorum init`, and a whole cluster in one process;
//! - [`governance`]: the policy admins' tools — admin key files, proposal files, the
//!   genesis `init` makes (records and registry: `verifier::governance`);
//! - [`ids`]: key and request ids; [`clock`]: the wall clock;
//! - [`regtest`]: synthetic regtest funding, PSBTs and Bitcoin Core's consensus check (the
//!   demo and the tests).
//!
//! The binary (`src/main.rs`, `src/cli/`) adds the command line, the demo, the lifecycle
//! tour and the backend comparison on top.

// `net::api::ApiError` (an HTTP error answer with its details) is returned once per failed
// request; boxing it would cost an allocation to save a copy nobody measures.
#![allow(clippy::result_large_err)]

pub mod clock;
pub mod cluster;
// The session driver (`src/coordinator.rs`) is mounted inside this module as `driver`.
#[path = "coordinator/mod.rs"]
pub mod coordinator;
pub mod governance;
pub mod ids;
pub mod net;
pub mod node;
pub mod regtest;
pub mod store;

// Old paths, kept while `tests/cluster.rs` still imports them; new code uses
// `net::{api, client, tls}` and `cluster::config`.
