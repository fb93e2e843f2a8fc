//! Proof-carrying Bitcoin spends, the signer's side: a session signs every input of one
//! transaction, each signer proving once that the transaction meets its spend policy.
//!
//! **One session per transaction, one nonce pair per input.** The statement is about the
//! transaction (its external outputs, fee and lock time), not about an input, so each signer
//! proves it once per session; a session per input would prove it once per input (a 256-
//! output proof costs seconds) and let a coordinator get some inputs signed and not others.
//! Each input gets its own nonces under a session id derived from the session's and the
//! input's index ([`input_session`]), so the nonce store's single-use and crash guarantees
//! hold per input unchanged; the proof's binding covers every input's commitments, so the
//! proof cannot be moved to other nonces.
//!
//! Round 1 ([`SessionSigner::spend_round1`]): the signer derives everything from the PSBT
//! itself — each input's BIP-341 sighash, the external outputs, the fee, the lock time
//! ([`verifier::bitcoin::SpendSummary`]) — refuses a transaction it signed before (by txid,
//! outside the retry window),
//! checks its registered spend policy natively (a violation names the rule and the output),
//! makes one nonce pair per input, proves, and signs the reply with its identity key.
//!
//! Round 2 ([`SessionSigner::spend_round2`]) is refused unless there is one package per
//! input, each signing the sighash this signer derived for that input with the commitments
//! the signers sent for it, and every other signer's reply passes the contribution check
//! ([`verifier::contribution`], the same as for the intent statement) and its proof
//! verifies. Only then are the nonces consumed and one BIP-341 (key-path, BIP-86 tweaked)
//! share per input returned, signed with the identity key.

pub mod coordinator;
pub mod signer;

use frost_core::round1::SigningCommitments;
use frost_core::round2::SignatureShare;
use frost_core::SigningPackage;
use verifier::bitcoin::Network;
use verifier::contribution::{check_spend_contribution, Contribution, ContributionFault, Expected};
use verifier::{ProofEnvelope, RegisteredPolicies, SpendVerifier};

use super::messages::Roster;
use super::outcome::ReplyFault;
use super::signer::SessionError;
use crate::error::SignerError;
use crate::ids::{SessionId, SignerId};
use crate::taproot::Taproot;
use circuits::spend::SpendViolation;

pub use coordinator::{
    derived_inputs, RecordPlace, SpendCoordinator, SpendCoordinatorError, SpendEndpoint,
    SpendSigned,
};
pub use signer::SpendState;

/// Domain tag of [`input_session`].
const INPUT_SESSION_TAG: &[u8] = b"zkquorum/spend-input-session/v1";

/// The nonce-store session of input `input` of spend session `session`.
pub fn input_session(session: &SessionId, input: u32) -> SessionId {
    SessionId::from_bytes(circuits::hash::tagged_hash(
        INPUT_SESSION_TAG,
        &[session.as_bytes(), &input.to_le_bytes()],
    ))
}

/// Round-1 request of a spend.
#[derive(Clone, Debug)]
pub struct SpendRound1Request {
    /// The session.
    pub session: SessionId,
    /// The unsigned PSBT (BIP-174 bytes): every signer derives the sighashes and the public
    /// inputs from it.
    pub psbt: Vec<u8>,
    /// The network the key spends on (its code enters `O`, so a signer whose policy is for
    /// another network cannot prove).
    pub network: Network,
    /// Unix time at which the policy is evaluated and proved.
    pub now: u64,
    /// The signers chosen for this session.
    pub signers: Vec<SignerId>,
}

/// A signer's round-1 reply to a spend: one nonce commitment pair per input, one proof.
#[derive(Clone, Debug)]
pub struct SpendRound1Reply {
    /// The session.
    pub session: SessionId,
    /// Who replies.
    pub signer: SignerId,
    /// Fresh nonce commitments, one per input, in input order.
    pub commitments: Vec<SigningCommitments<Taproot>>,
    /// The spend proof, bound to all of `commitments`.
    pub proof: ProofEnvelope,
    /// Its public inputs `[O, fee, lock_time, P, now, binding]`, canonical little-endian.
    pub public_inputs: [[u8; 32]; 6],
    /// BIP-340 signature by the identity key over the round-1 attestation
    /// ([`verifier::audit::attestation_message`] of [`commitments_list_bytes`]).
    pub attestation: [u8; 64],
}

/// Round-2 request of a spend: one signing package per input, and every chosen signer's
/// round-1 reply.
#[derive(Clone, Debug)]
pub struct SpendRound2Request {
    /// The session.
    pub session: SessionId,
    /// Package `i` signs input `i`'s sighash with the signers' commitments for input `i`.
    pub packages: Vec<SigningPackage<Taproot>>,
    /// The round-1 replies of every signer in the packages.
    pub replies: Vec<SpendRound1Reply>,
}

/// A signer's round-2 reply to a spend: one share per input, signed by its identity key.
#[derive(Clone, Debug)]
pub struct SpendRound2Reply {
    /// The session.
    pub session: SessionId,
    /// Who replies.
    pub signer: SignerId,
    /// Signature shares, one per input.
    pub shares: Vec<SignatureShare<Taproot>>,
    /// BIP-340 signature by the identity key over
    /// [`verifier::audit::share_attestation_message`] of [`shares_list_bytes`].
    pub attestation: [u8; 64],
}

/// The serialized per-input commitments as one byte string
/// ([`verifier::audit::encode_list`]: what the binding, the attestation and the audit
/// record cover).
pub fn commitments_list_bytes(
    commitments: &[SigningCommitments<Taproot>],
) -> Result<Vec<u8>, SessionError> {
    let each = commitments
        .iter()
        .map(|c| c.serialize())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SessionError::Signer(SignerError::Frost(e.to_string())))?;
    Ok(verifier::audit::encode_list(&each))
}

/// The per-input shares as one byte string (what the round-2 attestation and the audit
/// record cover).
pub fn shares_list_bytes(shares: &[SignatureShare<Taproot>]) -> Vec<u8> {
    let each: Vec<Vec<u8>> = shares.iter().map(|s| s.serialize()).collect();
    verifier::audit::encode_list(&each)
}

/// What a spend refusal may say outside the signer: the rule, and the output it is about.
pub fn spend_refusal(v: &SpendViolation) -> String {
    match v.output() {
        Some(o) => format!("spend policy refused: {} (output {o})", v.rule()),
        None => format!("spend policy refused: {}", v.rule()),
    }
}

/// What every spend contribution of one session must agree with, as the checking party
/// derived it itself (from the PSBT, its registry and its roster).
pub(crate) struct SpendExpected<'a> {
    pub session: &'a SessionId,
    pub group_key: &'a [u8],
    /// `[O, fee, lock_time]` derived from the transaction.
    pub derived: &'a [[u8; 32]; 3],
    pub now: u64,
    pub policies: &'a RegisteredPolicies,
    pub roster: &'a Roster,
}

/// A spend reply as the coordinator and every co-signer check it: the one contribution check
/// of [`verifier::contribution`] (identity attestation, envelope naming `verifier`'s key,
/// `O`/fee/lock time/`now` the session's, `P` registered, binding over every input's
/// commitments), then the proof.
pub(crate) fn check_reply<V: SpendVerifier>(
    verifier: &V,
    e: &SpendExpected,
    reply: &SpendRound1Reply,
) -> Result<(), ReplyFault> {
    if reply.session != *e.session {
        return Err(ReplyFault::WrongSignerOrSession);
    }
    let commitments = commitments_list_bytes(&reply.commitments)
        .map_err(|e| ReplyFault::Commitments(e.to_string()))?;
    let proof = reply.proof.to_bytes();
    let contribution = Contribution {
        signer_id: reply.signer.get(),
        identity_key: e.roster.get(&reply.signer),
        commitments: &commitments,
        proof: &proof,
        public_inputs: &reply.public_inputs,
        attestation: &reply.attestation,
    };
    let expected = Expected {
        session_id: e.session.as_bytes(),
        group_key: e.group_key,
        derived: e.derived,
        now: e.now,
        vk_fingerprint: verifier.fingerprint(),
        policies: e.policies,
    };
    let checked = check_spend_contribution::<V::Backend>(&contribution, &expected)
        .map_err(|err| ReplyFault::Contribution(err.fault))?;
    verifier
        .verify(&checked.proof, &checked.public)
        .map_err(|err| ReplyFault::Contribution(ContributionFault::InvalidProof(err)))
}
