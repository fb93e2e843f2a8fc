//! The coordinator of a proof-carrying signing session (transport-agnostic).
//!
//! [`Coordinator::sign`] drives DESIGN.md's session against [`Endpoint`]s (an in-process
//! [`SessionSigner`], or a signer node over mutual TLS, [`crate::client::NodeClient`]);
//! requests to several signers go out in parallel:
//!
//! 1. round 1 to `t` signers; every reply is checked — its identity attestation, that its
//!    proof is bound to its own commitments in this session and proves the requested intent
//!    and time — and the proofs are verified as one batch. A signer that fails (policy
//!    refusal, bad proof, bad attestation, error) is excluded with its reason and another
//!    signer is brought in while enough remain;
//! 2. round 2 with the signing package and every chosen signer's reply; a signer that
//!    refuses is excluded and the session restarts under a new id (nonces are single-use);
//! 3. aggregation with cheater detection: a bad share names its signer, who is excluded
//!    from the retry; the final signature is verified before it is returned.
//!
//! When fewer than `t` usable signers remain, [`CoordinatorError::TooFewSigners`] lists
//! every excluded signer and why (with the policy rule, when a signer's policy refused).

use std::collections::BTreeMap;

use circuits::public::PublicInputs;
use circuits::{Backend, Intent};
use frost_core::keys::PublicKeyPackage;
use frost_core::{Ciphersuite, Signature};
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::nonce::NonceStore;
use signer::session::{
    binding_for, round1_attestation, Roster, Round1Reply, Round1Request, Round2Reply,
    Round2Request, SessionError, SessionSigner,
};
use signer::{signing, SessionId, SignerError, SignerId};
use verifier::audit::{AuditRecord, SignerEntry, AUDIT_VERSION};
use verifier::{BatchError, StatementVerifier};

/// Why a signer did not take part: its refusal, or a failure to reach it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The policy rule the intent breaks, when the signer's policy refused
    /// ([`circuits::PolicyViolation::rule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
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
                SessionError::Policy(v) => Some(v.rule().to_string()),
                _ => None,
            },
            reason: e.to_string(),
        }
    }
}

/// A signer left out of a session, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Excluded {
    /// The signer.
    pub signer: SignerId,
    /// Why.
    #[serde(flatten)]
    pub refusal: Refusal,
}

impl Excluded {
    fn new(signer: SignerId, refusal: Refusal) -> Self {
        Self { signer, refusal }
    }
}

/// A signer as the coordinator reaches it. `Sync`: the coordinator calls several signers
/// at once.
pub trait Endpoint<C: Ciphersuite>: Sync {
    /// The signer's id.
    fn id(&self) -> SignerId;
    /// Round 1 of a session.
    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<C>, Refusal>;
    /// Round 2 of a session.
    fn round2(&self, req: &Round2Request<C>) -> Result<Round2Reply<C>, Refusal>;
}

impl<C, S, P> Endpoint<C> for SessionSigner<'_, C, S, P>
where
    C: Ciphersuite,
    S: NonceStore<C> + Sync,
    P: ProofSystem,
{
    fn id(&self) -> SignerId {
        SessionSigner::id(self)
    }
    fn round1(&self, req: &Round1Request) -> Result<Round1Reply<C>, Refusal> {
        Ok(SessionSigner::round1(self, req, &mut OsRng)?)
    }
    fn round2(&self, req: &Round2Request<C>) -> Result<Round2Reply<C>, Refusal> {
        Ok(SessionSigner::round2(self, req, &mut OsRng)?)
    }
}

/// Calls `f` on every item at once (one scoped thread each) and returns the results in
/// order: round-1 proving and network waits overlap.
fn fan_out<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = items.iter().map(|i| s.spawn(|| f(i))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
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
    /// Signers excluded along the way, with the reason.
    pub excluded: Vec<Excluded>,
}

/// Drives sessions for one key.
pub struct Coordinator<'p, C: Ciphersuite, P: ProofSystem> {
    public: PublicKeyPackage<C>,
    group_key: Vec<u8>,
    roster: Roster,
    system: &'p P,
}

impl<'p, C: Ciphersuite, P: ProofSystem> Coordinator<'p, C, P> {
    /// A coordinator for the key `public`, its participants' identities and proof system.
    pub fn new(
        public: PublicKeyPackage<C>,
        roster: Roster,
        system: &'p P,
    ) -> Result<Self, SignerError> {
        let group_key = public
            .verifying_key()
            .serialize()
            .map_err(|e| SignerError::Frost(e.to_string()))?;
        Ok(Self {
            public,
            group_key,
            roster,
            system,
        })
    }

    /// Checks a reply as any auditor would: attestation, binding, intent and time.
    fn check_reply(
        &self,
        session: &SessionId,
        intent_commitment: &[u8; 32],
        now: u64,
        r: &Round1Reply<C>,
    ) -> Result<PublicInputs<<P::Backend as Backend>::F>, String> {
        let identity = self.roster.get(&r.signer).ok_or("not in the roster")?;
        let c = r.commitments.serialize().map_err(|e| e.to_string())?;
        let msg = round1_attestation(session, r.signer, &c, &r.proof.to_bytes(), &r.public_inputs);
        verifier::verify_bip340(identity, &msg, &r.attestation)
            .map_err(|e| format!("attestation: {e}"))?;
        let public = PublicInputs::from_le_bytes(&r.public_inputs).map_err(|e| e.to_string())?;
        if &r.public_inputs[0] != intent_commitment || public.now != now {
            return Err("proved another intent or time".into());
        }
        if public.binding != binding_for(session, r.signer, &self.group_key, &c) {
            return Err("proof is not bound to this session and its commitments".into());
        }
        Ok(public)
    }

    /// The key's group public key package.
    pub fn public_key_package(&self) -> &PublicKeyPackage<C> {
        &self.public
    }

    /// Runs sessions until `t` signers produce a verified signature over `intent`'s digest.
    pub fn sign(
        &self,
        endpoints: &[&dyn Endpoint<C>],
        intent: &Intent,
        now: u64,
    ) -> Result<Signed<C>, CoordinatorError> {
        let t = self.public.min_signers().unwrap_or(2) as usize;
        let digest = *intent.signed_digest::<P::Backend>().as_bytes();
        let c_expected = intent.commitment::<P::Backend>().to_le_bytes();
        let mut excluded: Vec<Excluded> = Vec::new();
        loop {
            let pool: Vec<&dyn Endpoint<C>> = endpoints
                .iter()
                .copied()
                .filter(|e| !excluded.iter().any(|x| x.signer == e.id()))
                .collect();
            let too_few = |excluded: Vec<Excluded>, usable| CoordinatorError::TooFewSigners {
                need: t,
                usable,
                excluded,
            };
            if pool.len() < t {
                return Err(too_few(excluded, pool.len()));
            }
            let session = SessionId::random(&mut OsRng);
            let req = Round1Request {
                session,
                intent: intent.clone(),
                now,
                signers: pool.iter().map(|e| e.id()).collect(),
            };
            // Round 1: ask as many signers as are missing (in parallel) until t replies pass
            // the cheap checks, then verify their proofs as one batch; drop failures and
            // bring in replacements.
            let mut candidates = pool.iter().copied();
            let mut good: Vec<(&dyn Endpoint<C>, Round1Reply<C>, PublicInputs<_>)> = Vec::new();
            let mut verified = 0;
            loop {
                while good.len() < t {
                    let batch: Vec<&dyn Endpoint<C>> =
                        candidates.by_ref().take(t - good.len()).collect();
                    if batch.is_empty() {
                        break;
                    }
                    let results = fan_out(&batch, |e| {
                        let r = e.round1(&req)?;
                        if r.signer != e.id() || r.session != session {
                            return Err(Refusal::other("reply names another signer or session"));
                        }
                        let p = self
                            .check_reply(&session, &c_expected, now, &r)
                            .map_err(Refusal::other)?;
                        Ok((r, p))
                    });
                    for (e, result) in batch.into_iter().zip(results) {
                        match result {
                            Ok((r, p)) => good.push((e, r, p)),
                            Err(refusal) => excluded.push(Excluded::new(e.id(), refusal)),
                        }
                    }
                }
                if good.len() < t {
                    return Err(too_few(excluded, good.len()));
                }
                let items: Vec<_> = good[verified..]
                    .iter()
                    .map(|(_, r, p)| (&r.proof, p))
                    .collect();
                match self.system.verifier().verify_batch(&items) {
                    Ok(()) => break,
                    Err(BatchError { mut failures }) => {
                        // Remove from the back so the earlier indices stay valid.
                        failures.sort_by_key(|f| std::cmp::Reverse(f.0));
                        for (i, err) in failures {
                            let (e, _, _) = good.remove(verified + i);
                            excluded.push(Excluded::new(
                                e.id(),
                                Refusal::other(format!("proof: {err}")),
                            ));
                        }
                        verified = good.len();
                    }
                }
            }
            // Round 2, in parallel.
            let replies: Vec<Round1Reply<C>> = good.iter().map(|(_, r, _)| r.clone()).collect();
            let commitments: BTreeMap<_, _> =
                replies.iter().map(|r| (r.signer, r.commitments)).collect();
            let r2 = Round2Request {
                session,
                package: signing::signing_package(&commitments, &digest),
                replies: replies.clone(),
            };
            let chosen: Vec<&dyn Endpoint<C>> = good.iter().map(|(e, _, _)| *e).collect();
            let results = fan_out(&chosen, |e| e.round2(&r2));
            let mut shares = BTreeMap::new();
            let mut refused = false;
            for (e, result) in chosen.iter().zip(results) {
                match result {
                    Ok(reply) if reply.signer == e.id() => {
                        shares.insert(reply.signer, reply.share);
                    }
                    Ok(_) => {
                        excluded.push(Excluded::new(
                            e.id(),
                            Refusal::other("round-2 reply names another signer"),
                        ));
                        refused = true;
                    }
                    Err(mut refusal) => {
                        refusal.reason = format!("round 2: {}", refusal.reason);
                        excluded.push(Excluded::new(e.id(), refusal));
                        refused = true;
                    }
                }
            }
            if refused {
                continue;
            }
            match signing::aggregate(&r2.package, &shares, &self.public) {
                Ok(signature) => {
                    self.public
                        .verifying_key()
                        .verify(&digest, &signature)
                        .map_err(|e| CoordinatorError::FinalSignature(e.to_string()))?;
                    return Ok(Signed {
                        session,
                        digest,
                        signature,
                        replies,
                        excluded,
                    });
                }
                Err(SignerError::InvalidSignatureShares(culprits)) => {
                    for c in culprits {
                        excluded.push(Excluded::new(c, Refusal::other("invalid signature share")));
                    }
                }
                Err(e) => return Err(CoordinatorError::FinalSignature(e.to_string())),
            }
        }
    }
}

impl<C: Ciphersuite, P: ProofSystem> Coordinator<'_, C, P> {
    /// The audit record of a completed session (`index` and `prev` are set when the record
    /// is appended, see [`crate::audit_log::AuditLog::append`]). Holds no private data: the
    /// intent and policy appear only as their commitments.
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
                Ok(SignerEntry {
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
            backend: <P::Backend as Backend>::ID.as_u8(),
            vk_fingerprint: *self.system.fingerprint().as_bytes(),
            signers,
            signature,
            time,
            prev: [0; 32],
        })
    }
}
