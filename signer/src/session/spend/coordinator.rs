//! The coordinator's side of a spend session (see [`super`]): it derives the transaction's
//! sighashes and public inputs itself, gathers `t` round-1 replies that pass the
//! contribution check (a signer that refuses or whose reply fails is excluded, naming why,
//! and the next candidate is asked), sends one signing package per input, aggregates one
//! BIP-341 key-path signature per input under the group's output key, checks each, and
//! finalizes the PSBT. Signers are reached through [`SpendEndpoint`]; the in-process
//! driver calls them directly, the service over HTTPS.

use std::collections::BTreeMap;

use circuits::spend::SizeClass;
use circuits::Backend;
use frost_core::keys::PublicKeyPackage;
use frost_core::round2::SignatureShare;
use frost_core::SigningPackage;
use rand_core::{CryptoRng, RngCore};
use verifier::bitcoin::{GroupWallet, Network, SignedSpend, SpendPsbt, SpendSummary};
use verifier::{RegisteredPolicies, SpendVerifier};

use super::{
    check_reply, shares_list_bytes, SpendExpected, SpendRound1Reply, SpendRound1Request,
    SpendRound2Reply, SpendRound2Request,
};
use crate::ids::{SessionId, SignerId};
use crate::session::messages::Roster;
use crate::session::outcome::{CoordinatorError, Excluded, Refusal, ReplyFault};
use crate::taproot::{aggregate_taproot, signature_bytes, Taproot};

/// A signer as the spend coordinator reaches it.
pub trait SpendEndpoint: Sync {
    /// The signer's id.
    fn id(&self) -> SignerId;
    /// Round 1 of a spend.
    fn spend_round1(&self, req: &SpendRound1Request) -> Result<SpendRound1Reply, Refusal>;
    /// Round 2 of a spend.
    fn spend_round2(&self, req: &SpendRound2Request) -> Result<SpendRound2Reply, Refusal>;
}

/// What a spend session ends with: the finalized transaction and what its audit record is
/// made of.
#[derive(Debug)]
pub struct SpendSigned {
    /// The session.
    pub session: SessionId,
    /// The finalized PSBT, the signed transaction and its txid.
    pub signed: SignedSpend,
    /// The validated summary the session signed (sighashes, outputs, fee, lock time).
    pub summary: SpendSummary,
    /// The unsigned PSBT as signed (base64, every input with its `witness_utxo`).
    pub unsigned_psbt: String,
    /// The round-1 replies of the signers (commitments per input, proofs, attestations).
    pub replies: Vec<SpendRound1Reply>,
    /// Their round-2 replies (one share per input, attested).
    pub shares: Vec<SpendRound2Reply>,
    /// Signers excluded along the way, with the reason.
    pub excluded: Vec<Excluded>,
}

/// Where a spend record goes: the key and the log position.
#[derive(Clone, Debug)]
pub struct RecordPlace<'a> {
    /// The coordinator's name for the key.
    pub key_id: &'a str,
    /// The key's threshold.
    pub threshold: u16,
    /// The network the key spends on.
    pub network: Network,
    /// Position in the log.
    pub index: u64,
    /// Unix seconds of the append.
    pub time: u64,
    /// The chain hash of the previous line.
    pub prev: [u8; 32],
}

impl SpendSigned {
    /// The audit record of this spend: the unsigned PSBT (with the spent outputs), every
    /// signer's commitments, proof, public inputs, shares and attestations, the signatures
    /// and the txid.
    pub fn audit_record(
        &self,
        public: &PublicKeyPackage<Taproot>,
        roster: &Roster,
        place: RecordPlace<'_>,
    ) -> Result<verifier::audit::SpendRecord, CoordinatorError> {
        let bad = |e: &dyn std::fmt::Display| CoordinatorError::AuditRecord(e.to_string());
        let group_key: [u8; 33] = public
            .verifying_key()
            .serialize()
            .map_err(|e| bad(&e))?
            .try_into()
            .map_err(|_| bad(&"group key is not 33 bytes"))?;
        let first = self.replies.first().ok_or_else(|| bad(&"no signers"))?;
        let signers = self
            .replies
            .iter()
            .map(|r| {
                let shares = self
                    .shares
                    .iter()
                    .find(|s| s.signer == r.signer)
                    .ok_or_else(|| bad(&format!("no shares of signer {}", r.signer)))?;
                Ok(verifier::audit::SpendSignerEntry {
                    signer_id: r.signer.get(),
                    identity_key: *roster
                        .get(&r.signer)
                        .ok_or_else(|| bad(&format!("signer {} is not in the roster", r.signer)))?,
                    commitments: super::commitments_list_bytes(&r.commitments)
                        .map_err(|e| bad(&e))?,
                    proof: r.proof.to_bytes(),
                    public_inputs: r.public_inputs,
                    attestation: r.attestation,
                    shares: shares_list_bytes(&shares.shares),
                    share_attestation: shares.attestation,
                })
            })
            .collect::<Result<Vec<_>, CoordinatorError>>()?;
        let signatures = self
            .signed
            .tx
            .input
            .iter()
            .map(|i| {
                i.witness
                    .nth(0)
                    .and_then(|w| <[u8; 64]>::try_from(w).ok())
                    .map(verifier::audit::SpendSignature)
                    .ok_or_else(|| bad(&"an input without its 64-byte key-path signature"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(verifier::audit::SpendRecord {
            version: verifier::audit::SPEND_RECORD_VERSION,
            index: place.index,
            session_id: *self.session.as_bytes(),
            key_id: place.key_id.to_string(),
            group_key,
            threshold: place.threshold,
            network: verifier::bitcoin::network_name(place.network).to_string(),
            psbt: self.unsigned_psbt.clone(),
            backend: first.proof.backend.as_u8(),
            vk_fingerprint: first.proof.vk_fingerprint.0,
            signers,
            signatures,
            txid: self.signed.txid.to_string(),
            time: place.time,
            prev: place.prev,
        })
    }
}

/// Why a spend was not signed.
#[derive(Debug, thiserror::Error)]
pub enum SpendCoordinatorError {
    /// The PSBT is refused before any signer is asked (the message names the input or
    /// output).
    #[error("PSBT refused: {0}")]
    Psbt(String),
    /// The coordinator holds no verifying key for the transaction's size class.
    #[error("no spend verifying key for the {0}-output class")]
    NoKeys(usize),
    /// Too few signers, or a final signature that does not verify.
    #[error(transparent)]
    Session(#[from] CoordinatorError),
}

/// One key's spend coordinator: the group, its threshold, the roster of identities, the
/// network it spends on, the signers' registered spend policies and a verifying key per
/// size class.
pub struct SpendCoordinator<'a, V: SpendVerifier> {
    /// The group's public key package.
    pub public: &'a PublicKeyPackage<Taproot>,
    /// Signers a signature needs.
    pub threshold: usize,
    /// The participants' identity keys.
    pub roster: &'a Roster,
    /// The network the key spends on.
    pub network: Network,
    /// The spend-policy `P` each signer is registered under (the coordinator's registry).
    pub policies: &'a RegisteredPolicies,
    /// A verifying key per size class.
    pub verifiers: Vec<(SizeClass, &'a V)>,
}

impl<V: SpendVerifier> SpendCoordinator<'_, V> {
    /// Signs every input of the PSBT `psbt` (BIP-174 bytes) with `t` of `endpoints` (asked
    /// in this order) at time `now`.
    pub fn sign<R: RngCore + CryptoRng>(
        &self,
        endpoints: &[&dyn SpendEndpoint],
        psbt: &[u8],
        now: u64,
        rng: &mut R,
    ) -> Result<SpendSigned, SpendCoordinatorError> {
        let refused = |e: &dyn std::fmt::Display| SpendCoordinatorError::Psbt(e.to_string());
        let wallet = GroupWallet::from_public_key_package(self.public).map_err(|e| refused(&e))?;
        let spend_psbt =
            SpendPsbt::from_bytes(psbt, &wallet, self.network).map_err(|e| refused(&e))?;
        let summary = spend_psbt.summary().map_err(|e| refused(&e))?;
        let unsigned_psbt = spend_psbt.psbt().to_string();
        let spend = summary.statement(self.network).map_err(|e| refused(&e))?;
        let verifier = self
            .verifiers
            .iter()
            .find(|(c, _)| *c == spend.class())
            .map(|(_, v)| *v)
            .ok_or(SpendCoordinatorError::NoKeys(spend.class().slots()))?;
        let derived = derived_inputs::<V::Backend>(&spend);
        let group_key = self
            .public
            .verifying_key()
            .serialize()
            .map_err(|e| refused(&e))?;
        let session = SessionId::random(rng);
        let expected = SpendExpected {
            session: &session,
            group_key: &group_key,
            derived: &derived,
            now,
            policies: self.policies,
            roster: self.roster,
        };

        // Round 1: `t` candidates at once; each one excluded is replaced as soon as it is
        // (a signer refuses before it proves, so its replacement gets a fresh session time
        // instead of waiting out the others' proofs), until `t` pass.
        let signers: Vec<SignerId> = endpoints.iter().map(|e| e.id()).collect();
        let req = SpendRound1Request {
            session,
            psbt: psbt.to_vec(),
            network: self.network,
            now,
            signers,
        };
        let mut excluded = Vec::new();
        let mut replies: Vec<SpendRound1Reply> = Vec::new();
        for_each_until(
            endpoints,
            self.threshold,
            |e| e.spend_round1(&req),
            |e, result| {
                let id = e.id();
                let outcome = match result {
                    Err(refusal) => Err(Excluded::refused(id, refusal)),
                    Ok(reply) if reply.signer != id => {
                        Err(Excluded::fault(id, ReplyFault::WrongSignerOrSession))
                    }
                    Ok(reply) if reply.commitments.len() != summary.sighashes.len() => {
                        Err(Excluded::fault(id, ReplyFault::CommitmentsDiffer))
                    }
                    Ok(reply) => match check_reply(verifier, &expected, &reply) {
                        Ok(()) => Ok(reply),
                        Err(fault) => Err(Excluded::fault(id, fault)),
                    },
                };
                match outcome {
                    Ok(reply) => {
                        replies.push(reply);
                        true
                    }
                    Err(x) => {
                        excluded.push(x);
                        false
                    }
                }
            },
        );
        if replies.len() < self.threshold {
            return Err(CoordinatorError::TooFewSigners {
                need: self.threshold,
                usable: replies.len(),
                excluded,
            }
            .into());
        }
        // In roster order, whatever order they arrived in.
        replies.sort_by_key(|r| r.signer);
        excluded.sort_by_key(|x| x.signer);

        // Round 2: one package per input.
        let packages: Vec<SigningPackage<Taproot>> = summary
            .sighashes
            .iter()
            .enumerate()
            .map(|(i, sighash)| {
                let commitments = replies
                    .iter()
                    .map(|r| (r.signer.to_frost::<Taproot>(), r.commitments[i]))
                    .collect();
                SigningPackage::new(commitments, sighash)
            })
            .collect();
        let req = SpendRound2Request {
            session,
            packages: packages.clone(),
            replies: replies.clone(),
        };
        let chosen: Vec<&&dyn SpendEndpoint> = endpoints
            .iter()
            .filter(|e| replies.iter().any(|r| r.signer == e.id()))
            .collect();
        let mut shares = Vec::new();
        let mut failed = Vec::new();
        for (e, result) in fan_out(&chosen, |e| e.spend_round2(&req)) {
            let id = e.id();
            match result {
                Err(refusal) => failed.push(Excluded::refused(id, refusal)),
                Ok(reply) => match self.check_shares(&session, id, &reply, packages.len()) {
                    Ok(()) => shares.push(reply),
                    Err(fault) => failed.push(Excluded::fault(id, fault)),
                },
            }
        }
        if !failed.is_empty() {
            excluded.extend(failed);
            return Err(CoordinatorError::TooFewSigners {
                need: self.threshold,
                usable: shares.len(),
                excluded,
            }
            .into());
        }

        // One signature per input, each checked under the output key before finalizing.
        let mut signatures = Vec::with_capacity(packages.len());
        for (i, package) in packages.iter().enumerate() {
            let by_signer: BTreeMap<SignerId, SignatureShare<Taproot>> =
                shares.iter().map(|s| (s.signer, s.shares[i])).collect();
            let signature = aggregate_taproot(package, &by_signer, self.public, None)
                .map_err(|e| CoordinatorError::FinalSignature(format!("input {i}: {e}")))?;
            let bytes = signature_bytes(&signature)
                .map_err(|e| CoordinatorError::FinalSignature(format!("input {i}: {e}")))?;
            wallet
                .verify_key_spend(&summary.sighashes[i], &bytes)
                .map_err(|e| CoordinatorError::FinalSignature(format!("input {i}: {e}")))?;
            signatures.push(bytes);
        }
        let mut spend_psbt = spend_psbt;
        spend_psbt
            .add_signatures(&signatures)
            .map_err(|e| CoordinatorError::FinalSignature(e.to_string()))?;
        let signed = spend_psbt
            .finalize()
            .map_err(|e| CoordinatorError::FinalSignature(e.to_string()))?;
        Ok(SpendSigned {
            session,
            signed,
            summary,
            unsigned_psbt,
            replies,
            shares,
            excluded,
        })
    }

    /// A round-2 reply names its signer, holds one share per input, and is attested by the
    /// signer's identity key over the session and the shares.
    fn check_shares(
        &self,
        session: &SessionId,
        id: SignerId,
        reply: &SpendRound2Reply,
        inputs: usize,
    ) -> Result<(), ReplyFault> {
        if reply.signer != id || reply.session != *session {
            return Err(ReplyFault::Round2WrongSigner);
        }
        if reply.shares.len() != inputs {
            return Err(ReplyFault::InvalidSignatureShare);
        }
        let key = self.roster.get(&id).ok_or(ReplyFault::Round2Attestation)?;
        let msg = verifier::audit::share_attestation_message(
            session.as_bytes(),
            id.get(),
            &shares_list_bytes(&reply.shares),
        );
        verifier::verify_bip340(key, &msg, &reply.attestation)
            .map_err(|_| ReplyFault::Round2Attestation)
    }
}

/// Calls `call` on endpoints in order, `want` at once (one scoped thread each, so round-1
/// proving overlaps), and hands each result to `take` as it arrives; each result `take`
/// does not accept (returns `false`) starts the next endpoint at once. Stops when `want`
/// were accepted or no endpoint is left and none is in flight.
fn for_each_until<'e, T: Send>(
    endpoints: &[&'e dyn SpendEndpoint],
    want: usize,
    call: impl Fn(&dyn SpendEndpoint) -> T + Sync,
    mut take: impl FnMut(&'e dyn SpendEndpoint, T) -> bool,
) {
    use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut next = endpoints.iter();
        let (mut accepted, mut in_flight) = (0, 0);
        loop {
            while accepted + in_flight < want {
                let Some(&e) = next.next() else { break };
                let (tx, call) = (tx.clone(), &call);
                s.spawn(move || {
                    // Sent even if `call` panics, so the loop never waits for a lost reply.
                    let _ = tx.send((e, catch_unwind(AssertUnwindSafe(|| call(e)))));
                });
                in_flight += 1;
            }
            if in_flight == 0 {
                return;
            }
            let Ok((e, result)) = rx.recv() else { return };
            in_flight -= 1;
            match result {
                Ok(result) => accepted += usize::from(take(e, result)),
                Err(panic) => resume_unwind(panic),
            }
        }
    })
}

/// Calls `f` on every endpoint at once (one scoped thread each: round-1 proving overlaps).
fn fan_out<'e, T: Send>(
    items: &[&'e &'e dyn SpendEndpoint],
    f: impl Fn(&dyn SpendEndpoint) -> T + Sync,
) -> Vec<(&'e dyn SpendEndpoint, T)> {
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .iter()
            .map(|e| {
                let f = &f;
                s.spawn(move || f(**e))
            })
            .collect();
        items
            .iter()
            .zip(handles)
            .map(|(e, h)| {
                (
                    **e,
                    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                )
            })
            .collect()
    })
}

/// `[O, fee, lock_time]` of `spend` on backend `B`, little-endian: the inputs every party
/// derives from the transaction itself.
pub fn derived_inputs<B: Backend>(spend: &circuits::spend::Spend) -> [[u8; 32]; 3] {
    use circuits::StatementField;
    [
        spend.commitment::<B>().0.to_le_bytes32(),
        B::F::from_u64(spend.fee()).to_le_bytes32(),
        B::F::from_u64(spend.lock_time().into()).to_le_bytes32(),
    ]
}
