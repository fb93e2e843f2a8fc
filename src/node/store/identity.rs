//! The node's long-term identity secrets (its BIP-340 signing key and its X25519 HPKE
//! key), sealed in `meta.identity` with associated data that binds the node id.

use signer::SignerId;
use zeroize::Zeroizing;

use super::{blob, required_meta, NodeStore};
use crate::store::seal::aad;
use crate::store::StoreError;

/// A node's long-term identity secrets, raw bytes. Zeroized on drop; `Debug` shows
/// nothing.
#[derive(Clone)]
pub struct IdentitySecrets {
    /// The BIP-340 (secp256k1) identity signing key.
    pub signing: Zeroizing<[u8; 32]>,
    /// The X25519 (HPKE) key.
    pub hpke: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for IdentitySecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentitySecrets(<redacted>)")
    }
}

pub(super) fn identity_aad(node_id: SignerId) -> Vec<u8> {
    aad("meta", &[b"identity", &node_id.get().to_le_bytes()])
}

impl NodeStore {
    /// Decrypts the node's identity secrets.
    pub fn identity(&self) -> Result<IdentitySecrets, StoreError> {
        let sealed = {
            let conn = self.lock();
            required_meta(&conn, &self.path, "identity", blob)?
        };
        let plain = self
            .key
            .open("meta.identity", &identity_aad(self.node_id), &sealed)?;
        if plain.len() != 64 {
            return Err(StoreError::corrupt(
                "meta.identity",
                format!("{} bytes, expected 64", plain.len()),
            ));
        }
        let mut signing = Zeroizing::new([0u8; 32]);
        let mut hpke = Zeroizing::new([0u8; 32]);
        signing.copy_from_slice(&plain[..32]);
        hpke.copy_from_slice(&plain[32..]);
        Ok(IdentitySecrets { signing, hpke })
    }
}
