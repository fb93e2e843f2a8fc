//! The proof envelope: every proof on the wire names its backend and verifying key.
//!
//! Binary layout (version 1), all integers little-endian:
//!
//! ```text
//! magic "ZKQP" (4) | version u8 | backend id u8 | vk fingerprint (32) | proof length u32 | proof
//! ```
//!
//! Decoding checks every field and refuses trailing bytes, so two different byte strings
//! never decode to the same envelope.

use circuits::BackendId;

use crate::error::EnvelopeError;
use crate::fingerprint::VkFingerprint;

const MAGIC: &[u8; 4] = b"ZKQP";
const VERSION: u8 = 1;
const HEADER: usize = 4 + 1 + 1 + 32 + 4;
/// Largest proof body accepted (halo2 proofs of this statement are a few KiB).
pub const MAX_PROOF_BYTES: usize = 1 << 20;

/// A proof with the backend and verifying-key fingerprint it was made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofEnvelope {
    /// Which proof system made the proof.
    pub backend: BackendId,
    /// Fingerprint of the verifying key the proof verifies under.
    pub vk_fingerprint: VkFingerprint,
    /// The backend's proof bytes.
    pub proof: Vec<u8>,
}

impl ProofEnvelope {
    /// Encodes the envelope.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.proof.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(self.backend.as_u8());
        out.extend_from_slice(self.vk_fingerprint.as_bytes());
        out.extend_from_slice(&(self.proof.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.proof);
        out
    }

    /// Decodes and validates an envelope.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() < HEADER {
            return Err(EnvelopeError::Truncated {
                need: HEADER,
                got: bytes.len(),
            });
        }
        if &bytes[..4] != MAGIC {
            return Err(EnvelopeError::BadMagic);
        }
        if bytes[4] != VERSION {
            return Err(EnvelopeError::UnsupportedVersion(bytes[4]));
        }
        let backend =
            BackendId::try_from(bytes[5]).map_err(|_| EnvelopeError::UnknownBackend(bytes[5]))?;
        let mut fp = [0u8; 32];
        fp.copy_from_slice(&bytes[6..38]);
        let mut len = [0u8; 4];
        len.copy_from_slice(&bytes[38..42]);
        let len = u32::from_le_bytes(len) as usize;
        if len > MAX_PROOF_BYTES {
            return Err(EnvelopeError::TooLarge(len));
        }
        let body = &bytes[HEADER..];
        if body.len() < len {
            return Err(EnvelopeError::Truncated {
                need: HEADER + len,
                got: bytes.len(),
            });
        }
        if body.len() > len {
            return Err(EnvelopeError::TrailingBytes(body.len() - len));
        }
        Ok(Self {
            backend,
            vk_fingerprint: VkFingerprint(fp),
            proof: body.to_vec(),
        })
    }

    /// Lower-case hex of [`ProofEnvelope::to_bytes`].
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Decodes hex produced by [`ProofEnvelope::to_hex`].
    pub fn from_hex(s: &str) -> Result<Self, EnvelopeError> {
        let bytes = hex::decode(s).map_err(|e| EnvelopeError::Hex(e.to_string()))?;
        Self::from_bytes(&bytes)
    }
}
