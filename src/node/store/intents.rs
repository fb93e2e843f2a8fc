//! `signed_intents`: every `(key, intent nonce)` this node signed, and
//! [`SqliteIntentLedger`], the durable [`IntentLedger`] over it (a replayed intent is refused
//! across restarts; see [`signer::session::ledger`]).

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};
use signer::session::{IntentLedger, LedgerError, RETRY_WINDOW};

use super::NodeStore;
use crate::ids::KeyId;
use crate::store::{is_constraint, now_secs};

/// The `nonce` column: the intent nonce's 8 bytes, big-endian (exact for every u64).
fn nonce_blob(nonce: u64) -> [u8; 8] {
    nonce.to_be_bytes()
}

impl NodeStore {
    /// The session (hex), intent commitment and time (unix s) that signed intent `nonce`
    /// under `key_id`, if any.
    pub fn signed_intent(
        &self,
        key_id: &KeyId,
        nonce: u64,
    ) -> Result<Option<(String, Vec<u8>, i64)>, String> {
        self.lock()
            .query_row(
                "SELECT session, commitment, signed_at FROM signed_intents
                 WHERE key_id = ?1 AND nonce = ?2",
                params![key_id.as_str(), nonce_blob(nonce)],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map(|s| s.map(|(session, c, at)| (hex::encode(session), c, at)))
            .map_err(|e| format!("reading signed_intents: {e}"))
    }

    /// Records intent `nonce` of `key_id` as signed in `session`; `Ok(false)` if it was
    /// recorded before (the primary key refuses the second row, atomically).
    pub fn record_signed_intent(
        &self,
        key_id: &KeyId,
        nonce: u64,
        commitment: &[u8; 32],
        session: &[u8; 32],
    ) -> Result<bool, String> {
        let at = i64::try_from(now_secs()).unwrap_or(i64::MAX);
        match self.lock().execute(
            "INSERT INTO signed_intents (key_id, nonce, commitment, session, signed_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                key_id.as_str(),
                nonce_blob(nonce),
                commitment.as_slice(),
                session.as_slice(),
                at
            ],
        ) {
            Ok(_) => Ok(true),
            Err(e) if is_constraint(&e) => Ok(false),
            Err(e) => Err(format!("inserting into signed_intents: {e}")),
        }
    }
}

/// The intent ledger of one key in a node's database.
pub struct SqliteIntentLedger {
    store: Arc<NodeStore>,
    key_id: KeyId,
}

impl SqliteIntentLedger {
    /// The ledger of `key_id` in `store`.
    pub fn new(store: Arc<NodeStore>, key_id: KeyId) -> Self {
        Self { store, key_id }
    }
}

impl SqliteIntentLedger {
    /// Refuses `nonce` if it was signed for another intent, or longer than
    /// [`RETRY_WINDOW`] ago.
    fn refuse_if_signed(&self, nonce: u64, commitment: &[u8; 32]) -> Result<(), LedgerError> {
        let Some((session, c, at)) = self
            .store
            .signed_intent(&self.key_id, nonce)
            .map_err(LedgerError::Storage)?
        else {
            return Ok(());
        };
        let age = i64::try_from(now_secs())
            .unwrap_or(i64::MAX)
            .saturating_sub(at);
        if c.as_slice() != commitment || age > RETRY_WINDOW.as_secs() as i64 {
            return Err(LedgerError::AlreadySigned {
                nonce,
                session: Some(session),
            });
        }
        Ok(())
    }
}

impl IntentLedger for SqliteIntentLedger {
    fn check(&self, nonce: u64, commitment: &[u8; 32]) -> Result<(), LedgerError> {
        self.refuse_if_signed(nonce, commitment)
    }

    fn record(
        &self,
        nonce: u64,
        commitment: &[u8; 32],
        session: &[u8; 32],
    ) -> Result<(), LedgerError> {
        if self
            .store
            .record_signed_intent(&self.key_id, nonce, commitment, session)
            .map_err(LedgerError::Storage)?
        {
            Ok(())
        } else {
            // Held already: the same intent within the retry window passes, anything else
            // is refused.
            self.refuse_if_signed(nonce, commitment)
        }
    }
}
