//! The `keys` table: the keys the coordinator signs with, each written once.

use circuits::{BackendId, UnknownBackendName};

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{to_i64, CoordinatorStore};
use crate::ids::KeyId;
use crate::store::{is_constraint, StoreError};

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
}

pub(super) type KeyRow = (String, u16, u16, String, String, String, u64);

/// One `keys` row, in the column order of the queries.
pub(super) fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    KeyRow::try_from(r)
}

pub(super) fn key_record(row: KeyRow) -> Result<KeyRecord, StoreError> {
    let (key_id, threshold, participants, backend, group_key, public_key_package, created_at) = row;
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
    })
}

pub(super) const KEY_COLUMNS: &str = "SELECT key_id, threshold, participants, backend, group_key, \
                           public_key_package, created_at FROM keys";

impl CoordinatorStore {
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
                rec.backend.short_name(),
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
}
