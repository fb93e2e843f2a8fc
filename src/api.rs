//! The HTTP/JSON messages of the node API and the client API, and their errors.
//!
//! Binary values travel as lowercase hex; FROST types (DKG packages, public key packages)
//! in frost-core's own serde form. Every request type refuses unknown fields. Conversions
//! from the wire into session types ([`Round1ReplyWire::decode`], ...) validate every field
//! and say which one was wrong.
//!
//! Errors are JSON objects `{"error": code, "message": text}` with, where it applies, the
//! broken policy `rule` and the per-signer reasons `signers` (see [`ApiError`]).

use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequest;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
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

use crate::coordinator::Excluded;
use crate::dkg_seal::SealedShare;
use crate::ids::{KeyId, RequestId};

/// Largest request body a node or the coordinator reads (a round-2 request with ten halo2
/// proofs is ~70 KiB); larger bodies are answered 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------
// Errors

/// An error answer: HTTP status, a stable code, a message, and optional details.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    /// HTTP status (not serialised: it is the response's status).
    #[serde(skip, default = "internal")]
    pub status: u16,
    /// Stable machine-readable code, e.g. `bad_request`, `unknown_key`, `policy_violation`.
    pub error: String,
    /// What was wrong, for people.
    pub message: String,
    /// The broken policy rule, when a policy refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Every signer left out and why, when too few signers agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers: Option<Vec<Excluded>>,
    /// The request this answers (client API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
}

fn internal() -> u16 {
    500
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status: status.as_u16(),
            error: code.into(),
            message: message.into(),
            rule: None,
            signers: None,
            request_id: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `unknown_key`.
    pub fn unknown_key(key: &KeyId) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_key",
            format!("no key {key}"),
        )
    }

    /// 500 `internal` (the details go to the log, not to the client).
    pub fn internal(what: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(what, error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("{what} failed; see the server log"),
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_request",
        };
        // Wrong types and missing fields are 422 in axum; they are bad requests here too.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        Self::new(status, code, r.body_text())
    }
}

/// Runs `f` on the blocking pool (proving, Argon2id, SQLite, blocking HTTP), so slow work
/// never stalls the async workers; a panic in `f` becomes a 500.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("worker task", e))?
}

/// `axum::Json` whose rejections are [`ApiError`] JSON bodies.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

// ---------------------------------------------------------------------------------------
// Node API (coordinator → signer node, mutual TLS)

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

/// Answer to [`DkgFinish`]: the group's public key package as this node computed it,
/// signed with its identity key so the coordinator can show all nodes agree.
#[serde_as]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkgFinishReply {
    /// The node.
    pub signer: SignerId,
    /// The public key package.
    pub public_key_package: PublicKeyPackage<Taproot>,
    /// BIP-340 signature by the node's identity key over [`key_attestation`].
    #[serde_as(as = "Hex")]
    pub attestation: [u8; 64],
}

/// What a node signs when it reports a finished DKG.
pub fn key_attestation(key_id: &KeyId, signer: SignerId, public_key_package: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for part in [
        b"zkquorum/attest/dkg/v1".as_slice(),
        key_id.as_str().as_bytes(),
        &signer.get().to_le_bytes(),
        public_key_package,
    ] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    *h.finalize().as_bytes()
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

// ---------------------------------------------------------------------------------------
// Client API (operator/client → coordinator, mutual TLS)

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
    /// Proof backend (`groth16` or `halo2`).
    pub backend: String,
    /// The group key, 33-byte SEC1 (hex).
    #[serde_as(as = "Hex")]
    pub group_key: Vec<u8>,
    /// The BIP-340 x-only key signatures verify under (hex).
    #[serde_as(as = "Hex")]
    pub x_only_key: [u8; 32],
    /// Creation time (unix seconds).
    pub created_at: u64,
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
    /// The audit record (as written to the log).
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
