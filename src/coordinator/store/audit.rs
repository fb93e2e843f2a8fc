//! The audit log in the `audit` table: the one place where audit records are appended
//! (each in a `BEGIN IMMEDIATE` transaction, chained to the stored last line), and read
//! back for export and `zkquorum audit verify`.

use std::io::Read;
use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use verifier::audit::{chain_hash, AuditRecord, SpendRecord};

use super::requests::{finish_in, RequestStatus};
use super::{to_i64, CoordinatorStore, COORDINATOR_MIGRATIONS, COORDINATOR_ROLE};
use crate::ids::RequestId;
use crate::store::migrate::{check_not_newer, check_role, user_version};
use crate::store::StoreError;

impl CoordinatorStore {
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

    /// [`CoordinatorStore::append_audit_and_finish`] for a Bitcoin spend's record: its
    /// index and `prev` set from the log, appended with the request's outcome in one
    /// transaction.
    pub fn append_spend_and_finish(
        &self,
        id: &RequestId,
        record: &mut SpendRecord,
        outcome: impl FnOnce(&SpendRecord) -> Result<String, StoreError>,
    ) -> Result<String, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting an audit transaction"))?;
        let (_, line) = append_line(&tx, |index, prev| {
            record.index = index;
            record.prev = prev;
            record.to_line()
        })?;
        let result = outcome(record)?;
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

    /// The `time` of the newest record (`None` for an empty log).
    pub fn last_audit_time(&self) -> Result<Option<u64>, StoreError> {
        self.lock()
            .query_row(
                "SELECT json_extract(line, '$.time') FROM audit ORDER BY idx DESC LIMIT 1",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .map(|t| t.flatten().and_then(|t| u64::try_from(t).ok()))
            .map_err(StoreError::sql("reading the newest audit time"))
    }

    /// The number of records and the lines from index `from` on, at most `limit` of them,
    /// verbatim (a page of `GET /v1/audit`).
    pub fn audit_page(&self, from: u64, limit: u32) -> Result<(u64, Vec<String>), StoreError> {
        let conn = self.lock();
        let size: u64 = conn
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .map_err(StoreError::sql("counting audit"))?;
        let mut stmt = conn
            .prepare("SELECT line FROM audit WHERE idx >= ?1 ORDER BY idx LIMIT ?2")
            .map_err(StoreError::sql("reading audit"))?;
        let lines = stmt
            .query_map(params![to_i64("audit index", from)?, limit], |r| r.get(0))
            .map_err(StoreError::sql("reading audit"))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(StoreError::sql("reading audit"))?;
        Ok((size, lines))
    }

    /// The audit line at `index`, if any.
    pub fn audit_line(&self, index: u64) -> Result<Option<String>, StoreError> {
        self.lock()
            .query_row(
                "SELECT line FROM audit WHERE idx = ?1",
                [to_i64("audit index", index)?],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::sql("reading audit"))
    }

    /// Every audit line in index order (for `audit verify` and export).
    pub fn audit_lines(&self) -> Result<Vec<String>, StoreError> {
        select_audit_lines(&self.lock())
    }
}

pub(super) fn select_audit_lines(conn: &Connection) -> Result<Vec<String>, StoreError> {
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
    select_audit_lines(&open_read_only(path)?)
}

/// Opens the coordinator database at `path` read-only, refusing a file that is not one.
pub(super) fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
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
    check_role(&conn, path, COORDINATOR_ROLE)?;
    check_not_newer(user_version(&conn)?, COORDINATOR_MIGRATIONS)?;
    Ok(conn)
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
pub(super) fn append_in(
    tx: &rusqlite::Transaction<'_>,
    record: &mut AuditRecord,
) -> Result<String, StoreError> {
    let (_, line) = append_line(tx, |index, prev| {
        record.index = index;
        record.prev = prev;
        record.to_line()
    })?;
    Ok(line)
}

/// Appends the line `make(index, prev)` inside `tx`, `index` and `prev` coming from the last
/// stored line (whose stored chain hash is checked first). Returns the index and the line.
pub(super) fn append_line(
    tx: &rusqlite::Transaction<'_>,
    make: impl FnOnce(u64, [u8; 32]) -> String,
) -> Result<(u64, String), StoreError> {
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
    let line = make(index, prev);
    tx.execute(
        "INSERT INTO audit (idx, line, chain_hash) VALUES (?1, ?2, ?3)",
        params![
            to_i64("audit index", index)?,
            line,
            &chain_hash(line.as_bytes())[..]
        ],
    )
    .map_err(StoreError::sql("inserting into audit"))?;
    Ok((index, line))
}
