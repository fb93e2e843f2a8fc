//! The coordinator's database: keys, the hash-chained audit log, requests.
//!
//! Tables (schema v1), none of them secret:
//!
//! - `meta(key, value)`: `role` = `coordinator`;
//! - `keys(key_id, threshold, participants, backend, group_key, public_key_package,
//!   created_at)`: the keys the coordinator signs with, written once;
//! - `audit(idx, line, chain_hash)`: the audit log of `src/audit_log.rs` in rows: `line` is
//!   record `idx`'s exact JSON line (`AuditRecord::to_line`), `chain_hash` its
//!   `verifier::audit::chain_hash`, so an append reads only the last row. Appends are
//!   `BEGIN IMMEDIATE` transactions committed (`synchronous=FULL`: on disk) before
//!   [`CoordinatorStore::append_audit`] returns, so indices stay contiguous and the chain
//!   intact with several threads or processes appending;
//! - `requests(request_id, key_id, status, result, created_at, finished_at)`: every client
//!   request id seen, for idempotency: a resubmitted id gets the first outcome instead of a
//!   second signature.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use verifier::audit::{chain_hash, AuditRecord};

use super::migrate::{check_not_newer, check_role, user_version, Migration};
use super::{is_constraint, now_secs, open_db, StoreError};
use crate::ids::{KeyId, RequestId};

/// The `meta.role` of a coordinator database.
pub const COORDINATOR_ROLE: &str = "coordinator";

/// The coordinator schema, one entry per version.
pub const COORDINATOR_MIGRATIONS: &[Migration] = &[Migration {
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
}];

/// The result stored by [`CoordinatorStore::fail_interrupted`].
pub const INTERRUPTED_RESULT: &str =
    r#"{"error":"interrupted","message":"coordinator restarted during the session"}"#;

/// A key the coordinator signs with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key's name.
    pub key_id: KeyId,
    /// Signers needed.
    pub threshold: u16,
    /// Signers holding a share.
    pub participants: u16,
    /// The proof backend of the key (its name, e.g. `groth16-bn254`).
    pub backend: String,
    /// The group key, hex.
    pub group_key: String,
    /// The FROST public key package, JSON.
    pub public_key_package: String,
    /// Unix seconds of creation.
    pub created_at: u64,
}

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    /// Being signed.
    Running,
    /// Signed; the result holds the signature.
    Signed,
    /// Refused (policy, too few signers).
    Rejected,
    /// Failed (error, interrupted).
    Failed,
}

impl RequestStatus {
    /// The name stored in the `status` column (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Running => "running",
            RequestStatus::Signed => "signed",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(RequestStatus::Running),
            "signed" => Some(RequestStatus::Signed),
            "rejected" => Some(RequestStatus::Rejected),
            "failed" => Some(RequestStatus::Failed),
            _ => None,
        }
    }
}

/// A client request as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// The client's id.
    pub request_id: RequestId,
    /// The key asked for.
    pub key_id: KeyId,
    /// Where it stands.
    pub status: RequestStatus,
    /// The outcome as JSON, once finished.
    pub result: Option<String>,
    /// Unix seconds of the first submission.
    pub created_at: u64,
    /// Unix seconds of the outcome.
    pub finished_at: Option<u64>,
}

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

fn to_i64(what: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is too large")))
}

type RequestRow = (String, String, String, Option<String>, u64, Option<u64>);

const REQUEST_COLUMNS: &str =
    "SELECT request_id, key_id, status, result, created_at, finished_at FROM requests";

fn request_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RequestRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn request_record(row: RequestRow) -> Result<RequestRecord, StoreError> {
    let (request_id, key_id, status, result, created_at, finished_at) = row;
    Ok(RequestRecord {
        request_id: RequestId::new(&request_id)
            .map_err(|e| StoreError::corrupt("requests.request_id", e.to_string()))?,
        key_id: KeyId::new(&key_id).map_err(|e| {
            StoreError::corrupt(format!("requests row {request_id}"), e.to_string())
        })?,
        status: RequestStatus::parse(&status).ok_or_else(|| {
            StoreError::corrupt(
                format!("requests row {request_id}"),
                format!("unknown status {status:?}"),
            )
        })?,
        result,
        created_at,
        finished_at,
    })
}

fn select_request(conn: &Connection, id: &RequestId) -> Result<Option<RequestRecord>, StoreError> {
    conn.query_row(
        &format!("{REQUEST_COLUMNS} WHERE request_id = ?1"),
        [id.as_str()],
        request_row,
    )
    .optional()
    .map_err(StoreError::sql("reading requests"))?
    .map(request_record)
    .transpose()
}

type KeyRow = (String, u16, u16, String, String, String, u64);

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn key_record(row: KeyRow) -> Result<KeyRecord, StoreError> {
    let (key_id, threshold, participants, backend, group_key, public_key_package, created_at) = row;
    Ok(KeyRecord {
        key_id: KeyId::new(&key_id)
            .map_err(|e| StoreError::corrupt("keys.key_id", e.to_string()))?,
        threshold,
        participants,
        backend,
        group_key,
        public_key_package,
        created_at,
    })
}

const KEY_COLUMNS: &str = "SELECT key_id, threshold, participants, backend, group_key, \
                           public_key_package, created_at FROM keys";

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

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // Dropped transactions roll back, so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a key; [`StoreError::Exists`] if the key id is taken.
    pub fn put_key(&self, rec: &KeyRecord) -> Result<(), StoreError> {
        let created_at = to_i64("created_at", rec.created_at)?;
        match self.lock().execute(
            "INSERT INTO keys (key_id, threshold, participants, backend, group_key,
                               public_key_package, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                rec.key_id.as_str(),
                rec.threshold,
                rec.participants,
                rec.backend,
                rec.group_key,
                rec.public_key_package,
                created_at
            ],
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_constraint(&e) => Err(StoreError::Exists {
                what: "key",
                id: rec.key_id.to_string(),
            }),
            Err(e) => Err(StoreError::sql("inserting into keys")(e)),
        }
    }

    /// The key named `key_id`, if recorded.
    pub fn key(&self, key_id: &KeyId) -> Result<Option<KeyRecord>, StoreError> {
        self.lock()
            .query_row(
                &format!("{KEY_COLUMNS} WHERE key_id = ?1"),
                [key_id.as_str()],
                key_row,
            )
            .optional()
            .map_err(StoreError::sql("reading keys"))?
            .map(key_record)
            .transpose()
    }

    /// Every recorded key, sorted by key id.
    pub fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!("{KEY_COLUMNS} ORDER BY key_id"))
            .map_err(StoreError::sql("listing keys"))?;
        let rows = stmt
            .query_map([], key_row)
            .map_err(StoreError::sql("listing keys"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::sql("listing keys"))?;
        rows.into_iter().map(key_record).collect()
    }

    /// Sets `record.index` (the next index) and `record.prev` (the chain hash of the last
    /// line, 32 zero bytes for the first) and appends `record.to_line()` in one
    /// `BEGIN IMMEDIATE` transaction, committed (on disk) before returning. Returns the
    /// line. Safe with several threads or processes appending at once.
    pub fn append_audit(&self, record: &mut AuditRecord) -> Result<String, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting an audit transaction"))?;
        let line = append_in(&tx, record)?;
        tx.commit()
            .map_err(StoreError::sql("committing into audit"))?;
        Ok(line)
    }

    /// Appends the audit record of request `id` and finishes the request as signed with
    /// the result `outcome` makes from the appended record and its line, in one
    /// transaction: a crash leaves either both or neither, so a signed request always
    /// has its record and a record always has its request's outcome.
    pub fn append_audit_and_finish(
        &self,
        id: &RequestId,
        record: &mut AuditRecord,
        outcome: impl FnOnce(&AuditRecord, &str) -> Result<String, StoreError>,
    ) -> Result<String, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting an audit transaction"))?;
        let line = append_in(&tx, record)?;
        let result = outcome(record, &line)?;
        finish_in(&tx, id, RequestStatus::Signed, &result)?;
        tx.commit()
            .map_err(StoreError::sql("committing into audit and requests"))?;
        Ok(line)
    }

    /// Number of audit records.
    pub fn audit_len(&self) -> Result<u64, StoreError> {
        self.lock()
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .map_err(StoreError::sql("counting audit"))
    }

    /// Every audit line in index order (for `audit verify` and export).
    pub fn audit_lines(&self) -> Result<Vec<String>, StoreError> {
        select_audit_lines(&self.lock())
    }

    /// Idempotent request start: records `id` as running for `key_id` and returns
    /// `Ok(None)`, or returns `Ok(Some(existing))` if `id` is already known (report its
    /// outcome instead of signing again). [`StoreError::Invalid`] if the known request is
    /// for another key.
    pub fn begin_request(
        &self,
        id: &RequestId,
        key_id: &KeyId,
    ) -> Result<Option<RequestRecord>, StoreError> {
        let now = to_i64("time", now_secs())?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a requests transaction"))?;
        if let Some(existing) = select_request(&tx, id)? {
            if existing.key_id != *key_id {
                return Err(StoreError::Invalid(format!(
                    "request {id} was submitted for key {}, not {key_id}",
                    existing.key_id
                )));
            }
            return Ok(Some(existing));
        }
        tx.execute(
            "INSERT INTO requests (request_id, key_id, status, created_at)
             VALUES (?1, ?2, 'running', ?3)",
            params![id.as_str(), key_id.as_str(), now],
        )
        .map_err(StoreError::sql("inserting into requests"))?;
        tx.commit()
            .map_err(StoreError::sql("committing into requests"))?;
        Ok(None)
    }

    /// Records the outcome of a running request: `status` (not `Running`) and
    /// `result_json` (must be JSON). [`StoreError::NotFound`] for an unknown id,
    /// [`StoreError::Exists`] if the request already has an outcome.
    pub fn finish_request(
        &self,
        id: &RequestId,
        status: RequestStatus,
        result_json: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a requests transaction"))?;
        finish_in(&tx, id, status, result_json)?;
        tx.commit()
            .map_err(StoreError::sql("committing into requests"))
    }

    /// The request `id`, if known.
    pub fn request(&self, id: &RequestId) -> Result<Option<RequestRecord>, StoreError> {
        select_request(&self.lock(), id)
    }

    /// Marks every request left running (by a crash) failed with the result
    /// [`INTERRUPTED_RESULT`]; returns how many. Call it when the coordinator starts.
    pub fn fail_interrupted(&self) -> Result<usize, StoreError> {
        let now = to_i64("time", now_secs())?;
        self.lock()
            .execute(
                "UPDATE requests SET status = 'failed', result = ?1, finished_at = ?2
                 WHERE status = 'running'",
                params![INTERRUPTED_RESULT, now],
            )
            .map_err(StoreError::sql("failing interrupted rows of requests"))
    }
}

fn select_audit_lines(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT line FROM audit ORDER BY idx")
        .map_err(StoreError::sql("reading audit"))?;
    let lines = stmt
        .query_map([], |r| r.get(0))
        .map_err(StoreError::sql("reading audit"))?
        .collect::<Result<Vec<String>, _>>()
        .map_err(StoreError::sql("reading audit"));
    lines
}

/// Reads the audit lines, in index order, of the coordinator database at `path`, opened
/// read-only (for `zkquorum audit verify` on the database file). A file that is not a
/// coordinator database is refused.
pub fn read_audit_lines(path: &Path) -> Result<Vec<String>, StoreError> {
    if !path.exists() {
        return Err(StoreError::NotFound {
            what: "coordinator database",
            id: path.display().to_string(),
        });
    }
    if !is_sqlite_file(path) {
        return Err(StoreError::corrupt(
            path.display().to_string(),
            "not a SQLite database",
        ));
    }
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(open_err)?;
    check_not_newer(user_version(&conn)?, COORDINATOR_MIGRATIONS)?;
    check_role(&conn, path, COORDINATOR_ROLE)?;
    select_audit_lines(&conn)
}

/// True if the file at `path` starts with the SQLite header `"SQLite format 3\0"`.
pub fn is_sqlite_file(path: &Path) -> bool {
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok()
        && &header == b"SQLite format 3\0"
}

/// Appends `record` inside `tx`: sets its index and `prev` from the last stored line
/// (whose stored chain hash is checked first) and inserts its line.
fn append_in(
    tx: &rusqlite::Transaction<'_>,
    record: &mut AuditRecord,
) -> Result<String, StoreError> {
    let last: Option<(i64, String, Vec<u8>)> = tx
        .query_row(
            "SELECT idx, line, chain_hash FROM audit ORDER BY idx DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(StoreError::sql("reading the last row of audit"))?;
    let (index, prev) = match last {
        None => (0u64, [0u8; 32]),
        Some((idx, line, hash)) => {
            let what = || format!("audit row {idx}");
            let idx =
                u64::try_from(idx).map_err(|_| StoreError::corrupt(what(), "negative index"))?;
            let expected = chain_hash(line.as_bytes());
            if hash.as_slice() != expected {
                return Err(StoreError::corrupt(
                    what(),
                    "stored chain hash does not match the line",
                ));
            }
            let next = idx
                .checked_add(1)
                .ok_or_else(|| StoreError::corrupt(what(), "index overflows"))?;
            (next, expected)
        }
    };
    record.index = index;
    record.prev = prev;
    let line = record.to_line();
    tx.execute(
        "INSERT INTO audit (idx, line, chain_hash) VALUES (?1, ?2, ?3)",
        params![
            to_i64("audit index", index)?,
            line,
            &chain_hash(line.as_bytes())[..]
        ],
    )
    .map_err(StoreError::sql("inserting into audit"))?;
    Ok(line)
}

/// Records the outcome of a running request inside `tx`.
fn finish_in(
    tx: &rusqlite::Transaction<'_>,
    id: &RequestId,
    status: RequestStatus,
    result_json: &str,
) -> Result<(), StoreError> {
    if status == RequestStatus::Running {
        return Err(StoreError::Invalid(format!(
            "request {id} cannot be finished as running"
        )));
    }
    if let Err(e) = serde_json::from_str::<serde_json::Value>(result_json) {
        return Err(StoreError::Invalid(format!(
            "the result of request {id} is not JSON: {e}"
        )));
    }
    let now = to_i64("time", now_secs())?;
    let changed = tx
        .execute(
            "UPDATE requests SET status = ?1, result = ?2, finished_at = ?3
             WHERE request_id = ?4 AND status = 'running'",
            params![status.as_str(), result_json, now, id.as_str()],
        )
        .map_err(StoreError::sql("updating requests"))?;
    if changed == 0 {
        return Err(match select_request(tx, id)? {
            None => StoreError::NotFound {
                what: "request",
                id: id.to_string(),
            },
            Some(_) => StoreError::Exists {
                what: "outcome of request",
                id: id.to_string(),
            },
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use verifier::audit::{verify_log, AuditError, AuditKeys, AUDIT_VERSION};

    use super::*;

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
    fn keys_are_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = CoordinatorStore::open(&dir.path().join("c.db")).unwrap();
        let rec = KeyRecord {
            key_id: KeyId::new("treasury").unwrap(),
            threshold: 2,
            participants: 3,
            backend: "groth16-bn254".into(),
            group_key: "02ab".into(),
            public_key_package: "{}".into(),
            created_at: 1_700_000_000,
        };
        db.put_key(&rec).unwrap();
        assert!(matches!(db.put_key(&rec), Err(StoreError::Exists { .. })));
        assert_eq!(db.key(&rec.key_id).unwrap(), Some(rec.clone()));
        assert_eq!(db.key(&KeyId::new("other").unwrap()).unwrap(), None);
        assert_eq!(db.keys().unwrap(), vec![rec]);
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
            crate::store::NodeStore::create(
                &node,
                signer::SignerId::new(1).unwrap(),
                b"p",
                crate::store::seal::TEST_KDF,
                &crate::store::IdentitySecrets {
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
