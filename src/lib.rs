//! The zkquorum service crate: the coordinator of proof-carrying signing sessions and its
//! append-only audit log.
//!
//! The binary (`zkquorum`) adds the CLI, the demo and the backend comparison on top.

pub mod audit_log;
pub mod coordinator;
pub mod ids;
pub mod store;
