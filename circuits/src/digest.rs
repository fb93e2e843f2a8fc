//! The digest FROST signs: a BIP-340-style tagged hash of the intent commitment.
//!
//! `SHA256(SHA256(tag) || SHA256(tag) || backend_id || C)` with `tag = "zkquorum/intent/v1"`,
//! `backend_id` one byte ([`BackendId`]) and `C` the 32 canonical little-endian bytes of the
//! intent commitment. The backend id separates the two commitment fields.

use sha2::{Digest, Sha256};

use crate::field::{Backend, BackendId, StatementField};
use crate::intent::IntentCommitment;

/// The tag of the signed-digest tagged hash.
pub const DIGEST_TAG: &[u8] = b"zkquorum/intent/v1";

/// A 32-byte digest to be threshold-signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignedDigest(pub [u8; 32]);

impl SignedDigest {
    /// The digest of a commitment given as canonical little-endian bytes.
    pub fn from_parts(backend: BackendId, commitment_le: &[u8; 32]) -> Self {
        let tag = Sha256::digest(DIGEST_TAG);
        let mut h = Sha256::new();
        h.update(tag);
        h.update(tag);
        h.update([backend.as_u8()]);
        h.update(commitment_le);
        SignedDigest(h.finalize().into())
    }

    /// The digest of an intent commitment on backend `B`.
    pub fn for_commitment<B: Backend>(c: &IntentCommitment<B::F>) -> Self {
        Self::from_parts(B::ID, &c.0.to_le_bytes32())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}
