//! Proof-carrying signing sessions, the signer's side (transport-agnostic).
//!
//! Round 1 ([`SessionSigner::round1`]): the signer checks the intent against its policy
//! natively (a violation names the rule), stores fresh single-use nonces, proves the policy
//! statement with a `binding` derived from the session, its id, the group key and *its own
//! round-1 commitments*, and signs the whole reply with its node identity key (BIP-340):
//! Groth16 proofs can be re-randomised by anyone, so the signature — not the proof — says
//! who attested.
//!
//! Round 2 ([`SessionSigner::round2`]) is refused unless the package signs the digest this
//! signer proved, holds its own commitments, and every other included signer's reply is
//! consistent with the package (same commitments, same intent commitment and time, binding
//! derived from its own commitments), carries a valid attestation from that signer's
//! identity key, and a proof that verifies. Only then are the nonces consumed and the share
//! returned, itself signed with the identity key.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use circuits::public::PublicInputs;
use circuits::{Backend, Binding, Intent, Policy, PolicyViolation, SignedDigest};
use frost_core::round1::SigningCommitments;
use frost_core::round2::SignatureShare;
use frost_core::{Ciphersuite, SigningPackage};
use prover::{ProofSystem, ProveError};
use rand_core::{CryptoRng, RngCore};
use verifier::{BatchError, ProofEnvelope, StatementVerifier};

use crate::error::SignerError;
use crate::ids::{SessionId, SignerId};
use crate::nonce::NonceStore;
use crate::signing::Signer;

/// A node's long-term identity key (BIP-340 over secp256k1), used to sign its replies.
pub struct Identity(k256::schnorr::SigningKey);

impl Identity {
    /// A fresh random identity.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(k256::schnorr::SigningKey::random(rng))
    }

    /// The identity with secret key `secret` (32 bytes, a valid secp256k1 scalar).
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, SignerError> {
        k256::schnorr::SigningKey::from_bytes(secret)
            .map(Self)
            .map_err(|_| {
                SignerError::Frost("identity secret is not a valid secp256k1 scalar".into())
            })
    }

    /// The secret key bytes (to store them encrypted).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes().into())
    }

    /// The 32-byte x-only public key others verify with.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes().into()
    }

    /// Signs a 32-byte message (BIP-340 with fresh auxiliary randomness).
    pub fn sign<R: RngCore + CryptoRng>(
        &self,
        msg: &[u8; 32],
        rng: &mut R,
    ) -> Result<[u8; 64], SessionError> {
        let mut aux = [0u8; 32];
        rng.fill_bytes(&mut aux);
        self.0
            .sign_raw(msg, &aux)
            .map(|s| s.to_bytes())
            .map_err(|_| SessionError::Signer(SignerError::Frost("identity signing failed".into())))
    }
}

impl core::fmt::Debug for Identity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Identity({})", hex::encode(self.public_key()))
    }
}

/// The identity keys of a key's participants, as every node is configured with them.
pub type Roster = BTreeMap<SignerId, [u8; 32]>;

/// Round-1 request from the coordinator.
#[derive(Clone, Debug)]
pub struct Round1Request {
    /// The session.
    pub session: SessionId,
    /// The intent to sign (private: travels encrypted between coordinator and signers).
    pub intent: Intent,
    /// Unix time at which the policy is evaluated and proved.
    pub now: u64,
    /// The signers chosen for this session.
    pub signers: Vec<SignerId>,
}

/// A signer's round-1 reply: commitments, proof and attestation.
#[derive(Clone, Debug)]
pub struct Round1Reply<C: Ciphersuite> {
    /// The session.
    pub session: SessionId,
    /// Who replies.
    pub signer: SignerId,
    /// Fresh nonce commitments.
    pub commitments: SigningCommitments<C>,
    /// The policy proof, bound to `commitments`.
    pub proof: ProofEnvelope,
    /// Its public inputs `[C, P, now, binding]`, canonical little-endian.
    pub public_inputs: [[u8; 32]; 4],
    /// BIP-340 signature by the signer's identity key over [`round1_attestation`].
    pub attestation: [u8; 64],
}

/// Round-2 request: the signing package and every chosen signer's round-1 reply.
#[derive(Clone, Debug)]
pub struct Round2Request<C: Ciphersuite> {
    /// The session.
    pub session: SessionId,
    /// What is signed (the digest) and by whom (their commitments).
    pub package: SigningPackage<C>,
    /// The round-1 replies of every signer in the package.
    pub replies: Vec<Round1Reply<C>>,
}

/// A signer's round-2 reply: its signature share, signed by its identity key.
#[derive(Clone, Debug)]
pub struct Round2Reply<C: Ciphersuite> {
    /// The session.
    pub session: SessionId,
    /// Who replies.
    pub signer: SignerId,
    /// The signature share.
    pub share: SignatureShare<C>,
    /// BIP-340 signature by the identity key over [`round2_attestation`].
    pub attestation: [u8; 64],
}

/// Why a session step was refused.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The intent breaks this signer's policy.
    #[error("policy violated: {0}")]
    Policy(#[from] PolicyViolation),
    /// This signer is not among the session's signers.
    #[error("signer {0} was not chosen for this session")]
    NotSelected(SignerId),
    /// Round 2 for a session this signer did not prove in round 1.
    #[error("unknown session {0}")]
    UnknownSession(SessionId),
    /// The package signs something other than the digest this signer proved.
    #[error("signing package message is not the digest proved in round 1")]
    DigestMismatch,
    /// Another signer's reply does not fit the package or the session.
    #[error("reply of signer {signer} rejected: {reason}")]
    BadReply {
        /// The signer whose reply failed.
        signer: SignerId,
        /// What was wrong.
        reason: String,
    },
    /// Proving failed.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// A signing-layer error (nonces, commitments, FROST).
    #[error(transparent)]
    Signer(#[from] SignerError),
}

fn hash_parts(domain: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(domain.as_bytes());
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    *h.finalize().as_bytes()
}

/// What a signer's identity key signs in round 1 (the audit log's
/// [`verifier::audit::attestation_message`], so auditors check the same bytes).
pub fn round1_attestation(
    session: &SessionId,
    signer: SignerId,
    commitments: &[u8],
    proof: &[u8],
    public_inputs: &[[u8; 32]; 4],
) -> [u8; 32] {
    verifier::audit::attestation_message(
        session.as_bytes(),
        signer.get(),
        commitments,
        proof,
        public_inputs,
    )
}

/// What a signer's identity key signs in round 2.
pub fn round2_attestation(session: &SessionId, signer: SignerId, share: &[u8]) -> [u8; 32] {
    hash_parts(
        "zkquorum/attest/round2/v1",
        &[session.as_bytes(), &signer.get().to_le_bytes(), share],
    )
}

/// The binding of a signer's proof: session, signer id, group key, its round-1 commitments.
pub fn binding_for(
    session: &SessionId,
    signer: SignerId,
    group_key: &[u8],
    commitments: &[u8],
) -> Binding {
    Binding::derive(
        session.as_bytes(),
        &signer.get().to_le_bytes(),
        group_key,
        commitments,
    )
}

/// What round 1 remembers for round 2.
struct Proven {
    digest: SignedDigest,
    intent_commitment: [u8; 32],
    now: u64,
    at: std::time::Instant,
}

/// How long a session waits for round 2 after this signer's round 1; older sessions are
/// forgotten at the next round 1 (their round 2 is refused as an unknown session), so a
/// coordinator that never finishes sessions cannot grow a signer's memory without bound.
pub const SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// One signer node's session logic: its key share and nonce store, its policy, its identity,
/// the roster of the other participants' identities, and the proof system of the key.
pub struct SessionSigner<'p, C: Ciphersuite, S: NonceStore<C>, P: ProofSystem> {
    signer: Signer<C, S>,
    policy: std::sync::RwLock<Policy>,
    identity: Identity,
    roster: Roster,
    system: &'p P,
    open: Mutex<HashMap<SessionId, Proven>>,
}

fn commitments_bytes<C: Ciphersuite>(c: &SigningCommitments<C>) -> Result<Vec<u8>, SessionError> {
    c.serialize()
        .map_err(|e| SessionError::Signer(SignerError::Frost(e.to_string())))
}

impl<'p, C: Ciphersuite, S: NonceStore<C>, P: ProofSystem> SessionSigner<'p, C, S, P> {
    /// A session signer.
    pub fn new(
        signer: Signer<C, S>,
        policy: Policy,
        identity: Identity,
        roster: Roster,
        system: &'p P,
    ) -> Self {
        Self {
            signer,
            policy: std::sync::RwLock::new(policy),
            identity,
            roster,
            system,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// This signer's id.
    pub fn id(&self) -> SignerId {
        self.signer.share().id()
    }

    /// Replaces the policy checked and proved by later round-1 requests (an operator's
    /// `policy set`); sessions already past round 1 are unaffected.
    pub fn set_policy(&self, policy: Policy) {
        // A poisoned lock only means a panic elsewhere; the policy value is still whole.
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = policy;
    }

    /// The policy round 1 checks and proves now.
    pub fn policy(&self) -> Policy {
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
        let policy = self.policy();
        // Native check first: a violation is named before any nonce or proof is made.
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
        open.retain(|_, p| p.at.elapsed() < SESSION_TTL);
        open.insert(
            req.session,
            Proven {
                digest: req.intent.signed_digest::<P::Backend>(),
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

    /// Checks one other signer's round-1 reply against the package and the session.
    fn check_reply(
        &self,
        req: &Round2Request<C>,
        proven: &Proven,
        reply: &Round1Reply<C>,
    ) -> Result<PublicInputs<<P::Backend as Backend>::F>, SessionError> {
        let who = reply.signer;
        let bad = |reason: &str| SessionError::BadReply {
            signer: who,
            reason: reason.into(),
        };
        if reply.session != req.session {
            return Err(bad("reply is from another session"));
        }
        if req.package.signing_commitments().get(&who.to_frost::<C>()) != Some(&reply.commitments) {
            return Err(bad("commitments differ from the signing package's"));
        }
        let identity = self
            .roster
            .get(&who)
            .ok_or_else(|| bad("not in the roster"))?;
        let c_bytes = commitments_bytes(&reply.commitments)?;
        let msg = round1_attestation(
            &req.session,
            who,
            &c_bytes,
            &reply.proof.to_bytes(),
            &reply.public_inputs,
        );
        verifier::verify_bip340(identity, &msg, &reply.attestation)
            .map_err(|e| bad(&format!("attestation: {e}")))?;
        let public =
            PublicInputs::<<P::Backend as Backend>::F>::from_le_bytes(&reply.public_inputs)
                .map_err(|e| bad(&format!("public inputs: {e}")))?;
        if reply.public_inputs[0] != proven.intent_commitment || public.now != proven.now {
            return Err(bad("proved another intent or time"));
        }
        let expected = binding_for(
            &req.session,
            who,
            &self.signer.share().group_key_bytes(),
            &c_bytes,
        );
        if public.binding != expected {
            return Err(bad(
                "proof is bound to another session, signer or commitments",
            ));
        }
        Ok(public)
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
        if req.package.message() != proven.digest.as_bytes() {
            return Err(SessionError::DigestMismatch);
        }
        let mut seen = Vec::new();
        let mut publics = Vec::new();
        for reply in &req.replies {
            if seen.contains(&reply.signer) {
                return Err(SessionError::BadReply {
                    signer: reply.signer,
                    reason: "two replies from the same signer".into(),
                });
            }
            seen.push(reply.signer);
            if reply.signer != me {
                publics.push((reply, self.check_reply(req, &proven, reply)?));
            }
        }
        if let Some(missing) = req
            .package
            .signing_commitments()
            .keys()
            .find(|id| !seen.iter().any(|s| s.to_frost::<C>() == **id))
        {
            return Err(SessionError::BadReply {
                signer: me,
                reason: format!("package names a signer with no reply: {missing:?}"),
            });
        }
        let items: Vec<_> = publics.iter().map(|(r, p)| (&r.proof, p)).collect();
        self.system
            .verifier()
            .verify_batch(&items)
            .map_err(|BatchError { failures }| {
                let (i, e) = &failures[0];
                SessionError::BadReply {
                    signer: publics[*i].0.signer,
                    reason: format!("proof: {e}"),
                }
            })?;
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
