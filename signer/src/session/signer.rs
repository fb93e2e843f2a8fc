//! Proof-carrying signing sessions, the signer's side (transport-agnostic).
//!
//! Round 1 ([`SessionSigner::round1`]): the signer refuses unless the policy it holds is
//! the one the governance registry (its own copy) registers for it, this key and the
//! session's time — so a policy changed locally without the admin quorum, or rolled back,
//! is never proved — then checks the intent against it natively (a violation names the
//! rule), stores fresh single-use nonces, proves the policy
//! statement with a `binding` derived from the session, its id, the group key and *its own
//! round-1 commitments*, and signs the whole reply with its node identity key (BIP-340):
//! Groth16 proofs can be re-randomised by anyone, so the signature — not the proof — says
//! who attested.
//!
//! Round 2 ([`SessionSigner::round2`]) is refused unless the package signs the digest this
//! signer proved, holds its own commitments, and every other included signer's reply is
//! consistent with the package (same commitments, same intent commitment and time, binding
//! derived from its own commitments, `P` the one registered for that signer), carries a valid attestation from that signer's
//! identity key, and a proof that verifies. Only then are the nonces consumed and the share
//! returned, itself signed with the identity key. Each intent is signed at most once per key
//! ([`super::ledger`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use circuits::public::PublicInputs;
use circuits::{Backend, Policy, PolicyViolation, SignedDigest};
use frost_core::Ciphersuite;
use prover::{ProofSystem, ProveError};
use rand_core::{CryptoRng, RngCore};
use verifier::contribution::{
    check_contribution, verify_contribution_proofs, Contribution, Expected,
};
use verifier::{PolicyRegistry, RegisteredPolicies};

use super::ledger::{IntentLedger, LedgerError, MemoryIntentLedger};
use super::messages::{
    binding_for, commitments_bytes, round1_attestation, round2_attestation, Identity, Roster,
    Round1Reply, Round1Request, Round2Reply, Round2Request,
};
use super::outcome::ReplyFault;
use crate::error::SignerError;
use crate::ids::{SessionId, SignerId};
use crate::round::nonce::NonceStore;
use crate::round::signing::Signer;

/// Why a session step was refused.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The intent breaks this signer's policy.
    #[error("policy violated: {0}")]
    Policy(#[from] PolicyViolation),
    /// This signer holds no policy registered for it, this key and the session's time
    /// (none is registered, or the registered `P` is not among the policies it holds): it
    /// proves under no other.
    #[error("no registered policy held: the registry has {} for this signer and key", match registered { Some(p) => format!("P = {p}"), None => "no policy".into() })]
    PolicyNotRegistered {
        /// The registered `P`, hex, if any.
        registered: Option<String>,
    },
    /// The intent was signed before under this key (or the ledger failed).
    #[error(transparent)]
    Replayed(#[from] LedgerError),
    /// This signer is not among the session's signers.
    #[error("signer {0} was not chosen for this session")]
    NotSelected(SignerId),
    /// Round 2 for a session this signer did not prove in round 1.
    #[error("unknown session {0}")]
    UnknownSession(SessionId),
    /// Round 2 came later than the session TTL after this signer's round 1 (measured on
    /// its own clock); the session is forgotten.
    #[error("session {session} expired: round 2 came {age:?} after round 1")]
    Expired {
        /// The session.
        session: SessionId,
        /// Time since this signer's round 1.
        age: std::time::Duration,
    },
    /// The package signs something other than the digest this signer proved.
    #[error("signing package message is not the digest proved in round 1")]
    DigestMismatch,
    /// Another signer's reply does not fit the package or the session.
    #[error("reply of signer {signer} rejected: {fault}")]
    BadReply {
        /// The signer whose reply failed.
        signer: SignerId,
        /// What was wrong.
        fault: ReplyFault,
    },
    /// The spend breaks this signer's spend policy (names the rule and the output).
    #[error("spend policy violated: {0}")]
    Spend(circuits::spend::SpendViolation),
    /// The PSBT is refused (not the group's inputs, a missing UTXO, a sighash type other
    /// than DEFAULT/ALL, malformed bytes...; the message names the input).
    #[error("PSBT refused: {0}")]
    Psbt(String),
    /// The transaction (txid, hex in display order) was signed before under this key.
    #[error("transaction {0} was already signed under this key")]
    TxAlreadySigned(String),
    /// This signer holds no spend keys for the transaction's size class.
    #[error("no spend keys for the {0}-output class")]
    NoSpendKeys(usize),
    /// A round-2 request with another number of signing packages than the inputs.
    #[error("{packages} signing packages for {inputs} inputs")]
    InputCount {
        /// Packages received.
        packages: usize,
        /// Inputs of the transaction.
        inputs: usize,
    },
    /// A package signs something other than its input's sighash as this signer derived it.
    #[error("signing package {input} does not sign input {input}'s sighash")]
    SighashMismatch {
        /// The input.
        input: usize,
    },
    /// Proving failed.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// A signing-layer error (nonces, commitments, FROST).
    #[error(transparent)]
    Signer(#[from] SignerError),
}

impl SessionError {
    /// What may leave the signer: a policy refusal names only the broken rule — never the
    /// limit, the allowlist, the time lock or the amount compared (the policy is private;
    /// the signer logs the detail locally). Other errors carry no policy data.
    pub fn public_message(&self) -> String {
        match self {
            SessionError::Policy(v) => format!("policy refused: {}", v.rule()),
            SessionError::Spend(v) => super::spend::spend_refusal(v),
            other => other.to_string(),
        }
    }
}

fn with_commitments<B: Backend>(policies: Vec<Policy>) -> Vec<(Policy, [u8; 32])> {
    policies
        .into_iter()
        .map(|p| {
            let c = p.commitment::<B>().to_le_bytes();
            (p, c)
        })
        .collect()
}

/// What round 1 remembers for round 2.
struct Proven {
    digest: SignedDigest,
    intent_nonce: u64,
    intent_commitment: [u8; 32],
    now: u64,
    at: std::time::Instant,
}

/// How long a session waits for round 2 after this signer's round 1, on the signer's own
/// clock (the default of [`SessionSigner::with_session_ttl`]). Round 2 of an older session
/// is refused ([`SessionError::Expired`]): an open session cannot be finished any time
/// later, e.g. after the policy was tightened. Older sessions are also forgotten at the next
/// round 1, so a coordinator that never finishes sessions cannot grow a signer's memory
/// without bound.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// One signer node's session logic: its key share and nonce store, its policy, its identity,
/// the roster of the other participants' identities, the proof system of the key (shared:
/// a node's signers for one key all use the one loaded [`ProofSystem`]) and the key's
/// registered policies ([`Registered`]).
pub struct SessionSigner<C: Ciphersuite, S: NonceStore<C>, P: ProofSystem> {
    pub(super) signer: Signer<C, S>,
    /// The held policies, each with its `P` on this backend (computed once: the allowlist
    /// tree of a large policy is costly).
    policies: std::sync::RwLock<Vec<(Policy, [u8; 32])>>,
    pub(super) identity: Identity,
    pub(super) roster: std::sync::RwLock<Roster>,
    system: Arc<P>,
    pub(super) registered: Registered,
    pub(super) ledger: Arc<dyn IntentLedger>,
    open: Mutex<HashMap<SessionId, Proven>>,
    pub(super) ttl: std::time::Duration,
    /// The Bitcoin spend side ([`super::spend`]): held spend policies, open spends.
    pub(super) spends: super::spend::SpendState,
}

/// Where a [`SessionSigner`] looks up the policies registered for its key: the key's id and
/// the node's own copy of the governance registry.
#[derive(Clone)]
pub struct Registered {
    /// The key's id, as the registry names it.
    pub key_id: String,
    /// The registry.
    pub registry: Arc<dyn PolicyRegistry>,
}

impl Registered {
    /// The `P` of every signer of this key on backend `B` at `now`.
    fn at<B: Backend>(&self, now: u64) -> RegisteredPolicies {
        self.registry.policies(&self.key_id, B::ID, now)
    }

    /// The spend-policy `P` of every signer of this key on backend `B` at `now`.
    pub(super) fn spend_at<B: Backend>(&self, now: u64) -> RegisteredPolicies {
        self.registry.spend_policies(&self.key_id, B::ID, now)
    }
}

impl<C: Ciphersuite, S: NonceStore<C>, P: ProofSystem> SessionSigner<C, S, P> {
    /// A session signer holding `policies` (see [`SessionSigner::set_policies`]).
    pub fn new(
        signer: Signer<C, S>,
        policies: Vec<Policy>,
        identity: Identity,
        roster: Roster,
        system: Arc<P>,
        registered: Registered,
    ) -> Self {
        Self {
            signer,
            policies: std::sync::RwLock::new(with_commitments::<P::Backend>(policies)),
            identity,
            roster: std::sync::RwLock::new(roster),
            system,
            registered,
            ledger: Arc::new(MemoryIntentLedger::new()),
            open: Mutex::new(HashMap::new()),
            ttl: SESSION_TTL,
            spends: Default::default(),
        }
    }

    /// The same signer recording the intents it signs in `ledger` instead of the default
    /// in-memory one (a node passes its database's, so a replay is refused across restarts).
    pub fn with_intent_ledger(mut self, ledger: Arc<dyn IntentLedger>) -> Self {
        self.ledger = ledger;
        self
    }

    /// The same signer looking its key's registered policies up in `registered`.
    pub fn with_registered(mut self, registered: Registered) -> Self {
        self.registered = registered;
        self
    }

    /// The same signer with round 2 refused `ttl` after round 1 instead of [`SESSION_TTL`].
    pub fn with_session_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// This signer's node identity key.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// This signer's id.
    pub fn id(&self) -> SignerId {
        self.signer.share().id()
    }

    /// Replaces the policies this signer holds (an operator's `policy set` adds one; the
    /// node hands over its whole sealed history): later round-1 requests prove under the
    /// one whose `P` the registry registers; sessions already past round 1 are unaffected.
    pub fn set_policies(&self, policies: Vec<Policy>) {
        // A poisoned lock only means a panic elsewhere; the value is still whole.
        let policies = with_commitments::<P::Backend>(policies);
        *self.policies.write().unwrap_or_else(|e| e.into_inner()) = policies;
    }

    /// Replaces the roster of identities the other signers' replies are checked against (a
    /// node hands over the roster its admins put in force, before each round).
    pub fn set_roster(&self, roster: Roster) {
        *self.roster.write().unwrap_or_else(|e| e.into_inner()) = roster;
    }

    /// The held policy registered for this signer on this key at `now`: the registry
    /// decides which policy is in force, never the order in which policies were set, so a
    /// policy set locally without the admin quorum is never proved, and deleting newer
    /// policies cannot bring an older one back.
    pub fn registered_policy(&self, now: u64) -> Result<Policy, SessionError> {
        let me = self.id().get();
        let registered = self.registered.at::<P::Backend>(now);
        let want = registered.get(me);
        let held = self.policies.read().unwrap_or_else(|e| e.into_inner());
        want.and_then(|p| held.iter().rev().find(|(_, c)| c == p))
            .map(|(policy, _)| policy.clone())
            .ok_or_else(|| SessionError::PolicyNotRegistered {
                registered: want.map(hex::encode),
            })
    }

    /// The underlying signer (key share and nonce store).
    pub fn signer(&self) -> &Signer<C, S> {
        &self.signer
    }

    /// Round 1: policy check, fresh nonces, bound proof, signed reply.
    pub fn round1<R: RngCore + CryptoRng>(
        &self,
        req: &Round1Request,
        rng: &mut R,
    ) -> Result<Round1Reply<C>, SessionError> {
        let me = self.id();
        if !req.signers.contains(&me) {
            return Err(SessionError::NotSelected(me));
        }
        let policy = self.registered_policy(req.now)?;
        self.ledger.check(
            req.intent.nonce,
            &req.intent.commitment::<P::Backend>().to_le_bytes(),
        )?;
        // Native check next: a violation is named before any nonce or proof is made.
        circuits::check(&req.intent, &policy, req.now)?;
        let commitments = self.signer.round1(req.session, rng)?;
        let c_bytes = commitments_bytes(&commitments)?;
        let binding = binding_for(
            &req.session,
            me,
            &self.signer.share().group_key_bytes(),
            &c_bytes,
        );
        let proof = self.system.prove_statement(
            req.intent.clone(),
            policy.clone(),
            req.now,
            binding,
            rng,
        )?;
        let public = PublicInputs::<<P::Backend as Backend>::F> {
            intent_commitment: req.intent.commitment::<P::Backend>(),
            policy_commitment: policy.commitment::<P::Backend>(),
            now: req.now,
            binding,
        };
        let public_inputs = public.to_le_bytes();
        let attestation = self.identity.sign(
            &round1_attestation(
                &req.session,
                me,
                &c_bytes,
                &proof.to_bytes(),
                &public_inputs,
            ),
            rng,
        )?;
        let mut open = self
            .open
            .lock()
            .map_err(|_| SessionError::Signer(SignerError::NonceStore("lock poisoned".into())))?;
        open.retain(|_, p| p.at.elapsed() < self.ttl);
        open.insert(
            req.session,
            Proven {
                digest: req.intent.signed_digest::<P::Backend>(),
                intent_nonce: req.intent.nonce,
                intent_commitment: public_inputs[0],
                now: req.now,
                at: std::time::Instant::now(),
            },
        );
        drop(open);
        Ok(Round1Reply {
            session: req.session,
            signer: me,
            commitments,
            proof,
            public_inputs,
            attestation,
        })
    }

    /// Checks one other signer's round-1 reply: it belongs to this session and to the
    /// package, then the one contribution check every verifier runs
    /// ([`verifier::contribution`]). The proof itself is verified with the others' in one
    /// batch.
    fn check_reply(
        &self,
        req: &Round2Request<C>,
        proven: &Proven,
        policies: &RegisteredPolicies,
        reply: &Round1Reply<C>,
    ) -> Result<PublicInputs<<P::Backend as Backend>::F>, SessionError> {
        let who = reply.signer;
        let bad = |fault| SessionError::BadReply { signer: who, fault };
        if reply.session != req.session {
            return Err(bad(ReplyFault::WrongSignerOrSession));
        }
        if req.package.signing_commitments().get(&who.to_frost::<C>()) != Some(&reply.commitments) {
            return Err(bad(ReplyFault::CommitmentsDiffer));
        }
        let commitments = commitments_bytes(&reply.commitments)?;
        let proof = reply.proof.to_bytes();
        let roster = self.roster.read().unwrap_or_else(|e| e.into_inner());
        let contribution = Contribution {
            signer_id: who.get(),
            identity_key: roster.get(&who),
            commitments: &commitments,
            proof: &proof,
            public_inputs: &reply.public_inputs,
            attestation: &reply.attestation,
        };
        let expected = Expected {
            session_id: req.session.as_bytes(),
            group_key: &self.signer.share().group_key_bytes(),
            derived: std::slice::from_ref(&proven.intent_commitment),
            now: proven.now,
            vk_fingerprint: self.system.fingerprint(),
            policies,
        };
        check_contribution::<P::Backend>(&contribution, &expected)
            .map(|checked| checked.public)
            .map_err(|e| bad(ReplyFault::Contribution(e.fault)))
    }

    /// Round 2: every check of the module docs, then the nonces are consumed and the signed
    /// share returned.
    pub fn round2<R: RngCore + CryptoRng>(
        &self,
        req: &Round2Request<C>,
        rng: &mut R,
    ) -> Result<Round2Reply<C>, SessionError> {
        let me = self.id();
        let proven = self
            .open
            .lock()
            .map_err(|_| SessionError::Signer(SignerError::NonceStore("lock poisoned".into())))?
            .remove(&req.session)
            .ok_or(SessionError::UnknownSession(req.session))?;
        let age = proven.at.elapsed();
        if age >= self.ttl {
            return Err(SessionError::Expired {
                session: req.session,
                age,
            });
        }
        if req.package.message() != proven.digest.as_bytes() {
            return Err(SessionError::DigestMismatch);
        }
        let policies = self.registered.at::<P::Backend>(proven.now);
        let mut seen = Vec::new();
        let mut publics = Vec::new();
        for reply in &req.replies {
            if seen.contains(&reply.signer) {
                return Err(SessionError::BadReply {
                    signer: reply.signer,
                    fault: ReplyFault::DuplicateReply,
                });
            }
            seen.push(reply.signer);
            if reply.signer != me {
                publics.push((reply, self.check_reply(req, &proven, &policies, reply)?));
            }
        }
        if req
            .package
            .signing_commitments()
            .keys()
            .any(|id| !seen.iter().any(|s| s.to_frost::<C>() == *id))
        {
            return Err(SessionError::BadReply {
                signer: me,
                fault: ReplyFault::MissingReply,
            });
        }
        let items: Vec<_> = publics
            .iter()
            .map(|(r, p)| (r.signer.get(), &r.proof, p))
            .collect();
        verify_contribution_proofs(self.system.verifier(), &items).map_err(|failures| {
            let (i, e) = &failures[0];
            SessionError::BadReply {
                signer: publics[*i].0.signer,
                fault: ReplyFault::Contribution(e.fault.clone()),
            }
        })?;
        // The commit point: from here on this intent counts as signed under this key.
        self.ledger.record(
            proven.intent_nonce,
            &proven.intent_commitment,
            req.session.as_bytes(),
        )?;
        let share = self.signer.round2(req.session, &req.package)?;
        let attestation = self.identity.sign(
            &round2_attestation(&req.session, me, &share.serialize()),
            rng,
        )?;
        Ok(Round2Reply {
            session: req.session,
            signer: me,
            share,
            attestation,
        })
    }
}
