//! The coordinator's copy of the governance registry in `governance` (see
//! [`crate::store::governance`]): what it checks submissions against, serves, and pushes
//! to the nodes. It holds no key, so it keeps no sealed mark; its rows are re-verified
//! against the trust root whenever it opens them.

use rusqlite::TransactionBehavior;
use verifier::governance::{Registry, SignedRecord, TrustRoot};

use super::CoordinatorStore;
use crate::store::governance::{insert_in, load_registry, read_records};
use crate::store::StoreError;

impl CoordinatorStore {
    /// Every stored governance record, in version order (not verified: see
    /// [`CoordinatorStore::load_registry`]).
    pub fn governance_records(&self) -> Result<Vec<SignedRecord>, StoreError> {
        read_records(&self.lock())
    }

    /// The registry rebuilt from the stored records under `trust`, each checked again; an
    /// edited row is [`StoreError::Governance`] naming it.
    pub fn load_registry(&self, trust: TrustRoot) -> Result<Registry, StoreError> {
        load_registry(&self.lock(), trust)
    }

    /// Appends `signed`, already checked against the coordinator's registry as its next
    /// record, in one `BEGIN IMMEDIATE` transaction.
    pub fn append_governance(&self, signed: &SignedRecord) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a governance transaction"))?;
        insert_in(&tx, signed)?;
        tx.commit()
            .map_err(StoreError::sql("committing into governance"))
    }
}

#[cfg(test)]
mod tests {
    use verifier::governance::GovernanceError;

    use super::*;
    use crate::governance::testing::Admins;

    #[test]
    fn records_are_kept_in_order_and_reverified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let a = Admins::new();
        let db = CoordinatorStore::open(&path).unwrap();
        let records = [a.genesis(), a.policy(2, 1)];
        for r in &records {
            db.append_governance(r).unwrap();
        }
        assert!(matches!(
            db.append_governance(&records[1]),
            Err(StoreError::Invalid(_))
        ));
        drop(db);
        let db = CoordinatorStore::open(&path).unwrap();
        assert_eq!(db.governance_records().unwrap(), records.to_vec());
        assert_eq!(db.load_registry(a.trust.clone()).unwrap().head(), 2);
        // Under another trust root (other admins), the stored records are refused.
        let other = Admins::new();
        assert!(matches!(
            db.load_registry(other.trust.clone()),
            Err(StoreError::Governance {
                row: 1,
                source: GovernanceError::NotAnAdmin { .. }
            })
        ));
        assert_eq!(
            crate::store::governance::read_records_at(&path).unwrap(),
            records.to_vec()
        );
    }
}
