//! BIP-340 verification of final signatures.
//!
//! A zkquorum signature made with the default ciphersuite (`frost-secp256k1-tr`) is a plain
//! BIP-340 Schnorr signature: anyone — an auditor, a Bitcoin node — checks it against the
//! 32-byte x-only group key with no knowledge of the threshold scheme. This module is that
//! check, on `k256::schnorr`, with every malformed input reported as a typed error.

use k256::schnorr::{Signature, VerifyingKey};

/// Why a BIP-340 signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Bip340Error {
    /// The public key is not 32 bytes.
    #[error("x-only public key must be 32 bytes, got {0}")]
    PublicKeyLength(usize),
    /// The 32 bytes are not the x coordinate of a curve point (or are ≥ p).
    #[error("x-only public key {0} is not a point on secp256k1")]
    PublicKeyNotOnCurve(String),
    /// The signature is not 64 bytes.
    #[error("signature must be 64 bytes, got {0}")]
    SignatureLength(usize),
    /// `r` is not a field element or `s` is not below the group order.
    #[error("signature encoding is invalid (r >= p or s >= n)")]
    SignatureEncoding,
    /// The signature does not verify for this key and message.
    #[error("signature does not verify for this key and message")]
    Invalid,
}

/// A validated BIP-340 x-only public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XOnlyPublicKey(VerifyingKey);

impl XOnlyPublicKey {
    /// Parses 32 bytes as an x-only key, rejecting lengths other than 32 and x values
    /// that are not on the curve.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Bip340Error> {
        if bytes.len() != 32 {
            return Err(Bip340Error::PublicKeyLength(bytes.len()));
        }
        VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| Bip340Error::PublicKeyNotOnCurve(hex::encode(bytes)))
    }

    /// The 32-byte x-only encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// Verifies `signature` over `message` (any length, as BIP-340 allows).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Bip340Error> {
        if signature.len() != 64 {
            return Err(Bip340Error::SignatureLength(signature.len()));
        }
        let sig = Signature::try_from(signature).map_err(|_| Bip340Error::SignatureEncoding)?;
        self.0
            .verify_raw(message, &sig)
            .map_err(|_| Bip340Error::Invalid)
    }
}

/// Verifies a BIP-340 signature given raw bytes: a 32-byte x-only key, the message and a
/// 64-byte signature.
pub fn verify_bip340(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Bip340Error> {
    XOnlyPublicKey::from_bytes(public_key)?.verify(message, signature)
}
