//! Confidential, authenticated DKG round-2 messages (HPKE, RFC 9180).
//!
//! In a networked DKG the coordinator relays every message, but a round-2 message is one
//! participant's secret share for another: if the coordinator could read them it would
//! learn the whole key. Each node therefore has an X25519 key (its public half is in
//! `cluster.toml`) and seals each round-2 message to its recipient with HPKE in *auth*
//! mode (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305): only the recipient
//! can open it, and opening proves it came from the named sender. The HPKE `info` binds
//! the key id, sender and recipient (domain-separated, length-prefixed), so a sealed share
//! cannot be replayed into another key's DKG or presented as another sender's.

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_with::{hex::Hex, serde_as};
use signer::SignerId;
use zeroize::Zeroizing;

use crate::ids::KeyId;

type KemT = X25519HkdfSha256;

/// A node's DKG encryption key pair (X25519).
pub struct HpkeKey {
    secret: <KemT as Kem>::PrivateKey,
    public: <KemT as Kem>::PublicKey,
}

/// Why a sealed share could not be made or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// A key is not a valid X25519 key.
    #[error("invalid HPKE key: {0}")]
    Key(String),
    /// Opening failed: the share was not sealed by the named sender for this recipient and
    /// key id, or it was altered.
    #[error("sealed DKG share from signer {from} does not open: wrong sender, recipient or key id, or altered")]
    Open {
        /// The claimed sender.
        from: SignerId,
    },
    /// Sealing failed.
    #[error("sealing failed: {0}")]
    Seal(String),
}

/// A DKG round-2 message sealed to its recipient.
#[serde_as]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedShare {
    /// Sender.
    pub from: SignerId,
    /// Recipient.
    pub to: SignerId,
    /// HPKE encapsulated key.
    #[serde_as(as = "Hex")]
    pub enc: Vec<u8>,
    /// Ciphertext of the round-2 message JSON.
    #[serde_as(as = "Hex")]
    pub ciphertext: Vec<u8>,
}

fn info(key_id: &KeyId, from: SignerId, to: SignerId) -> Vec<u8> {
    let mut out = Vec::new();
    for part in [
        b"zkquorum/dkg/round2/v1".as_slice(),
        key_id.as_str().as_bytes(),
        &from.get().to_le_bytes(),
        &to.get().to_le_bytes(),
    ] {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn public_key(bytes: &[u8; 32]) -> Result<<KemT as Kem>::PublicKey, SealError> {
    <KemT as Kem>::PublicKey::from_bytes(bytes).map_err(|e| SealError::Key(e.to_string()))
}

impl HpkeKey {
    /// A fresh key pair.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let (secret, public) = KemT::gen_keypair(rng);
        Self { secret, public }
    }

    /// The key pair with secret `bytes`.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SealError> {
        let secret = <KemT as Kem>::PrivateKey::from_bytes(bytes)
            .map_err(|e| SealError::Key(e.to_string()))?;
        let public = KemT::sk_to_pk(&secret);
        Ok(Self { secret, public })
    }

    /// The secret key bytes (to store encrypted).
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&self.secret.to_bytes());
        out
    }

    /// The public key others seal to.
    pub fn public_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.public.to_bytes());
        out
    }

    /// Seals `plaintext` from `from` (this key) to `to`, whose public key is `to_key`.
    pub fn seal<R: RngCore + CryptoRng>(
        &self,
        key_id: &KeyId,
        from: SignerId,
        to: SignerId,
        to_key: &[u8; 32],
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<SealedShare, SealError> {
        let mode = OpModeS::Auth((self.secret.clone(), self.public.clone()));
        let (enc, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, KemT, _>(
            &mode,
            &public_key(to_key)?,
            &info(key_id, from, to),
            plaintext,
            b"",
            rng,
        )
        .map_err(|e| SealError::Seal(e.to_string()))?;
        Ok(SealedShare {
            from,
            to,
            enc: enc.to_bytes().to_vec(),
            ciphertext,
        })
    }

    /// Opens a share sealed to `me` (this key) by `sealed.from`, whose public key is
    /// `from_key`.
    pub fn open(
        &self,
        key_id: &KeyId,
        me: SignerId,
        from_key: &[u8; 32],
        sealed: &SealedShare,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let fail = || SealError::Open { from: sealed.from };
        if sealed.to != me {
            return Err(fail());
        }
        let enc = <KemT as Kem>::EncappedKey::from_bytes(&sealed.enc).map_err(|_| fail())?;
        hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, KemT>(
            &OpModeR::Auth(public_key(from_key)?),
            &self.secret,
            &enc,
            &info(key_id, sealed.from, me),
            &sealed.ciphertext,
            b"",
        )
        .map(Zeroizing::new)
        .map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    #[test]
    fn only_the_recipient_opens_and_only_as_sent() {
        let (a, b, c) = (
            HpkeKey::generate(&mut OsRng),
            HpkeKey::generate(&mut OsRng),
            HpkeKey::generate(&mut OsRng),
        );
        let id = |i| SignerId::new(i).unwrap();
        let key = KeyId::new("k").unwrap();
        let sealed = a
            .seal(&key, id(1), id(2), &b.public_bytes(), b"share", &mut OsRng)
            .unwrap();
        assert_eq!(
            b.open(&key, id(2), &a.public_bytes(), &sealed)
                .unwrap()
                .as_slice(),
            b"share"
        );
        // Another recipient, another claimed sender, another key id, an altered byte.
        assert!(c.open(&key, id(2), &a.public_bytes(), &sealed).is_err());
        assert!(b.open(&key, id(2), &c.public_bytes(), &sealed).is_err());
        assert!(b
            .open(
                &KeyId::new("k2").unwrap(),
                id(2),
                &a.public_bytes(),
                &sealed
            )
            .is_err());
        let mut bad = sealed.clone();
        bad.ciphertext[0] ^= 1;
        assert!(b.open(&key, id(2), &a.public_bytes(), &bad).is_err());
        let mut relabelled = sealed;
        relabelled.from = id(3);
        assert!(b.open(&key, id(2), &a.public_bytes(), &relabelled).is_err());
        // Keys round-trip through their bytes.
        let again = HpkeKey::from_bytes(&a.secret_bytes()).unwrap();
        assert_eq!(again.public_bytes(), a.public_bytes());
    }
}
