//! The transaction intent (the private witness behind the signed digest) and its commitment.
//!
//! Field encoding (shared by both backends, see [`Intent::fields`] and [`IntentFields`]):
//! `[version, network, asset, amount, recipient_hi, recipient_lo, valid_after, valid_before,
//! nonce, salt]`, and the commitment is `C = H_INTENT(fields...)` (10 inputs under the
//! intent domain).

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use crate::digest::SignedDigest;
use crate::field::{Backend, StatementField, DOMAIN_INTENT};

/// The only intent format version this crate understands.
pub const INTENT_VERSION: u8 = 1;

/// A 32-byte recipient (address or script hash). Serialized as 64 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Recipient(pub [u8; 32]);

/// A recipient string that is not 32 bytes of hex.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecipientParseError {
    /// Not hexadecimal.
    #[error("recipient {value:?} is not hex: {reason}")]
    BadHex {
        /// The offending text.
        value: String,
        /// What the hex decoder reported.
        reason: String,
    },
    /// Hex of the wrong length.
    #[error("recipient must be 32 bytes (64 hex characters), got {len} bytes")]
    WrongLength {
        /// Decoded length in bytes.
        len: usize,
    },
}

impl Recipient {
    /// The big-endian integer value of the first 16 bytes.
    pub fn hi(&self) -> u128 {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.0[..16]);
        u128::from_be_bytes(b)
    }

    /// The big-endian integer value of the last 16 bytes.
    pub fn lo(&self) -> u128 {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.0[16..]);
        u128::from_be_bytes(b)
    }

    /// Lower-case hex, 64 characters, no prefix.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl FromStr for Recipient {
    type Err = RecipientParseError;
    /// Parses 64 hex characters, with or without a `0x` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_prefix("0x").unwrap_or(t);
        let bytes = hex::decode(t).map_err(|e| RecipientParseError::BadHex {
            value: s.to_string(),
            reason: e.to_string(),
        })?;
        let arr: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| RecipientParseError::WrongLength { len: bytes.len() })?;
        Ok(Recipient(arr))
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.to_hex())
    }
}

impl Serialize for Recipient {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Recipient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The commitment blinding factor: 31 random bytes read as a little-endian integer
/// (< 2^248, canonical in BN254 Fr and Pasta Fp). Zeroized on drop; `Debug` is redacted.
/// Serialized as 62 hex characters.
#[derive(Clone)]
pub struct Salt([u8; 31]);

impl PartialEq for Salt {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for Salt {}

impl Salt {
    /// Wraps 31 bytes (little-endian integer).
    pub fn from_bytes(bytes: [u8; 31]) -> Self {
        Salt(bytes)
    }

    /// A fresh salt from a cryptographic RNG.
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        let mut b = [0u8; 31];
        rng.fill_bytes(&mut b);
        Salt(b)
    }

    /// The raw bytes (little-endian integer).
    pub fn as_bytes(&self) -> &[u8; 31] {
        &self.0
    }

    /// The salt as a field element.
    pub fn to_field<F: StatementField>(&self) -> F {
        F::from_le_bytes31(&self.0)
    }
}

impl Drop for Salt {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(<redacted>)")
    }
}

impl Serialize for Salt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Salt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut s = zeroize::Zeroizing::new(String::deserialize(d)?);
        let mut bytes = zeroize::Zeroizing::new(
            hex::decode(s.trim()).map_err(|e| serde::de::Error::custom(format!("salt: {e}")))?,
        );
        s.zeroize();
        let arr: [u8; 31] = bytes.as_slice().try_into().map_err(|_| {
            serde::de::Error::custom(format!(
                "salt must be 31 bytes (62 hex characters), got {} bytes",
                bytes.len()
            ))
        })?;
        bytes.zeroize();
        Ok(Salt(arr))
    }
}

/// A transaction intent: what the threshold signature will authorise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// Format version, must be [`INTENT_VERSION`].
    pub version: u8,
    /// Network / chain identifier.
    pub network: u32,
    /// Asset identifier (compared against the policy's asset).
    pub asset: u32,
    /// Amount in the asset's smallest unit.
    pub amount: u64,
    /// Destination.
    pub recipient: Recipient,
    /// Earliest unix time (seconds, inclusive) at which the intent may be signed.
    pub valid_after: u64,
    /// Latest unix time (seconds, inclusive) at which the intent may be signed.
    pub valid_before: u64,
    /// Replay-protection nonce.
    pub nonce: u64,
    /// Commitment blinding factor.
    pub salt: Salt,
}

/// An intent document that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IntentParseError {
    /// Malformed JSON, a missing/unknown field or a value out of range.
    #[error("invalid intent JSON: {0}")]
    Json(String),
    /// Malformed TOML, a missing/unknown field or a value out of range.
    #[error("invalid intent TOML: {0}")]
    Toml(String),
    /// The intent could not be written as TOML (e.g. a u64 above i64::MAX).
    #[error("intent cannot be written as TOML: {0}")]
    TomlWrite(String),
}

/// The Poseidon commitment `C` to an intent, over the backend's field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntentCommitment<F>(pub F);

impl<F: StatementField> IntentCommitment<F> {
    /// Canonical little-endian bytes (what the signed digest hashes).
    pub fn to_le_bytes(&self) -> [u8; 32] {
        self.0.to_le_bytes32()
    }
}

impl Intent {
    /// Parses a JSON intent.
    pub fn from_json_str(s: &str) -> Result<Self, IntentParseError> {
        serde_json::from_str(s).map_err(|e| IntentParseError::Json(e.to_string()))
    }

    /// Writes the intent as JSON (contains the salt: treat as secret).
    pub fn to_json_string(&self) -> String {
        // Serializing plain integers/strings into JSON cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a TOML intent.
    pub fn from_toml_str(s: &str) -> Result<Self, IntentParseError> {
        toml::from_str(s).map_err(|e| IntentParseError::Toml(e.to_string()))
    }

    /// Writes the intent as TOML (TOML integers are i64: u64 values above i64::MAX fail).
    pub fn to_toml_string(&self) -> Result<String, IntentParseError> {
        toml::to_string(self).map_err(|e| IntentParseError::TomlWrite(e.to_string()))
    }

    /// The shared field encoding, field by field (hashed in the order of
    /// [`IntentFields::to_array`]).
    pub fn fields<F: StatementField>(&self) -> IntentFields<F> {
        IntentFields {
            version: F::from_u64(self.version.into()),
            network: F::from_u64(self.network.into()),
            asset: F::from_u64(self.asset.into()),
            amount: F::from_u64(self.amount),
            recipient_hi: F::from_u128(self.recipient.hi()),
            recipient_lo: F::from_u128(self.recipient.lo()),
            valid_after: F::from_u64(self.valid_after),
            valid_before: F::from_u64(self.valid_before),
            nonce: F::from_u64(self.nonce),
            salt: self.salt.to_field(),
        }
    }

    /// `C = H_INTENT(fields...)` with the backend's Poseidon.
    pub fn commitment<B: Backend>(&self) -> IntentCommitment<B::F> {
        IntentCommitment(commit_intent_fields::<B>(&self.fields()))
    }

    /// The digest FROST signs for this intent on backend `B`.
    pub fn signed_digest<B: Backend>(&self) -> SignedDigest {
        SignedDigest::for_commitment::<B>(&self.commitment::<B>())
    }
}

/// `H_INTENT(fields...)` over already-encoded fields (used by negative tests that
/// force out-of-range values into the witness).
pub fn commit_intent_fields<B: Backend>(fields: &IntentFields<B::F>) -> B::F {
    B::hash(DOMAIN_INTENT, &fields.to_array())
}

/// The field encoding of an [`Intent`], by name, over any representation `T` of a field
/// element: values natively ([`Intent::fields`], [`crate::WitnessValues`]), allocated
/// variables in the BN254 circuit ([`crate::bn254::IntentVar`]) and assigned cells in the
/// halo2 circuit ([`crate::pasta::IntentVar`]). One struct, so every representation names
/// the same fields and hashes them in the same order.
///
/// `Debug` is redacted: the fields include the salt.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IntentFields<T> {
    /// Format version.
    pub version: T,
    /// Network / chain identifier (a u32).
    pub network: T,
    /// Asset identifier (a u32).
    pub asset: T,
    /// Amount (a u64).
    pub amount: T,
    /// Recipient, high 128 bits (big-endian reading of bytes 0..16).
    pub recipient_hi: T,
    /// Recipient, low 128 bits (big-endian reading of bytes 16..32).
    pub recipient_lo: T,
    /// Start of the validity window (a u64).
    pub valid_after: T,
    /// End of the validity window (a u64).
    pub valid_before: T,
    /// Replay-protection nonce (a u64).
    pub nonce: T,
    /// Commitment blinding factor (below 2^248).
    pub salt: T,
}

impl<T> IntentFields<T> {
    /// Number of fields.
    pub const LEN: usize = 10;

    /// The fields in commitment order: `[version, network, asset, amount, recipient_hi,
    /// recipient_lo, valid_after, valid_before, nonce, salt]`.
    pub fn to_array(&self) -> [T; 10]
    where
        T: Clone,
    {
        [
            self.version.clone(),
            self.network.clone(),
            self.asset.clone(),
            self.amount.clone(),
            self.recipient_hi.clone(),
            self.recipient_lo.clone(),
            self.valid_after.clone(),
            self.valid_before.clone(),
            self.nonce.clone(),
            self.salt.clone(),
        ]
    }

    /// Applies `f` to each field, in commitment order, stopping at the first error.
    pub fn try_map<U, E>(
        &self,
        mut f: impl FnMut(&T) -> Result<U, E>,
    ) -> Result<IntentFields<U>, E> {
        Ok(IntentFields {
            version: f(&self.version)?,
            network: f(&self.network)?,
            asset: f(&self.asset)?,
            amount: f(&self.amount)?,
            recipient_hi: f(&self.recipient_hi)?,
            recipient_lo: f(&self.recipient_lo)?,
            valid_after: f(&self.valid_after)?,
            valid_before: f(&self.valid_before)?,
            nonce: f(&self.nonce)?,
            salt: f(&self.salt)?,
        })
    }

    /// Applies `f` to each field, in commitment order.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> IntentFields<U> {
        match self.try_map(|x| Ok::<U, core::convert::Infallible>(f(x))) {
            Ok(mapped) => mapped,
            Err(never) => match never {},
        }
    }
}

impl<T: Copy> IntentFields<T> {
    /// One accessor per field (`|f| f.amount`, ...): lets a circuit allocate each field
    /// from an assignment that may be absent (key generation) by name, not by position.
    pub fn getters() -> IntentFields<fn(&IntentFields<T>) -> T> {
        IntentFields {
            version: |f| f.version,
            network: |f| f.network,
            asset: |f| f.asset,
            amount: |f| f.amount,
            recipient_hi: |f| f.recipient_hi,
            recipient_lo: |f| f.recipient_lo,
            valid_after: |f| f.valid_after,
            valid_before: |f| f.valid_before,
            nonce: |f| f.nonce,
            salt: |f| f.salt,
        }
    }
}

impl<T> fmt::Debug for IntentFields<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntentFields(<redacted>)")
    }
}
