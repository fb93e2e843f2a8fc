//! The registry: a cluster's governance records in version order, each accepted only once
//! it checks against the trust root, and the answers sessions and auditors need from it.

use std::collections::BTreeMap;

use circuits::BackendId;

use super::error::GovernanceError;
use super::record::{RecordContent, RecordKind, Roster, SignedRecord, WILDCARD_KEY};
use super::trust::TrustRoot;
use crate::registered::{Pinned, RegisteredPolicies, RosterShape, Rostered};

/// The accepted records of one cluster, versions `1..=head` without gaps, each approved by
/// at least `k` distinct admins of the trust root.
///
/// Every party keeps its own (nodes and the coordinator in their databases, auditors from
/// an export) and rebuilds it with [`Registry::from_records`], so a record nobody's admins
/// signed never enters any of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    trust: TrustRoot,
    records: Vec<SignedRecord>,
}

impl Registry {
    /// An empty registry (head 0) under `trust`.
    pub fn new(trust: TrustRoot) -> Self {
        Self {
            trust,
            records: Vec::new(),
        }
    }

    /// Rebuilds a registry by applying `records` in order; the first refused one is the
    /// error (its version is in it).
    pub fn from_records(
        trust: TrustRoot,
        records: impl IntoIterator<Item = SignedRecord>,
    ) -> Result<Self, GovernanceError> {
        let mut registry = Self::new(trust);
        for r in records {
            registry.apply(r)?;
        }
        Ok(registry)
    }

    /// The trust root it checks records against.
    pub fn trust(&self) -> &TrustRoot {
        &self.trust
    }

    /// The version of the last accepted record (0 when empty).
    pub fn head(&self) -> u64 {
        self.records.len() as u64
    }

    /// The record hash ([`SignedRecord::record_hash`]) of the last accepted record.
    pub fn head_hash(&self) -> Option<[u8; 32]> {
        self.records.last().map(SignedRecord::record_hash)
    }

    /// Every accepted record, by version (index `i` holds version `i + 1`).
    pub fn records(&self) -> &[SignedRecord] {
        &self.records
    }

    /// The accepted record of `version`.
    pub fn record(&self, version: u64) -> Option<&SignedRecord> {
        let i = usize::try_from(version.checked_sub(1)?).ok()?;
        self.records.get(i)
    }

    /// The accepted records from `version` on (all of them for 0 or 1).
    pub fn since(&self, version: u64) -> &[SignedRecord] {
        let start = usize::try_from(version.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .min(self.records.len());
        &self.records[start..]
    }

    /// Checks `signed` as the next record without applying it: its cluster, its version
    /// (`head + 1`: lower is [`GovernanceError::Replayed`], higher
    /// [`GovernanceError::OutOfOrder`]), its `effective_from` (not before the previous
    /// record's: [`GovernanceError::EffectiveBeforePrevious`]), its content hash, its content (a roster must be a
    /// valid cluster; a policy record must assign signers of the latest roster), and its
    /// approvals (every one by an admin with a valid signature, at least `k` distinct).
    pub fn check(&self, signed: &SignedRecord) -> Result<(), GovernanceError> {
        let record = &signed.record;
        let version = record.version;
        if record.cluster != self.trust.cluster() {
            return Err(GovernanceError::WrongCluster {
                expected: self.trust.cluster().to_string(),
                found: record.cluster.chars().take(80).collect(),
                version,
            });
        }
        let head = self.head();
        if version <= head {
            return Err(GovernanceError::Replayed { version, head });
        }
        if version != head + 1 {
            return Err(GovernanceError::OutOfOrder {
                version,
                expected: head + 1,
            });
        }
        if let Some(prev) = self.records.last() {
            if record.effective_from < prev.record.effective_from {
                return Err(GovernanceError::EffectiveBeforePrevious {
                    version,
                    effective_from: record.effective_from,
                    previous: prev.record.version,
                    previous_from: prev.record.effective_from,
                });
            }
        }
        record.check_content_hash()?;
        match &record.content {
            RecordContent::Roster(roster) => roster
                .validate()
                .map_err(|reason| GovernanceError::InvalidRoster { version, reason })?,
            RecordContent::Policy(p) | RecordContent::SpendPolicy(p) => {
                let invalid = |reason| GovernanceError::InvalidPolicy { version, reason };
                p.validate().map_err(invalid)?;
                let roster = self.latest_roster().ok_or_else(|| {
                    invalid("no roster yet: the first record must be the roster".into())
                })?;
                if let Some(a) = p.assignments.iter().find(|a| !roster.has_signer(a.signer)) {
                    return Err(invalid(format!(
                        "signer {} is not in the roster (signers 1..={})",
                        a.signer,
                        roster.nodes.len()
                    )));
                }
            }
        }
        let have = signed.approvers(&self.trust)?.len();
        let need = usize::from(self.trust.threshold());
        if have < need {
            return Err(GovernanceError::TooFewApprovals {
                version,
                have,
                need,
            });
        }
        Ok(())
    }

    /// Appends `signed` if [`Registry::check`] accepts it; the registry is unchanged
    /// otherwise.
    pub fn apply(&mut self, signed: SignedRecord) -> Result<(), GovernanceError> {
        self.check(&signed)?;
        self.records.push(signed);
        Ok(())
    }

    /// The roster of the highest version, whatever its `effective_from`: the membership
    /// new records are checked against.
    pub fn latest_roster(&self) -> Option<&Roster> {
        self.records
            .iter()
            .rev()
            .find_map(|r| match &r.record.content {
                RecordContent::Roster(roster) => Some(roster),
                _ => None,
            })
    }

    /// The roster in force at `now`: the highest-version roster with `effective_from <=
    /// now`.
    pub fn roster_at(&self, now: u64) -> Option<&Roster> {
        self.roster_version_at(now).map(|(_, roster)| roster)
    }

    /// [`Registry::roster_at`] with the version of the record that holds it.
    pub fn roster_version_at(&self, now: u64) -> Option<(u64, &Roster)> {
        self.records
            .iter()
            .rev()
            .filter(|r| r.record.effective_from <= now)
            .find_map(|r| match &r.record.content {
                RecordContent::Roster(roster) => Some((r.record.version, roster)),
                _ => None,
            })
    }

    /// The policy commitment `P` in force at `now` for `key_id` on `backend`, per signer:
    /// the highest-version assignment for exactly `key_id` among records with
    /// `effective_from <= now`, else the highest-version one for `"*"`. Only signers of the
    /// roster in force at `now` are listed (none when no roster is); a signer without an
    /// assignment is absent, so its contributions are refused.
    pub fn policies(&self, key_id: &str, backend: BackendId, now: u64) -> RegisteredPolicies {
        self.assigned(RecordKind::Policy, key_id, backend, now)
    }

    /// [`Registry::policies`] of the Bitcoin spend statement (from `spend_policy` records).
    pub fn spend_policies(&self, key_id: &str, backend: BackendId, now: u64) -> RegisteredPolicies {
        self.assigned(RecordKind::SpendPolicy, key_id, backend, now)
    }

    /// The assignments of the records of `kind` in force at `now` (see
    /// [`Registry::policies`]).
    fn assigned(
        &self,
        kind: RecordKind,
        key_id: &str,
        backend: BackendId,
        now: u64,
    ) -> RegisteredPolicies {
        let Some(roster) = self.roster_at(now) else {
            return RegisteredPolicies::new();
        };
        let mut exact = BTreeMap::new();
        let mut wildcard = BTreeMap::new();
        // Ascending versions: a later assignment replaces an earlier one.
        for r in self
            .records
            .iter()
            .filter(|r| r.record.effective_from <= now)
        {
            let p = match &r.record.content {
                RecordContent::Policy(p) if kind == RecordKind::Policy => p,
                RecordContent::SpendPolicy(p) if kind == RecordKind::SpendPolicy => p,
                _ => continue,
            };
            for a in p.assignments.iter().filter(|a| a.backend == backend) {
                if a.key_id == key_id {
                    exact.insert(a.signer, a.commitment);
                } else if a.key_id == WILDCARD_KEY {
                    wildcard.insert(a.signer, a.commitment);
                }
            }
        }
        for (signer, p) in exact {
            wildcard.insert(signer, p);
        }
        wildcard
            .into_iter()
            .filter(|(signer, _)| roster.has_signer(*signer))
            .collect()
    }
}

impl crate::registered::PolicyRegistry for Registry {
    fn policies(&self, key_id: &str, backend: BackendId, now: u64) -> RegisteredPolicies {
        Registry::policies(self, key_id, backend, now)
    }

    fn spend_policies(&self, key_id: &str, backend: BackendId, now: u64) -> RegisteredPolicies {
        Registry::spend_policies(self, key_id, backend, now)
    }

    fn rostered_identity(&self, signer: u16, now: u64) -> Rostered {
        match self.roster_at(now).and_then(|r| r.node(signer)) {
            Some(node) => Rostered::Member(node.identity_key),
            None => Rostered::Absent,
        }
    }

    fn pinned_key(&self, backend: BackendId, now: u64) -> Pinned {
        match self.roster_at(now).and_then(|r| r.pinned_key(backend)) {
            Some(fp) => Pinned::Key(fp),
            None => Pinned::Nothing,
        }
    }

    fn pinned_spend_key(&self, backend: BackendId, slots: u16, now: u64) -> Pinned {
        match self
            .roster_at(now)
            .and_then(|r| r.pinned_spend_key(backend, slots))
        {
            Some(fp) => Pinned::Key(fp),
            None => Pinned::Nothing,
        }
    }

    fn roster_shape(&self, now: u64) -> Option<RosterShape> {
        self.roster_version_at(now)
            .map(|(version, roster)| RosterShape {
                version,
                threshold: roster.threshold,
                participants: u16::try_from(roster.nodes.len()).unwrap_or(u16::MAX),
            })
    }
}

/// A registry shared with the code that extends it (a node's or the coordinator's): each
/// lookup reads it as it stands.
impl crate::registered::PolicyRegistry for std::sync::RwLock<Registry> {
    fn policies(&self, key_id: &str, backend: BackendId, now: u64) -> RegisteredPolicies {
        self.read()
            .unwrap_or_else(|e| e.into_inner())
            .policies(key_id, backend, now)
    }

    fn spend_policies(&self, key_id: &str, backend: BackendId, now: u64) -> RegisteredPolicies {
        self.read()
            .unwrap_or_else(|e| e.into_inner())
            .spend_policies(key_id, backend, now)
    }

    fn rostered_identity(&self, signer: u16, now: u64) -> Rostered {
        crate::registered::PolicyRegistry::rostered_identity(
            &*self.read().unwrap_or_else(|e| e.into_inner()),
            signer,
            now,
        )
    }

    fn pinned_key(&self, backend: BackendId, now: u64) -> Pinned {
        crate::registered::PolicyRegistry::pinned_key(
            &*self.read().unwrap_or_else(|e| e.into_inner()),
            backend,
            now,
        )
    }

    fn pinned_spend_key(&self, backend: BackendId, slots: u16, now: u64) -> Pinned {
        crate::registered::PolicyRegistry::pinned_spend_key(
            &*self.read().unwrap_or_else(|e| e.into_inner()),
            backend,
            slots,
            now,
        )
    }

    fn roster_shape(&self, now: u64) -> Option<RosterShape> {
        crate::registered::PolicyRegistry::roster_shape(
            &*self.read().unwrap_or_else(|e| e.into_inner()),
            now,
        )
    }
}
