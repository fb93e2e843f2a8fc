//! Witnessed checkpoints: the nodes' signatures over the log's state, after they verified
//! the records themselves.
//!
//! After each append the coordinator sends every node the records it has not seen; the node
//! verifies them (they are self-verifying: key records, proofs, attestations, signatures,
//! the registry), checks that they extend the last state it signed (the first new record's
//! `prev` is that state's head, so it never signs a fork or a rewrite of what it signed
//! before), and signs [`checkpoint_message`]`(log id, size, head, time)` with its identity
//! key: "the first `size` lines of log `log id` end in the line whose chain hash is `head`".
//! Because the log is a hash chain, `head` commits to every line before it.
//!
//! An auditor given the log and each node's latest [`WitnessSignature`] ([`Witnesses`])
//! accepts a prefix of the log only as far as at least `min` distinct rostered nodes have
//! signed it ([`AuditKeys::with_witnesses`](super::AuditKeys::with_witnesses)): a re-linked
//! log does not give the heads the nodes signed, a truncated one is shorter than what they
//! signed, and of two forks shown to two auditors at most one can carry the honest nodes'
//! signatures. Records after the witnessed prefix fail as
//! [`AuditError::Unwitnessed`](super::AuditError::Unwitnessed).
//!
//! Why a chain and not an RFC 9162 Merkle tree: an auditor of this log reads every record
//! anyway (each must be verified), and a witness receives every new record, so consistency
//! between two states is one hash comparison (the first new record's `prev`) and inclusion
//! is the chain itself. A Merkle tree would serve light clients that check one record
//! without the rest (O(log n) proofs), which no party here is; it can be added beside the
//! chain without changing what witnesses sign about the prefix.

use circuits::hash::tagged_hash;
use serde::{Deserialize, Serialize};

use super::record::hex_bytes;

/// Domain tag of [`checkpoint_message`].
pub const CHECKPOINT_TAG: &[u8] = b"zkquorum/checkpoint/v1";

/// One node's signature over a state of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSignature {
    /// The node's signer id.
    pub signer_id: u16,
    /// Its identity key (x-only BIP-340), which must be the rostered one.
    #[serde(with = "hex_bytes")]
    pub identity_key: [u8; 32],
    /// Lines of the log it verified.
    pub size: u64,
    /// The chain hash of line `size - 1` (32 zero bytes for an empty log).
    #[serde(with = "hex_bytes")]
    pub head: [u8; 32],
    /// Unix seconds at which it signed (within its clock skew).
    pub time: u64,
    /// BIP-340 signature over [`checkpoint_message`].
    #[serde(with = "hex_bytes")]
    pub signature: [u8; 64],
}

impl WitnessSignature {
    /// The message this signature is over, for log `log_id`.
    pub fn message(&self, log_id: &str) -> [u8; 32] {
        checkpoint_message(log_id, self.size, &self.head, self.time)
    }
}

/// Every node's latest signature over the log, as the coordinator exports it
/// (`zkquorum audit export --checkpoints-out`, `GET /v1/audit/checkpoints`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Witnesses {
    /// The log's id: the cluster name of the trust root.
    pub log_id: String,
    /// At most one per node: its latest.
    pub signatures: Vec<WitnessSignature>,
}

/// `tagged_hash("zkquorum/checkpoint/v1", [log_id, size u64 LE, head, time u64 LE])`, each
/// part length-prefixed: what a node signs when it witnesses the log's first `size` lines.
pub fn checkpoint_message(log_id: &str, size: u64, head: &[u8; 32], time: u64) -> [u8; 32] {
    tagged_hash(
        CHECKPOINT_TAG,
        &[
            log_id.as_bytes(),
            &size.to_le_bytes(),
            head,
            &time.to_le_bytes(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_covers_every_part() {
        let m = checkpoint_message("c", 3, &[1; 32], 9);
        assert_ne!(m, checkpoint_message("d", 3, &[1; 32], 9));
        assert_ne!(m, checkpoint_message("c", 4, &[1; 32], 9));
        assert_ne!(m, checkpoint_message("c", 3, &[2; 32], 9));
        assert_ne!(m, checkpoint_message("c", 3, &[1; 32], 10));
        let mut h = blake3::Hasher::new();
        h.update(CHECKPOINT_TAG);
        for p in [
            &b"c"[..],
            &3u64.to_le_bytes(),
            &[1; 32],
            &9u64.to_le_bytes(),
        ] {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        assert_eq!(m, *h.finalize().as_bytes());
    }
}
