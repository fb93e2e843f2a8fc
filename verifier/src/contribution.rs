//! THE round-1 contribution check: what the coordinator, every co-signer in round 2 and the
//! auditor check of a signer's round-1 contribution before trusting it.
//!
//! A contribution is a signer's nonce commitments, its policy proof, the proof's public
//! inputs and its attestation. The check is the same for every statement: the public inputs
//! are `[derived.., P, now, binding]` ([`StatementInputs`]), where the derived inputs are
//! the intent statement's `C`, or a Bitcoin spend's `O`, fee and lock time. It is accepted when
//!
//! 1. the signer has an identity key (is in the roster) and the attestation is a valid
//!    BIP-340 signature by it over [`attestation_message`] — Groth16 proofs can be
//!    re-randomised by anyone, so this signature, not the proof, says who attested;
//! 2. the proof envelope decodes and names the expected backend and verifying key;
//! 3. the public inputs are canonical field elements of the backend;
//! 4. the derived inputs and `now` are the session's ([`Expected`]), and `P` is the policy commitment
//!    the signer is registered under for this key at `now` ([`Expected::policies`], filled
//!    by each verifier from its own copy of the governance registry): a proof against any
//!    other policy — a fabricated, looser one, or an older one rolled back — is refused;
//! 5. `binding` is `Binding::derive(session, signer id LE, group key, commitments)`, so the
//!    proof cannot be moved to another signer, session or set of commitments;
//! 6. the proof verifies — done for many contributions at once by
//!    [`verify_contribution_proofs`], one batch, naming every failing signer.
//!
//! Steps 1–5 are cheap and done per contribution: [`check_contribution`] stops at the first
//! fault (for the coordinator and the co-signers, which drop or refuse the signer);
//! [`contribution_faults`] reports them all (for the auditor, which names every fault of a
//! record). Every fault is a [`ContributionError`] naming the signer.

use circuits::public::{PublicInputs, PublicInputsError, StatementInputs};
use circuits::spend::SpendPublicInputs;
use circuits::{Backend, BackendId, Binding};

use crate::audit::attestation_message;
use crate::bip340::{verify_bip340, Bip340Error};
use crate::envelope::ProofEnvelope;
use crate::error::{EnvelopeError, ProofError};
use crate::fingerprint::VkFingerprint;
use crate::registered::RegisteredPolicies;
use crate::statement::{PublicOf, StatementVerifier};

/// One signer's round-1 contribution, as received (or as recorded in the audit log).
#[derive(Clone, Copy, Debug)]
pub struct Contribution<'a> {
    /// The signer's FROST identifier.
    pub signer_id: u16,
    /// The signer's node identity key (x-only BIP-340); `None` when the signer is not in the
    /// roster.
    pub identity_key: Option<&'a [u8; 32]>,
    /// Its serialized round-1 nonce commitments.
    pub commitments: &'a [u8],
    /// Its proof envelope's bytes (`ProofEnvelope::to_bytes`), as the attestation signs them.
    pub proof: &'a [u8],
    /// Its public inputs `[derived.., P, now, binding]` ([`StatementInputs`]: `[C, P, now,
    /// binding]` for the intent statement), canonical little-endian.
    pub public_inputs: &'a [[u8; 32]],
    /// Its BIP-340 attestation over [`attestation_message`].
    pub attestation: &'a [u8; 64],
}

/// What every contribution of one session must agree with.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The session id.
    pub session_id: &'a [u8; 32],
    /// The group key's serialized bytes (as the binding hashes them).
    pub group_key: &'a [u8],
    /// The inputs every verifier derives from the session itself, little-endian: the
    /// intent statement's `C`; a spend's `O`, fee and lock time
    /// ([`StatementInputs::DERIVED`]).
    pub derived: &'a [[u8; 32]],
    /// The time the policy is evaluated at.
    pub now: u64,
    /// The verifying key every proof must name (the backend is the check's `B`).
    pub vk_fingerprint: VkFingerprint,
    /// The policy commitment each signer is registered under for this key at `now`.
    pub policies: &'a RegisteredPolicies,
}

/// A contribution that passed the cheap checks: the decoded proof and public inputs, ready
/// for [`verify_contribution_proofs`].
#[derive(Clone, Debug)]
pub struct Checked<T> {
    /// The signer.
    pub signer_id: u16,
    /// The decoded proof envelope.
    pub proof: ProofEnvelope,
    /// The decoded public inputs (`PublicInputs<F>` or `SpendPublicInputs<F>`).
    pub public: T,
}

impl<T> Checked<T> {
    /// `(signer, proof, public inputs)`: an item of [`verify_contribution_proofs`].
    pub fn as_item(&self) -> (u16, &ProofEnvelope, &T) {
        (self.signer_id, &self.proof, &self.public)
    }
}

/// A contribution refused, naming the signer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("signer {signer_id}: {fault}")]
pub struct ContributionError {
    /// The signer whose contribution is refused.
    pub signer_id: u16,
    /// What is wrong with it.
    pub fault: ContributionFault,
}

/// What is wrong with a contribution.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContributionFault {
    /// The signer has no identity key in the roster.
    #[error("not in the roster")]
    NotInRoster,
    /// The attestation does not verify under the signer's identity key.
    #[error("attestation rejected: {0}")]
    BadAttestation(Bip340Error),
    /// The proof envelope does not decode.
    #[error("{0}")]
    Envelope(EnvelopeError),
    /// The proof envelope names another backend or verifying key than expected.
    #[error("proof is for {found_backend}/{found_fingerprint}, expected {backend}/{fingerprint}")]
    EnvelopeMismatch {
        /// The expected backend.
        backend: BackendId,
        /// The expected fingerprint.
        fingerprint: VkFingerprint,
        /// The proof's backend.
        found_backend: BackendId,
        /// The proof's fingerprint.
        found_fingerprint: VkFingerprint,
    },
    /// The public inputs are not canonical field elements of the backend.
    #[error("{0}")]
    PublicInputs(PublicInputsError),
    /// A proved input differs from the one derived from the session (the intent's `C`; a
    /// spend's `O`, fee or lock time, derived from the transaction).
    #[error("proved {input} {found}, the session's is {expected}")]
    DerivedMismatch {
        /// Which input ([`StatementInputs::DERIVED`]).
        input: &'static str,
        /// The derived value, hex.
        expected: String,
        /// The proved value, hex.
        found: String,
    },
    /// The proof is for another time than the session's.
    #[error("proved at now = {found}, the session is at {expected}")]
    NowMismatch {
        /// The session's `now`.
        expected: u64,
        /// The proved `now` (its low 64 bits).
        found: u64,
    },
    /// The proved policy commitment `P` is not the one the governance registry holds for
    /// this signer, key and time (or the signer has none registered).
    #[error("proved policy commitment {found} is not the registered one ({})", registered.as_deref().unwrap_or("none registered"))]
    UnregisteredPolicy {
        /// The registered `P`, hex, if any.
        registered: Option<String>,
        /// The proved `P`, hex.
        found: String,
    },
    /// The binding is not derived from this session, signer, group key and commitments.
    #[error("binding {found} is not {expected} (derived from session, signer, group key and commitments)")]
    BindingMismatch {
        /// The derived binding, hex.
        expected: String,
        /// The public input, hex.
        found: String,
    },
    /// The proof does not verify with its public inputs.
    #[error("proof rejected: {0}")]
    InvalidProof(ProofError),
}

/// `now` as its public-input encoding (u64 LE, zero-padded to 32 bytes).
fn now_bytes(now: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&now.to_le_bytes());
    out
}

/// What [`statement_faults`] finds: the decoded contribution when it decodes, and every
/// fault.
pub type Faults<T> = (Option<Checked<T>>, Vec<ContributionFault>);

/// Every fault of steps 1–5 (module docs) of an intent-statement contribution `c` on
/// backend `B` ([`statement_faults`] with [`PublicInputs`]).
pub fn contribution_faults<B: Backend>(
    c: &Contribution,
    e: &Expected,
) -> Faults<PublicInputs<B::F>> {
    statement_faults::<PublicInputs<B::F>>(B::ID, c, e)
}

/// Every fault of steps 1–5 (module docs) of `c`, a contribution to statement `T` on
/// `backend`, and the decoded proof and public inputs when they decode (so that the proof
/// can still be verified and its failure reported too). `Checked` is `Some` whenever both
/// decode, faults or not.
pub fn statement_faults<T: StatementInputs>(
    backend: BackendId,
    c: &Contribution,
    e: &Expected,
) -> Faults<T> {
    let mut faults = Vec::new();
    if c.public_inputs.len() != T::LEN || e.derived.len() != T::DERIVED.len() {
        faults.push(ContributionFault::PublicInputs(PublicInputsError::Count {
            expected: T::LEN,
            found: c.public_inputs.len(),
        }));
        return (None, faults);
    }
    match c.identity_key {
        None => faults.push(ContributionFault::NotInRoster),
        Some(key) => {
            let msg = attestation_message(
                e.session_id,
                c.signer_id,
                c.commitments,
                c.proof,
                c.public_inputs,
            );
            if let Err(err) = verify_bip340(key, &msg, c.attestation) {
                faults.push(ContributionFault::BadAttestation(err));
            }
        }
    }
    let proof = match ProofEnvelope::from_bytes(c.proof) {
        Err(err) => {
            faults.push(ContributionFault::Envelope(err));
            None
        }
        Ok(env) if env.backend != backend || env.vk_fingerprint != e.vk_fingerprint => {
            faults.push(ContributionFault::EnvelopeMismatch {
                backend,
                fingerprint: e.vk_fingerprint,
                found_backend: env.backend,
                found_fingerprint: env.vk_fingerprint,
            });
            None
        }
        Ok(env) => Some(env),
    };
    for ((input, derived), proved) in T::DERIVED.iter().zip(e.derived).zip(c.public_inputs) {
        if proved != derived {
            faults.push(ContributionFault::DerivedMismatch {
                input,
                expected: hex::encode(derived),
                found: hex::encode(proved),
            });
        }
    }
    if c.public_inputs[T::NOW] != now_bytes(e.now) {
        let mut low = [0u8; 8];
        low.copy_from_slice(&c.public_inputs[T::NOW][..8]);
        faults.push(ContributionFault::NowMismatch {
            expected: e.now,
            found: u64::from_le_bytes(low),
        });
    }
    let registered = e.policies.get(c.signer_id);
    if registered != Some(&c.public_inputs[T::P]) {
        faults.push(ContributionFault::UnregisteredPolicy {
            registered: registered.map(hex::encode),
            found: hex::encode(c.public_inputs[T::P]),
        });
    }
    let public = match T::decode(c.public_inputs) {
        Err(err) => {
            faults.push(ContributionFault::PublicInputs(err));
            None
        }
        Ok(public) => {
            let derived = Binding::derive(
                e.session_id,
                &c.signer_id.to_le_bytes(),
                e.group_key,
                c.commitments,
            );
            if public.binding() != derived {
                faults.push(ContributionFault::BindingMismatch {
                    expected: derived.to_hex(),
                    found: public.binding().to_hex(),
                });
            }
            Some(public)
        }
    };
    let checked = proof.zip(public).map(|(proof, public)| Checked {
        signer_id: c.signer_id,
        proof,
        public,
    });
    (checked, faults)
}

/// Steps 1–5 (module docs) of an intent-statement contribution `c` on backend `B`,
/// refusing at the first fault; the proof itself is left to [`verify_contribution_proofs`].
pub fn check_contribution<B: Backend>(
    c: &Contribution,
    e: &Expected,
) -> Result<Checked<PublicInputs<B::F>>, ContributionError> {
    check_statement::<PublicInputs<B::F>>(B::ID, c, e)
}

/// Steps 1–5 (module docs) of a spend contribution `c` on backend `B` (its derived inputs
/// `O`, fee and lock time computed from the transaction), refusing at the first fault.
pub fn check_spend_contribution<B: Backend>(
    c: &Contribution,
    e: &Expected,
) -> Result<Checked<SpendPublicInputs<B::F>>, ContributionError> {
    check_statement::<SpendPublicInputs<B::F>>(B::ID, c, e)
}

/// Steps 1–5 (module docs) of `c`, a contribution to statement `T` on `backend`, refusing
/// at the first fault.
pub fn check_statement<T: StatementInputs>(
    backend: BackendId,
    c: &Contribution,
    e: &Expected,
) -> Result<Checked<T>, ContributionError> {
    let (checked, faults) = statement_faults::<T>(backend, c, e);
    match (faults.into_iter().next(), checked) {
        (Some(fault), _) => Err(ContributionError {
            signer_id: c.signer_id,
            fault,
        }),
        (None, Some(checked)) => Ok(checked),
        // contribution_faults reports a fault whenever the proof or the inputs do not decode.
        (None, None) => unreachable!("an undecodable contribution has a fault"),
    }
}

/// Verifies the proofs of many contributions as one batch. On failure every proof is
/// verified alone, and each failing one is named: `(index in items, error naming its
/// signer)`, in the order of `items`.
pub fn verify_contribution_proofs<V: StatementVerifier>(
    verifier: &V,
    items: &[(u16, &ProofEnvelope, &PublicOf<V::Backend>)],
) -> Result<(), Vec<(usize, ContributionError)>> {
    let batch: Vec<_> = items.iter().map(|(_, env, p)| (*env, *p)).collect();
    let Err(err) = verifier.verify_batch(&batch) else {
        return Ok(());
    };
    let mut failures: Vec<(usize, ContributionError)> = err
        .failures
        .into_iter()
        .map(|(i, error)| {
            let signer_id = items[i].0;
            let fault = ContributionFault::InvalidProof(error);
            (i, ContributionError { signer_id, fault })
        })
        .collect();
    failures.sort_by_key(|(i, _)| *i);
    Err(failures)
}

#[cfg(test)]
#[path = "contribution_tests.rs"]
mod tests;
