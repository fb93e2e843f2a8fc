//! The `keys` table: the keys the coordinator signs with. A key is `prepared` when every
//! node reported and signed the same public key package (a retried keygen replaces it) and
//! `committed` — usable, never changed again — once every node confirmed it and its key
//! record was appended to the audit log, in the same transaction.

use circuits::{BackendId, UnknownBackendName};

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use verifier::audit::{KeyAttestation, KeyRecord as LogKeyRecord};

use super::audit::append_line;
use serde::{Deserialize, Serialize};

use super::{to_i64, CoordinatorStore};
use crate::ids::KeyId;
use crate::store::StoreError;

/// A key the coordinator signs with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The key's name.
    pub key_id: KeyId,
    /// Signers needed.
    pub threshold: u16,
    /// Signers holding a share.
    pub participants: u16,
    /// The proof backend of the key (stored as its short name, e.g. `groth16`).
    #[serde(with = "crate::cluster::config::backend_name")]
    pub backend: BackendId,
    /// The group key, hex.
    pub group_key: String,
    /// The FROST public key package, JSON.
    pub public_key_package: String,
    /// Unix seconds of creation.
    pub created_at: u64,
    /// Whether every node committed the key and its key record is in the audit log: only
    /// committed keys sign.
    pub committed: bool,
    /// The governed roster version the nodes made the key under.
    pub roster_version: u64,
    /// Every node's signature over the key statement.
    pub attestations: Vec<KeyAttestation>,
    /// The audit-log index of the key record (committed keys made since schema v3).
    pub audit_index: Option<u64>,
}

pub(super) type KeyRow = (
    String,
    u16,
    u16,
    String,
    String,
    String,
    u64,
    String,
    u64,
    String,
    Option<u64>,
);

/// One `keys` row, in the column order of the queries.
pub(super) fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    KeyRow::try_from(r)
}

pub(super) fn key_record(row: KeyRow) -> Result<KeyRecord, StoreError> {
    let (
        key_id,
        threshold,
        participants,
        backend,
        group_key,
        public_key_package,
        created_at,
        state,
        roster_version,
        attestations,
        audit_index,
    ) = row;
    Ok(KeyRecord {
        key_id: KeyId::new(&key_id)
            .map_err(|e| StoreError::corrupt("keys.key_id", e.to_string()))?,
        threshold,
        participants,
        backend: backend
            .parse()
            .map_err(|e: UnknownBackendName| StoreError::corrupt("keys.backend", e.to_string()))?,
        group_key,
        public_key_package,
        created_at,
        committed: state == "committed",
        roster_version,
        attestations: serde_json::from_str(&attestations)
            .map_err(|e| StoreError::corrupt("keys.attestations", e.to_string()))?,
        audit_index,
    })
}

pub(super) const KEY_COLUMNS: &str = "SELECT key_id, threshold, participants, backend, group_key, \
                           public_key_package, created_at, state, roster_version, attestations, \
                           audit_index FROM keys";

impl CoordinatorStore {
    /// Records a prepared key (`rec.committed` is ignored), replacing a prepared key of
    /// the same id (a retried keygen); [`StoreError::Exists`] if the key id is committed.
    pub fn put_prepared_key(&self, rec: &KeyRecord) -> Result<(), StoreError> {
        let created_at = to_i64("created_at", rec.created_at)?;
        let attestations = serde_json::to_string(&rec.attestations)
            .map_err(|e| StoreError::Invalid(format!("key attestations: {e}")))?;
        let changed = self
            .lock()
            .execute(
                "INSERT INTO keys (key_id, threshold, participants, backend, group_key,
                                   public_key_package, created_at, state, roster_version,
                                   attestations)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'prepared', ?8, ?9)
                 ON CONFLICT (key_id) DO UPDATE SET threshold = excluded.threshold,
                     participants = excluded.participants, backend = excluded.backend,
                     group_key = excluded.group_key,
                     public_key_package = excluded.public_key_package,
                     created_at = excluded.created_at, roster_version = excluded.roster_version,
                     attestations = excluded.attestations
                 WHERE keys.state = 'prepared'",
                params![
                    rec.key_id.as_str(),
                    rec.threshold,
                    rec.participants,
                    rec.backend.short_name(),
                    rec.group_key,
                    rec.public_key_package,
                    created_at,
                    to_i64("roster_version", rec.roster_version)?,
                    attestations
                ],
            )
            .map_err(StoreError::sql("inserting into keys"))?;
        if changed == 0 {
            return Err(StoreError::Exists {
                what: "key",
                id: rec.key_id.to_string(),
            });
        }
        Ok(())
    }

    /// Commits the prepared key `record.key_id`: appends `record` to the audit log (setting
    /// its `index` and `prev`) and marks the key committed with that index, in one
    /// transaction. Returns the appended line. [`StoreError::NotFound`] if no prepared key
    /// of that id is stored ([`StoreError::Exists`] if it is committed already).
    pub fn commit_key(&self, record: &mut LogKeyRecord) -> Result<String, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a key commit"))?;
        let state: Option<String> = tx
            .query_row(
                "SELECT state FROM keys WHERE key_id = ?1",
                [record.key_id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::sql("reading keys"))?;
        match state.as_deref() {
            Some("prepared") => {}
            Some(_) => {
                return Err(StoreError::Exists {
                    what: "committed key",
                    id: record.key_id.clone(),
                })
            }
            None => {
                return Err(StoreError::NotFound {
                    what: "prepared key",
                    id: record.key_id.clone(),
                })
            }
        }
        let (index, line) = append_line(&tx, |index, prev| {
            record.index = index;
            record.prev = prev;
            record.to_line()
        })?;
        tx.execute(
            "UPDATE keys SET state = 'committed', audit_index = ?2 WHERE key_id = ?1",
            params![record.key_id.as_str(), to_i64("audit index", index)?],
        )
        .map_err(StoreError::sql("committing a key"))?;
        tx.commit().map_err(StoreError::sql("committing a key"))?;
        Ok(line)
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
}
