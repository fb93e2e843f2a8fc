//! The node's governance registry in `governance` (see [`crate::store::governance`]) and
//! its rollback guard: a high-water mark in `meta.governance_mark`, sealed with the store's
//! key, holding the head version and the head record's hash
//! ([`SignedRecord::record_hash`]).
//!
//! The mark is rewritten in the same transaction as every append, so it always names the
//! last record. When the database is opened ([`NodeStore::open`]), a table holding fewer
//! records than the mark is [`StoreError::RolledBack`]: deleting the newest rows — which
//! would put an older, looser policy or roster back in force — needs the passphrase to
//! go unnoticed. A head that is not the record the mark names, or records beyond the
//! mark, are [`StoreError::Corrupt`]. The mark is written at creation (version 0); a
//! database from before this table gets its version-0 mark at its first open, while its
//! table is still empty.
//!
//! What the mark cannot see is a whole older copy of the file put back (its old mark
//! with it): that takes state outside the file, which the coordinator's registry and the
//! admins' own records are; the coordinator pushes its records to every node it starts
//! with.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use verifier::governance::{Registry, SignedRecord, TrustRoot};

use super::{blob, meta, NodeStore};
use crate::store::governance::{head_in, insert_in, load_registry, read_records};
use crate::store::seal::{aad, SealingKey};
use crate::store::StoreError;

/// The `meta` key of the sealed high-water mark.
pub(super) const MARK_KEY: &str = "governance_mark";

fn mark_aad() -> Vec<u8> {
    aad("meta", &[MARK_KEY.as_bytes()])
}

/// The sealed mark of `version` with head record hash `head` (zeros for version 0).
pub(super) fn seal_mark(
    key: &SealingKey,
    version: u64,
    head: &[u8; 32],
) -> Result<Vec<u8>, StoreError> {
    let mut plain = [0u8; 40];
    plain[..8].copy_from_slice(&version.to_le_bytes());
    plain[8..].copy_from_slice(head);
    key.seal(&mark_aad(), &plain)
}

fn open_mark(key: &SealingKey, sealed: &[u8]) -> Result<(u64, [u8; 32]), StoreError> {
    let what = format!("meta.{MARK_KEY}");
    let plain = key.open(&what, &mark_aad(), sealed)?;
    if plain.len() != 40 {
        return Err(StoreError::corrupt(
            what,
            format!("{} bytes, expected 40", plain.len()),
        ));
    }
    let mut version = [0u8; 8];
    let mut head = [0u8; 32];
    version.copy_from_slice(&plain[..8]);
    head.copy_from_slice(&plain[8..]);
    Ok((u64::from_le_bytes(version), head))
}

/// The record hash of the stored head (`None` when the table is empty).
fn head_hash(conn: &Connection) -> Result<Option<(u64, [u8; 32])>, StoreError> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT version, record FROM governance ORDER BY version DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::sql("reading governance"))?;
    row.map(|(version, json)| {
        let signed = SignedRecord::from_json(&json)
            .map_err(|e| StoreError::corrupt(format!("governance row {version}"), e.to_string()))?;
        Ok((signed.record.version, signed.record_hash()))
    })
    .transpose()
}

/// Compares the table with the sealed mark (see the module docs).
fn check_mark(conn: &Connection, key: &SealingKey, sealed: &[u8]) -> Result<(), StoreError> {
    let (mark, mark_hash) = open_mark(key, sealed)?;
    let have: i64 = conn
        .query_row("SELECT count(*) FROM governance", [], |r| r.get(0))
        .map_err(StoreError::sql("counting governance"))?;
    let have = u64::try_from(have).unwrap_or(0);
    if have < mark {
        return Err(StoreError::RolledBack { have, mark });
    }
    if have > mark {
        return Err(StoreError::corrupt(
            "governance",
            format!("{have} records but the sealed high-water mark is version {mark}: rows were added outside the node"),
        ));
    }
    if let Some((version, hash)) = head_hash(conn)? {
        if version != mark || hash != mark_hash {
            return Err(StoreError::corrupt(
                format!("governance row {version}"),
                "it is not the record the sealed high-water mark names",
            ));
        }
    }
    Ok(())
}

impl NodeStore {
    /// Checks the governance table against the sealed high-water mark (at open): see the
    /// module docs. Writes the version-0 mark of a database that has none yet and holds no
    /// records.
    pub(super) fn check_governance_mark(&self) -> Result<(), StoreError> {
        let mut conn = self.lock();
        if let Some(sealed) = meta(&conn, MARK_KEY, blob)? {
            return check_mark(&conn, &self.key, &sealed);
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a governance transaction"))?;
        if let Some(sealed) = meta(&tx, MARK_KEY, blob)? {
            return check_mark(&tx, &self.key, &sealed);
        }
        let have = head_in(&tx)?;
        if have > 0 {
            return Err(StoreError::corrupt(
                format!("meta.{MARK_KEY}"),
                format!("missing while governance holds {have} records"),
            ));
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![MARK_KEY, seal_mark(&self.key, 0, &[0u8; 32])?],
        )
        .map_err(StoreError::sql("writing the governance mark"))?;
        tx.commit()
            .map_err(StoreError::sql("committing the governance mark"))
    }

    /// The sealed high-water mark: the head version and its record hash.
    pub fn governance_mark(&self) -> Result<(u64, [u8; 32]), StoreError> {
        let conn = self.lock();
        let sealed = meta(&conn, MARK_KEY, blob)?
            .ok_or_else(|| StoreError::corrupt(format!("meta.{MARK_KEY}"), "missing"))?;
        open_mark(&self.key, &sealed)
    }

    /// Every stored governance record, in version order (not verified: see
    /// [`NodeStore::load_registry`]).
    pub fn governance_records(&self) -> Result<Vec<SignedRecord>, StoreError> {
        read_records(&self.lock())
    }

    /// The registry rebuilt from the stored records under `trust`, each checked again; an
    /// edited row is [`StoreError::Governance`] naming it.
    pub fn load_registry(&self, trust: TrustRoot) -> Result<Registry, StoreError> {
        load_registry(&self.lock(), trust)
    }

    /// Appends `signed` (already checked against the node's registry as its next record)
    /// and moves the sealed high-water mark to it, in one transaction.
    pub fn append_governance(&self, signed: &SignedRecord) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a governance transaction"))?;
        let sealed = meta(&tx, MARK_KEY, blob)?
            .ok_or_else(|| StoreError::corrupt(format!("meta.{MARK_KEY}"), "missing"))?;
        // The table must still be what the mark says before it moves past it.
        check_mark(&tx, &self.key, &sealed)?;
        insert_in(&tx, signed)?;
        let mark = seal_mark(&self.key, signed.record.version, &signed.record_hash())?;
        tx.execute(
            "UPDATE meta SET value = ?2 WHERE key = ?1",
            params![MARK_KEY, mark],
        )
        .map_err(StoreError::sql("moving the governance mark"))?;
        tx.commit()
            .map_err(StoreError::sql("committing into governance"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rusqlite::Connection;
    use signer::SignerId;
    use verifier::governance::{GovernanceError, RecordContent};
    use zeroize::Zeroizing;

    use super::*;
    use crate::governance::testing::Admins;
    use crate::node::store::IdentitySecrets;
    use crate::store::seal::TEST_KDF;

    fn create(path: &Path) -> NodeStore {
        NodeStore::create(
            path,
            SignerId::new(1).unwrap(),
            b"pass",
            TEST_KDF,
            &IdentitySecrets {
                signing: Zeroizing::new([1; 32]),
                hpke: Zeroizing::new([2; 32]),
            },
        )
        .unwrap()
    }

    /// Runs `sql` on the file as someone with the file but not the passphrase would.
    fn hand_edit(path: &Path, sql: &str) {
        Connection::open(path).unwrap().execute_batch(sql).unwrap();
    }

    #[test]
    fn appends_move_the_sealed_mark_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let a = Admins::new();
        let db = create(&path);
        assert_eq!(db.governance_mark().unwrap(), (0, [0; 32]));
        let records = [a.genesis(), a.policy(2, 1), a.policy(3, 2)];
        for r in &records {
            db.append_governance(r).unwrap();
        }
        assert_eq!(db.governance_mark().unwrap(), (3, records[2].record_hash()));
        // Not the next version: refused by the store itself.
        assert!(matches!(
            db.append_governance(&a.policy(5, 3)),
            Err(StoreError::Invalid(_))
        ));
        drop(db);
        let db = NodeStore::open(&path, b"pass").unwrap();
        assert_eq!(db.governance_records().unwrap(), records.to_vec());
        let reg = db.load_registry(a.trust.clone()).unwrap();
        assert_eq!(reg.head(), 3);
        assert_eq!(
            reg.policies("k", circuits::BackendId::Groth16Bn254, 1)
                .get(1)
                .unwrap()[0],
            2
        );
        // The table refuses updates and deletes from SQL.
        let conn = Connection::open(&path).unwrap();
        assert!(conn
            .execute("DELETE FROM governance WHERE version = 3", [])
            .is_err());
        assert!(conn
            .execute("UPDATE governance SET record = 'x' WHERE version = 1", [])
            .is_err());
    }

    #[test]
    fn deleting_the_newest_rows_is_a_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let a = Admins::new();
        let db = create(&path);
        for r in [a.genesis(), a.policy(2, 1), a.policy(3, 2)] {
            db.append_governance(&r).unwrap();
        }
        drop(db);
        hand_edit(
            &path,
            "DROP TRIGGER governance_no_delete; DELETE FROM governance WHERE version = 3;",
        );
        let err = NodeStore::open(&path, b"pass").unwrap_err();
        assert!(
            matches!(err, StoreError::RolledBack { have: 2, mark: 3 }),
            "{err}"
        );
        assert!(err.to_string().contains("rolled back"), "{err}");
        // Deleting the mark too does not help while rows remain.
        hand_edit(&path, "DELETE FROM meta WHERE key = 'governance_mark';");
        assert!(matches!(
            NodeStore::open(&path, b"pass"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn an_edited_row_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let a = Admins::new();
        let db = create(&path);
        let (genesis, policy) = (a.genesis(), a.policy(2, 1));
        db.append_governance(&genesis).unwrap();
        db.append_governance(&policy).unwrap();
        drop(db);
        // Row 1 edited by hand (the mark names the head, so only re-verifying sees this).
        let mut edited = genesis.clone();
        let RecordContent::Roster(ref mut roster) = edited.record.content else {
            unreachable!()
        };
        roster.threshold = 3;
        hand_edit(
            &path,
            &format!(
                "DROP TRIGGER governance_no_update; UPDATE governance SET record = '{}' WHERE version = 1;",
                edited.to_json()
            ),
        );
        let db = NodeStore::open(&path, b"pass").unwrap();
        match db.load_registry(a.trust.clone()) {
            Err(StoreError::Governance {
                row: 1,
                source: GovernanceError::ContentHashMismatch { version: 1 },
            }) => {}
            other => panic!("expected row 1 refused, got {other:?}"),
        }
        // The head row replaced by another validly signed record: the mark names another.
        drop(db);
        let other = a.policy(2, 9);
        hand_edit(
            &path,
            &format!(
                "UPDATE governance SET record = '{}' WHERE version = 2;",
                other.to_json()
            ),
        );
        assert!(matches!(
            NodeStore::open(&path, b"pass"),
            Err(StoreError::Corrupt { what, .. }) if what.contains("governance row 2")
        ));
    }

    #[test]
    fn a_database_from_before_the_table_gets_its_mark_at_first_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        drop(create(&path));
        hand_edit(&path, "DELETE FROM meta WHERE key = 'governance_mark';");
        let db = NodeStore::open(&path, b"pass").unwrap();
        assert_eq!(db.governance_mark().unwrap(), (0, [0; 32]));
    }
}
