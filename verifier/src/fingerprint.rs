//! Verifying-key fingerprints: what a proof names so a verifier can tell at once whether it
//! holds the right key.

use core::fmt;

use circuits::BackendId;

/// `blake3("zkquorum/vk/v1" || backend id || len || canonical verifying-key bytes)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VkFingerprint(pub [u8; 32]);

impl VkFingerprint {
    /// Fingerprint of a verifying key's canonical bytes for `backend`.
    pub fn of(backend: BackendId, vk_bytes: &[u8]) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(b"zkquorum/vk/v1");
        h.update(&[backend.as_u8()]);
        h.update(&(vk_bytes.len() as u64).to_le_bytes());
        h.update(vk_bytes);
        Self(*h.finalize().as_bytes())
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
