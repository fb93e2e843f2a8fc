//! The coordinator of a proof-carrying signing session, as a sans-IO state machine: it
//! never sends anything itself, it says whom to send what ([`Action`]) and consumes the
//! replies of each fan-out. A driver (in-process: `crate::local`; over the network: the
//! service's) delivers the requests, gathers every reply of one round trip and hands them
//! back together, so the round-1 proofs of one fan-out are verified as one batch.
//!
//! 1. [`SignSession::start`] asks `t` of the candidates for round 1. Every reply is checked —
//!    its identity attestation, that its proof is bound to its own commitments in this
//!    session and proves the requested intent and time under the signer's registered policy
//!    commitment ([`ReplyFault`]) — and the proofs
//!    are verified as one batch. A signer that fails (its own refusal, e.g. its policy, or a
//!    fault found here) is excluded with its reason and another candidate is asked, while
//!    enough remain;
//! 2. round 2 goes to the `t` chosen signers with the signing package and their round-1
//!    replies; a signer that refuses is excluded and the session restarts under a new id
//!    (nonces are single-use);
//! 3. aggregation with cheater detection: a bad share names its signer, who is excluded from
//!    the retry; the final signature is verified before [`Action::Done`].
//!
//! When fewer than `t` usable signers remain, [`CoordinatorError::TooFewSigners`] lists
//! every excluded signer and why (with the policy rule, when a signer's policy refused).

use std::collections::{BTreeMap, VecDeque};

use circuits::public::PublicInputs;
use circuits::{Backend, Intent};
use frost_core::keys::PublicKeyPackage;
use frost_core::Ciphersuite;
use rand_core::{CryptoRng, RngCore};
use verifier::audit::{AuditRecord, SignerEntry, AUDIT_VERSION};
use verifier::contribution::{
    check_contribution, verify_contribution_proofs, Contribution, Expected,
};
use verifier::{RegisteredPolicies, StatementVerifier};

use super::messages::{
    round2_attestation, Roster, Round1Reply, Round1Request, Round2Reply, Round2Request,
};
pub use super::outcome::{CoordinatorError, Excluded, Refusal, ReplyFault, Signed};
use crate::error::SignerError;
use crate::ids::{SessionId, SignerId};
use crate::round::signing;

/// What the driver does next.
#[derive(Debug)]
pub enum Action<C: Ciphersuite> {
    /// Send `request` to every signer in `to` (concurrently), then hand all their replies to
    /// [`SignSession::on_round1`].
    Round1 {
        /// The signers to ask.
        to: Vec<SignerId>,
        /// The request (the same for all).
        request: Round1Request,
    },
    /// Send `request` to every signer in `to`, then hand all their replies to
    /// [`SignSession::on_round2`].
    Round2 {
        /// The chosen signers.
        to: Vec<SignerId>,
        /// The request (the same for all).
        request: Round2Request<C>,
    },
    /// The session produced a verified signature.
    Done(Signed<C>),
    /// The session failed.
    Failed(CoordinatorError),
}

/// One key as its coordinator knows it: the group public key package, the participants'
/// identity keys and the key's statement verifier (verifying keys only: the coordinator
/// never proves, so it never holds a proving key).
pub struct Coordinator<'p, C: Ciphersuite, V: StatementVerifier> {
    public: PublicKeyPackage<C>,
    group_key: Vec<u8>,
    roster: Roster,
    verifier: &'p V,
}

impl<'p, C: Ciphersuite, V: StatementVerifier> Coordinator<'p, C, V> {
    /// A coordinator for the key `public`, its participants' identities and the key's
    /// statement verifier.
    pub fn new(
        public: PublicKeyPackage<C>,
        roster: Roster,
        verifier: &'p V,
    ) -> Result<Self, SignerError> {
        let group_key = public
            .verifying_key()
            .serialize()
            .map_err(|e| SignerError::Frost(e.to_string()))?;
        Ok(Self {
            public,
            group_key,
            roster,
            verifier,
        })
    }

    /// The key's group public key package.
    pub fn public_key_package(&self) -> &PublicKeyPackage<C> {
        &self.public
    }

    fn threshold(&self) -> usize {
        self.public.min_signers().unwrap_or(2) as usize
    }

    /// The audit record of a completed session (`index` and `prev` are set when the record
    /// is appended to a log). Holds no private data: the intent and policy appear only as
    /// their commitments.
    pub fn audit_record(
        &self,
        signed: &Signed<C>,
        key_id: &str,
        time: u64,
    ) -> Result<AuditRecord, CoordinatorError> {
        let err = |e: String| CoordinatorError::AuditRecord(e);
        let group_key: [u8; 33] = self
            .group_key
            .as_slice()
            .try_into()
            .map_err(|_| err("group key is not 33-byte SEC1".into()))?;
        let signature: [u8; 64] = signed
            .signature
            .serialize()
            .map_err(|e| err(e.to_string()))?
            .as_slice()
            .try_into()
            .map_err(|_| err("audit records hold 64-byte BIP-340 signatures".into()))?;
        let signers = signed
            .replies
            .iter()
            .map(|r| {
                let round2 = signed
                    .shares
                    .iter()
                    .find(|s| s.signer == r.signer)
                    .ok_or_else(|| err(format!("no round-2 share of {}", r.signer)))?;
                Ok(SignerEntry {
                    share: round2.share.serialize(),
                    share_attestation: round2.attestation,
                    signer_id: r.signer.get(),
                    identity_key: *self
                        .roster
                        .get(&r.signer)
                        .ok_or_else(|| err(format!("{} not in the roster", r.signer)))?,
                    commitments: r.commitments.serialize().map_err(|e| err(e.to_string()))?,
                    proof: r.proof.to_bytes(),
                    public_inputs: r.public_inputs,
                    attestation: r.attestation,
                })
            })
            .collect::<Result<Vec<_>, CoordinatorError>>()?;
        Ok(AuditRecord {
            version: AUDIT_VERSION,
            index: 0,
            session_id: *signed.session.as_bytes(),
            key_id: key_id.to_string(),
            group_key,
            threshold: self.public.min_signers().unwrap_or(2),
            digest: signed.digest,
            backend: <V::Backend as Backend>::ID.as_u8(),
            vk_fingerprint: *self.verifier.fingerprint().as_bytes(),
            signers,
            signature,
            time,
            prev: [0; 32],
        })
    }
}

type Public<V> = PublicInputs<<<V as StatementVerifier>::Backend as Backend>::F>;

/// Checks one round-1 reply with the one contribution check every verifier runs
/// ([`verifier::contribution`]): identity attestation, envelope, public inputs, intent and
/// time, binding. (The proof itself is verified with the others' in one batch.)
fn check_reply<C: Ciphersuite, V: StatementVerifier>(
    key: &Coordinator<'_, C, V>,
    session: &SessionId,
    intent_commitment: &[u8; 32],
    now: u64,
    policies: &RegisteredPolicies,
    r: &Round1Reply<C>,
) -> Result<Public<V>, ReplyFault> {
    let commitments = r
        .commitments
        .serialize()
        .map_err(|e| ReplyFault::Commitments(e.to_string()))?;
    let proof = r.proof.to_bytes();
    let contribution = Contribution {
        signer_id: r.signer.get(),
        identity_key: key.roster.get(&r.signer),
        commitments: &commitments,
        proof: &proof,
        public_inputs: &r.public_inputs,
        attestation: &r.attestation,
    };
    let expected = Expected {
        session_id: session.as_bytes(),
        group_key: &key.group_key,
        derived: std::slice::from_ref(intent_commitment),
        now,
        vk_fingerprint: key.verifier.fingerprint(),
        policies,
    };
    check_contribution::<V::Backend>(&contribution, &expected)
        .map(|checked| checked.public)
        .map_err(|e| ReplyFault::Contribution(e.fault))
}

/// Where a session stands.
enum State<C: Ciphersuite, V: StatementVerifier> {
    Round1 {
        request: Round1Request,
        /// Candidates of this attempt not asked yet, in order.
        queue: VecDeque<SignerId>,
        /// Asked in the fan-out in flight.
        asked: Vec<SignerId>,
        /// Replies that passed [`check_reply`], with their public inputs.
        good: Vec<(Round1Reply<C>, Public<V>)>,
        /// How many of `good` are batch-verified.
        verified: usize,
    },
    Round2 {
        request: Round2Request<C>,
        chosen: Vec<SignerId>,
    },
    Finished,
}

/// One signing session of a [`Coordinator`]'s key, from the first round 1 to a verified
/// signature (or a failure), across the restarts a round-2 refusal or a bad share causes.
pub struct SignSession<'k, C: Ciphersuite, V: StatementVerifier> {
    key: &'k Coordinator<'k, C, V>,
    intent: Intent,
    now: u64,
    digest: [u8; 32],
    intent_commitment: [u8; 32],
    policies: RegisteredPolicies,
    candidates: Vec<SignerId>,
    excluded: Vec<Excluded>,
    state: State<C, V>,
}

impl<'k, C: Ciphersuite, V: StatementVerifier> SignSession<'k, C, V> {
    /// Starts a session signing `intent`'s digest, evaluated at `now`, with signers drawn
    /// from `candidates` in order; returns the session and the first round 1 to send.
    /// `policies` are the policy commitments the coordinator's own registry holds for this
    /// key at `now`: a reply proving another `P` is refused like any other fault.
    pub fn start<R: RngCore + CryptoRng>(
        key: &'k Coordinator<'k, C, V>,
        intent: Intent,
        now: u64,
        candidates: Vec<SignerId>,
        policies: RegisteredPolicies,
        rng: &mut R,
    ) -> (Self, Action<C>) {
        let mut session = Self {
            key,
            policies,
            digest: *intent.signed_digest::<V::Backend>().as_bytes(),
            intent_commitment: intent.commitment::<V::Backend>().to_le_bytes(),
            intent,
            now,
            candidates,
            excluded: Vec::new(),
            state: State::Finished,
        };
        let action = session.new_attempt(rng);
        (session, action)
    }

    /// Signers excluded so far, and why.
    pub fn excluded(&self) -> &[Excluded] {
        &self.excluded
    }

    /// The replies to the last [`Action::Round1`], one per signer asked (in any order):
    /// the signer's reply or its refusal. A signer asked but missing here is excluded.
    pub fn on_round1(
        &mut self,
        mut replies: Vec<(SignerId, Result<Round1Reply<C>, Refusal>)>,
    ) -> Action<C> {
        let key = self.key;
        let State::Round1 {
            request,
            asked,
            good,
            ..
        } = &mut self.state
        else {
            return self.out_of_order("round-1");
        };
        for id in std::mem::take(asked) {
            match take_reply(&mut replies, id) {
                None => self.excluded.push(Excluded::fault(id, ReplyFault::NoReply)),
                Some(Err(refusal)) => self.excluded.push(Excluded::refused(id, refusal)),
                Some(Ok(r)) if r.signer != id || r.session != request.session => self
                    .excluded
                    .push(Excluded::fault(id, ReplyFault::WrongSignerOrSession)),
                Some(Ok(r)) => {
                    let (c, now, policies) = (&self.intent_commitment, self.now, &self.policies);
                    match check_reply(key, &request.session, c, now, policies, &r) {
                        Ok(p) => good.push((r, p)),
                        Err(f) => self.excluded.push(Excluded::fault(id, f)),
                    }
                }
            }
        }
        self.next_round1()
    }

    /// The replies to the last [`Action::Round2`], one per chosen signer. A refusal (or a
    /// missing reply) restarts the session without that signer under a new id; so does a
    /// share that aggregation names as invalid.
    pub fn on_round2<R: RngCore + CryptoRng>(
        &mut self,
        mut replies: Vec<(SignerId, Result<Round2Reply<C>, Refusal>)>,
        rng: &mut R,
    ) -> Action<C> {
        let (request, chosen) = match std::mem::replace(&mut self.state, State::Finished) {
            State::Round2 { request, chosen } => (request, chosen),
            other => {
                self.state = other;
                return self.out_of_order("round-2");
            }
        };
        let mut shares = BTreeMap::new();
        let mut kept = Vec::new();
        let mut refused = false;
        for id in chosen {
            match take_reply(&mut replies, id) {
                Some(Ok(reply)) if reply.signer == id => {
                    // The share must carry the signer's own signature over it: the record
                    // keeps it, so an auditor sees who released each share.
                    let attested = self.key.roster.get(&id).is_some_and(|key| {
                        let msg =
                            round2_attestation(&request.session, id, &reply.share.serialize());
                        verifier::verify_bip340(key, &msg, &reply.attestation).is_ok()
                    });
                    if attested {
                        shares.insert(reply.signer, reply.share);
                        kept.push(reply);
                        continue;
                    }
                    self.excluded
                        .push(Excluded::fault(id, ReplyFault::Round2Attestation));
                }
                Some(Ok(_)) => self
                    .excluded
                    .push(Excluded::fault(id, ReplyFault::Round2WrongSigner)),
                Some(Err(mut refusal)) => {
                    refusal.reason = format!("round 2: {}", refusal.reason);
                    self.excluded.push(Excluded::refused(id, refusal));
                }
                None => self.excluded.push(Excluded::fault(id, ReplyFault::NoReply)),
            }
            refused = true;
        }
        if refused {
            return self.new_attempt(rng);
        }
        match signing::aggregate(&request.package, &shares, &self.key.public) {
            Ok(signature) => {
                if let Err(e) = self
                    .key
                    .public
                    .verifying_key()
                    .verify(&self.digest, &signature)
                {
                    return Action::Failed(CoordinatorError::FinalSignature(e.to_string()));
                }
                Action::Done(Signed {
                    session: request.session,
                    digest: self.digest,
                    signature,
                    replies: request.replies,
                    shares: kept,
                    excluded: std::mem::take(&mut self.excluded),
                })
            }
            Err(SignerError::InvalidSignatureShares(culprits)) => {
                for c in culprits {
                    self.excluded
                        .push(Excluded::fault(c, ReplyFault::InvalidSignatureShare));
                }
                self.new_attempt(rng)
            }
            Err(e) => Action::Failed(CoordinatorError::FinalSignature(e.to_string())),
        }
    }

    fn out_of_order(&self, got: &'static str) -> Action<C> {
        let expected = match self.state {
            State::Round1 { .. } => "round-1 replies",
            State::Round2 { .. } => "round-2 replies",
            State::Finished => "nothing (finished)",
        };
        Action::Failed(CoordinatorError::OutOfOrder { got, expected })
    }

    fn too_few(&mut self, usable: usize) -> Action<C> {
        self.state = State::Finished;
        Action::Failed(CoordinatorError::TooFewSigners {
            need: self.key.threshold(),
            usable,
            excluded: std::mem::take(&mut self.excluded),
        })
    }

    /// A new session id over every candidate not excluded yet.
    fn new_attempt<R: RngCore + CryptoRng>(&mut self, rng: &mut R) -> Action<C> {
        let pool: Vec<SignerId> = self
            .candidates
            .iter()
            .copied()
            .filter(|c| !self.excluded.iter().any(|x| x.signer == *c))
            .collect();
        if pool.len() < self.key.threshold() {
            return self.too_few(pool.len());
        }
        self.state = State::Round1 {
            request: Round1Request {
                session: SessionId::random(rng),
                intent: self.intent.clone(),
                now: self.now,
                signers: pool.clone(),
            },
            queue: pool.into(),
            asked: Vec::new(),
            good: Vec::new(),
            verified: 0,
        };
        self.next_round1()
    }

    /// Asks as many candidates as are missing until `t` replies pass [`check_reply`], then
    /// verifies their proofs as one batch, excluding failures and asking replacements; with
    /// `t` verified, moves to round 2.
    fn next_round1(&mut self) -> Action<C> {
        let t = self.key.threshold();
        loop {
            let State::Round1 {
                request,
                queue,
                asked,
                good,
                verified,
            } = &mut self.state
            else {
                return self.out_of_order("round-1");
            };
            if good.len() < t {
                let batch: Vec<SignerId> =
                    queue.drain(..(t - good.len()).min(queue.len())).collect();
                if batch.is_empty() {
                    let usable = good.len();
                    return self.too_few(usable);
                }
                asked.clone_from(&batch);
                return Action::Round1 {
                    to: batch,
                    request: request.clone(),
                };
            }
            let items: Vec<_> = good[*verified..]
                .iter()
                .map(|(r, p)| (r.signer.get(), &r.proof, p))
                .collect();
            match verify_contribution_proofs(self.key.verifier, &items) {
                Ok(()) => break,
                Err(mut failures) => {
                    // Remove from the back so the earlier indices stay valid.
                    failures.sort_by_key(|f| std::cmp::Reverse(f.0));
                    for (i, err) in failures {
                        let (r, _) = good.remove(*verified + i);
                        self.excluded.push(Excluded::fault(
                            r.signer,
                            ReplyFault::Contribution(err.fault),
                        ));
                    }
                    *verified = good.len();
                }
            }
        }
        self.round2()
    }

    /// Round 2 to the `t` verified signers, with the signing package and their replies.
    fn round2(&mut self) -> Action<C> {
        let (request, good) = match std::mem::replace(&mut self.state, State::Finished) {
            State::Round1 { request, good, .. } => (request, good),
            other => {
                self.state = other;
                return self.out_of_order("round-1");
            }
        };
        let replies: Vec<Round1Reply<C>> = good.into_iter().map(|(r, _)| r).collect();
        let commitments: BTreeMap<_, _> =
            replies.iter().map(|r| (r.signer, r.commitments)).collect();
        let chosen: Vec<SignerId> = replies.iter().map(|r| r.signer).collect();
        let r2 = Round2Request {
            session: request.session,
            package: signing::signing_package(&commitments, &self.digest),
            replies,
        };
        self.state = State::Round2 {
            request: r2.clone(),
            chosen: chosen.clone(),
        };
        Action::Round2 {
            to: chosen,
            request: r2,
        }
    }
}

/// Takes the first reply from `id` out of `replies`.
fn take_reply<T>(replies: &mut Vec<(SignerId, T)>, id: SignerId) -> Option<T> {
    let i = replies.iter().position(|(s, _)| *s == id)?;
    Some(replies.swap_remove(i).1)
}
