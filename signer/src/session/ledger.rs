//! The intents a signer has signed, per key: a signer signs each intent (identified by its
//! key and the intent's `nonce`) at most once, in any session, even across a restart.
//!
//! Session ids only stop a session from being replayed; an intent could otherwise be signed
//! again in a new session (a second payment of the same order). The ledger is consulted at
//! round 1 (an early, clear refusal) and written at round 2 after every check passed and
//! before the share is produced: the write is the commit point, so a crash after it burns
//! the intent (safe: the client re-issues it under a new nonce) and a crash before it
//! signed nothing.
//!
//! One request may take several sessions (a round-2 refusal or a bad share restarts it
//! under a new session id, after this signer may already have recorded the intent), so the
//! same intent — same nonce, same intent commitment `C` — is accepted again within
//! [`RETRY_WINDOW`] of its first signing; after that, and for any other intent under the
//! same nonce, never. A retried request still yields one audit record; the auditor names a
//! digest recorded twice.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after its first signing the same intent may be signed again (a coordinator's
/// retries of one request; its request timeout is 120 s by default).
pub const RETRY_WINDOW: Duration = Duration::from_secs(300);

/// Why the ledger refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The intent was signed before (in session `session`, hex, when known).
    #[error("intent nonce {nonce} was already signed under this key{}", session.as_deref().map(|s| format!(" (session {s})")).unwrap_or_default())]
    AlreadySigned {
        /// The intent's nonce.
        nonce: u64,
        /// The session that signed it, hex.
        session: Option<String>,
    },
    /// The ledger's storage failed (nothing may be signed then).
    #[error("intent ledger: {0}")]
    Storage(String),
}

/// Where a signer records the intents it signed under one key.
pub trait IntentLedger: Send + Sync {
    /// `Err(AlreadySigned)` if `nonce` was signed before under this key, for another
    /// intent (`commitment`) or longer than [`RETRY_WINDOW`] ago.
    fn check(&self, nonce: u64, commitment: &[u8; 32]) -> Result<(), LedgerError>;
    /// Records `nonce` as signed in `session` (intent commitment `commitment`), atomically
    /// refusing what [`IntentLedger::check`] refuses.
    fn record(
        &self,
        nonce: u64,
        commitment: &[u8; 32],
        session: &[u8; 32],
    ) -> Result<(), LedgerError>;
}

/// A ledger in memory: for tests and single-process tools (not durable; nodes use their
/// database's).
#[derive(Debug, Default)]
pub struct MemoryIntentLedger(Mutex<HashMap<u64, ([u8; 32], Instant)>>);

impl MemoryIntentLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }
}

impl IntentLedger for MemoryIntentLedger {
    fn check(&self, nonce: u64, commitment: &[u8; 32]) -> Result<(), LedgerError> {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(&nonce) {
            Some((c, at)) if c != commitment || at.elapsed() > RETRY_WINDOW => {
                Err(LedgerError::AlreadySigned {
                    nonce,
                    session: None,
                })
            }
            _ => Ok(()),
        }
    }

    fn record(&self, nonce: u64, commitment: &[u8; 32], _: &[u8; 32]) -> Result<(), LedgerError> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(&nonce) {
            Some((c, at)) if c != commitment || at.elapsed() > RETRY_WINDOW => {
                Err(LedgerError::AlreadySigned {
                    nonce,
                    session: None,
                })
            }
            Some(_) => Ok(()),
            None => {
                seen.insert(nonce, (*commitment, Instant::now()));
                Ok(())
            }
        }
    }
}
