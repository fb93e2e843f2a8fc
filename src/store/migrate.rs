//! Versioned schema migrations.
//!
//! The schema version of a database is its `PRAGMA user_version` (0 for a new file). Each
//! [`Migration`] brings the schema from `version - 1` to `version`: its SQL and the
//! `user_version` bump run in one `BEGIN IMMEDIATE` transaction, so a migration is applied
//! whole or not at all, and two processes opening a new file at once apply it once. A file
//! whose version is above the last migration this build knows is refused
//! ([`StoreError::SchemaTooNew`]): an older build must not write a schema it does not
//! understand. Node and coordinator databases have separate lists; a new schema version is
//! one more entry at the end of a list, never an edit of a released one.
//!
//! Version 1 of each list writes the database's `role` row into `meta`; a database whose
//! role differs from the one asked for is refused before any migration touches it.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// One schema step: the SQL that brings a database from `version - 1` to `version`.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// The schema version after this step (the first is 1, then 2, ...).
    pub version: u32,
    /// The statements, run as one batch inside the migration's transaction.
    pub sql: &'static str,
}

/// The last version of `migrations` (0 for none).
pub fn latest(migrations: &[Migration]) -> u32 {
    migrations.last().map_or(0, |m| m.version)
}

/// `PRAGMA user_version`.
pub(crate) fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(StoreError::sql("reading the schema version (user_version)"))?;
    u32::try_from(v).map_err(|_| {
        StoreError::corrupt(
            "schema version (user_version)",
            format!("{v} is not a version"),
        )
    })
}

/// The `role` row of `meta`, or an error naming `path` if the file has none.
pub(crate) fn stored_role(conn: &Connection, path: &Path) -> Result<String, StoreError> {
    let not_ours = |reason: String| {
        StoreError::corrupt(
            format!("database {}", path.display()),
            format!("not a zkquorum database ({reason})"),
        )
    };
    let has_meta: bool = conn
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
            [],
            |r| r.get(0),
        )
        .map_err(StoreError::sql("looking for the meta table"))?;
    if !has_meta {
        return Err(not_ours("no meta table".into()));
    }
    let role: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = 'role'", [], |r| {
            r.get_ref(0).map(|v| v.as_bytes().map(<[u8]>::to_vec).ok())
        })
        .map_or_else(
            |e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(StoreError::sql("reading meta.role")(e)),
            },
            |v| Ok(Some(v)),
        )?
        .flatten();
    match role {
        None => Err(not_ours("meta has no role row".into())),
        Some(bytes) => {
            String::from_utf8(bytes).map_err(|_| not_ours("meta.role is not text".into()))
        }
    }
}

/// Refuses a database whose `role` is not `role`.
pub(crate) fn check_role(
    conn: &Connection,
    path: &Path,
    role: &'static str,
) -> Result<(), StoreError> {
    let found = stored_role(conn, path)?;
    if found == role {
        Ok(())
    } else {
        Err(StoreError::WrongRole {
            path: path.to_path_buf(),
            expected: role,
            found: found.chars().take(40).collect(),
        })
    }
}

/// Refuses a schema newer than `migrations` knows.
pub(crate) fn check_not_newer(found: u32, migrations: &[Migration]) -> Result<(), StoreError> {
    let known = latest(migrations);
    if found > known {
        Err(StoreError::SchemaTooNew { found, known })
    } else {
        Ok(())
    }
}

/// Checks the role of `conn`'s database and applies the migrations it lacks.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    role: &'static str,
    migrations: &[Migration],
) -> Result<(), StoreError> {
    let current = user_version(conn)?;
    // The role first: another kind of database is named as such, whatever its version.
    if current > 0 {
        check_role(conn, path, role)?;
    }
    check_not_newer(current, migrations)?;
    for m in migrations.iter().filter(|m| m.version > current) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a migration transaction"))?;
        // Another process may have migrated since we looked.
        let now = user_version(&tx)?;
        if now >= m.version {
            continue;
        }
        if now + 1 != m.version {
            return Err(StoreError::corrupt(
                format!("database {}", path.display()),
                format!(
                    "schema version {now} cannot be migrated by step {} (missing steps)",
                    m.version
                ),
            ));
        }
        if now == 0 {
            let tables: i64 = tx
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                    [],
                    |r| r.get(0),
                )
                .map_err(StoreError::sql("listing the tables of a new database"))?;
            if tables > 0 {
                return Err(StoreError::corrupt(
                    format!("database {}", path.display()),
                    "not a zkquorum database (it has tables but no schema version)",
                ));
            }
        }
        tx.execute_batch(m.sql)
            .map_err(StoreError::sql("applying a schema migration"))?;
        tx.pragma_update(None, "user_version", m.version)
            .map_err(StoreError::sql("setting the schema version (user_version)"))?;
        tx.commit()
            .map_err(StoreError::sql("committing a schema migration"))?;
    }
    check_not_newer(user_version(conn)?, migrations)?;
    check_role(conn, path, role)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open_db;

    const V1: Migration = Migration {
        version: 1,
        sql: "CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
              INSERT INTO meta (key, value) VALUES ('role', 'test');
              CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
    };
    const V2: Migration = Migration {
        version: 2,
        sql: "ALTER TABLE things ADD COLUMN colour TEXT NOT NULL DEFAULT 'red';",
    };

    #[test]
    fn fresh_database_is_migrated_and_reopening_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = open_db(&path, "test", &[V1], true).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        conn.execute("INSERT INTO things (name) VALUES ('a')", [])
            .unwrap();
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        drop(conn);

        // Reopening runs nothing (the v1 SQL would fail: its tables exist).
        let conn = open_db(&path, "test", &[V1], false).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 1);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM things", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        drop(conn);

        // A v2 is one more entry, applied to the existing data.
        let conn = open_db(&path, "test", &[V1, V2], false).unwrap();
        assert_eq!(user_version(&conn).unwrap(), 2);
        let colour: String = conn
            .query_row("SELECT colour FROM things", [], |r| r.get(0))
            .unwrap();
        assert_eq!(colour, "red");
        drop(conn);

        // A build that knows only v1 refuses the v2 file.
        match open_db(&path, "test", &[V1], false) {
            Err(StoreError::SchemaTooNew { found: 2, known: 1 }) => {}
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = open_db(&path, "test", &[V1], true).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = open_db(&path, "test", &[V1, V2], false).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::SchemaTooNew {
                    found: 99,
                    known: 2
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("99"));
    }

    #[test]
    fn foreign_files_and_roles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        // Another application's SQLite database.
        let path = dir.path().join("other.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE x (y INTEGER);").unwrap();
        drop(conn);
        let err = open_db(&path, "test", &[V1], false).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");

        // Not a database at all.
        let path = dir.path().join("text.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let err = open_db(&path, "test", &[V1], false).unwrap_err();
        assert!(matches!(err, StoreError::Open { .. }), "{err}");

        // A missing file is not created unless asked.
        let path = dir.path().join("missing.db");
        assert!(open_db(&path, "test", &[V1], false).is_err());
        assert!(!path.exists());

        // Right schema, other role.
        let path = dir.path().join("t.db");
        drop(open_db(&path, "test", &[V1], true).unwrap());
        let err = open_db(&path, "other", &[V1], false).unwrap_err();
        assert!(
            matches!(&err, StoreError::WrongRole { expected: "other", found, .. } if found == "test"),
            "{err}"
        );
    }
}
