//! The node API (coordinator → signer node, mutual TLS): the three DKG steps, the two
//! signing rounds and the node's status. Conversions from the wire into session types
//! ([`Round1ReplyWire::decode`], ...) validate every field and say which one was wrong.

use circuits::Intent;
use frost_core::keys::PublicKeyPackage;
use frost_core::round1::SigningCommitments;
use frost_core::round2::SignatureShare;
use frost_core::SigningPackage;
use serde::{Deserialize, Serialize};
use serde_with::{hex::Hex, serde_as};
use signer::keys::dkg::DkgRound1Message;
use signer::session::{Round1Reply, Round1Request, Round2Reply, Round2Request};
use signer::taproot::Taproot;
use signer::{SessionId, SignerId};

use super::ApiError;
use crate::ids::KeyId;
use crate::net::dkg_seal::SealedShare;
use verifier::audit::KeyAttestation;

/// `POST /v1/dkg/start`: begin a DKG for a new key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgStart {
    /// The new key's id.
    pub key_id: KeyId,
    /// Signers needed.
    pub threshold: u16,
    /// Participants (all nodes of the cluster).
    pub participants: u16,
}

/// Answer to [`DkgStart`]: this node's round-1 broadcast.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgStartReply {
    /// The broadcast.
    pub message: DkgRound1Message<Taproot>,
}

/// `POST /v1/dkg/round2`: everyone's round-1 broadcasts.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgRound2 {
    /// The key.
    pub key_id: KeyId,
    /// Every participant's broadcast (this node's own included or not).
    pub round1: Vec<DkgRound1Message<Taproot>>,
}

/// Answer to [`DkgRound2`]: this node's secret shares, each sealed to its recipient.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgRound2Reply {
    /// One per other participant.
    pub shares: Vec<SealedShare>,
}

/// `POST /v1/dkg/finish`: the sealed shares addressed to this node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgFinish {
    /// The key.
    pub key_id: KeyId,
    /// The shares sealed to this node, one from each other participant.
    pub shares: Vec<SealedShare>,
}

/// Answer to [`DkgFinish`]: the group's public key package as this node computed it and
/// stored as a prepared share, signed with its identity key over
/// [`verifier::audit::key_attestation_message`] (key id, backend, threshold,
/// participants, roster version, package): what the key record keeps.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgFinishReply {
    /// The node.
    pub signer: SignerId,
    /// The public key package.
    pub public_key_package: PublicKeyPackage<Taproot>,
    /// The version of the governed roster the node made the key under.
    pub roster_version: u64,
    /// BIP-340 signature by the node's identity key over the key statement.
    #[serde_as(as = "Hex")]
    pub attestation: [u8; 64],
}

/// `POST /v1/dkg/commit`: every participant's attestation of the key; the node checks them
/// all against the governed roster and its own package, then lets its share sign.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgCommit {
    /// The key.
    pub key_id: KeyId,
    /// One attestation per participant.
    pub attestations: Vec<KeyAttestation>,
}

/// Answer to [`DkgCommit`]: the share of `key_id` is committed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgCommitReply {
    /// The node.
    pub signer: SignerId,
}

/// `GET /v1/node/witness`: the audit-log state a node signed last.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessStateWire {
    /// The log (the trust root's cluster name).
    pub log_id: String,
    /// Records witnessed.
    pub size: u64,
    /// Chain hash of the last one witnessed (zeros for none).
    #[serde_as(as = "Hex")]
    pub head: [u8; 32],
}

/// `POST /v1/node/witness`: the records from `from` on, for the node to verify and sign
/// (answered with a `verifier::audit::WitnessSignature`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessRequest {
    /// The log.
    pub log_id: String,
    /// The index of the first line: the node's witnessed size.
    pub from: u64,
    /// The lines, verbatim.
    pub lines: Vec<String>,
}

/// `POST /v1/sign/round1`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRound1 {
    /// The key.
    pub key_id: KeyId,
    /// The session.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// The intent (private; travels only inside TLS).
    pub intent: Intent,
    /// Session time (unix seconds); nodes refuse one too far from their clock.
    pub now: u64,
    /// The signers asked.
    pub signers: Vec<SignerId>,
}

impl SignRound1 {
    /// The wire form of `req` for `key_id`.
    pub fn encode(key_id: &KeyId, req: &Round1Request) -> Self {
        Self {
            key_id: key_id.clone(),
            session: *req.session.as_bytes(),
            intent: req.intent.clone(),
            now: req.now,
            signers: req.signers.clone(),
        }
    }

    /// The session request.
    pub fn decode(self) -> Round1Request {
        Round1Request {
            session: SessionId::from_bytes(self.session),
            intent: self.intent,
            now: self.now,
            signers: self.signers,
        }
    }
}

/// A round-1 reply on the wire (also the answer to [`SignRound1`]).
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round1ReplyWire {
    /// The session.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// Who replies.
    pub signer: SignerId,
    /// Serialised FROST commitments.
    #[serde_as(as = "Hex")]
    pub commitments: Vec<u8>,
    /// The proof envelope.
    #[serde_as(as = "Hex")]
    pub proof: Vec<u8>,
    /// Public inputs `[C, P, now, binding]`, little-endian.
    #[serde_as(as = "[Hex; 4]")]
    pub public_inputs: [[u8; 32]; 4],
    /// Identity-key signature.
    #[serde_as(as = "Hex")]
    pub attestation: [u8; 64],
}

fn invalid(field: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("{field}: {e}"))
}

impl Round1ReplyWire {
    /// The wire form of a reply.
    pub fn encode(r: &Round1Reply<Taproot>) -> Result<Self, ApiError> {
        Ok(Self {
            session: *r.session.as_bytes(),
            signer: r.signer,
            commitments: r
                .commitments
                .serialize()
                .map_err(|e| ApiError::internal("commitments", e))?,
            proof: r.proof.to_bytes(),
            public_inputs: r.public_inputs,
            attestation: r.attestation,
        })
    }

    /// The reply, every field decoded and checked.
    pub fn decode(self) -> Result<Round1Reply<Taproot>, ApiError> {
        Ok(Round1Reply {
            session: SessionId::from_bytes(self.session),
            signer: self.signer,
            commitments: SigningCommitments::deserialize(&self.commitments)
                .map_err(|e| invalid("commitments", e))?,
            proof: verifier::ProofEnvelope::from_bytes(&self.proof)
                .map_err(|e| invalid("proof", e))?,
            public_inputs: self.public_inputs,
            attestation: self.attestation,
        })
    }
}

/// `POST /v1/sign/round2`.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignRound2 {
    /// The key.
    pub key_id: KeyId,
    /// The session.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// Serialised FROST signing package.
    #[serde_as(as = "Hex")]
    pub package: Vec<u8>,
    /// Every included signer's round-1 reply.
    pub replies: Vec<Round1ReplyWire>,
}

impl SignRound2 {
    /// The wire form of `req` for `key_id`.
    pub fn encode(key_id: &KeyId, req: &Round2Request<Taproot>) -> Result<Self, ApiError> {
        Ok(Self {
            key_id: key_id.clone(),
            session: *req.session.as_bytes(),
            package: req
                .package
                .serialize()
                .map_err(|e| ApiError::internal("signing package", e))?,
            replies: req
                .replies
                .iter()
                .map(Round1ReplyWire::encode)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The session request, every field decoded and checked.
    pub fn decode(self) -> Result<(KeyId, Round2Request<Taproot>), ApiError> {
        Ok((
            self.key_id,
            Round2Request {
                session: SessionId::from_bytes(self.session),
                package: SigningPackage::deserialize(&self.package)
                    .map_err(|e| invalid("package", e))?,
                replies: self
                    .replies
                    .into_iter()
                    .map(Round1ReplyWire::decode)
                    .collect::<Result<_, _>>()?,
            },
        ))
    }
}

/// A round-2 reply on the wire (the answer to [`SignRound2`]).
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round2ReplyWire {
    /// The session.
    #[serde_as(as = "Hex")]
    pub session: [u8; 32],
    /// Who replies.
    pub signer: SignerId,
    /// Serialised signature share.
    #[serde_as(as = "Hex")]
    pub share: Vec<u8>,
    /// Identity-key signature.
    #[serde_as(as = "Hex")]
    pub attestation: [u8; 64],
}

impl Round2ReplyWire {
    /// The wire form of a reply.
    pub fn encode(r: &Round2Reply<Taproot>) -> Self {
        Self {
            session: *r.session.as_bytes(),
            signer: r.signer,
            share: r.share.serialize(),
            attestation: r.attestation,
        }
    }

    /// The reply, decoded and checked.
    pub fn decode(self) -> Result<Round2Reply<Taproot>, ApiError> {
        Ok(Round2Reply {
            session: SessionId::from_bytes(self.session),
            signer: self.signer,
            share: SignatureShare::deserialize(&self.share).map_err(|e| invalid("share", e))?,
            attestation: self.attestation,
        })
    }
}

/// `GET /v1/status` of a node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeStatus {
    /// The node's signer id.
    pub signer: SignerId,
    /// Keys it holds a share of.
    pub keys: Vec<KeyId>,
    /// Version of its active policy, if one is set.
    pub policy_version: Option<u64>,
}
