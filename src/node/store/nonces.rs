//! Round-1 session records in `nonces` (`fresh` → `used` or `abandoned`) and
//! [`SqliteNonceStore`], the durable [`NonceStore`] that keeps the secret nonces in memory
//! only and commits each state change before acting on it.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use frost_core::round1::SigningNonces;
use frost_core::Ciphersuite;
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use signer::{NonceStore, SessionId, SignerError};

use super::{parse_key_id, to_i64, NodeStore};
use crate::ids::KeyId;
use crate::store::{is_constraint, now_secs, StoreError};

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

/// What marking a session's nonces used found.
enum Mark {
    Marked,
    Used,
    Abandoned,
    Unknown,
}

impl NodeStore {
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
                // rusqlite reads a row into a tuple of its columns, in order.
                .query_map([], |r| Row::try_from(r))
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

    pub(super) fn fresh(&self) -> MutexGuard<'_, HashMap<SessionId, (Instant, SigningNonces<C>)>> {
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
