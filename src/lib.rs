//! The zkquorum service crate: the coordinator of proof-carrying signing sessions.
//!
//! The binary (`zkquorum`) adds the CLI, the demo and the backend comparison on top.

pub mod coordinator;
