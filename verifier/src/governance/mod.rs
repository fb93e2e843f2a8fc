//! Governance by an admin quorum: the trust root, the records `k` of `m` policy admins sign,
//! and the append-only registry every party rebuilds and checks itself.
//!
//! A cluster's governance starts from its [`TrustRoot`] (`trust-root.json`): the cluster
//! name, the admins' BIP-340 x-only keys and the threshold `k`. Everything else — which
//! nodes form the cluster ([`Roster`]) and which policy commitment `P` each signer must
//! prove under for each key ([`PolicyAssignments`]) — is a [`GovernanceRecord`] that takes
//! effect only once `k` distinct admins signed it ([`SignedRecord`]).
//!
//! What an admin signs is the tuple `(cluster, kind, version, content hash,
//! effective_from)` as [`GovernanceRecord::signing_message`]: a tagged hash
//! (`circuits::hash::tagged_hash`) whose content hash is itself a tagged hash over a
//! canonical, length-prefixed encoding of the content, never over JSON text, so the same
//! record signs the same bytes whatever its JSON looks like.
//!
//! A [`Registry`] holds the records in version order (1, 2, 3, …) and accepts only the
//! next one, with enough valid admin approvals: a replayed, re-ordered, foreign or tampered
//! record, an approval by a key that is not an admin and a bad signature are each a typed
//! [`GovernanceError`]. The registry then answers what was in force at a time:
//! [`Registry::roster_at`] and [`Registry::policies`] (the per-signer `P` the contribution
//! check compares proofs with, [`crate::RegisteredPolicies`]).
//!
//! Nothing here talks to a network or a database: the coordinator distributes records, the
//! nodes and the coordinator store them, and each party — auditors included — verifies
//! them itself against its own copy of the trust root. The coordinator therefore cannot
//! forge a roster or a policy; at most it can withhold a record.
//!
//! - [`trust`] holds [`TrustRoot`] (the admins and their threshold);
//! - [`record`] holds [`GovernanceRecord`], its content, [`SignedRecord`] and [`Approval`];
//! - [`registry`] holds [`Registry`];
//! - [`error`] holds [`GovernanceError`].

pub mod error;
pub mod record;
pub mod registry;
mod serde_hex;
pub mod trust;

#[cfg(test)]
mod tests;

pub use error::GovernanceError;
pub use record::{
    Approval, GovernanceRecord, PinnedKey, PinnedSpendKey, PolicyAssignment, PolicyAssignments,
    RecordContent, RecordKind, Roster, RosterNode, SignedRecord, WILDCARD_KEY,
};
pub use registry::Registry;
pub use serde_hex::backend as backend_name;
pub use trust::TrustRoot;
