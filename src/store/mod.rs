//! The SQLite plumbing both services share (rusqlite, bundled SQLite): opening a database
//! with its connection settings ([`open_db`]), the versioned schema ([`migrate`]), the
//! passphrase sealer for secrets at rest ([`seal`]), the append-only `governance` table
//! both keep ([`governance`]) and [`StoreError`].
//!
//! Each service keeps its own tables next to its code:
//!
//! - a signer node's database ([`crate::node::store::NodeStore`]) holds its identity
//!   secrets and key shares encrypted at rest ([`seal`]: Argon2id → BLAKE3 →
//!   XChaCha20-Poly1305), its policy history (encrypted too: a policy is private) and the
//!   record of every round-1 session (the secret nonces themselves never touch the disk);
//! - the coordinator's database ([`crate::coordinator::store::CoordinatorStore`]) holds no
//!   secrets: the keys it coordinates, the hash-chained audit log and the requests it has
//!   seen (idempotency).
//!
//! Every connection runs in WAL mode with `synchronous=FULL`, so a transaction that matters
//! (a nonce marked used, an audit record appended) is on disk when its commit returns;
//! `foreign_keys=ON` and a 5 s `busy_timeout` let several processes (the running node, a
//! `zkquorum policy set` CLI) share one file, with read-modify-write done in
//! `BEGIN IMMEDIATE` transactions. The schema is versioned by `PRAGMA user_version` and
//! upgraded by [`migrate`] when a database is opened; a database written by a newer build is
//! refused ([`StoreError::SchemaTooNew`]). A `meta` row `role` (`node` / `coordinator`)
//! keeps one kind of database from being opened as the other.
//!
//! Nothing here panics on what it reads: a damaged row, a wrong passphrase or a foreign
//! file is a [`StoreError`] that names the table or value at fault.

use std::path::{Path, PathBuf};

pub mod governance;
pub mod migrate;
pub mod seal;

pub use migrate::Migration;
pub use seal::SealingKey;

// Old paths, kept while `tests/cluster.rs` still imports the node and coordinator stores
// from here; the stores themselves live with their services.

/// Everything that can go wrong reading or writing a node or coordinator database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened.
    #[error("cannot open database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A SQLite statement failed.
    #[error("database error while {context}: {source}")]
    Sqlite {
        /// What was being done, naming the table.
        context: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer build (schema version `found`).
    #[error(
        "database schema version {found} is newer than this build knows ({known}): upgrade zkquorum"
    )]
    SchemaTooNew {
        /// `PRAGMA user_version` of the file.
        found: u32,
        /// The last migration this build has.
        known: u32,
    },
    /// The file is a zkquorum database of the other kind (a coordinator database opened as
    /// a node database, or the reverse).
    #[error("{path} is a {found} database, not a {expected} database")]
    WrongRole {
        /// The file.
        path: PathBuf,
        /// The role asked for.
        expected: &'static str,
        /// The role stored in the file.
        found: String,
    },
    /// The passphrase does not open this node database.
    #[error("wrong passphrase for the node database")]
    WrongPassphrase,
    /// An encrypted value does not authenticate under the right key: it was modified, or
    /// moved from another row or table.
    #[error("encrypted {what} was tampered with or corrupted (authentication failed)")]
    Tampered {
        /// Which value (table and row).
        what: String,
    },
    /// A value read from the database is malformed, or the file is not what it should be.
    #[error("corrupt {what}: {reason}")]
    Corrupt {
        /// Which table, row or file.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Something that is written once already exists.
    #[error("{what} {id:?} already exists")]
    Exists {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Something asked for does not exist.
    #[error("{what} {id:?} not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// An argument contradicts what is stored or is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Key derivation failed or its parameters are outside the accepted bounds.
    #[error("key derivation: {0}")]
    Kdf(String),
    /// A key share could not be encoded or decoded.
    #[error(transparent)]
    Signer(#[from] signer::SignerError),
    /// A policy could not be encoded or decoded.
    #[error("policy: {0}")]
    Policy(String),
    /// A stored governance record does not check against the trust root (edited by hand,
    /// or from another cluster): the registry is not built from it.
    #[error("governance row {row} is refused: {source}")]
    Governance {
        /// The row's version.
        row: u64,
        /// Why the record was refused.
        #[source]
        source: verifier::governance::GovernanceError,
    },
    /// The node's governance table holds fewer records than its sealed high-water mark:
    /// rows were deleted, which would bring older roster or policy records back in force.
    #[error(
        "governance registry rolled back: the database holds {have} record(s) but its sealed high-water mark is version {mark} (rows were deleted); restore the database from a backup"
    )]
    RolledBack {
        /// Records held.
        have: u64,
        /// The version the mark was sealed at.
        mark: u64,
    },
}

impl StoreError {
    /// Wraps a SQLite error with what was being done.
    pub(crate) fn sql(context: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |source| StoreError::Sqlite { context, source }
    }

    /// A malformed value.
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::Corrupt {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// Whether a SQLite error is a constraint violation (duplicate primary key, failed CHECK).
pub(crate) fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
}

pub(crate) use crate::clock::unix_now as now_secs;

/// Opens (creating it if `create`) the database at `path` with the connection settings
/// described in the module docs, checks its role, and applies `migrations`.
pub(crate) fn open_db(
    path: &Path,
    role: &'static str,
    migrations: &[Migration],
    create: bool,
) -> Result<rusqlite::Connection, StoreError> {
    use rusqlite::OpenFlags;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let open_err = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut conn = rusqlite::Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(open_err)?;
    // The first statement reads the file: a file that is not a database fails here.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
        .map_err(open_err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_err)?;
    migrate::migrate(&mut conn, path, role, migrations)?;
    Ok(conn)
}
