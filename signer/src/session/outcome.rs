//! What a signing session ends with and what it reports along the way: a signer's
//! [`Refusal`] (its own, or its transport's), a [`ReplyFault`] the coordinator found in a
//! reply, the [`Excluded`] signers, the [`Signed`] result and the [`CoordinatorError`].

use circuits::Rule;
use frost_core::{Ciphersuite, Signature};
use verifier::contribution::ContributionFault;

use super::messages::{Round1Reply, Round2Reply};
use super::signer::SessionError;
use crate::ids::{SessionId, SignerId};

/// Why a signer did not take part, as it said (or as its transport reported it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The policy rule the intent breaks, when the signer's policy refused
    /// ([`circuits::PolicyViolation::rule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// What happened, for people.
    pub reason: String,
}

impl Refusal {
    /// A refusal that names no policy rule.
    pub fn other(reason: impl Into<String>) -> Self {
        Self {
            rule: None,
            reason: reason.into(),
        }
    }
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl From<SessionError> for Refusal {
    fn from(e: SessionError) -> Self {
        Self {
            rule: match &e {
                SessionError::Policy(v) => Some(v.rule()),
                _ => None,
            },
            reason: e.public_message(),
        }
    }
}

/// What the coordinator itself found wrong with a signer's reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplyFault {
    /// The round-1 reply names another signer or session than the one asked.
    #[error("reply names another signer or session")]
    WrongSignerOrSession,
    /// The reply's commitments do not serialize.
    #[error("{0}")]
    Commitments(String),
    /// The contribution fails the one contribution check ([`verifier::contribution`]):
    /// roster, attestation, envelope, public inputs, intent, time, binding or proof.
    #[error("{0}")]
    Contribution(ContributionFault),
    /// The driver returned no reply for a signer it was asked to reach.
    #[error("no reply")]
    NoReply,
    /// The reply's commitments are not the ones the signing package holds for its signer.
    #[error("commitments differ from the signing package's")]
    CommitmentsDiffer,
    /// Two replies from the same signer in one round-2 request.
    #[error("two replies from the same signer")]
    DuplicateReply,
    /// The signing package names a signer whose reply is not in the round-2 request.
    #[error("the package names a signer with no reply")]
    MissingReply,
    /// The round-2 reply names another signer.
    #[error("round-2 reply names another signer")]
    Round2WrongSigner,
    /// The round-2 reply's attestation is not the signer's identity signature over the
    /// session and its share.
    #[error("round-2 attestation does not verify under the signer's identity key")]
    Round2Attestation,
    /// Aggregation named this signer's signature share as invalid.
    #[error("invalid signature share")]
    InvalidSignatureShare,
}

/// A signer left out of a session, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Excluded {
    /// The signer.
    pub signer: SignerId,
    /// Why, as reported (for a fault found by the coordinator, its text).
    #[serde(flatten)]
    pub refusal: Refusal,
    /// The fault, when the coordinator found it (not on the wire: a refusal read back from
    /// an error body has none).
    #[serde(skip)]
    pub fault: Option<ReplyFault>,
}

impl Excluded {
    pub(crate) fn refused(signer: SignerId, refusal: Refusal) -> Self {
        Self {
            signer,
            refusal,
            fault: None,
        }
    }

    pub(crate) fn fault(signer: SignerId, fault: ReplyFault) -> Self {
        Self {
            signer,
            refusal: Refusal::other(fault.to_string()),
            fault: Some(fault),
        }
    }
}

/// Why the coordinator could not produce a signature.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    /// Fewer than `t` signers are usable; every excluded signer with its reason.
    #[error("need {need} signers, only {usable} usable; excluded: {}", fmt_excluded(.excluded))]
    TooFewSigners {
        /// The threshold.
        need: usize,
        /// Signers still usable.
        usable: usize,
        /// Every excluded signer and why.
        excluded: Vec<Excluded>,
    },
    /// The session cannot be written as an audit record.
    #[error("audit record: {0}")]
    AuditRecord(String),
    /// The aggregated signature does not verify (no culprit could be named).
    #[error("final signature does not verify: {0}")]
    FinalSignature(String),
    /// Replies were handed to a session not waiting for them (`expected` names what it
    /// waits for).
    #[error("{got} replies handed to a session waiting for {expected}")]
    OutOfOrder {
        /// The replies handed in.
        got: &'static str,
        /// What the session waits for.
        expected: &'static str,
    },
}

fn fmt_excluded(e: &[Excluded]) -> String {
    e.iter()
        .map(|x| format!("{}: {}", x.signer, x.refusal))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A completed session: what the audit record is made of.
#[derive(Debug)]
pub struct Signed<C: Ciphersuite> {
    /// The session that produced the signature.
    pub session: SessionId,
    /// The signed digest.
    pub digest: [u8; 32],
    /// The group signature.
    pub signature: Signature<C>,
    /// The round-1 replies (commitments, proofs, public inputs, attestations) of the signers.
    pub replies: Vec<Round1Reply<C>>,
    /// The round-2 replies (signature shares and their attestations), by signer.
    pub shares: Vec<Round2Reply<C>>,
    /// Signers excluded along the way, with the reason.
    pub excluded: Vec<Excluded>,
}
