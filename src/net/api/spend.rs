//! Bitcoin spends on the wire: the client's `POST /v1/sign-psbt` and its answer, and the
//! two spend rounds the coordinator runs on the nodes (`POST /v1/node/spend/round1|round2`).
//!
//! The node rounds carry the PSBT itself (base64): every node derives the sighashes, the
//! external outputs, the fee and the lock time from it. The network is not on the wire:
//! each node spends on the network its own `cluster.toml` names. Conversions into session
//! types validate every field and say which one was wrong.

use frost_core::round1::SigningCommitments;
use frost_core::round2::SignatureShare;
use frost_core::SigningPackage;
use serde::{Deserialize, Serialize};
use serde_with::{hex::Hex, serde_as};
use signer::session::spend::{
    SpendRound1Reply, SpendRound1Request, SpendRound2Reply, SpendRound2Request,
};
use signer::session::Excluded;
use signer::{SessionId, SignerId};
use verifier::bitcoin::Network;

use super::ApiError;
use crate::ids::{KeyId, RequestId};

/// The most inputs a spend may have on the wire (a node refuses more before any work).
pub const MAX_SPEND_INPUTS: usize = 1024;

fn invalid(field: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("{field}: {e}"))
}

fn too_many(field: &str, n: usize) -> Result<(), ApiError> {
    if n > MAX_SPEND_INPUTS {
        return Err(invalid(
            field,
            format!("{n} entries, at most {MAX_SPEND_INPUTS}"),
        ));
    }
    Ok(())
}

/// `POST /v1/sign-psbt`: sign every input of a PSBT with the key `key_id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignPsbtRequest {
    /// The key whose P2TR output every input spends.
    pub key_id: KeyId,
    /// The unsigned PSBT (BIP-174, base64), every input with its `witness_utxo`.
    pub psbt: String,
    /// Optional idempotency id (as for `POST /v1/sign`).
    #[serde(default)]
    pub request_id: Option<RequestId>,
}

/// A signed spend (the answer to [`SignPsbtRequest`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignPsbtResponse {
    /// The request.
    pub request_id: RequestId,
    /// The key.
    pub key_id: KeyId,
    /// The session.
    pub session: String,
    /// The finalized PSBT (base64): every input's `final_script_witness` set.
    pub psbt: String,
    /// The signed transaction, consensus-encoded, in hex (ready to broadcast).
    pub tx_hex: String,
    /// Its txid, as Bitcoin displays it.
    pub txid: String,
    /// Position of the audit record in the coordinator's log.
    pub audit_index: u64,
    /// Signers left out along the way, and why.
    pub excluded: Vec<Excluded>,
}

/// `POST /v1/node/spend/round1`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendRound1Wire {
    /// The key.
    pub key_id: KeyId,
    /// The session.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// The unsigned PSBT, base64.
    pub psbt: String,
    /// Session time (unix seconds); nodes refuse one too far from their clock.
    pub now: u64,
    /// The signers asked.
    pub signers: Vec<SignerId>,
}

impl SpendRound1Wire {
    /// The wire form of `req` for `key_id`.
    pub fn encode(key_id: &KeyId, req: &SpendRound1Request) -> Self {
        use bitcoin::base64::Engine;
        Self {
            key_id: key_id.clone(),
            session: *req.session.as_bytes(),
            psbt: bitcoin::base64::engine::general_purpose::STANDARD.encode(&req.psbt),
            now: req.now,
            signers: req.signers.clone(),
        }
    }

    /// The session request on `network` (the node's own), the PSBT decoded from base64
    /// (its contents are checked by the session).
    pub fn decode(self, network: Network) -> Result<SpendRound1Request, ApiError> {
        use bitcoin::base64::Engine;
        let psbt = bitcoin::base64::engine::general_purpose::STANDARD
            .decode(self.psbt.as_bytes())
            .map_err(|e| invalid("psbt", e))?;
        Ok(SpendRound1Request {
            session: SessionId::from_bytes(self.session),
            psbt,
            network,
            now: self.now,
            signers: self.signers,
        })
    }
}

/// A spend round-1 reply on the wire (the answer to [`SpendRound1Wire`]).
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendRound1ReplyWire {
    /// The session.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// Who replies.
    pub signer: SignerId,
    /// Serialised FROST commitments, one per input.
    #[serde_as(as = "Vec<Hex>")]
    pub commitments: Vec<Vec<u8>>,
    /// The proof envelope.
    #[serde_as(as = "Hex")]
    pub proof: Vec<u8>,
    /// Public inputs `[O, fee, lock_time, P, now, binding]`, little-endian.
    #[serde_as(as = "[Hex; 6]")]
    pub public_inputs: [[u8; 32]; 6],
    /// Identity-key signature.
    #[serde_as(as = "Hex")]
    pub attestation: [u8; 64],
}

impl SpendRound1ReplyWire {
    /// The wire form of a reply.
    pub fn encode(r: &SpendRound1Reply) -> Result<Self, ApiError> {
        Ok(Self {
            session: *r.session.as_bytes(),
            signer: r.signer,
            commitments: r
                .commitments
                .iter()
                .map(|c| c.serialize())
                .collect::<Result<_, _>>()
                .map_err(|e| ApiError::internal("commitments", e))?,
            proof: r.proof.to_bytes(),
            public_inputs: r.public_inputs,
            attestation: r.attestation,
        })
    }

    /// The reply, every field decoded and checked.
    pub fn decode(self) -> Result<SpendRound1Reply, ApiError> {
        too_many("commitments", self.commitments.len())?;
        Ok(SpendRound1Reply {
            session: SessionId::from_bytes(self.session),
            signer: self.signer,
            commitments: self
                .commitments
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    SigningCommitments::deserialize(c)
                        .map_err(|e| invalid(&format!("commitments[{i}]"), e))
                })
                .collect::<Result<_, _>>()?,
            proof: verifier::ProofEnvelope::from_bytes(&self.proof)
                .map_err(|e| invalid("proof", e))?,
            public_inputs: self.public_inputs,
            attestation: self.attestation,
        })
    }
}

/// `POST /v1/node/spend/round2`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendRound2Wire {
    /// The key.
    pub key_id: KeyId,
    /// The session.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// Serialised signing packages, one per input.
    #[serde_as(as = "Vec<Hex>")]
    pub packages: Vec<Vec<u8>>,
    /// Every included signer's round-1 reply.
    pub replies: Vec<SpendRound1ReplyWire>,
}

impl SpendRound2Wire {
    /// The wire form of `req` for `key_id`.
    pub fn encode(key_id: &KeyId, req: &SpendRound2Request) -> Result<Self, ApiError> {
        Ok(Self {
            key_id: key_id.clone(),
            session: *req.session.as_bytes(),
            packages: req
                .packages
                .iter()
                .map(|p| p.serialize())
                .collect::<Result<_, _>>()
                .map_err(|e| ApiError::internal("signing package", e))?,
            replies: req
                .replies
                .iter()
                .map(SpendRound1ReplyWire::encode)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The session request, every field decoded and checked.
    pub fn decode(self) -> Result<(KeyId, SpendRound2Request), ApiError> {
        too_many("packages", self.packages.len())?;
        too_many("replies", self.replies.len())?;
        Ok((
            self.key_id,
            SpendRound2Request {
                session: SessionId::from_bytes(self.session),
                packages: self
                    .packages
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        SigningPackage::deserialize(p)
                            .map_err(|e| invalid(&format!("packages[{i}]"), e))
                    })
                    .collect::<Result<_, _>>()?,
                replies: self
                    .replies
                    .into_iter()
                    .map(SpendRound1ReplyWire::decode)
                    .collect::<Result<_, _>>()?,
            },
        ))
    }
}

/// A spend round-2 reply on the wire (the answer to [`SpendRound2Wire`]).
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpendRound2ReplyWire {
    /// The session.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// Who replies.
    pub signer: SignerId,
    /// Serialised signature shares, one per input.
    #[serde_as(as = "Vec<Hex>")]
    pub shares: Vec<Vec<u8>>,
    /// Identity-key signature.
    #[serde_as(as = "Hex")]
    pub attestation: [u8; 64],
}

impl SpendRound2ReplyWire {
    /// The wire form of a reply.
    pub fn encode(r: &SpendRound2Reply) -> Self {
        Self {
            session: *r.session.as_bytes(),
            signer: r.signer,
            shares: r.shares.iter().map(|s| s.serialize()).collect(),
            attestation: r.attestation,
        }
    }

    /// The reply, decoded and checked.
    pub fn decode(self) -> Result<SpendRound2Reply, ApiError> {
        too_many("shares", self.shares.len())?;
        Ok(SpendRound2Reply {
            session: SessionId::from_bytes(self.session),
            signer: self.signer,
            shares: self
                .shares
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    SignatureShare::deserialize(s).map_err(|e| invalid(&format!("shares[{i}]"), e))
                })
                .collect::<Result<_, _>>()?,
            attestation: self.attestation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_fields_are_refused_naming_them() {
        let wire = SpendRound1Wire {
            key_id: KeyId::new("k").unwrap(),
            session: [1; 32],
            psbt: "not base64!".into(),
            now: 1,
            signers: vec![],
        };
        let err = wire.decode(Network::Regtest).unwrap_err();
        assert!(err.message.starts_with("psbt:"), "{}", err.message);

        let reply = SpendRound1ReplyWire {
            session: [1; 32],
            signer: SignerId::new(1).unwrap(),
            commitments: vec![vec![0; 66], vec![1, 2, 3]],
            proof: vec![],
            public_inputs: [[0; 32]; 6],
            attestation: [0; 64],
        };
        let err = reply.decode().unwrap_err();
        assert!(err.message.starts_with("commitments[0]"), "{}", err.message);

        let round2 = SpendRound2Wire {
            key_id: KeyId::new("k").unwrap(),
            session: [1; 32],
            packages: vec![vec![]; MAX_SPEND_INPUTS + 1],
            replies: vec![],
        };
        let err = round2.decode().unwrap_err();
        assert!(err.message.starts_with("packages:"), "{}", err.message);
    }
}
