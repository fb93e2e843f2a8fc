//! The zkquorum service crate: signer nodes and the coordinator over mutual TLS, their
//! SQLite state, the session driver, and the audit log.
//!
//! - [`coordinator`]: the transport-agnostic session driver ([`coordinator::Coordinator`]);
//! - [`node`] and [`service`]: the signer node's and the coordinator's HTTPS servers;
//! - [`client`]: the coordinator's client for nodes and the client API's client;
//! - [`api`]: the JSON messages of both APIs; [`ids`]: key and request ids;
//! - [`store`]: the SQLite databases (encrypted shares, durable nonces, policies, audit log);
//! - [`tls`], [`serve`]: certificates and the mutual-TLS accept loop;
//! - [`config`], [`cluster`]: configuration files and `zkquorum init`;
//! - [`local_cluster`]: a whole cluster in one process (the demo, benches);
//! - [`dkg_seal`]: HPKE-sealed DKG shares; [`audit_log`]: the JSON Lines audit log file.
//!
//! The binary (`zkquorum`) adds the CLI, the demo and the backend comparison on top.

// `api::ApiError` (an HTTP error answer with its details) is returned once per failed
// request; boxing it would cost an allocation to save a copy nobody measures.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod audit_log;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod coordinator;
pub mod dkg_seal;
pub mod ids;
pub mod local_cluster;
pub mod node;
pub mod serve;
pub mod service;
pub mod store;
pub mod tls;
