//! `witnesses`: each node's latest signature over the audit log (schema v4), what
//! `GET /v1/audit/checkpoints` and `audit export --checkpoints-out` give an auditor.

use std::path::Path;

use rusqlite::params;
use verifier::audit::WitnessSignature;

use super::{to_i64, CoordinatorStore};
use crate::store::{now_secs, StoreError};

impl CoordinatorStore {
    /// Keeps `sig` as its signer's latest, unless a signature over a larger size is kept.
    pub fn put_witness(&self, sig: &WitnessSignature) -> Result<(), StoreError> {
        let json = serde_json::to_string(sig)
            .map_err(|e| StoreError::Invalid(format!("witness signature: {e}")))?;
        self.lock()
            .execute(
                "INSERT INTO witnesses (signer, size, signature, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (signer) DO UPDATE SET size = excluded.size,
                     signature = excluded.signature, updated_at = excluded.updated_at
                 WHERE excluded.size >= witnesses.size",
                params![
                    sig.signer_id,
                    to_i64("witness size", sig.size)?,
                    json,
                    to_i64("time", now_secs())?
                ],
            )
            .map_err(StoreError::sql("writing witnesses"))?;
        Ok(())
    }

    /// Every node's latest witness signature, by signer id.
    pub fn witnesses(&self) -> Result<Vec<WitnessSignature>, StoreError> {
        select_witnesses(&self.lock())
    }
}

pub(super) fn select_witnesses(
    conn: &rusqlite::Connection,
) -> Result<Vec<WitnessSignature>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT signature FROM witnesses ORDER BY signer")
        .map_err(StoreError::sql("reading witnesses"))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(StoreError::sql("reading witnesses"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::sql("reading witnesses"))?;
    rows.iter()
        .map(|j| {
            serde_json::from_str(j).map_err(|e| StoreError::corrupt("witnesses", e.to_string()))
        })
        .collect()
}

/// The witness signatures in the coordinator database at `path`, opened read-only (for
/// `zkquorum audit verify` and `audit export` on the database file).
pub fn read_witnesses(path: &Path) -> Result<Vec<WitnessSignature>, StoreError> {
    let conn = super::audit::open_read_only(path)?;
    select_witnesses(&conn)
}
