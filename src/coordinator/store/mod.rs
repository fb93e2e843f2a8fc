//! The coordinator's database: keys, the hash-chained audit log, requests.
//!
//! Tables (schema v1), none of them secret:
//!
//! - `meta(key, value)`: `role` = `coordinator`;
//! - `keys(key_id, threshold, participants, backend, group_key, public_key_package,
//!   created_at)`: the keys the coordinator signs with, written once;
//! - `audit(idx, line, chain_hash)`: the hash-chained JSON Lines audit log in rows: `line` is
//!   record `idx`'s exact JSON line (`KeyRecord::to_line` or `AuditRecord::to_line`), `chain_hash` its
//!   `verifier::audit::chain_hash`, so an append reads only the last row. Appends are
//!   `BEGIN IMMEDIATE` transactions committed (`synchronous=FULL`: on disk) before
//!   [`CoordinatorStore::append_audit`] returns, so indices stay contiguous and the chain
//!   intact with several threads or processes appending;
//! - `requests(request_id, key_id, status, result, created_at, finished_at)`: every client
//!   request id seen, for idempotency: a resubmitted id gets the first outcome instead of a
//!   second signature;
//! - (schema v2) `governance(version, record, created_at)`: the cluster's governance
//!   records, append-only ([`crate::store::governance`], [`governance`]);
//! - (schema v3) `keys` gains `state` (`prepared` → `committed`), `roster_version`,
//!   `attestations` (every node's signature over the key, JSON) and `audit_index` (the key
//!   record's line): a key signs only once committed, which appends its key record;
//! - (schema v4) `witnesses(signer, size, signature, updated_at)`: each node's latest
//!   signature over the audit log ([`witnesses`]).

//!
//! The methods of [`CoordinatorStore`] are grouped by table: [`keys`], [`requests`],
//! [`audit`] (the one place where audit records are appended), [`witnesses`] and
//! [`governance`].

pub mod audit;
pub mod governance;
pub mod keys;
pub mod requests;
pub mod witnesses;

pub use audit::{is_sqlite_file, read_audit_lines};
pub use keys::KeyRecord;
pub use requests::{RequestRecord, RequestStatus, INTERRUPTED_RESULT};
pub use witnesses::read_witnesses;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

use crate::store::migrate::Migration;
use crate::store::{open_db, StoreError};

/// The `meta.role` of a coordinator database.
pub const COORDINATOR_ROLE: &str = "coordinator";

/// The coordinator schema, one entry per version.
pub const COORDINATOR_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: "
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value BLOB NOT NULL
        );
        INSERT INTO meta (key, value) VALUES ('role', 'coordinator');
        CREATE TABLE keys (
            key_id TEXT PRIMARY KEY,
            threshold INTEGER NOT NULL,
            participants INTEGER NOT NULL,
            backend TEXT NOT NULL,
            group_key TEXT NOT NULL,
            public_key_package TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE audit (
            idx INTEGER PRIMARY KEY CHECK (idx >= 0),
            line TEXT NOT NULL,
            chain_hash BLOB NOT NULL CHECK (length(chain_hash) = 32)
        );
        CREATE TABLE requests (
            request_id TEXT PRIMARY KEY,
            key_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('running', 'signed', 'rejected', 'failed')),
            result TEXT,
            created_at INTEGER NOT NULL,
            finished_at INTEGER
        );
        CREATE INDEX requests_running ON requests (status) WHERE status = 'running';
    ",
    },
    Migration {
        version: 2,
        sql: crate::store::governance::GOVERNANCE_SQL,
    },
    Migration {
        version: 3,
        // Keys made before two-phase keygen were usable: they count as committed (without
        // a key record, so the auditor flags signatures under them).
        sql: "
        ALTER TABLE keys ADD COLUMN state TEXT NOT NULL DEFAULT 'committed'
            CHECK (state IN ('prepared', 'committed'));
        ALTER TABLE keys ADD COLUMN roster_version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE keys ADD COLUMN attestations TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE keys ADD COLUMN audit_index INTEGER;
    ",
    },
    Migration {
        version: 4,
        sql: "
        CREATE TABLE witnesses (
            signer INTEGER PRIMARY KEY,
            size INTEGER NOT NULL CHECK (size >= 0),
            signature TEXT NOT NULL,
            updated_at INTEGER NOT NULL
        );
    ",
    },
];

/// The coordinator's database. Safe to share between threads; other processes may open
/// the same file.
pub struct CoordinatorStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for CoordinatorStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoordinatorStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(super) fn to_i64(what: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is too large")))
}

impl CoordinatorStore {
    /// Opens the coordinator database at `path`, creating it if missing, and applies
    /// pending migrations. A node database (or any other file) is refused.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_db(path, COORDINATOR_ROLE, COORDINATOR_MIGRATIONS, true)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    /// The file this store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Connection> {
        // Dropped transactions roll back, so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use verifier::audit::{
        chain_hash, verify_log, AuditError, AuditKeys, AuditRecord, AUDIT_VERSION,
    };

    use super::*;
    use crate::ids::{KeyId, RequestId};

    fn record(n: u8) -> AuditRecord {
        AuditRecord {
            version: AUDIT_VERSION,
            index: 999,
            session_id: [n; 32],
            key_id: "k1".into(),
            group_key: [2; 33],
            threshold: 2,
            digest: [n; 32],
            backend: 1,
            vk_fingerprint: [0; 32],
            signers: Vec::new(),
            signature: [0; 64],
            time: 1_700_000_000 + u64::from(n),
            prev: [9; 32],
        }
    }

    /// The chain checks of `verify_log` (the records have no signers, so only those can
    /// pass), plus a direct check.
    fn assert_chain(lines: &[String]) {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let report = verify_log(text.as_bytes(), &AuditKeys::new());
        assert_eq!(report.records, lines.len() as u64);
        for f in &report.failures {
            assert!(
                !matches!(
                    f.reason,
                    AuditError::IndexMismatch { .. }
                        | AuditError::BrokenChain { .. }
                        | AuditError::Malformed(_)
                        | AuditError::DuplicateSession { .. }
                ),
                "{f}"
            );
        }
        assert_eq!(report.head, lines.last().map(|l| chain_hash(l.as_bytes())));
        let mut prev = [0u8; 32];
        for (i, l) in lines.iter().enumerate() {
            let r = AuditRecord::from_line(l.as_bytes()).unwrap();
            assert_eq!(r.index, i as u64);
            assert_eq!(r.prev, prev);
            prev = chain_hash(l.as_bytes());
        }
    }

    #[test]
    fn audit_chain_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let db = CoordinatorStore::open(&path).unwrap();
        assert_eq!(db.audit_len().unwrap(), 0);
        let mut lines = Vec::new();
        for n in 0..3 {
            let mut r = record(n);
            lines.push(db.append_audit(&mut r).unwrap());
            assert_eq!(r.index, u64::from(n));
            assert_eq!(lines.last(), Some(&r.to_line()));
        }
        assert_eq!(db.audit_lines().unwrap(), lines);
        assert_chain(&lines);
        drop(db);

        let db = CoordinatorStore::open(&path).unwrap();
        assert_eq!(db.audit_len().unwrap(), 3);
        lines.push(db.append_audit(&mut record(3)).unwrap());
        assert_chain(&lines);
        assert_eq!(read_audit_lines(&path).unwrap(), lines);

        // A row whose stored hash no longer matches its line stops appends.
        Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE audit SET chain_hash = zeroblob(32) WHERE idx = 3",
                [],
            )
            .unwrap();
        assert!(matches!(
            db.append_audit(&mut record(4)),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn concurrent_appends_keep_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let shared = Arc::new(CoordinatorStore::open(&path).unwrap());
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let shared = Arc::clone(&shared);
                let path = path.clone();
                std::thread::spawn(move || {
                    // Two threads share one connection, two have their own (SQLite locking).
                    let own;
                    let db = if t % 2 == 0 {
                        &*shared
                    } else {
                        own = CoordinatorStore::open(&path).unwrap();
                        &own
                    };
                    for i in 0..25u8 {
                        let mut r = record(t * 25 + i);
                        db.append_audit(&mut r).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let lines = shared.audit_lines().unwrap();
        assert_eq!(lines.len(), 100);
        assert_chain(&lines);
        drop(shared);
        let db = CoordinatorStore::open(&path).unwrap();
        assert_eq!(db.audit_len().unwrap(), 100);
        assert_eq!(db.audit_lines().unwrap(), lines);
    }

    #[test]
    fn keys_are_prepared_then_committed_with_their_record() {
        let dir = tempfile::tempdir().unwrap();
        let db = CoordinatorStore::open(&dir.path().join("c.db")).unwrap();
        let rec = KeyRecord {
            key_id: KeyId::new("treasury").unwrap(),
            threshold: 2,
            participants: 3,
            backend: circuits::BackendId::Groth16Bn254,
            group_key: "02ab".into(),
            public_key_package: "{}".into(),
            created_at: 1_700_000_000,
            committed: false,
            roster_version: 1,
            attestations: vec![],
            audit_index: None,
        };
        let mut log_rec = verifier::audit::KeyRecord {
            version: verifier::audit::KEY_RECORD_VERSION,
            index: 7,
            key_id: "treasury".into(),
            backend: 1,
            threshold: 2,
            participants: 3,
            roster_version: 1,
            group_key: [2; 33],
            public_key_package: vec![1, 2],
            attestations: vec![],
            time: 1,
            prev: [9; 32],
        };
        // Committing needs a prepared key.
        assert!(matches!(
            db.commit_key(&mut log_rec),
            Err(StoreError::NotFound { .. })
        ));
        db.put_prepared_key(&rec).unwrap();
        // A retried keygen replaces a prepared key.
        let mut again = rec.clone();
        again.group_key = "03cd".into();
        db.put_prepared_key(&again).unwrap();
        assert_eq!(db.key(&rec.key_id).unwrap(), Some(again.clone()));
        db.audit_line(0).unwrap().ok_or(()).unwrap_err();
        db.append_audit(&mut record(1)).unwrap();
        let line = db.commit_key(&mut log_rec).unwrap();
        // Appended after the signing record, chained to it.
        assert_eq!(log_rec.index, 1);
        assert_eq!(db.audit_line(1).unwrap().as_deref(), Some(line.as_str()));
        assert!(line.starts_with("{\"type\":\"key\""), "{line}");
        let committed = KeyRecord {
            committed: true,
            audit_index: Some(1),
            ..again
        };
        assert_eq!(db.key(&rec.key_id).unwrap(), Some(committed.clone()));
        // A committed key is never replaced nor committed twice.
        assert!(matches!(
            db.put_prepared_key(&rec),
            Err(StoreError::Exists { .. })
        ));
        assert!(matches!(
            db.commit_key(&mut log_rec),
            Err(StoreError::Exists { .. })
        ));
        assert_eq!(db.audit_len().unwrap(), 2);
        assert_eq!(db.key(&KeyId::new("other").unwrap()).unwrap(), None);
        assert_eq!(db.keys().unwrap(), vec![committed]);
    }

    #[test]
    fn audit_record_and_outcome_commit_together() {
        let dir = tempfile::tempdir().unwrap();
        let db = CoordinatorStore::open(&dir.path().join("c.db")).unwrap();
        let k = KeyId::new("k").unwrap();
        let (a, b) = (RequestId::random(), RequestId::random());
        db.begin_request(&a, &k).unwrap();
        db.begin_request(&b, &k).unwrap();
        // The outcome cannot be made: neither the record nor the outcome is kept.
        let err = db.append_audit_and_finish(&a, &mut record(1), |_, _| {
            Err(StoreError::Invalid("no outcome".into()))
        });
        assert!(err.is_err());
        assert_eq!(db.audit_len().unwrap(), 0);
        assert_eq!(
            db.request(&a).unwrap().unwrap().status,
            RequestStatus::Running
        );
        // Both, with the outcome seeing the appended record's index.
        let line = db
            .append_audit_and_finish(&b, &mut record(2), |r, _| {
                Ok(format!("{{\"audit_index\":{}}}", r.index))
            })
            .unwrap();
        assert_eq!(db.audit_lines().unwrap(), vec![line]);
        let done = db.request(&b).unwrap().unwrap();
        assert_eq!(done.status, RequestStatus::Signed);
        assert_eq!(done.result.as_deref(), Some("{\"audit_index\":0}"));
        // A request that already has an outcome rolls the record back too.
        assert!(db
            .append_audit_and_finish(&b, &mut record(3), |_, _| Ok("{}".into()))
            .is_err());
        assert_eq!(db.audit_len().unwrap(), 1);
    }

    #[test]
    fn requests_are_idempotent_and_interrupted_ones_fail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let db = CoordinatorStore::open(&path).unwrap();
        let k1 = KeyId::new("k1").unwrap();
        let (a, b) = (RequestId::random(), RequestId::random());
        assert_eq!(db.begin_request(&a, &k1).unwrap(), None);
        let again = db.begin_request(&a, &k1).unwrap().unwrap();
        assert_eq!(again.status, RequestStatus::Running);
        assert!(matches!(
            db.begin_request(&a, &KeyId::new("k2").unwrap()),
            Err(StoreError::Invalid(_))
        ));
        db.finish_request(&a, RequestStatus::Signed, r#"{"signature":"00"}"#)
            .unwrap();
        let done = db.begin_request(&a, &k1).unwrap().unwrap();
        assert_eq!(done.status, RequestStatus::Signed);
        assert_eq!(done.result.as_deref(), Some(r#"{"signature":"00"}"#));
        assert!(done.finished_at.is_some());
        assert!(matches!(
            db.finish_request(&a, RequestStatus::Failed, "{}"),
            Err(StoreError::Exists { .. })
        ));
        assert!(matches!(
            db.finish_request(&b, RequestStatus::Failed, "{}"),
            Err(StoreError::NotFound { .. })
        ));
        assert!(matches!(
            db.finish_request(&a, RequestStatus::Running, "{}"),
            Err(StoreError::Invalid(_))
        ));
        assert!(db.request(&b).unwrap().is_none());
        assert_eq!(db.begin_request(&b, &k1).unwrap(), None);
        assert!(matches!(
            db.finish_request(&b, RequestStatus::Failed, "not json"),
            Err(StoreError::Invalid(_))
        ));
        drop(db);

        // Restart: b was running.
        let db = CoordinatorStore::open(&path).unwrap();
        assert_eq!(db.fail_interrupted().unwrap(), 1);
        assert_eq!(db.fail_interrupted().unwrap(), 0);
        let rec = db.request(&b).unwrap().unwrap();
        assert_eq!(rec.status, RequestStatus::Failed);
        let result: serde_json::Value =
            serde_json::from_str(rec.result.as_deref().unwrap()).unwrap();
        assert_eq!(result["error"], "interrupted");
        assert_eq!(
            db.request(&a).unwrap().unwrap().status,
            RequestStatus::Signed
        );
        assert_eq!(
            serde_json::to_string(&RequestStatus::Rejected).unwrap(),
            "\"rejected\""
        );
    }

    #[test]
    fn node_databases_and_other_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("node.db");
        drop(
            crate::node::store::NodeStore::create(
                &node,
                signer::SignerId::new(1).unwrap(),
                b"p",
                crate::store::seal::TEST_KDF,
                &crate::node::store::IdentitySecrets {
                    signing: zeroize::Zeroizing::new([1; 32]),
                    hpke: zeroize::Zeroizing::new([2; 32]),
                },
            )
            .unwrap(),
        );
        assert!(is_sqlite_file(&node));
        assert!(matches!(
            CoordinatorStore::open(&node),
            Err(StoreError::WrongRole { .. })
        ));
        assert!(matches!(
            read_audit_lines(&node),
            Err(StoreError::WrongRole { .. })
        ));

        let text = dir.path().join("audit.log");
        std::fs::write(&text, "{\"version\":1}\n").unwrap();
        assert!(!is_sqlite_file(&text));
        assert!(!is_sqlite_file(&dir.path().join("missing")));
        assert!(matches!(
            read_audit_lines(&text),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            read_audit_lines(&dir.path().join("missing")),
            Err(StoreError::NotFound { .. })
        ));
        // An empty coordinator database reads as an empty log.
        let coord = dir.path().join("c.db");
        drop(CoordinatorStore::open(&coord).unwrap());
        assert_eq!(read_audit_lines(&coord).unwrap(), Vec::<String>::new());
    }
}
