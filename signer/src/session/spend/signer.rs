//! The signer's side of a spend session (see [`super`]).

use std::collections::HashMap;
use std::sync::Mutex;

use circuits::spend::{SizeClass, Spend, SpendPolicy, SpendWitness};
use prover::spend::{SpendKeys, SpendProver};
use prover::ProofSystem;
use rand_core::{CryptoRng, RngCore};
use verifier::bitcoin::{GroupWallet, SpendPsbt, SpendSummary};
use verifier::RegisteredPolicies;

use super::{
    check_reply, commitments_list_bytes, input_session, shares_list_bytes, SpendExpected,
    SpendRound1Reply, SpendRound1Request, SpendRound2Reply, SpendRound2Request,
};
use crate::error::SignerError;
use crate::ids::SessionId;
use crate::round::nonce::NonceStore;
use crate::session::ledger::LedgerError;
use crate::session::messages::binding_for;
use crate::session::outcome::ReplyFault;
use crate::session::signer::{SessionError, SessionSigner};
use crate::taproot::Taproot;

/// What round 1 of a spend remembers for round 2.
struct SpendProven {
    sighashes: Vec<[u8; 32]>,
    txid: [u8; 32],
    /// The txid as Bitcoin displays it (for refusals).
    txid_display: String,
    /// `[O, fee, lock_time]` as proved.
    derived: [[u8; 32]; 3],
    class: SizeClass,
    now: u64,
    at: std::time::Instant,
}

/// The spend side of a [`SessionSigner`]: the spend policies it holds (each with its `P`)
/// and its open spend sessions.
#[derive(Default)]
pub struct SpendState {
    policies: std::sync::RwLock<Vec<(SpendPolicy, [u8; 32])>>,
    open: Mutex<HashMap<SessionId, SpendProven>>,
}

/// A ledger key for a transaction: the txid's first 8 bytes as the "nonce", the txid as
/// the commitment. Like an intent, a transaction may be signed again only within the
/// ledger's retry window ([`crate::session::RETRY_WINDOW`]: a retry after a failed session,
/// giving the same txid), never later; another transaction whose txid shares the 8 bytes is
/// refused too (probability 2^-64).
fn ledger_key(txid: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&txid[..8]);
    u64::from_le_bytes(b)
}

/// A ledger refusal of a spend, naming the transaction.
fn replayed(e: LedgerError, txid: &str) -> SessionError {
    match e {
        LedgerError::AlreadySigned { .. } => SessionError::TxAlreadySigned(txid.to_string()),
        other => other.into(),
    }
}

fn lock_err(_: impl std::fmt::Debug) -> SessionError {
    SessionError::Signer(SignerError::NonceStore("lock poisoned".into()))
}

impl<S: NonceStore<Taproot>, P: ProofSystem> SessionSigner<Taproot, S, P> {
    /// Replaces the spend policies this signer holds; round 1 proves under the one the
    /// registry registers (`spend_policy` records).
    pub fn set_spend_policies(&self, policies: Vec<SpendPolicy>) {
        let with = policies
            .into_iter()
            .map(|p| {
                let c = p.commitment::<P::Backend>().to_le_bytes();
                (p, c)
            })
            .collect();
        *self
            .spends
            .policies
            .write()
            .unwrap_or_else(|e| e.into_inner()) = with;
    }

    /// The held spend policy registered for this signer on this key at `now`.
    pub fn registered_spend_policy(&self, now: u64) -> Result<SpendPolicy, SessionError> {
        let registered = self.registered.spend_at::<P::Backend>(now);
        let want = registered.get(self.id().get());
        let held = self
            .spends
            .policies
            .read()
            .unwrap_or_else(|e| e.into_inner());
        want.and_then(|p| held.iter().rev().find(|(_, c)| c == p))
            .map(|(policy, _)| policy.clone())
            .ok_or_else(|| SessionError::PolicyNotRegistered {
                registered: want.map(hex::encode),
            })
    }

    /// What this signer derives from the PSBT itself: the validated summary (sighashes,
    /// external outputs, fee, lock time, txid) and the statement's spend.
    fn derive(&self, req: &SpendRound1Request) -> Result<(SpendSummary, Spend), SessionError> {
        let psbt = |e: &dyn std::fmt::Display| SessionError::Psbt(e.to_string());
        let wallet = GroupWallet::from_public_key_package(self.signer.share().public_key_package())
            .map_err(|e| psbt(&e))?;
        let summary = SpendPsbt::from_bytes(&req.psbt, &wallet, req.network)
            .and_then(|p| p.summary())
            .map_err(|e| psbt(&e))?;
        let spend = summary.statement(req.network).map_err(|e| psbt(&e))?;
        Ok((summary, spend))
    }

    /// Round 1 of a spend: derive, check, nonces per input, one bound proof, signed reply.
    pub fn spend_round1<Q, R>(
        &self,
        req: &SpendRound1Request,
        keys: &SpendKeys<Q>,
        rng: &mut R,
    ) -> Result<SpendRound1Reply, SessionError>
    where
        Q: SpendProver<Backend = P::Backend>,
        R: RngCore + CryptoRng,
    {
        let me = self.id();
        if !req.signers.contains(&me) {
            return Err(SessionError::NotSelected(me));
        }
        let policy = self.registered_spend_policy(req.now)?;
        let (summary, spend) = self.derive(req)?;
        let txid = summary.txid_bytes();
        self.ledger
            .check(ledger_key(&txid), &txid)
            .map_err(|e| replayed(e, &summary.txid.to_string()))?;
        circuits::spend::check(&spend, &policy, req.now).map_err(SessionError::Spend)?;
        let prover = keys
            .class(spend.class())
            .ok_or(SessionError::NoSpendKeys(spend.class().slots()))?;
        let commitments = (0..summary.sighashes.len() as u32)
            .map(|i| self.signer.round1(input_session(&req.session, i), rng))
            .collect::<Result<Vec<_>, _>>()?;
        let c_bytes = commitments_list_bytes(&commitments)?;
        let binding = binding_for(
            &req.session,
            me,
            &self.signer.share().group_key_bytes(),
            &c_bytes,
        );
        let witness = SpendWitness::<P::Backend>::new(&spend, &policy, req.now, binding)
            .map_err(SessionError::Spend)?;
        let proof = prover.prove(&witness, rng)?;
        let public_inputs = witness.public_inputs().to_le_bytes();
        let attestation = self.identity.sign(
            &verifier::audit::attestation_message(
                req.session.as_bytes(),
                me.get(),
                &c_bytes,
                &proof.to_bytes(),
                &public_inputs,
            ),
            rng,
        )?;
        let mut open = self.spends.open.lock().map_err(lock_err)?;
        open.retain(|_, p| p.at.elapsed() < self.ttl);
        open.insert(
            req.session,
            SpendProven {
                sighashes: summary.sighashes,
                txid,
                txid_display: summary.txid.to_string(),
                derived: [public_inputs[0], public_inputs[1], public_inputs[2]],
                class: spend.class(),
                now: req.now,
                at: std::time::Instant::now(),
            },
        );
        Ok(SpendRound1Reply {
            session: req.session,
            signer: me,
            commitments,
            proof,
            public_inputs,
            attestation,
        })
    }

    /// Round 2 of a spend: every check of the module docs, then one share per input.
    pub fn spend_round2<Q, R>(
        &self,
        req: &SpendRound2Request,
        keys: &SpendKeys<Q>,
        rng: &mut R,
    ) -> Result<SpendRound2Reply, SessionError>
    where
        Q: SpendProver<Backend = P::Backend>,
        R: RngCore + CryptoRng,
    {
        let me = self.id();
        let proven = self
            .spends
            .open
            .lock()
            .map_err(lock_err)?
            .remove(&req.session)
            .ok_or(SessionError::UnknownSession(req.session))?;
        let age = proven.at.elapsed();
        if age >= self.ttl {
            return Err(SessionError::Expired {
                session: req.session,
                age,
            });
        }
        if req.packages.len() != proven.sighashes.len() {
            return Err(SessionError::InputCount {
                packages: req.packages.len(),
                inputs: proven.sighashes.len(),
            });
        }
        if let Some(input) = req
            .packages
            .iter()
            .zip(&proven.sighashes)
            .position(|(p, s)| p.message() != s)
        {
            return Err(SessionError::SighashMismatch { input });
        }
        let policies = self.registered.spend_at::<P::Backend>(proven.now);
        let mut seen = Vec::new();
        for reply in &req.replies {
            if seen.contains(&reply.signer) {
                return Err(SessionError::BadReply {
                    signer: reply.signer,
                    fault: ReplyFault::DuplicateReply,
                });
            }
            seen.push(reply.signer);
            if reply.signer != me {
                self.check_spend_reply(req, &proven, &policies, keys, reply)?;
            }
        }
        for package in &req.packages {
            if package
                .signing_commitments()
                .keys()
                .any(|id| !seen.iter().any(|s| s.to_frost::<Taproot>() == *id))
            {
                return Err(SessionError::BadReply {
                    signer: me,
                    fault: ReplyFault::MissingReply,
                });
            }
        }
        // The commit point: from here on this transaction counts as signed under this key.
        self.ledger
            .record(
                ledger_key(&proven.txid),
                &proven.txid,
                req.session.as_bytes(),
            )
            .map_err(|e| replayed(e, &proven.txid_display))?;
        let shares = req
            .packages
            .iter()
            .enumerate()
            .map(|(i, package)| {
                self.signer
                    .round2_taproot(input_session(&req.session, i as u32), package, None)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let attestation = self.identity.sign(
            &verifier::audit::share_attestation_message(
                req.session.as_bytes(),
                me.get(),
                &shares_list_bytes(&shares),
            ),
            rng,
        )?;
        Ok(SpendRound2Reply {
            session: req.session,
            signer: me,
            shares,
            attestation,
        })
    }

    /// Checks another signer's spend reply: its commitments are the packages', then the
    /// contribution check and proof verification every party runs ([`check_reply`]).
    fn check_spend_reply<Q: SpendProver<Backend = P::Backend>>(
        &self,
        req: &SpendRound2Request,
        proven: &SpendProven,
        policies: &RegisteredPolicies,
        keys: &SpendKeys<Q>,
        reply: &SpendRound1Reply,
    ) -> Result<(), SessionError> {
        let who = reply.signer;
        let bad = |fault| SessionError::BadReply { signer: who, fault };
        if reply.commitments.len() != req.packages.len()
            || req
                .packages
                .iter()
                .zip(&reply.commitments)
                .any(|(p, c)| p.signing_commitments().get(&who.to_frost::<Taproot>()) != Some(c))
        {
            return Err(bad(ReplyFault::CommitmentsDiffer));
        }
        let prover = keys
            .class(proven.class)
            .ok_or(SessionError::NoSpendKeys(proven.class.slots()))?;
        let roster = self.roster.read().unwrap_or_else(|e| e.into_inner());
        let expected = SpendExpected {
            session: &req.session,
            group_key: &self.signer.share().group_key_bytes(),
            derived: &proven.derived,
            now: proven.now,
            policies,
            roster: &roster,
        };
        check_reply(prover.verifier(), &expected, reply).map_err(bad)
    }
}
