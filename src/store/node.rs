//! A signer node's database: identity secrets, key shares, policy history, nonce records.
//!
//! Tables (schema v1):
//!
//! - `meta(key, value)`: `role` = `node`, the KDF `salt`, the `kdf` parameters (JSON), the
//!   passphrase `key_check`, the `node_id` and the sealed `identity` secrets;
//! - `shares(key_id, ciphersuite, sealed, created_at)`: one sealed `KeyShare::to_json` per
//!   key id, never overwritten;
//! - `policies(version, sealed, commitment_bn254, commitment_pasta, created_at)`: every
//!   policy ever set, the highest version being the active one. The TOML is sealed (a
//!   policy is private: limits and allowlist appear elsewhere only inside commitments); the
//!   per-backend commitments `P` are public and stored in clear, and bound to the sealed
//!   text by its associated data;
//! - `nonces(session, key_id, commitments, state, created_at, used_at)`: one row per round-1
//!   session, `fresh` → `used` (round 2) or `abandoned` (the node restarted in between).
//!
//! Every sealed value's associated data names its table and row ([`aad`]); the identity's
//! also binds the node id, so editing `meta.node_id` is detected when the database is
//! opened.
//!
//! The secret nonces are never written anywhere: [`SqliteNonceStore`] keeps them in memory
//! and records only the public commitments and the state. A session id is recorded once and
//! never reused, across restarts too; after a restart the nonces of fresh sessions are gone,
//! so [`NodeStore::abandon_fresh_nonces`] marks those sessions abandoned.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use circuits::bn254::Bn254;
use circuits::pasta::Pasta;
use circuits::Policy;
use frost_core::round1::SigningNonces;
use frost_core::Ciphersuite;
use rand_core::RngCore;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use signer::{KdfParams, KeyShare, NonceStore, SessionId, SignerError, SignerId};
use zeroize::Zeroizing;

use super::migrate::Migration;
use super::seal::{aad, SealingKey, SALT_LEN};
use super::{is_constraint, now_secs, open_db, StoreError};
use crate::ids::KeyId;

/// The `meta.role` of a node database.
pub const NODE_ROLE: &str = "node";

/// The node schema, one entry per version.
pub const NODE_MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: "
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value BLOB NOT NULL
        );
        INSERT INTO meta (key, value) VALUES ('role', 'node');
        CREATE TABLE shares (
            key_id TEXT PRIMARY KEY,
            ciphersuite TEXT NOT NULL,
            sealed BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE policies (
            version INTEGER PRIMARY KEY CHECK (version >= 1),
            sealed BLOB NOT NULL,
            commitment_bn254 TEXT NOT NULL,
            commitment_pasta TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE nonces (
            session BLOB PRIMARY KEY CHECK (length(session) = 32),
            key_id TEXT NOT NULL,
            commitments BLOB NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('fresh', 'used', 'abandoned')),
            created_at INTEGER NOT NULL,
            used_at INTEGER
        );
        CREATE INDEX nonces_fresh ON nonces (state) WHERE state = 'fresh';
    ",
}];

/// A node's long-term identity secrets, raw bytes. Zeroized on drop; `Debug` shows
/// nothing.
#[derive(Clone)]
pub struct IdentitySecrets {
    /// The BIP-340 (secp256k1) identity signing key.
    pub signing: Zeroizing<[u8; 32]>,
    /// The X25519 (HPKE) key.
    pub hpke: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for IdentitySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentitySecrets(<redacted>)")
    }
}

/// Where a round-1 session's nonces stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceState {
    /// Round 1 ran; the nonces are in memory, waiting for round 2.
    Fresh,
    /// Round 2 consumed the nonces.
    Used,
    /// The node restarted before round 2: the nonces are gone, the session cannot finish.
    Abandoned,
}

impl NonceState {
    /// The name stored in the `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            NonceState::Fresh => "fresh",
            NonceState::Used => "used",
            NonceState::Abandoned => "abandoned",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "fresh" => Some(NonceState::Fresh),
            "used" => Some(NonceState::Used),
            "abandoned" => Some(NonceState::Abandoned),
            _ => None,
        }
    }
}

/// One row of the `nonces` table: a round-1 session, its public commitments and state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonceRecord {
    /// The session.
    pub session: SessionId,
    /// The key it signs with.
    pub key_id: KeyId,
    /// `SigningCommitments::serialize()` of the session's nonces.
    pub commitments: Vec<u8>,
    /// Where the session stands.
    pub state: NonceState,
    /// Unix seconds of round 1.
    pub created_at: u64,
    /// Unix seconds of round 2 (for [`NonceState::Used`]).
    pub used_at: Option<u64>,
}

/// A signer node's database, opened with its passphrase.
///
/// Safe to share between threads (`Arc<NodeStore>`); other processes may open the same
/// file (SQLite locking).
pub struct NodeStore {
    conn: Mutex<Connection>,
    key: SealingKey,
    node_id: SignerId,
    path: PathBuf,
}

impl std::fmt::Debug for NodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeStore")
            .field("path", &self.path)
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

/// What marking a session's nonces used found.
enum Mark {
    Marked,
    Used,
    Abandoned,
    Unknown,
}

/// Reads one `meta` value.
fn meta<T>(
    conn: &Connection,
    key: &'static str,
    convert: impl FnOnce(ValueRef<'_>) -> Option<T>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .map_err(StoreError::sql("reading meta"))?;
    let mut rows = stmt.query([key]).map_err(StoreError::sql("reading meta"))?;
    match rows.next().map_err(StoreError::sql("reading meta"))? {
        None => Ok(None),
        Some(row) => {
            let v = row.get_ref(0).map_err(StoreError::sql("reading meta"))?;
            convert(v).map(Some).ok_or_else(|| {
                StoreError::corrupt(format!("meta.{key}"), "value has the wrong type")
            })
        }
    }
}

/// Reads a `meta` value that must be present.
fn required_meta<T>(
    conn: &Connection,
    path: &Path,
    key: &'static str,
    convert: impl FnOnce(ValueRef<'_>) -> Option<T>,
) -> Result<T, StoreError> {
    meta(conn, key, convert)?.ok_or_else(|| {
        StoreError::corrupt(
            format!("node database {}", path.display()),
            format!("meta has no {key} row (the database was never initialised)"),
        )
    })
}

fn blob(v: ValueRef<'_>) -> Option<Vec<u8>> {
    v.as_blob().ok().map(<[u8]>::to_vec)
}

fn identity_aad(node_id: SignerId) -> Vec<u8> {
    aad("meta", &[b"identity", &node_id.get().to_le_bytes()])
}

fn share_aad(key_id: &KeyId, ciphersuite: &str) -> Vec<u8> {
    aad(
        "shares",
        &[key_id.as_str().as_bytes(), ciphersuite.as_bytes()],
    )
}

fn policy_aad(version: u64, bn254: &str, pasta: &str) -> Vec<u8> {
    aad(
        "policies",
        &[&version.to_le_bytes(), bn254.as_bytes(), pasta.as_bytes()],
    )
}

fn to_i64(what: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is too large")))
}

fn parse_key_id(table: &str, s: &str) -> Result<KeyId, StoreError> {
    KeyId::new(s).map_err(|e| StoreError::corrupt(format!("{table}.key_id"), e.to_string()))
}

impl NodeStore {
    /// Creates a new node database at `path` (or initialises an empty one): schema, a
    /// random salt, the KDF parameters, the passphrase check, the node id and the sealed
    /// identity secrets. Fails with [`StoreError::Exists`] if the file already holds a
    /// node, and with [`StoreError::Kdf`] if `kdf` is outside `KdfParams::validate`'s
    /// bounds.
    pub fn create(
        path: &Path,
        node_id: SignerId,
        passphrase: &[u8],
        kdf: KdfParams,
        identity: &IdentitySecrets,
    ) -> Result<Self, StoreError> {
        let exists = || StoreError::Exists {
            what: "node database",
            id: path.display().to_string(),
        };
        // Checked before the file is created, so bad parameters leave nothing behind.
        kdf.validate().map_err(|e| StoreError::Kdf(e.to_string()))?;
        let mut conn = open_db(path, NODE_ROLE, NODE_MIGRATIONS, true)?;
        if meta(&conn, "node_id", |_| Some(()))?.is_some() {
            return Err(exists());
        }
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let key = SealingKey::derive(passphrase, &salt, &kdf)?;
        let mut secrets = Zeroizing::new([0u8; 64]);
        secrets[..32].copy_from_slice(identity.signing.as_ref());
        secrets[32..].copy_from_slice(identity.hpke.as_ref());
        let sealed_identity = key.seal(&identity_aad(node_id), secrets.as_ref())?;
        let kdf_json = serde_json::to_string(&kdf)
            .map_err(|e| StoreError::Kdf(format!("cannot encode parameters: {e}")))?;

        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting to initialise meta"))?;
        if meta(&tx, "node_id", |_| Some(()))?.is_some() {
            return Err(exists());
        }
        {
            let mut insert = tx
                .prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")
                .map_err(StoreError::sql("initialising meta"))?;
            let rows: [(&str, rusqlite::types::Value); 5] = [
                ("salt", salt.to_vec().into()),
                ("kdf", kdf_json.into()),
                ("key_check", key.check_value().to_vec().into()),
                ("node_id", i64::from(node_id.get()).into()),
                ("identity", sealed_identity.into()),
            ];
            for (k, v) in rows {
                insert
                    .execute(params![k, v])
                    .map_err(StoreError::sql("initialising meta"))?;
            }
        }
        tx.commit()
            .map_err(StoreError::sql("committing the new node's meta"))?;
        Ok(Self {
            conn: Mutex::new(conn),
            key,
            node_id,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing node database, applying pending migrations, and derives its
    /// sealing key. [`StoreError::NotFound`] if there is no file,
    /// [`StoreError::WrongPassphrase`] if the passphrase check fails,
    /// [`StoreError::WrongRole`] / [`StoreError::Corrupt`] if the file is not a node
    /// database, [`StoreError::Tampered`] if its node id was edited.
    pub fn open(path: &Path, passphrase: &[u8]) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::NotFound {
                what: "node database",
                id: path.display().to_string(),
            });
        }
        let conn = open_db(path, NODE_ROLE, NODE_MIGRATIONS, false)?;
        let salt = required_meta(&conn, path, "salt", blob)?;
        let kdf_text = required_meta(&conn, path, "kdf", |v| v.as_str().ok().map(str::to_owned))?;
        let kdf: KdfParams = serde_json::from_str(&kdf_text)
            .map_err(|e| StoreError::corrupt("meta.kdf", e.to_string()))?;
        let check = required_meta(&conn, path, "key_check", blob)?;
        let node_id = required_meta(&conn, path, "node_id", |v| v.as_i64().ok())?;
        let node_id = u16::try_from(node_id)
            .ok()
            .and_then(|id| SignerId::new(id).ok())
            .ok_or_else(|| {
                StoreError::corrupt("meta.node_id", format!("{node_id} is not a signer id"))
            })?;
        let key = SealingKey::derive(passphrase, &salt, &kdf)?;
        key.verify_check(&check)?;
        let store = Self {
            conn: Mutex::new(conn),
            key,
            node_id,
            path: path.to_path_buf(),
        };
        // Authenticates meta.node_id (bound into the identity's associated data).
        store.identity()?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere cannot leave the connection inside a transaction (dropped
        // transactions roll back), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The file this store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This node's signer id.
    pub fn node_id(&self) -> SignerId {
        self.node_id
    }

    /// Decrypts the node's identity secrets.
    pub fn identity(&self) -> Result<IdentitySecrets, StoreError> {
        let sealed = {
            let conn = self.lock();
            required_meta(&conn, &self.path, "identity", blob)?
        };
        let plain = self
            .key
            .open("meta.identity", &identity_aad(self.node_id), &sealed)?;
        if plain.len() != 64 {
            return Err(StoreError::corrupt(
                "meta.identity",
                format!("{} bytes, expected 64", plain.len()),
            ));
        }
        let mut signing = Zeroizing::new([0u8; 32]);
        let mut hpke = Zeroizing::new([0u8; 32]);
        signing.copy_from_slice(&plain[..32]);
        hpke.copy_from_slice(&plain[32..]);
        Ok(IdentitySecrets { signing, hpke })
    }

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

    /// Appends `policy` to the policy history and makes it the active one; returns its
    /// version (1, 2, ...). The TOML text is sealed; the Groth16/BN254 and halo2/Pasta
    /// commitments `P` are stored in clear (hex of their little-endian bytes).
    pub fn set_policy(&self, policy: &Policy) -> Result<u64, StoreError> {
        let toml = Zeroizing::new(
            policy
                .to_toml_string()
                .map_err(|e| StoreError::Policy(e.to_string()))?,
        );
        let reparsed =
            Policy::from_toml_str(&toml).map_err(|e| StoreError::Policy(e.to_string()))?;
        if reparsed != *policy {
            return Err(StoreError::Policy(
                "the policy does not survive its TOML encoding".into(),
            ));
        }
        let bn254 = hex::encode(policy.commitment::<Bn254>().to_le_bytes());
        let pasta = hex::encode(policy.commitment::<Pasta>().to_le_bytes());
        let now = to_i64("time", now_secs())?;

        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a policies transaction"))?;
        let last: i64 = tx
            .query_row("SELECT COALESCE(MAX(version), 0) FROM policies", [], |r| {
                r.get(0)
            })
            .map_err(StoreError::sql("reading policies"))?;
        let version = u64::try_from(last)
            .ok()
            .and_then(|v| v.checked_add(1))
            .ok_or_else(|| StoreError::corrupt("policies.version", format!("{last}")))?;
        let sealed = self
            .key
            .seal(&policy_aad(version, &bn254, &pasta), toml.as_bytes())?;
        tx.execute(
            "INSERT INTO policies (version, sealed, commitment_bn254, commitment_pasta, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                to_i64("policy version", version)?,
                sealed,
                bn254,
                pasta,
                now
            ],
        )
        .map_err(StoreError::sql("inserting into policies"))?;
        tx.commit()
            .map_err(StoreError::sql("committing into policies"))?;
        Ok(version)
    }

    /// The active (latest) policy and its version, if any was set.
    pub fn policy(&self) -> Result<Option<(u64, Policy)>, StoreError> {
        self.read_policy(None)
    }

    /// The version of the active policy, if any: one indexed read, no decryption (a
    /// running node checks it at every round 1 and reloads the policy only when it moved).
    pub fn active_policy_version(&self) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> = self
            .lock()
            .query_row("SELECT max(version) FROM policies", [], |r| r.get(0))
            .map_err(StoreError::sql("reading policies"))?;
        v.map(|v| u64::try_from(v).map_err(|_| StoreError::corrupt("policies", "negative version")))
            .transpose()
    }

    /// Version `version` of the policy history, if it exists.
    pub fn policy_version(&self, version: u64) -> Result<Option<Policy>, StoreError> {
        Ok(self.read_policy(Some(version))?.map(|(_, p)| p))
    }

    fn read_policy(&self, version: Option<u64>) -> Result<Option<(u64, Policy)>, StoreError> {
        type Row = (i64, Vec<u8>, String, String);
        let get = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Row> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        };
        let row: Option<Row> = {
            let conn = self.lock();
            let cols = "SELECT version, sealed, commitment_bn254, commitment_pasta FROM policies";
            match version {
                None => conn.query_row(&format!("{cols} ORDER BY version DESC LIMIT 1"), [], get),
                Some(v) => conn.query_row(
                    &format!("{cols} WHERE version = ?1"),
                    [to_i64("policy version", v)?],
                    get,
                ),
            }
            .optional()
            .map_err(StoreError::sql("reading policies"))?
        };
        let Some((version, sealed, bn254, pasta)) = row else {
            return Ok(None);
        };
        let version = u64::try_from(version)
            .map_err(|_| StoreError::corrupt("policies.version", format!("{version}")))?;
        let what = format!("policies row {version}");
        let plain = self
            .key
            .open(&what, &policy_aad(version, &bn254, &pasta), &sealed)?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StoreError::corrupt(what.as_str(), "decrypted policy is not UTF-8"))?;
        let policy =
            Policy::from_toml_str(text).map_err(|e| StoreError::corrupt(what, e.to_string()))?;
        Ok(Some((version, policy)))
    }

    /// Marks every nonce record still `fresh` as `abandoned` and returns how many. Call it
    /// when the node starts: fresh nonces live only in memory, so after a restart they are
    /// gone and their sessions can never reach round 2.
    pub fn abandon_fresh_nonces(&self) -> Result<usize, StoreError> {
        self.lock()
            .execute(
                "UPDATE nonces SET state = 'abandoned' WHERE state = 'fresh'",
                [],
            )
            .map_err(StoreError::sql("abandoning fresh rows of nonces"))
    }

    /// Marks the still-fresh sessions `sessions` of `key_id` abandoned (their nonces
    /// expired unused in memory). Returns how many rows changed.
    fn abandon_sessions(
        &self,
        key_id: &KeyId,
        sessions: &[SessionId],
    ) -> Result<usize, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a nonces transaction"))?;
        let mut changed = 0;
        for s in sessions {
            changed += tx
                .execute(
                    "UPDATE nonces SET state = 'abandoned'
                     WHERE session = ?1 AND key_id = ?2 AND state = 'fresh'",
                    params![&s.as_bytes()[..], key_id.as_str()],
                )
                .map_err(StoreError::sql("abandoning expired rows of nonces"))?;
        }
        tx.commit()
            .map_err(StoreError::sql("committing into nonces"))?;
        Ok(changed)
    }

    /// Every nonce record, oldest first.
    pub fn nonce_records(&self) -> Result<Vec<NonceRecord>, StoreError> {
        type Row = (Vec<u8>, String, Vec<u8>, String, u64, Option<u64>);
        let rows: Vec<Row> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(
                    "SELECT session, key_id, commitments, state, created_at, used_at
                     FROM nonces ORDER BY rowid",
                )
                .map_err(StoreError::sql("reading nonces"))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .map_err(StoreError::sql("reading nonces"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(StoreError::sql("reading nonces"))?;
            rows
        };
        rows.into_iter()
            .map(
                |(session, key_id, commitments, state, created_at, used_at)| {
                    let session: [u8; 32] = session.as_slice().try_into().map_err(|_| {
                        StoreError::corrupt(
                            "nonces.session",
                            format!("{} bytes, expected 32", session.len()),
                        )
                    })?;
                    let state = NonceState::parse(&state).ok_or_else(|| {
                        StoreError::corrupt("nonces.state", format!("unknown state {state:?}"))
                    })?;
                    Ok(NonceRecord {
                        session: SessionId::from_bytes(session),
                        key_id: parse_key_id("nonces", &key_id)?,
                        commitments,
                        state,
                        created_at,
                        used_at,
                    })
                },
            )
            .collect()
    }

    /// The nonce store of `key_id` on this node. Keep one per key for the life of the
    /// process: the secret nonces live in the store's memory.
    pub fn nonce_store<C: Ciphersuite>(self: &Arc<Self>, key_id: KeyId) -> SqliteNonceStore<C> {
        SqliteNonceStore {
            db: Arc::clone(self),
            key_id,
            fresh: Mutex::new(HashMap::new()),
            ttl: NONCE_TTL,
            _suite: PhantomData,
        }
    }

    /// Records a fresh session (committed before returning).
    fn record_fresh(
        &self,
        session: &SessionId,
        key_id: &KeyId,
        commitments: &[u8],
    ) -> Result<bool, StoreError> {
        let now = to_i64("time", now_secs())?;
        match self.lock().execute(
            "INSERT INTO nonces (session, key_id, commitments, state, created_at)
             VALUES (?1, ?2, ?3, 'fresh', ?4)",
            params![&session.as_bytes()[..], key_id.as_str(), commitments, now],
        ) {
            Ok(_) => Ok(true),
            Err(e) if is_constraint(&e) => Ok(false),
            Err(e) => Err(StoreError::sql("inserting into nonces")(e)),
        }
    }

    /// Marks a fresh session used in one immediate transaction, committed (synced) before
    /// returning; otherwise says why it could not be.
    fn mark_used(&self, session: &SessionId, key_id: &KeyId) -> Result<Mark, StoreError> {
        let now = to_i64("time", now_secs())?;
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::sql("starting a nonces transaction"))?;
        let changed = tx
            .execute(
                "UPDATE nonces SET state = 'used', used_at = ?1
                 WHERE session = ?2 AND key_id = ?3 AND state = 'fresh'",
                params![now, &session.as_bytes()[..], key_id.as_str()],
            )
            .map_err(StoreError::sql("marking a row of nonces used"))?;
        if changed == 1 {
            tx.commit()
                .map_err(StoreError::sql("committing a used row of nonces"))?;
            return Ok(Mark::Marked);
        }
        let row: Option<(String, String)> = tx
            .query_row(
                "SELECT key_id, state FROM nonces WHERE session = ?1",
                [&session.as_bytes()[..]],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(StoreError::sql("reading nonces"))?;
        Ok(match row {
            Some((k, _)) if k != key_id.as_str() => Mark::Unknown,
            Some((_, state)) => match NonceState::parse(&state) {
                Some(NonceState::Used) => Mark::Used,
                Some(NonceState::Abandoned) => Mark::Abandoned,
                Some(NonceState::Fresh) | None => {
                    return Err(StoreError::corrupt(
                        format!("nonces row {session}"),
                        format!("state {state:?} could not be marked used"),
                    ))
                }
            },
            None => Mark::Unknown,
        })
    }
}

/// A durable [`NonceStore`] for one key on one node.
///
/// The secret `SigningNonces` stay in this value's memory and never touch the disk; the
/// node database records each session's public commitments and its state. `put` commits
/// the session's `fresh` row before keeping the nonces (a session id is refused if it was
/// ever recorded, whatever its state, across restarts too); `consume` commits the `used`
/// mark (`synchronous=FULL`: on disk) before handing the nonces out, so a crash after
/// round 2 can never sign twice with them.
pub struct SqliteNonceStore<C: Ciphersuite> {
    db: Arc<NodeStore>,
    key_id: KeyId,
    fresh: Mutex<HashMap<SessionId, (Instant, SigningNonces<C>)>>,
    ttl: Duration,
    _suite: PhantomData<fn() -> C>,
}

/// How long round-1 nonces wait for round 2 before they are dropped from memory and their
/// session marked abandoned (a coordinator that never sends round 2 cannot grow a node's
/// memory without bound).
pub const NONCE_TTL: Duration = Duration::from_secs(600);

impl<C: Ciphersuite> std::fmt::Debug for SqliteNonceStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteNonceStore")
            .field("db", &self.db)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl<C: Ciphersuite> SqliteNonceStore<C> {
    /// The key whose sessions this store records.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The node database.
    pub fn db(&self) -> &Arc<NodeStore> {
        &self.db
    }

    /// The same store with another expiry for unused nonces (tests).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    fn fresh(&self) -> MutexGuard<'_, HashMap<SessionId, (Instant, SigningNonces<C>)>> {
        self.fresh.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn nonce_store_error(session: &SessionId, e: StoreError) -> SignerError {
    SignerError::NonceStore(format!("session {session}: {e}"))
}

impl<C: Ciphersuite> NonceStore<C> for SqliteNonceStore<C> {
    fn put(&self, session: SessionId, nonces: SigningNonces<C>) -> signer::Result<()> {
        let commitments = nonces.commitments().serialize().map_err(|e| {
            SignerError::NonceStore(format!(
                "session {session}: cannot encode the commitments: {e}"
            ))
        })?;
        // Held across the insert so a concurrent consume of the same session cannot run
        // between the row and the memory entry.
        let mut fresh = self.fresh();
        let expired: Vec<SessionId> = fresh
            .iter()
            .filter(|(_, (at, _))| at.elapsed() >= self.ttl)
            .map(|(s, _)| *s)
            .collect();
        if !expired.is_empty() {
            self.db
                .abandon_sessions(&self.key_id, &expired)
                .map_err(|e| nonce_store_error(&session, e))?;
            for s in &expired {
                fresh.remove(s);
            }
        }
        let inserted = self
            .db
            .record_fresh(&session, &self.key_id, &commitments)
            .map_err(|e| nonce_store_error(&session, e))?;
        if !inserted {
            return Err(SignerError::NonceExists(session.to_string()));
        }
        fresh.insert(session, (Instant::now(), nonces));
        Ok(())
    }

    fn consume(&self, session: SessionId) -> signer::Result<SigningNonces<C>> {
        let mut fresh = self.fresh();
        let mark = self
            .db
            .mark_used(&session, &self.key_id)
            .map_err(|e| nonce_store_error(&session, e))?;
        // Whatever the outcome, these nonces must never be handed out later.
        let nonces = fresh.remove(&session).map(|(_, n)| n);
        match mark {
            Mark::Marked => nonces.ok_or_else(|| {
                SignerError::NonceStore(format!(
                    "session {session}: its nonces are not held by this process (recorded \
                     fresh by another one); it is now marked used: start a new session"
                ))
            }),
            Mark::Used => Err(SignerError::NonceAlreadyUsed(session.to_string())),
            Mark::Abandoned => Err(SignerError::NonceAlreadyUsed(format!(
                "{session} (abandoned: round 2 did not come within the nonce lifetime, or the node restarted after round 1)"
            ))),
            Mark::Unknown => Err(SignerError::UnknownSession(session.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::OsRng;
    use signer::keys::dealer;
    use signer::round::signing;
    use signer::taproot::Taproot;
    use signer::{taproot, Signer, Threshold};

    use super::*;
    use crate::store::seal::TEST_KDF;
    use crate::store::CoordinatorStore;

    fn identity(b: u8) -> IdentitySecrets {
        IdentitySecrets {
            signing: Zeroizing::new([b; 32]),
            hpke: Zeroizing::new([b.wrapping_add(1); 32]),
        }
    }

    fn shares() -> Vec<KeyShare<Taproot>> {
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap()
    }

    fn new_store(dir: &Path, id: u16) -> (PathBuf, Arc<NodeStore>) {
        let path = dir.join(format!("node{id}.db"));
        let store = NodeStore::create(
            &path,
            SignerId::new(id).unwrap(),
            b"pass",
            TEST_KDF,
            &identity(id as u8),
        )
        .unwrap();
        (path, Arc::new(store))
    }

    fn nonces(share: &KeyShare<Taproot>) -> SigningNonces<Taproot> {
        frost_core::round1::commit::<Taproot, _>(share.key_package().signing_share(), &mut OsRng).0
    }

    fn key(s: &str) -> KeyId {
        KeyId::new(s).unwrap()
    }

    fn session() -> SessionId {
        SessionId::random(&mut OsRng)
    }

    fn raw(path: &Path) -> Connection {
        Connection::open(path).unwrap()
    }

    #[test]
    fn nonce_store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SqliteNonceStore<Taproot>>();
        check::<NodeStore>();
    }

    #[test]
    fn put_consume_once() {
        let dir = tempfile::tempdir().unwrap();
        let (_, db) = new_store(dir.path(), 1);
        let share = &shares()[0];
        let store = db.nonce_store::<Taproot>(key("k1"));
        let s = session();
        let n = nonces(share);
        let expected = n.commitments().serialize().unwrap();
        store.put(s, n.clone()).unwrap();
        assert_eq!(store.consume(s).unwrap(), n);
        match store.consume(s) {
            Err(SignerError::NonceAlreadyUsed(m)) => assert!(m.contains(&s.to_string())),
            other => panic!("expected NonceAlreadyUsed, got {:?}", other.err()),
        }
        // Same session again, fresh nonces: refused although the old ones are used.
        assert!(matches!(
            store.put(s, nonces(share)),
            Err(SignerError::NonceExists(_))
        ));
        let unknown = session();
        assert!(matches!(
            store.consume(unknown),
            Err(SignerError::UnknownSession(_))
        ));
        let recs = db.nonce_records().unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].session, s);
        assert_eq!(recs[0].key_id, key("k1"));
        assert_eq!(recs[0].commitments, expected);
        assert_eq!(recs[0].state, NonceState::Used);
        assert!(recs[0].used_at.is_some());
    }

    #[test]
    fn put_twice_and_other_key() {
        let dir = tempfile::tempdir().unwrap();
        let (_, db) = new_store(dir.path(), 1);
        let share = &shares()[0];
        let k1 = db.nonce_store::<Taproot>(key("k1"));
        let k2 = db.nonce_store::<Taproot>(key("k2"));
        let s = session();
        k1.put(s, nonces(share)).unwrap();
        assert!(matches!(
            k1.put(s, nonces(share)),
            Err(SignerError::NonceExists(_))
        ));
        // Session ids are unique across keys too.
        assert!(matches!(
            k2.put(s, nonces(share)),
            Err(SignerError::NonceExists(_))
        ));
        // Another key's store cannot consume (nor burn) the session.
        assert!(matches!(k2.consume(s), Err(SignerError::UnknownSession(_))));
        k1.consume(s).unwrap();
    }

    #[test]
    fn unused_nonces_expire_and_their_sessions_are_abandoned() {
        let dir = tempfile::tempdir().unwrap();
        let (_path, db) = new_store(dir.path(), 1);
        let share = &shares()[0];
        let store = db
            .nonce_store::<Taproot>(key("k1"))
            .with_ttl(Duration::from_millis(0));
        let (old, new) = (session(), session());
        store.put(old, nonces(share)).unwrap();
        // The next round 1 drops the expired nonces and marks their session abandoned.
        store.put(new, nonces(share)).unwrap();
        let states: Vec<_> = db
            .nonce_records()
            .unwrap()
            .iter()
            .map(|r| r.state)
            .collect();
        assert_eq!(states, vec![NonceState::Abandoned, NonceState::Fresh]);
        match store.consume(old) {
            Err(SignerError::NonceAlreadyUsed(m)) => assert!(m.contains("abandoned"), "{m}"),
            other => panic!("expected NonceAlreadyUsed, got {:?}", other.err()),
        }
        assert!(store.fresh().len() <= 1);
    }

    #[test]
    fn restart_abandons_fresh_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let (path, db) = new_store(dir.path(), 1);
        let share = &shares()[0];
        let (fresh, used) = (session(), session());
        {
            let store = db.nonce_store::<Taproot>(key("k1"));
            store.put(fresh, nonces(share)).unwrap();
            store.put(used, nonces(share)).unwrap();
            store.consume(used).unwrap();
        }
        drop(db);

        let db = Arc::new(NodeStore::open(&path, b"pass").unwrap());
        assert_eq!(db.abandon_fresh_nonces().unwrap(), 1);
        assert_eq!(db.abandon_fresh_nonces().unwrap(), 0);
        let store = db.nonce_store::<Taproot>(key("k1"));
        match store.consume(fresh) {
            Err(SignerError::NonceAlreadyUsed(m)) => assert!(m.contains("abandoned"), "{m}"),
            other => panic!("expected NonceAlreadyUsed, got {:?}", other.err()),
        }
        assert!(matches!(
            store.consume(used),
            Err(SignerError::NonceAlreadyUsed(_))
        ));
        for s in [fresh, used] {
            assert!(matches!(
                store.put(s, nonces(share)),
                Err(SignerError::NonceExists(_))
            ));
        }
        let states: Vec<_> = db
            .nonce_records()
            .unwrap()
            .into_iter()
            .map(|r| (r.session, r.state))
            .collect();
        assert_eq!(
            states,
            vec![(fresh, NonceState::Abandoned), (used, NonceState::Used)]
        );
    }

    #[test]
    fn fresh_row_without_nonces_in_memory_is_burned_not_signed() {
        let dir = tempfile::tempdir().unwrap();
        let (_, db) = new_store(dir.path(), 1);
        let share = &shares()[0];
        let s = session();
        db.nonce_store::<Taproot>(key("k1"))
            .put(s, nonces(share))
            .unwrap();
        // A second store for the same key does not hold the nonces.
        let other = db.nonce_store::<Taproot>(key("k1"));
        assert!(matches!(other.consume(s), Err(SignerError::NonceStore(_))));
        assert_eq!(db.nonce_records().unwrap()[0].state, NonceState::Used);
    }

    #[test]
    fn commitments_are_unique_and_signing_works() {
        let dir = tempfile::tempdir().unwrap();
        let shares = shares();
        let public = shares[0].public_key_package().clone();
        let signers: Vec<_> = shares[..2]
            .iter()
            .map(|sh| {
                let (_, db) = new_store(dir.path(), sh.id().get());
                db.put_share(&key("k1"), sh).unwrap();
                let share = db.share::<Taproot>(&key("k1")).unwrap().unwrap();
                (db.clone(), Signer::new(share, db.nonce_store(key("k1"))))
            })
            .collect();
        let message = [9u8; 32];
        for _ in 0..3 {
            let s = session();
            let mut commitments = BTreeMap::new();
            for (_, signer) in &signers {
                commitments.insert(signer.share().id(), signer.round1(s, &mut OsRng).unwrap());
            }
            let package = signing::signing_package(&commitments, &message);
            let mut sig_shares = BTreeMap::new();
            for (_, signer) in &signers {
                sig_shares.insert(signer.share().id(), signer.round2(s, &package).unwrap());
            }
            let sig = signing::aggregate(&package, &sig_shares, &public).unwrap();
            taproot::verify(
                &taproot::x_only_key(&public).unwrap(),
                &message,
                &taproot::signature_bytes(&sig).unwrap(),
            )
            .unwrap();
            assert!(matches!(
                signers[0].1.round2(s, &package),
                Err(SignerError::NonceAlreadyUsed(_))
            ));
        }
        let recs = signers[0].0.nonce_records().unwrap();
        assert_eq!(recs.len(), 3);
        let distinct: std::collections::HashSet<_> =
            recs.iter().map(|r| r.commitments.clone()).collect();
        assert_eq!(distinct.len(), 3);
        assert!(recs.iter().all(|r| r.state == NonceState::Used));
    }

    #[test]
    fn shares_are_encrypted_and_bound_to_their_row() {
        let dir = tempfile::tempdir().unwrap();
        let (path, db) = new_store(dir.path(), 1);
        let a = shares().remove(0);
        let b = shares().remove(0);
        db.put_share(&key("k1"), &a).unwrap();
        db.put_share(&key("k2"), &b).unwrap();
        assert!(matches!(
            db.put_share(&key("k1"), &b),
            Err(StoreError::Exists { .. })
        ));
        // Another signer's share is refused.
        let other = shares().remove(1);
        assert!(matches!(
            db.put_share(&key("k3"), &other),
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(db.key_ids().unwrap(), vec![key("k1"), key("k2")]);
        let back = db.share::<Taproot>(&key("k1")).unwrap().unwrap();
        assert_eq!(back.to_json().unwrap(), a.to_json().unwrap());
        assert!(db.share::<Taproot>(&key("nope")).unwrap().is_none());
        assert!(matches!(
            db.share::<signer::Rfc9591>(&key("k1")),
            Err(StoreError::Signer(SignerError::CiphersuiteMismatch { .. }))
        ));

        // Neither the JSON nor the secret share appears in the files (db, WAL).
        let secret = hex::encode(a.key_package().signing_share().serialize());
        let json = a.to_json().unwrap();
        let mut bytes = Vec::new();
        for e in std::fs::read_dir(dir.path()).unwrap() {
            bytes.extend(std::fs::read(e.unwrap().path()).unwrap());
        }
        let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(contains(b"k1"), "the scan reads the database");
        assert!(!contains(secret.as_bytes()));
        assert!(!contains(&json.as_bytes()[..40]));
        assert!(!contains(b"zkquorum/key-share"));

        // k1's ciphertext copied into k2's row does not decrypt.
        raw(&path)
            .execute(
                "UPDATE shares SET sealed = (SELECT sealed FROM shares WHERE key_id = 'k1')
                 WHERE key_id = 'k2'",
                [],
            )
            .unwrap();
        match db.share::<Taproot>(&key("k2")) {
            Err(StoreError::Tampered { what }) => assert!(what.contains("k2"), "{what}"),
            other => panic!("expected Tampered, got {other:?}"),
        }
        // A truncated value is an error, not a panic.
        raw(&path)
            .execute("UPDATE shares SET sealed = x'0102' WHERE key_id = 'k1'", [])
            .unwrap();
        assert!(matches!(
            db.share::<Taproot>(&key("k1")),
            Err(StoreError::Tampered { .. })
        ));
        // A value of the wrong type is an error too.
        raw(&path)
            .execute("UPDATE shares SET sealed = 42 WHERE key_id = 'k1'", [])
            .unwrap();
        assert!(db.share::<Taproot>(&key("k1")).is_err());
    }

    #[test]
    fn identity_passphrase_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let (path, db) = new_store(dir.path(), 3);
        let id = db.identity().unwrap();
        assert_eq!(*id.signing, [3u8; 32]);
        assert_eq!(*id.hpke, [4u8; 32]);
        assert!(!format!("{id:?}").contains('3'));
        drop(db);

        assert!(matches!(
            NodeStore::create(
                &path,
                SignerId::new(3).unwrap(),
                b"pass",
                TEST_KDF,
                &identity(3)
            ),
            Err(StoreError::Exists { .. })
        ));
        assert!(matches!(
            NodeStore::open(&path, b"wrong"),
            Err(StoreError::WrongPassphrase)
        ));
        let db = NodeStore::open(&path, b"pass").unwrap();
        assert_eq!(db.node_id().get(), 3);
        assert_eq!(*db.identity().unwrap().signing, [3u8; 32]);
        drop(db);

        // Editing the node id is detected.
        raw(&path)
            .execute("UPDATE meta SET value = 2 WHERE key = 'node_id'", [])
            .unwrap();
        assert!(matches!(
            NodeStore::open(&path, b"pass"),
            Err(StoreError::Tampered { .. })
        ));
        // Weak KDF parameters and missing files are refused.
        let weak = KdfParams {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        };
        let weak_path = dir.path().join("weak.db");
        assert!(matches!(
            NodeStore::create(
                &weak_path,
                SignerId::new(1).unwrap(),
                b"p",
                weak,
                &identity(1)
            ),
            Err(StoreError::Kdf(_))
        ));
        assert!(!weak_path.exists());
        assert!(matches!(
            NodeStore::open(&dir.path().join("missing.db"), b"p"),
            Err(StoreError::NotFound { .. })
        ));
    }

    #[test]
    fn wrong_kind_of_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coord.db");
        drop(CoordinatorStore::open(&path).unwrap());
        let err = NodeStore::open(&path, b"pass").unwrap_err();
        assert!(matches!(err, StoreError::WrongRole { .. }), "{err}");
        assert!(err.to_string().contains("coordinator"), "{err}");
        let err = NodeStore::create(
            &path,
            SignerId::new(1).unwrap(),
            b"pass",
            TEST_KDF,
            &identity(1),
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::WrongRole { .. }), "{err}");
    }

    #[test]
    fn policy_history() {
        let dir = tempfile::tempdir().unwrap();
        let (path, db) = new_store(dir.path(), 1);
        assert!(db.policy().unwrap().is_none());
        assert_eq!(db.active_policy_version().unwrap(), None);
        let p1 = circuits::sample::policy();
        let p2 = Policy::new(
            p1.asset(),
            p1.max_amount() / 2,
            p1.not_before(),
            p1.allowlist().to_vec(),
        )
        .unwrap();
        assert_eq!(db.set_policy(&p1).unwrap(), 1);
        assert_eq!(db.policy().unwrap(), Some((1, p1.clone())));
        assert_eq!(db.set_policy(&p2).unwrap(), 2);
        assert_eq!(db.active_policy_version().unwrap(), Some(2));
        drop(db);

        let db = NodeStore::open(&path, b"pass").unwrap();
        assert_eq!(db.policy().unwrap(), Some((2, p2.clone())));
        assert_eq!(db.policy_version(1).unwrap(), Some(p1.clone()));
        assert_eq!(db.policy_version(3).unwrap(), None);
        let conn = raw(&path);
        let bn: String = conn
            .query_row(
                "SELECT commitment_bn254 FROM policies WHERE version = 2",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(bn, hex::encode(p2.commitment::<Bn254>().to_le_bytes()));
        // The allowlist is not in clear.
        let toml: Vec<u8> = conn
            .query_row("SELECT sealed FROM policies WHERE version = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        let entry = p2.allowlist()[0].to_hex();
        assert!(!toml.windows(entry.len()).any(|w| w == entry.as_bytes()));
        // The public commitment is bound to the sealed text.
        conn.execute(
            "UPDATE policies SET commitment_bn254 = ?1 WHERE version = 2",
            [hex::encode([0u8; 32])],
        )
        .unwrap();
        assert!(matches!(db.policy(), Err(StoreError::Tampered { .. })));
    }
}
