//! A signer node's database: identity secrets, key shares, policy history, nonce records.
//!
//! Tables (schema v1):
//!
//! - `meta(key, value)`: `role` = `node`, the KDF `salt`, the `kdf` parameters (JSON), the
//!   passphrase `key_check`, the `node_id` and the sealed `identity` secrets;
//! - `shares(key_id, ciphersuite, sealed, created_at)`: one sealed `KeyShare::to_json` per
//!   key id; (schema v4) with its `state`: `prepared` at the end of a DKG (a new DKG of the
//!   same key id replaces it), `committed` once every node attested the same key (never
//!   overwritten; only committed shares sign);
//! - `policies(version, sealed, commitment_bn254, commitment_pasta, created_at)`: every
//!   policy ever set, the highest version being the active one. The TOML is sealed (a
//!   policy is private: limits and allowlist appear elsewhere only inside commitments); the
//!   per-backend commitments `P` are public and stored in clear, and bound to the sealed
//!   text by its associated data;
//! - `nonces(session, key_id, commitments, state, created_at, used_at)`: one row per round-1
//!   session, `fresh` → `used` (round 2) or `abandoned` (the node restarted in between);
//! - (schema v2) `governance(version, record, created_at)`: the cluster's governance
//!   records, append-only ([`crate::store::governance`]), guarded against rollback by the
//!   sealed high-water mark `meta.governance_mark` ([`governance`]).
//!
//! - (schema v5) `witness(log_id, size, head, updated_at)` and `witnessed_keys(key_id, line)`:
//!   the audit-log state this node last signed as a witness and the key records it saw
//!   ([`witness`]).
//!
//! Every sealed value's associated data names its table and row ([`aad`]); the identity's
//! also binds the node id, so editing `meta.node_id` is detected when the database is
//! opened.
//!
//! The secret nonces are never written anywhere: [`SqliteNonceStore`] keeps them in memory
//! and records only the public commitments and the state. A session id is recorded once and
//! never reused, across restarts too; after a restart the nonces of fresh sessions are gone,
//! so [`NodeStore::abandon_fresh_nonces`] marks those sessions abandoned.
//!
//! The methods of [`NodeStore`] are grouped by table: [`identity`], [`shares`],
//! [`policies`], [`nonces`] (which also holds [`SqliteNonceStore`]) and [`governance`].

pub mod governance;
pub mod identity;
pub mod intents;
pub mod nonces;
pub mod policies;
pub mod shares;
pub mod spend_policies;
pub mod witness;

use identity::identity_aad;
pub use identity::IdentitySecrets;
pub use intents::SqliteIntentLedger;
pub use nonces::{NonceRecord, NonceState, SqliteNonceStore, NONCE_TTL};
pub use policies::PolicyHistoryState;
pub use witness::WitnessState;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rand_core::RngCore;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, TransactionBehavior};
use signer::{KdfParams, SignerId};
use zeroize::Zeroizing;

use crate::ids::KeyId;
use crate::store::migrate::Migration;
use crate::store::seal::{SealingKey, SALT_LEN};
use crate::store::{open_db, StoreError};

/// The `meta.role` of a node database.
pub const NODE_ROLE: &str = "node";

/// The node schema, one entry per version.
pub const NODE_MIGRATIONS: &[Migration] = &[
    Migration {
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
    },
    Migration {
        version: 2,
        sql: crate::store::governance::GOVERNANCE_SQL,
    },
    Migration {
        version: 3,
        sql: "
        CREATE TABLE signed_intents (
            key_id TEXT NOT NULL,
            nonce BLOB NOT NULL CHECK (length(nonce) = 8),
            commitment BLOB NOT NULL CHECK (length(commitment) = 32),
            session BLOB NOT NULL CHECK (length(session) = 32),
            signed_at INTEGER NOT NULL,
            PRIMARY KEY (key_id, nonce)
        );
    ",
    },
    Migration {
        version: 4,
        // Shares stored before two-phase keygen were usable, so they count as committed.
        sql: "
        ALTER TABLE shares ADD COLUMN state TEXT NOT NULL DEFAULT 'committed'
            CHECK (state IN ('prepared', 'committed'));
    ",
    },
    Migration {
        version: 5,
        sql: "
        CREATE TABLE witness (
            log_id TEXT PRIMARY KEY,
            size INTEGER NOT NULL CHECK (size >= 0),
            head BLOB NOT NULL CHECK (length(head) = 32),
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE witnessed_keys (
            key_id TEXT PRIMARY KEY,
            line TEXT NOT NULL
        );
    ",
    },
    Migration {
        version: 6,
        sql: "
        CREATE TABLE spend_policies (
            version INTEGER PRIMARY KEY CHECK (version >= 1),
            sealed BLOB NOT NULL,
            commitment_bn254 TEXT NOT NULL,
            commitment_pasta TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
    ",
    },
];

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

/// Reads one `meta` value.
pub(super) fn meta<T>(
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
pub(super) fn required_meta<T>(
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

pub(super) fn blob(v: ValueRef<'_>) -> Option<Vec<u8>> {
    v.as_blob().ok().map(<[u8]>::to_vec)
}

pub(super) fn to_i64(what: &'static str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{what} {v} is too large")))
}

pub(super) fn parse_key_id(table: &str, s: &str) -> Result<KeyId, StoreError> {
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
        let sealed_mark = governance::seal_mark(&key, 0, &[0u8; 32])?;

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
            let rows: [(&str, rusqlite::types::Value); 6] = [
                ("salt", salt.to_vec().into()),
                ("kdf", kdf_json.into()),
                ("key_check", key.check_value().to_vec().into()),
                ("node_id", i64::from(node_id.get()).into()),
                ("identity", sealed_identity.into()),
                (governance::MARK_KEY, sealed_mark.into()),
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
    /// database, [`StoreError::Tampered`] if its node id was edited,
    /// [`StoreError::RolledBack`] if governance records were deleted (see [`governance`]).
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
        // Refuses a governance table rolled back below its sealed high-water mark.
        store.check_governance_mark()?;
        Ok(store)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Connection> {
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
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::rngs::OsRng;
    use signer::keys::dealer;
    use signer::round::signing;
    use signer::taproot::Taproot;
    use signer::{taproot, Signer, Threshold};

    use std::sync::Arc;
    use std::time::Duration;

    use circuits::bn254::Bn254;
    use circuits::Policy;
    use frost_core::round1::SigningNonces;
    use signer::{KeyShare, NonceStore, SessionId, SignerError};

    use super::*;
    use crate::coordinator::store::CoordinatorStore;
    use crate::ids::KeyId;
    use crate::store::seal::TEST_KDF;

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
    fn signed_intents_are_refused_again_across_reopen_and_per_key() {
        use signer::session::{IntentLedger, LedgerError};
        let dir = tempfile::tempdir().unwrap();
        let (path, store) = new_store(dir.path(), 1);
        let key = KeyId::new("treasury").unwrap();
        let ledger = SqliteIntentLedger::new(Arc::clone(&store), key.clone());
        ledger.check(7, &[1; 32]).unwrap();
        ledger.record(7, &[1; 32], &[2; 32]).unwrap();
        // The same intent again within the retry window (a retried request) passes.
        ledger.record(7, &[1; 32], &[8; 32]).unwrap();
        // u64 nonces are stored exactly (no i64 wrap-around collisions).
        ledger.record(u64::MAX, &[1; 32], &[3; 32]).unwrap();
        ledger.record(u64::MAX >> 1, &[1; 32], &[4; 32]).unwrap();
        drop((ledger, store));
        let store = Arc::new(NodeStore::open(&path, b"pass").unwrap());
        let ledger = SqliteIntentLedger::new(Arc::clone(&store), key);
        // Another intent under the same nonce never passes.
        let replay = ledger.record(7, &[0xee; 32], &[5; 32]).unwrap_err();
        assert!(matches!(
            &replay,
            LedgerError::AlreadySigned { nonce: 7, session: Some(s) } if *s == hex::encode([2u8; 32])
        ));
        assert!(matches!(
            ledger.check(u64::MAX, &[2; 32]),
            Err(LedgerError::AlreadySigned { .. })
        ));
        // Past the retry window, the same intent is refused too.
        ledger.check(7, &[1; 32]).unwrap();
        store
            .lock()
            .execute("UPDATE signed_intents SET signed_at = signed_at - 1000", [])
            .unwrap();
        assert!(matches!(
            ledger.check(7, &[1; 32]),
            Err(LedgerError::AlreadySigned { .. })
        ));
        // Another key's ledger is separate.
        let other = SqliteIntentLedger::new(Arc::clone(&store), KeyId::new("ops").unwrap());
        other.record(7, &[1; 32], &[6; 32]).unwrap();
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
        // Only the new session's nonces are still held.
        assert_eq!(store.fresh().len(), 1);
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
                db.commit_share(&key("k1")).unwrap();
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
        db.put_share(&key("k1"), &b).unwrap();
        // A prepared share does not sign and is not listed; a retried DKG replaces it.
        assert!(db.share::<Taproot>(&key("k1")).unwrap().is_none());
        assert!(db.key_ids().unwrap().is_empty());
        db.put_share(&key("k1"), &a).unwrap();
        assert!(matches!(
            db.commit_share(&key("k2")),
            Err(StoreError::NotFound { .. })
        ));
        db.commit_share(&key("k1")).unwrap();
        db.commit_share(&key("k1")).unwrap();
        db.put_share(&key("k2"), &b).unwrap();
        db.commit_share(&key("k2")).unwrap();
        // A committed share is never replaced.
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
            circuits::PolicySalt::from_bytes([0x21; 32]),
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
