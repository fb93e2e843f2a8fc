//! Single-use signing nonces.
//!
//! Reusing a FROST nonce with two different signing packages reveals the signer's secret
//! share, so nonces live in a [`NonceStore`] that enforces "at most once": round 1 puts
//! fresh nonces under a session id (refusing a session that already has any), round 2
//! consumes them, and every later consume of that session fails with
//! [`SignerError::NonceAlreadyUsed`]. A durable store must make the "used" mark reach disk
//! before `consume` returns, so a crash after round 2 can never sign twice.

use std::collections::HashMap;
use std::sync::Mutex;

use frost_core::round1::SigningNonces;
use frost_core::Ciphersuite;

use crate::error::{Result, SignerError};
use crate::ids::SessionId;

/// Storage of round-1 nonces that hands each out at most once.
pub trait NonceStore<C: Ciphersuite> {
    /// Stores fresh nonces for `session`. Fails with [`SignerError::NonceExists`] if the
    /// session already has nonces, fresh or used: a session's nonces are never replaced.
    fn put(&self, session: SessionId, nonces: SigningNonces<C>) -> Result<()>;

    /// Marks the session's nonces used and returns them. Fails with
    /// [`SignerError::NonceAlreadyUsed`] on every call after the first, and with
    /// [`SignerError::UnknownSession`] if round 1 never ran for the session.
    fn consume(&self, session: SessionId) -> Result<SigningNonces<C>>;
}

enum Slot<C: Ciphersuite> {
    Fresh(Box<SigningNonces<C>>),
    Used,
}

/// In-memory [`NonceStore`] (tests, benches, single-process use). The "used" marks are
/// lost when the process ends: nodes use the durable SQLite store.
pub struct MemoryNonceStore<C: Ciphersuite> {
    slots: Mutex<HashMap<SessionId, Slot<C>>>,
}

impl<C: Ciphersuite> Default for MemoryNonceStore<C> {
    fn default() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<C: Ciphersuite> MemoryNonceStore<C> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of sessions whose nonces were consumed.
    pub fn used_count(&self) -> usize {
        self.slots
            .lock()
            .map(|s| s.values().filter(|v| matches!(v, Slot::Used)).count())
            .unwrap_or(0)
    }
}

impl<C: Ciphersuite> NonceStore<C> for MemoryNonceStore<C> {
    fn put(&self, session: SessionId, nonces: SigningNonces<C>) -> Result<()> {
        let mut slots = self
            .slots
            .lock()
            .map_err(|_| SignerError::NonceStore("lock poisoned".into()))?;
        if slots.contains_key(&session) {
            return Err(SignerError::NonceExists(session.to_string()));
        }
        slots.insert(session, Slot::Fresh(Box::new(nonces)));
        Ok(())
    }

    fn consume(&self, session: SessionId) -> Result<SigningNonces<C>> {
        let mut slots = self
            .slots
            .lock()
            .map_err(|_| SignerError::NonceStore("lock poisoned".into()))?;
        match slots.get_mut(&session) {
            None => Err(SignerError::UnknownSession(session.to_string())),
            Some(Slot::Used) => Err(SignerError::NonceAlreadyUsed(session.to_string())),
            Some(slot) => match core::mem::replace(slot, Slot::Used) {
                Slot::Fresh(nonces) => Ok(*nonces),
                Slot::Used => Err(SignerError::NonceAlreadyUsed(session.to_string())),
            },
        }
    }
}
