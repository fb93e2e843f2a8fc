//! Verifying-key fingerprints: what a proof names so a verifier can tell at once whether it
//! holds the right key.

use core::fmt;

use circuits::hash::tagged_hash;
use circuits::BackendId;

/// `blake3("zkquorum/vk/v1" || backend id || len || canonical verifying-key bytes)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VkFingerprint(pub [u8; 32]);

/// Domain tag of [`VkFingerprint::of`].
pub const VK_TAG: &[u8] = b"zkquorum/vk/v1";

impl VkFingerprint {
    /// Fingerprint of a verifying key's canonical bytes for `backend`:
    /// [`tagged_hash`] with the tag `VK_TAG || backend id` and the key bytes as the one part.
    /// The backend id is a fixed-width byte, so it needs no length prefix and belongs to the
    /// tag (the bytes hashed are exactly those of the format above).
    pub fn of(backend: BackendId, vk_bytes: &[u8]) -> Self {
        let mut tag = [0u8; VK_TAG.len() + 1];
        tag[..VK_TAG.len()].copy_from_slice(VK_TAG);
        tag[VK_TAG.len()] = backend.as_u8();
        Self(tagged_hash(&tag, &[vk_bytes]))
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

impl fmt::Display for VkFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for VkFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VkFingerprint({})", &self.to_hex()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_construction() {
        // The v1 format, byte for byte: tag, raw backend byte, u64 LE length, key bytes.
        let mut h = blake3::Hasher::new();
        h.update(b"zkquorum/vk/v1");
        h.update(&[2]);
        h.update(&3u64.to_le_bytes());
        h.update(b"key");
        let fp = VkFingerprint::of(BackendId::Halo2Pasta, b"key");
        assert_eq!(fp.0, *h.finalize().as_bytes());
        assert_ne!(fp, VkFingerprint::of(BackendId::Groth16Bn254, b"key"));
    }
}
