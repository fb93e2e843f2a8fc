//! The client API (operator/client → coordinator, mutual TLS): creating and listing keys,
//! sign requests and their outcome, a request's status.

use std::collections::BTreeMap;

use circuits::{BackendId, Intent};
use serde::{Deserialize, Serialize};
use serde_with::{hex::Hex, serde_as};

use crate::coordinator::Excluded;
use crate::ids::{KeyId, RequestId};

/// `POST /v1/keys`: create a key by DKG across all nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// The new key's id.
    pub key_id: KeyId,
}

/// A key as the client API describes it.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyInfo {
    /// The key id.
    pub key_id: KeyId,
    /// Signers needed.
    pub threshold: u16,
    /// Participants.
    pub participants: u16,
    /// Proof backend (`groth16` or `halo2` on the wire).
    #[serde(with = "crate::cluster::config::backend_name")]
    pub backend: BackendId,
    /// The group key, 33-byte SEC1 (hex).
    #[serde_as(as = "Hex")]
    pub group_key: Vec<u8>,
    /// The BIP-340 x-only key signatures verify under (hex).
    #[serde_as(as = "Hex")]
    pub x_only_key: [u8; 32],
    /// Creation time (unix seconds).
    pub created_at: u64,
    /// Whether every node committed the key (only committed keys sign).
    pub committed: bool,
    /// The key record as appended to the audit log (its exact line): every node's
    /// signature over the key, to check before funding it (`zkquorum key verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_record: Option<String>,
    /// The group's Taproot wallet (BIP-86: key path only), derived from the group key.
    /// Absent from coordinators that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taproot: Option<TaprootInfo>,
}

/// A key's Taproot wallet as the client API describes it (`verifier::bitcoin::GroupWallet`).
///
/// The stored group key (frost-secp256k1-tr's DKG output, which frost already tweaked once
/// in `post_dkg`) is the **internal key** `P`: a PSBT's `tap_internal_key`. Coins are paid
/// to the **output key** `Q = P + H_TapTweak(P)·G` (no script tree), and spends are signed
/// under `Q`.
#[serde_as]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaprootInfo {
    /// The internal key `P`, x-only (hex): the PSBT's `tap_internal_key`.
    #[serde_as(as = "Hex")]
    pub internal_key: [u8; 32],
    /// The output key `Q`, x-only (hex): what key-path spends are signed under.
    #[serde_as(as = "Hex")]
    pub output_key: [u8; 32],
    /// The scriptPubKey `OP_1 <Q>` (hex).
    #[serde_as(as = "Hex")]
    pub script_pubkey: Vec<u8>,
    /// The P2TR address on each network, by name (`bitcoin`, `testnet`, `signet`,
    /// `regtest`; testnet and signet share theirs).
    pub addresses: BTreeMap<String, String>,
}

impl TaprootInfo {
    /// The wallet of a group whose internal (stored, x-only) key is `x_only`.
    pub fn from_internal_key(x_only: &[u8; 32]) -> Result<Self, verifier::bitcoin::WalletError> {
        let wallet = verifier::bitcoin::GroupWallet::from_internal_key(x_only)?;
        Ok(Self::of(&wallet))
    }

    /// The description of `wallet`.
    pub fn of(wallet: &verifier::bitcoin::GroupWallet) -> Self {
        Self {
            internal_key: wallet.internal_key(),
            output_key: wallet.output_key(),
            script_pubkey: wallet.script_pubkey().to_bytes(),
            addresses: verifier::bitcoin::NETWORKS
                .iter()
                .map(|(name, net)| (name.to_string(), wallet.address(*net).to_string()))
                .collect(),
        }
    }
}

/// `POST /v1/sign`: sign an intent with a key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The key.
    pub key_id: KeyId,
    /// What to sign.
    pub intent: Intent,
    /// Optional idempotency id: a request resubmitted with the same id gets the first
    /// outcome back instead of a second signature.
    #[serde(default)]
    pub request_id: Option<RequestId>,
}

/// A signed request (the answer to [`SignRequest`], and the `result` of a signed session).
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignResponse {
    /// The request.
    pub request_id: RequestId,
    /// The key.
    pub key_id: KeyId,
    /// The session that produced the signature.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// The signed digest (the intent's commitment digest).
    #[serde_as(as = "Hex")]
    pub digest: [u8; 32],
    /// The BIP-340 signature.
    #[serde_as(as = "Hex")]
    pub signature: [u8; 64],
    /// The x-only key it verifies under.
    #[serde_as(as = "Hex")]
    pub x_only_key: [u8; 32],
    /// Position of the audit record in the coordinator's log.
    pub audit_index: u64,
    /// The audit record, as written to the log (its keys in the log line's order:
    /// serialized compactly it is the stored line, byte for byte).
    pub audit_record: serde_json::Value,
    /// Signers left out along the way, and why.
    pub excluded: Vec<Excluded>,
}

/// `GET /v1/sessions/{request_id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionStatus {
    /// The request.
    pub request_id: RequestId,
    /// The key.
    pub key_id: KeyId,
    /// `running`, `signed`, `rejected` or `failed`.
    pub status: String,
    /// When the request arrived (unix seconds).
    pub created_at: u64,
    /// When it finished.
    pub finished_at: Option<u64>,
    /// The [`SignResponse`] when signed, the [`ApiError`] body otherwise.
    pub result: Option<serde_json::Value>,
}

/// The largest page `GET /v1/audit` returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// `GET /v1/audit?from=N&limit=M`: the query.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The first record's index (default 0).
    #[serde(default)]
    pub from: u64,
    /// At most this many records (default and maximum [`MAX_AUDIT_PAGE`]).
    pub limit: Option<u32>,
}

/// `GET /v1/audit/checkpoints?wait=true`: the query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsQuery {
    /// Wait (a few seconds at most) until every node has signed the log as it is now.
    #[serde(default)]
    pub wait: bool,
}

/// `GET /v1/audit`: a page of the audit log, each record's stored line verbatim (a JSON
/// string decodes to exactly the stored bytes, so the exported log verifies and chains as
/// stored).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditPage {
    /// The index of the first line.
    pub from: u64,
    /// The number of records in the log now.
    pub size: u64,
    /// The lines, in index order.
    pub lines: Vec<String>,
}

/// Why a key's description could not be trusted ([`KeyInfo::verify`]).
#[derive(Debug, thiserror::Error)]
pub enum KeyVerifyError {
    /// The coordinator gave no key record (the key is not committed).
    #[error("key {0} has no key record: it is not committed by every node")]
    NoRecord(KeyId),
    /// The key record line is not a key record.
    #[error("key record of {key_id}: {reason}")]
    Malformed {
        /// The key.
        key_id: KeyId,
        /// What was wrong.
        reason: String,
    },
    /// The key record fails its checks (each failure listed).
    #[error("key record of {key_id} rejected: {}", .failures.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Rejected {
        /// The key.
        key_id: KeyId,
        /// Every failure.
        failures: Vec<verifier::audit::AuditError>,
    },
    /// The description disagrees with the record the nodes signed.
    #[error("key {key_id}: the coordinator says {what}, the nodes signed otherwise")]
    Disagrees {
        /// The key.
        key_id: KeyId,
        /// Which field.
        what: &'static str,
    },
}

impl KeyInfo {
    /// Checks this description against its key record, as a client should before funding
    /// the key: the record must be a valid key record for this key id under `keys`' registry
    /// (every rostered node signed the package with its rostered identity key; threshold,
    /// participants and roster version those in force), and the group key, x-only key,
    /// threshold, participants and backend given here must be the ones the nodes signed.
    pub fn verify(
        &self,
        keys: &verifier::audit::AuditKeys,
    ) -> Result<verifier::audit::KeyRecord, KeyVerifyError> {
        let line = self
            .key_record
            .as_deref()
            .ok_or_else(|| KeyVerifyError::NoRecord(self.key_id.clone()))?;
        let malformed = |reason: String| KeyVerifyError::Malformed {
            key_id: self.key_id.clone(),
            reason,
        };
        let rec = match verifier::audit::LogEntry::from_line(line.as_bytes())
            .map_err(|e| malformed(e.to_string()))?
        {
            verifier::audit::LogEntry::Key(k) => k,
            verifier::audit::LogEntry::Signing(_) | verifier::audit::LogEntry::Spend(_) => {
                return Err(malformed("a signing record, not a key record".into()))
            }
        };
        verifier::audit::check_key_record(&rec, keys).map_err(|failures| {
            KeyVerifyError::Rejected {
                key_id: self.key_id.clone(),
                failures,
            }
        })?;
        let disagrees = |what| KeyVerifyError::Disagrees {
            key_id: self.key_id.clone(),
            what,
        };
        if rec.key_id != self.key_id.as_str() {
            return Err(disagrees("key id"));
        }
        if rec.group_key[..] != self.group_key[..] {
            return Err(disagrees("group key"));
        }
        if rec.group_key[1..] != self.x_only_key[..] {
            return Err(disagrees("x-only key"));
        }
        if let Some(taproot) = &self.taproot {
            let ours = TaprootInfo::from_internal_key(&self.x_only_key)
                .map_err(|e| malformed(e.to_string()))?;
            if *taproot != ours {
                return Err(disagrees("Taproot wallet (internal/output key, address)"));
            }
        }
        if rec.threshold != self.threshold {
            return Err(disagrees("threshold"));
        }
        if rec.participants != self.participants {
            return Err(disagrees("participants"));
        }
        if rec.backend != self.backend as u8 {
            return Err(disagrees("backend"));
        }
        Ok(rec)
    }
}
