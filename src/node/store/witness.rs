//! `witness` and `witnessed_keys`: the last state of the audit log this node signed (its
//! size and head), and the key records it witnessed (the signing records after them are
//! checked against them). A witness only ever extends what it signed: the next records it
//! signs must start at `size` and link to `head`.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{to_i64, NodeStore};
use crate::store::{now_secs, StoreError};

/// The state of the log this node last signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WitnessState {
    /// Lines witnessed.
    pub size: u64,
    /// Chain hash of line `size - 1` (zeros for none).
    pub head: [u8; 32],
}

impl NodeStore {
    /// The state of log `log_id` this node last signed (size 0 if none).
    pub fn witness_state(&self, log_id: &str) -> Result<WitnessState, StoreError> {
        read_state(&self.lock(), log_id)
    }

    /// The key-record lines this node witnessed, in no particular order.
    pub fn witnessed_key_records(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT line FROM witnessed_keys")
            .map_err(StoreError::sql("reading witnessed_keys"))?;
        let lines = stmt
            .query_map([], |r| r.get(0))
            .map_err(StoreError::sql("reading witnessed_keys"))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(StoreError::sql("reading witnessed_keys"));
        lines
    }

    /// Moves log `log_id` from state `from` to `to`, keeping the new key records
    /// (`(key id, line)`), in one transaction; [`StoreError::Invalid`] if the stored state
    /// is not `from` any more (another witness call moved it) or `to` does not extend it.
    pub fn advance_witness(
        &self,
        log_id: &str,
        from: WitnessState,
        to: WitnessState,
        key_records: &[(String, String)],
    ) -> Result<(), StoreError> {
        if to.size < from.size {
            return Err(StoreError::Invalid(format!(
                "witness state cannot shrink from {} to {}",
                from.size, to.size
            )));
        }
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a witness transaction"))?;
        if read_state(&tx, log_id)? != from {
            return Err(StoreError::Invalid(
                "the witness state moved meanwhile".into(),
            ));
        }
        tx.execute(
            "INSERT INTO witness (log_id, size, head, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (log_id) DO UPDATE SET size = excluded.size, head = excluded.head,
                 updated_at = excluded.updated_at",
            params![
                log_id,
                to_i64("witness size", to.size)?,
                &to.head[..],
                to_i64("time", now_secs())?
            ],
        )
        .map_err(StoreError::sql("writing witness"))?;
        for (key_id, line) in key_records {
            tx.execute(
                "INSERT INTO witnessed_keys (key_id, line) VALUES (?1, ?2)
                 ON CONFLICT (key_id) DO NOTHING",
                params![key_id, line],
            )
            .map_err(StoreError::sql("writing witnessed_keys"))?;
        }
        tx.commit()
            .map_err(StoreError::sql("committing a witness state"))
    }
}

/// The stored state of `log_id` (size 0 and zero head if none).
fn read_state(conn: &rusqlite::Connection, log_id: &str) -> Result<WitnessState, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT size, head FROM witness WHERE log_id = ?1",
            [log_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::sql("reading witness"))?;
    Ok(match row {
        None => WitnessState {
            size: 0,
            head: [0; 32],
        },
        Some((size, head)) => WitnessState {
            size: u64::try_from(size)
                .map_err(|_| StoreError::corrupt("witness.size", "negative"))?,
            head: head
                .try_into()
                .map_err(|_| StoreError::corrupt("witness.head", "not 32 bytes"))?,
        },
    })
}
