//! A cluster as files and as one process:
//!
//! - [`config`]: the TOML configuration files (`cluster.toml`, `node.toml`,
//!   `coordinator.toml`, `client.toml`) and their loading;
//! - [`enroll`]: `zkquorum node init`, a node making its own secrets and the public
//!   enrollment the admins issue its certificate and roster entry from;
//! - [`init`]: `zkquorum init`, which writes a whole cluster (CA and certificates, node
//!   databases, proof-system keys, configurations, example policy and intent), every node
//!   through [`enroll`];
//! - [`local`]: a whole cluster running in one process on loopback (the demo, benches);
//! - [`roster`]: the roster in force, from the admins' registry, which the cluster file must
//!   agree with.

pub mod config;
pub mod enroll;
pub mod init;
pub mod local;
pub mod roster;

pub use init::{
    example_intent, example_policy, init, load_system, load_verifier, InitError, InitOptions,
    Layout,
};
