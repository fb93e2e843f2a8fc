//! The policy commitments `P` the signers of one session are registered under: what the
//! coordinator (round 1), every co-signer (round 2) and the auditor compare each proof's
//! public input `P` with (see [`crate::contribution`]).
//!
//! It is a plain per-signer map, filled from the governance registry for the session's
//! key and time (`verifier::governance::Registry::policies`): the check itself does not
//! care how the registry was kept, only that every verifier filled the map from its own
//! copy, never from the coordinator's word.

use std::collections::BTreeMap;

use circuits::BackendId;

/// Per signer id, the `P` (canonical little-endian bytes of the backend's field element)
/// in force for one key at one time. A signer without an entry has no registered policy:
/// its contributions are refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegisteredPolicies(BTreeMap<u16, [u8; 32]>);

impl RegisteredPolicies {
    /// No signer registered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `commitment` for `signer` (replacing an earlier entry).
    pub fn insert(&mut self, signer: u16, commitment: [u8; 32]) {
        self.0.insert(signer, commitment);
    }

    /// The `P` registered for `signer`, if any.
    pub fn get(&self, signer: u16) -> Option<&[u8; 32]> {
        self.0.get(&signer)
    }

    /// Every `(signer, P)`, by signer id.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &[u8; 32])> {
        self.0.iter().map(|(s, p)| (*s, p))
    }

    /// Number of registered signers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no signer is registered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(u16, [u8; 32])> for RegisteredPolicies {
    fn from_iter<I: IntoIterator<Item = (u16, [u8; 32])>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// A source of registered policies: the governance registry a party keeps itself (the
/// node's, the coordinator's, the auditor's copy), answering for one key, one backend and
/// one time. A fixed [`RegisteredPolicies`] answers the same for every key and time (tests,
/// single-process tools).
pub trait PolicyRegistry: Send + Sync {
    /// The `P` each signer is registered under for `key_id` on `backend` at `now`.
    fn policies(&self, key_id: &str, backend: BackendId, now: u64) -> RegisteredPolicies;

    /// The spend-policy `P` ([`circuits::spend::SpendPolicy`]) each signer is registered
    /// under for `key_id` on `backend` at `now`: what a Bitcoin spend is proved against.
    fn spend_policies(&self, key_id: &str, backend: BackendId, now: u64) -> RegisteredPolicies;

    /// Whether `signer` is in the roster in force at `now`, and under which identity key.
    /// A source that keeps no roster (a fixed [`RegisteredPolicies`]) answers
    /// [`Rostered::Untracked`].
    fn rostered_identity(&self, signer: u16, now: u64) -> Rostered {
        let _ = (signer, now);
        Rostered::Untracked
    }

    /// The shape of the roster in force at `now` (the version of the record holding it,
    /// its threshold and node count), which a key made at `now` must have. A source that
    /// keeps no roster answers `None`.
    fn roster_shape(&self, now: u64) -> Option<RosterShape> {
        let _ = now;
        None
    }

    /// The verifying key the roster in force at `now` pins for `backend`.
    fn pinned_key(&self, backend: BackendId, now: u64) -> Pinned {
        let _ = (backend, now);
        Pinned::Untracked
    }

    /// The spend verifying key the roster in force at `now` pins for `backend` and the
    /// size class of `slots` outputs.
    fn pinned_spend_key(&self, backend: BackendId, slots: u16, now: u64) -> Pinned {
        let _ = (backend, slots, now);
        Pinned::Untracked
    }
}

/// What the roster in force pins as a backend's verifying key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pinned {
    /// The source keeps no roster: nothing to compare with.
    Untracked,
    /// No roster is in force, or it pins no key for the backend: no proof is valid.
    Nothing,
    /// Proofs must name this fingerprint.
    Key([u8; 32]),
}

/// The shape of a roster in force: what a key made under it must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RosterShape {
    /// Version of the governance record holding the roster.
    pub version: u64,
    /// Signers a signature needs.
    pub threshold: u16,
    /// Nodes in the roster.
    pub participants: u16,
}

/// A signer's place in the roster in force at some time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rostered {
    /// The source keeps no roster: nothing to compare with.
    Untracked,
    /// No roster is in force, or the signer is not in it.
    Absent,
    /// The signer is rostered with this identity key (x-only BIP-340).
    Member([u8; 32]),
}

/// A fixed set answers the same for both statements (tests register a signer's intent and
/// spend policies in two sets).
impl PolicyRegistry for RegisteredPolicies {
    fn policies(&self, _key_id: &str, _backend: BackendId, _now: u64) -> RegisteredPolicies {
        self.clone()
    }

    fn spend_policies(&self, _key_id: &str, _backend: BackendId, _now: u64) -> RegisteredPolicies {
        self.clone()
    }
}
