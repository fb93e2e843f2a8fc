//! Key shares: one sealed `KeyShare::to_json` per key id in `shares`, `prepared` at the end
//! of a DKG (replaced by a retried DKG of the same key id), `committed` once every node
//! attested the same key (never overwritten; only committed shares sign).

use frost_core::Ciphersuite;
use rusqlite::{params, OptionalExtension};
use signer::{KeyShare, SignerError};

use super::{parse_key_id, to_i64, NodeStore};
use crate::ids::KeyId;
use crate::store::seal::aad;
use crate::store::{now_secs, StoreError};

pub(super) fn share_aad(key_id: &KeyId, ciphersuite: &str) -> Vec<u8> {
    aad(
        "shares",
        &[key_id.as_str().as_bytes(), ciphersuite.as_bytes()],
    )
}

impl NodeStore {
    /// Stores the share of `key_id` as `prepared`, sealed (plaintext `KeyShare::to_json`,
    /// associated data binding the table, key id and ciphersuite), replacing a prepared
    /// share of the same key id (a retried DKG). [`StoreError::Exists`] if a committed share
    /// for `key_id` is stored: those are never overwritten. [`StoreError::Invalid`] if the
    /// share belongs to another signer id than this node's.
    pub fn put_share<C: Ciphersuite>(
        &self,
        key_id: &KeyId,
        share: &KeyShare<C>,
    ) -> Result<(), StoreError> {
        if share.id() != self.node_id {
            return Err(StoreError::Invalid(format!(
                "the share for key {key_id} belongs to signer {}, this node is signer {}",
                share.id(),
                self.node_id
            )));
        }
        let json = share.to_json()?;
        let sealed = self.key.seal(&share_aad(key_id, C::ID), json.as_bytes())?;
        let now = to_i64("time", now_secs())?;
        let conn = self.lock();
        let changed = conn
            .execute(
                "INSERT INTO shares (key_id, ciphersuite, sealed, created_at, state)
                 VALUES (?1, ?2, ?3, ?4, 'prepared')
                 ON CONFLICT (key_id) DO UPDATE SET ciphersuite = excluded.ciphersuite,
                     sealed = excluded.sealed, created_at = excluded.created_at
                 WHERE shares.state = 'prepared'",
                params![key_id.as_str(), C::ID, sealed, now],
            )
            .map_err(StoreError::sql("inserting into shares"))?;
        if changed == 0 {
            return Err(StoreError::Exists {
                what: "key share for key id",
                id: key_id.to_string(),
            });
        }
        Ok(())
    }

    /// Marks the prepared share of `key_id` committed: from now on it signs and is never
    /// replaced. Committing a committed share is a no-op; [`StoreError::NotFound`] if no
    /// share of `key_id` is stored.
    pub fn commit_share(&self, key_id: &KeyId) -> Result<(), StoreError> {
        let conn = self.lock();
        let changed = conn
            .execute(
                "UPDATE shares SET state = 'committed' WHERE key_id = ?1",
                [key_id.as_str()],
            )
            .map_err(StoreError::sql("committing a share"))?;
        if changed == 0 {
            return Err(StoreError::NotFound {
                what: "key share",
                id: key_id.to_string(),
            });
        }
        Ok(())
    }

    /// The decrypted committed share of `key_id`, if one is stored: the only shares that
    /// sign. A share stored for another ciphersuite is a
    /// `SignerError::CiphersuiteMismatch`.
    pub fn share<C: Ciphersuite>(&self, key_id: &KeyId) -> Result<Option<KeyShare<C>>, StoreError> {
        Ok(match self.any_share(key_id)? {
            Some((share, true)) => Some(share),
            _ => None,
        })
    }

    /// The decrypted share of `key_id` in either state, with whether it is committed.
    pub fn any_share<C: Ciphersuite>(
        &self,
        key_id: &KeyId,
    ) -> Result<Option<(KeyShare<C>, bool)>, StoreError> {
        let row: Option<(String, Vec<u8>, String)> = {
            let conn = self.lock();
            conn.query_row(
                "SELECT ciphersuite, sealed, state FROM shares WHERE key_id = ?1",
                [key_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(StoreError::sql("reading shares"))?
        };
        let Some((ciphersuite, sealed, state)) = row else {
            return Ok(None);
        };
        let share = self.open_share(key_id, &ciphersuite, &sealed)?;
        Ok(Some((share, state == "committed")))
    }

    fn open_share<C: Ciphersuite>(
        &self,
        key_id: &KeyId,
        ciphersuite: &str,
        sealed: &[u8],
    ) -> Result<KeyShare<C>, StoreError> {
        if ciphersuite != C::ID {
            return Err(SignerError::CiphersuiteMismatch {
                expected: C::ID.into(),
                found: ciphersuite.chars().take(80).collect(),
            }
            .into());
        }
        let what = format!("shares row {key_id}");
        let plain = self
            .key
            .open(&what, &share_aad(key_id, ciphersuite), sealed)?;
        let json = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::corrupt(what.as_str(), "decrypted share is not UTF-8"))?;
        Ok(KeyShare::from_json(json)?)
    }

    /// The key ids with a committed share, sorted.
    pub fn key_ids(&self) -> Result<Vec<KeyId>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT key_id FROM shares WHERE state = 'committed' ORDER BY key_id")
            .map_err(StoreError::sql("listing shares"))?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(StoreError::sql("listing shares"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::sql("listing shares"))?;
        names.iter().map(|s| parse_key_id("shares", s)).collect()
    }
}
