//! `KeyShare`: one participant's share of a threshold key, and its versioned file format.
//!
//! A share bundles the FROST `KeyPackage` (secret signing share) with the group's
//! `PublicKeyPackage` (every participant's verifying share and the group key), the threshold
//! and the participant list. Everything decoded from outside is cross-checked: the
//! identifier, the group key, the verifying share and the secret share must agree, so a
//! spliced or corrupted file is refused before it can sign.

use core::fmt;
use std::collections::BTreeSet;

use frost_core::keys::{KeyPackage, PublicKeyPackage, VerifyingShare};
use frost_core::{Ciphersuite, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Result, SignerError};
use crate::ids::{SignerId, Threshold};

/// Identifier of the plaintext share format.
const FORMAT: &str = "zkquorum/key-share";
/// Version of the plaintext share format this build reads and writes.
const VERSION: u32 = 1;

/// One participant's share of a `t`-of-`n` threshold key over ciphersuite `C`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyShare<C: Ciphersuite> {
    id: SignerId,
    participants: Vec<SignerId>,
    key_package: KeyPackage<C>,
    public: PublicKeyPackage<C>,
}

impl<C: Ciphersuite> KeyShare<C> {
    /// Assembles a share from FROST packages, checking that they belong together.
    pub fn from_parts(
        id: SignerId,
        participants: impl IntoIterator<Item = SignerId>,
        key_package: KeyPackage<C>,
        public: PublicKeyPackage<C>,
    ) -> Result<Self> {
        let mut participants: Vec<SignerId> = participants.into_iter().collect();
        participants.sort();
        if let Some(w) = participants.windows(2).find(|w| w[0] == w[1]) {
            return Err(SignerError::DuplicateIdentifier(w[0]));
        }
        let n = u16::try_from(participants.len()).map_err(|_| SignerError::InvalidThreshold {
            t: *key_package.min_signers(),
            n: u16::MAX,
        })?;
        let t = *key_package.min_signers();
        Threshold::new(t, n)?;
        if !participants.contains(&id) {
            return Err(SignerError::UnknownSigner(id));
        }
        if *key_package.identifier() != id.to_frost::<C>() {
            return Err(SignerError::InconsistentShare(format!(
                "key package identifier is not that of signer {id}"
            )));
        }
        if public.min_signers() != Some(t) {
            return Err(SignerError::InconsistentShare(format!(
                "public key package threshold {:?} differs from the share's {t}",
                public.min_signers()
            )));
        }
        if public.verifying_key() != key_package.verifying_key() {
            return Err(SignerError::InconsistentShare(
                "group key differs between key package and public key package".into(),
            ));
        }
        let expected: BTreeSet<_> = participants.iter().map(|p| p.to_frost::<C>()).collect();
        let present: BTreeSet<_> = public.verifying_shares().keys().copied().collect();
        if expected != present {
            return Err(SignerError::InconsistentShare(
                "public key package participants differ from the participant list".into(),
            ));
        }
        if public.verifying_shares().get(key_package.identifier())
            != Some(key_package.verifying_share())
        {
            return Err(SignerError::InconsistentShare(format!(
                "verifying share of signer {id} differs from the group's record"
            )));
        }
        if VerifyingShare::<C>::from(*key_package.signing_share()) != *key_package.verifying_share()
        {
            return Err(SignerError::InconsistentShare(
                "secret signing share does not match its verifying share".into(),
            ));
        }
        Ok(Self {
            id,
            participants,
            key_package,
            public,
        })
    }

    /// This participant.
    pub fn id(&self) -> SignerId {
        self.id
    }

    /// Signers needed to sign.
    pub fn threshold(&self) -> u16 {
        *self.key_package.min_signers()
    }

    /// All participants holding a share of this key, sorted.
    pub fn participants(&self) -> &[SignerId] {
        &self.participants
    }

    /// The group's verifying key.
    pub fn group_key(&self) -> &VerifyingKey<C> {
        self.public.verifying_key()
    }

    /// The group key in the ciphersuite's serialization (33-byte SEC1 for secp256k1).
    pub fn group_key_bytes(&self) -> Vec<u8> {
        // Infallible for a decoded or generated key: the group key is never the identity.
        self.public
            .verifying_key()
            .serialize()
            .expect("group key is not the identity")
    }

    /// The FROST key package (holds the secret share).
    pub fn key_package(&self) -> &KeyPackage<C> {
        &self.key_package
    }

    /// The group's public key package.
    pub fn public_key_package(&self) -> &PublicKeyPackage<C> {
        &self.public
    }

    /// The ciphersuite's identifier string.
    pub fn ciphersuite(&self) -> &'static str {
        C::ID
    }

    /// Encodes the share in the versioned JSON format. The result holds the secret share:
    /// it is zeroized on drop; encrypt it (`export_encrypted`) before it touches a disk.
    pub fn to_json(&self) -> Result<Zeroizing<String>> {
        let enc = |what, r: core::result::Result<Vec<u8>, frost_core::Error<C>>| {
            r.map(|b| Zeroizing::new(hex::encode(b)))
                .map_err(|e| SignerError::Decode {
                    what,
                    reason: e.to_string(),
                })
        };
        let key_package = enc("key package", self.key_package.serialize())?;
        let public = enc("public key package", self.public.serialize())?;
        let file = KeyShareFile {
            format: FORMAT.into(),
            version: VERSION,
            ciphersuite: C::ID.into(),
            signer: self.id.get(),
            participants: self.participants.iter().map(|p| p.get()).collect(),
            key_package: key_package.to_string(),
            public_key_package: public.to_string(),
        };
        let json = serde_json::to_string(&file).map(Zeroizing::new);
        drop(file);
        json.map_err(|e| SignerError::Decode {
            what: "key share",
            reason: e.to_string(),
        })
    }

    /// Decodes and validates a share written by [`KeyShare::to_json`].
    pub fn from_json(json: &str) -> Result<Self> {
        let file: KeyShareFile = serde_json::from_str(json).map_err(|e| SignerError::Decode {
            what: "key share",
            reason: e.to_string(),
        })?;
        if file.format != FORMAT {
            return Err(SignerError::Decode {
                what: "key share",
                reason: format!("format is {:?}, expected {FORMAT:?}", file.format),
            });
        }
        if file.version != VERSION {
            return Err(SignerError::UnsupportedVersion {
                what: "key share",
                found: file.version,
                supported: VERSION,
            });
        }
        if file.ciphersuite != C::ID {
            return Err(SignerError::CiphersuiteMismatch {
                expected: C::ID.into(),
                found: file.ciphersuite.clone(),
            });
        }
        let id = SignerId::new(file.signer)?;
        let participants = file
            .participants
            .iter()
            .map(|&p| SignerId::new(p))
            .collect::<Result<Vec<_>>>()?;
        let kp_bytes = Zeroizing::new(decode_hex("key package", &file.key_package)?);
        let key_package = KeyPackage::deserialize(&kp_bytes).map_err(|e| SignerError::Decode {
            what: "key package",
            reason: e.to_string(),
        })?;
        let public = decode_public_key_package(&decode_hex(
            "public key package",
            &file.public_key_package,
        )?)?;
        Self::from_parts(id, participants, key_package, public)
    }
}

/// Decodes a FROST public key package, naming the failure.
pub fn decode_public_key_package<C: Ciphersuite>(bytes: &[u8]) -> Result<PublicKeyPackage<C>> {
    PublicKeyPackage::deserialize(bytes).map_err(|e| SignerError::Decode {
        what: "public key package",
        reason: e.to_string(),
    })
}

pub(crate) fn decode_hex(what: &'static str, s: &str) -> Result<Vec<u8>> {
    hex::decode(s).map_err(|e| SignerError::Decode {
        what,
        reason: e.to_string(),
    })
}

impl<C: Ciphersuite> fmt::Debug for KeyShare<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShare")
            .field("id", &self.id)
            .field("threshold", &self.threshold())
            .field("participants", &self.participants)
            .field("ciphersuite", &C::ID)
            .field("signing_share", &"<redacted>")
            .finish()
    }
}

#[derive(Serialize, Deserialize, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct KeyShareFile {
    format: String,
    version: u32,
    ciphersuite: String,
    signer: u16,
    participants: Vec<u16>,
    key_package: String,
    public_key_package: String,
}
