//! Identifiers: signers, sessions, and the threshold parameters of a key.

use core::fmt;

use frost_core::{Ciphersuite, Identifier};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SignerError};

/// A participant's index in a threshold key, `1..=n`.
///
/// The FROST identifier is derived from it (`Identifier::try_from(u16)`), so the same
/// `SignerId` names the same participant in every ciphersuite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct SignerId(u16);

impl SignerId {
    /// A signer id; zero is rejected.
    pub fn new(id: u16) -> Result<Self> {
        if id == 0 {
            Err(SignerError::ZeroIdentifier)
        } else {
            Ok(Self(id))
        }
    }

    /// The numeric value.
    pub fn get(self) -> u16 {
        self.0
    }

    /// The FROST identifier for this signer.
    pub fn to_frost<C: Ciphersuite>(self) -> Identifier<C> {
        // Infallible: zero is excluded at construction.
        Identifier::try_from(self.0).expect("SignerId is never zero")
    }

    /// Finds the `SignerId` whose FROST identifier is `id` among `candidates`.
    pub(crate) fn from_frost<C: Ciphersuite>(
        id: &Identifier<C>,
        candidates: impl IntoIterator<Item = SignerId>,
    ) -> Option<SignerId> {
        candidates.into_iter().find(|c| c.to_frost::<C>() == *id)
    }

    /// `1..=n` as signer ids.
    pub fn range(n: u16) -> impl Iterator<Item = SignerId> {
        (1..=n).map(SignerId)
    }
}

impl TryFrom<u16> for SignerId {
    type Error = SignerError;
    fn try_from(v: u16) -> Result<Self> {
        Self::new(v)
    }
}

impl From<SignerId> for u16 {
    fn from(v: SignerId) -> u16 {
        v.0
    }
}

impl fmt::Display for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The threshold `t` and group size `n` of a key, validated: `2 <= t <= n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    t: u16,
    n: u16,
}

impl Threshold {
    /// Validates `t`-of-`n`.
    pub fn new(t: u16, n: u16) -> Result<Self> {
        if t < 2 || t > n {
            return Err(SignerError::InvalidThreshold { t, n });
        }
        Ok(Self { t, n })
    }

    /// Signers needed to sign.
    pub fn t(&self) -> u16 {
        self.t
    }

    /// Participants holding a share.
    pub fn n(&self) -> u16 {
        self.n
    }

    /// Checks that `id` is one of this group's `1..=n`.
    pub fn check_member(&self, id: SignerId) -> Result<()> {
        if id.get() > self.n {
            Err(SignerError::IdentifierOutOfRange { id, n: self.n })
        } else {
            Ok(())
        }
    }
}

/// A signing session's identifier: 32 random bytes chosen by the coordinator.
///
/// Nonces are stored under it, so it must be unique per session and key share.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId([u8; 32]);

impl SessionId {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random id.
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self> {
        let v = hex::decode(s).map_err(|e| SignerError::Decode {
            what: "session id",
            reason: e.to_string(),
        })?;
        let arr: [u8; 32] = v.try_into().map_err(|v: Vec<u8>| SignerError::Decode {
            what: "session id",
            reason: format!("expected 32 bytes, got {}", v.len()),
        })?;
        Ok(Self(arr))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}
