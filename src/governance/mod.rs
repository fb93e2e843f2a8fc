//! Governance tools for people: the policy admins' key files, proposal files, building a
//! roster or policy record from the cluster's files, and the genesis that `zkquorum init`
//! runs ([`bootstrap()`]).
//!
//! The records, their checks and the registry are in [`verifier::governance`] (the
//! auditor's library); the tables that keep them are in the node's and the coordinator's
//! stores, their routes next to the other routes of each service, and the command line in
//! `zkquorum admin`.
//!
//! Who holds what: each admin holds one key file ([`AdminKey`], sealed under the admin's
//! passphrase with the project's one passphrase sealer, `signer::keys::seal`); only the
//! public keys go into `trust-root.json`. A change is proposed as a file holding a
//! [`SignedRecord`] with no approvals, passed from admin to admin, each adding an approval
//! ([`approve_file`]), then submitted to the coordinator, which checks it against its own
//! registry, keeps it and hands it to every node; each node checks it again itself.
//!
//! - [`admin_key`] holds [`AdminKey`] and its file format;
//! - [`proposal`] holds proposal files and the records they propose;
//! - [`bootstrap`](mod@bootstrap) makes the admins, trust root and genesis roster of a new
//!   cluster;
//! - [`error`] holds [`AdminError`].

pub mod admin_key;
pub mod bootstrap;
pub mod error;
pub mod proposal;
#[cfg(test)]
pub(crate) mod testing;

pub use admin_key::AdminKey;
pub use bootstrap::{bootstrap, AdminOptions, Bootstrap};
pub use error::AdminError;
pub use proposal::{approve_file, read_proposal, write_proposal};
pub use verifier::governance::{
    Approval, GovernanceError, GovernanceRecord, PolicyAssignment, PolicyAssignments,
    RecordContent, RecordKind, Registry, Roster, RosterNode, SignedRecord, TrustRoot,
};
