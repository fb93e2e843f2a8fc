//! Key shares: one sealed `KeyShare::to_json` per key id in `shares`, never overwritten.

use frost_core::Ciphersuite;
use rusqlite::{params, OptionalExtension};
use signer::{KeyShare, SignerError};

use super::{parse_key_id, to_i64, NodeStore};
use crate::ids::KeyId;
use crate::store::seal::aad;
use crate::store::{is_constraint, now_secs, StoreError};

pub(super) fn share_aad(key_id: &KeyId, ciphersuite: &str) -> Vec<u8> {
    aad(
        "shares",
        &[key_id.as_str().as_bytes(), ciphersuite.as_bytes()],
    )
}

impl NodeStore {
    /// Stores the share of `key_id`, sealed (plaintext `KeyShare::to_json`, associated data
    /// binding the table, key id and ciphersuite). [`StoreError::Exists`] if a share for
    /// `key_id` is already stored: shares are never overwritten. [`StoreError::Invalid`] if
    /// the share belongs to another signer id than this node's.
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
        match conn.execute(
            "INSERT INTO shares (key_id, ciphersuite, sealed, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![key_id.as_str(), C::ID, sealed, now],
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_constraint(&e) => Err(StoreError::Exists {
                what: "key share for key id",
                id: key_id.to_string(),
            }),
            Err(e) => Err(StoreError::sql("inserting into shares")(e)),
        }
    }

    /// The decrypted share of `key_id`, if one is stored. A share stored for another
    /// ciphersuite is a `SignerError::CiphersuiteMismatch`.
    pub fn share<C: Ciphersuite>(&self, key_id: &KeyId) -> Result<Option<KeyShare<C>>, StoreError> {
        let row: Option<(String, Vec<u8>)> = {
            let conn = self.lock();
            conn.query_row(
                "SELECT ciphersuite, sealed FROM shares WHERE key_id = ?1",
                [key_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(StoreError::sql("reading shares"))?
        };
        let Some((ciphersuite, sealed)) = row else {
            return Ok(None);
        };
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
            .open(&what, &share_aad(key_id, &ciphersuite), &sealed)?;
        let json = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::corrupt(what.as_str(), "decrypted share is not UTF-8"))?;
        Ok(Some(KeyShare::from_json(json)?))
    }

    /// The key ids with a stored share, sorted.
    pub fn key_ids(&self) -> Result<Vec<KeyId>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT key_id FROM shares ORDER BY key_id")
            .map_err(StoreError::sql("listing shares"))?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(StoreError::sql("listing shares"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::sql("listing shares"))?;
        names.iter().map(|s| parse_key_id("shares", s)).collect()
    }
}
