//! The intents a signer has signed, per key: a signer signs each intent (identified by its
//! key and the intent's `nonce`) at most once, in any session, even across a restart.
//!
//! Session ids only stop a session from being replayed; an intent could otherwise be signed
//! again in a new session (a second payment of the same order). The ledger is consulted at
//! round 1 (an early, clear refusal) and written at round 2 after every check passed and
//! before the share is produced: the write is the commit point, so a crash after it burns
//! the intent (safe: the client re-issues it under a new nonce) and a crash before it
//! signed nothing.

use std::collections::HashSet;
use std::sync::Mutex;

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
    /// `Err(AlreadySigned)` if `nonce` was signed before under this key.
    fn check(&self, nonce: u64) -> Result<(), LedgerError>;
    /// Records `nonce` as signed in `session` (intent commitment `commitment`), atomically
    /// refusing a nonce already recorded.
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
pub struct MemoryIntentLedger(Mutex<HashSet<u64>>);

impl MemoryIntentLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }
}

impl IntentLedger for MemoryIntentLedger {
    fn check(&self, nonce: u64) -> Result<(), LedgerError> {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(&nonce) {
            return Err(LedgerError::AlreadySigned {
                nonce,
                session: None,
            });
        }
        Ok(())
    }

    fn record(&self, nonce: u64, _: &[u8; 32], _: &[u8; 32]) -> Result<(), LedgerError> {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !seen.insert(nonce) {
            return Err(LedgerError::AlreadySigned {
                nonce,
                session: None,
            });
        }
        Ok(())
    }
}
