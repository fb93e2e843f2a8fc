//! The `governance` table both databases keep: the cluster's governance records, one row
//! per version, append-only.
//!
//! `governance(version, record, created_at)`: `record` is the [`SignedRecord`]'s compact
//! JSON ([`SignedRecord::to_json`]) exactly as it was accepted. Rows are only inserted, in
//! a `BEGIN IMMEDIATE` transaction that first checks the new version is the next one;
//! triggers refuse `UPDATE` and `DELETE`, so no code path (and no careless hand) changes
//! a row. Someone who drops the triggers can still edit the file: that is why every
//! service re-verifies the rows into a [`Registry`] when it opens them (an edited row
//! fails its admins' signatures and is named), and why a node also keeps a sealed
//! high-water mark (`crate::node::store::governance`).

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, Transaction};
use verifier::governance::{Registry, SignedRecord, TrustRoot};

use super::migrate::{stored_role, user_version};
use super::StoreError;

/// The schema step that adds the table (the same SQL in both databases' migration lists).
pub const GOVERNANCE_SQL: &str = "
    CREATE TABLE governance (
        version INTEGER PRIMARY KEY CHECK (version >= 1),
        record TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TRIGGER governance_no_update BEFORE UPDATE ON governance
        BEGIN SELECT RAISE(ABORT, 'governance is append-only'); END;
    CREATE TRIGGER governance_no_delete BEFORE DELETE ON governance
        BEGIN SELECT RAISE(ABORT, 'governance is append-only'); END;
";

/// Every stored record in version order, parsed; a row that is not a record, or whose
/// record names another version than its row, is [`StoreError::Corrupt`] naming the row.
pub(crate) fn read_records(conn: &Connection) -> Result<Vec<SignedRecord>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT version, record FROM governance ORDER BY version")
        .map_err(StoreError::sql("reading governance"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .map_err(StoreError::sql("reading governance"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::sql("reading governance"))?;
    rows.into_iter()
        .map(|(version, json)| {
            let what = format!("governance row {version}");
            let signed = SignedRecord::from_json(&json)
                .map_err(|e| StoreError::corrupt(what.as_str(), e.to_string()))?;
            if i64::try_from(signed.record.version).ok() != Some(version) {
                return Err(StoreError::corrupt(
                    what,
                    format!("holds the record of version {}", signed.record.version),
                ));
            }
            Ok(signed)
        })
        .collect()
}

/// Rebuilds the registry from the stored rows under `trust`: every record is checked
/// again (cluster, order, content hash, approvals), so a row edited by hand is refused
/// with [`StoreError::Governance`] naming its version.
pub(crate) fn load_registry(conn: &Connection, trust: TrustRoot) -> Result<Registry, StoreError> {
    let mut registry = Registry::new(trust);
    for signed in read_records(conn)? {
        let row = signed.record.version;
        registry
            .apply(signed)
            .map_err(|source| StoreError::Governance { row, source })?;
    }
    Ok(registry)
}

/// The highest stored version (0 when empty).
pub(crate) fn head_in(conn: &Connection) -> Result<u64, StoreError> {
    let head: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM governance",
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::sql("reading governance"))?;
    u64::try_from(head).map_err(|_| StoreError::corrupt("governance", "negative version"))
}

/// Inserts `signed` inside `tx` if its version is the next one (the caller checked it
/// against its registry); [`StoreError::Invalid`] otherwise.
pub(crate) fn insert_in(tx: &Transaction<'_>, signed: &SignedRecord) -> Result<(), StoreError> {
    let head = head_in(tx)?;
    let version = signed.record.version;
    if version != head + 1 {
        return Err(StoreError::Invalid(format!(
            "governance record version {version} cannot follow the stored version {head}"
        )));
    }
    let v = i64::try_from(version)
        .map_err(|_| StoreError::Invalid(format!("governance version {version} is too large")))?;
    let now = i64::try_from(super::now_secs()).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO governance (version, record, created_at) VALUES (?1, ?2, ?3)",
        params![v, signed.to_json(), now],
    )
    .map_err(StoreError::sql("inserting into governance"))?;
    Ok(())
}

/// The governance records of the node or coordinator database at `path`, opened
/// read-only without its passphrase (records are public): for `zkquorum admin show
/// --registry`. Nothing is verified here; the caller rebuilds a [`Registry`].
pub fn read_records_at(path: &Path) -> Result<Vec<SignedRecord>, StoreError> {
    if !path.exists() {
        return Err(StoreError::NotFound {
            what: "database",
            id: path.display().to_string(),
        });
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
    user_version(&conn)?;
    let role = stored_role(&conn, path)?;
    if role != crate::node::store::NODE_ROLE && role != crate::coordinator::store::COORDINATOR_ROLE
    {
        return Err(StoreError::corrupt(
            path.display().to_string(),
            format!("a {role:?} database holds no governance records"),
        ));
    }
    let has_table: bool = conn
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'governance')",
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::sql("looking for the governance table"))?;
    if !has_table {
        return Ok(Vec::new());
    }
    read_records(&conn)
}
