//! In-process drivers: run a whole protocol among participants held in one process,
//! delivering every message to its recipients.
//!
//! For tests, benches and demos only: compiled with the `test-util` feature. A networked
//! deployment moves the same messages ([`crate::keys::dkg`], [`crate::keys::refresh`],
//! [`crate::keys::repair`], [`crate::keys::reshare`]) over its transport instead; these
//! functions are the reference for the delivery rules (broadcasts to everyone else, private
//! messages to their `to`). Signing sessions are driven by [`session`]: the coordinator's
//! state machine against in-process signers or test doubles ([`session::Endpoint`]).

pub mod session;
pub mod spend;

pub use session::Endpoint;

use std::sync::Arc;

use frost_core::Ciphersuite;
use rand_core::{CryptoRng, RngCore};

use crate::error::{Result, SignerError};
use crate::ids::{SignerId, Threshold};
use crate::keys::dkg::{DkgParticipant, DkgRound1Message, DkgRound2Message};
use crate::keys::refresh::start_refresh;
use crate::keys::repair::{repair_step1, repair_step2, repair_step3};
use crate::keys::reshare::{reshare_deal, reshare_receive, ReshareConfig};
use crate::keys::share::KeyShare;
use crate::round::nonce::MemoryNonceStore;
use crate::round::signing::Signer;
use crate::session::{Identity, Roster, SessionSigner};

/// Everyone's DKG round-1 broadcast except the one at `me` (what participant `me` takes in).
pub fn others<C: Ciphersuite>(
    bcasts: &[DkgRound1Message<C>],
    me: usize,
) -> Vec<DkgRound1Message<C>> {
    bcasts
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != me)
        .map(|(_, m)| m.clone())
        .collect()
}

/// The private messages addressed to `me`.
fn addressed_to<C: Ciphersuite>(
    private: &[DkgRound2Message<C>],
    me: SignerId,
) -> Vec<DkgRound2Message<C>> {
    private.iter().filter(|m| m.to == me).cloned().collect()
}

/// Delivers a two-round DKG-shaped protocol (DKG or refresh): every broadcast to everyone
/// else, every private message to its `to`.
fn run_two_rounds<C: Ciphersuite, S1, S2>(
    states: Vec<S1>,
    bcasts: &[DkgRound1Message<C>],
    receive: impl Fn(S1, Vec<DkgRound1Message<C>>) -> Result<(S2, Vec<DkgRound2Message<C>>)>,
    finish: impl Fn(S2, Vec<DkgRound2Message<C>>) -> Result<KeyShare<C>>,
) -> Result<Vec<KeyShare<C>>> {
    let mut round2 = Vec::with_capacity(states.len());
    let mut private = Vec::new();
    for (i, st) in states.into_iter().enumerate() {
        let (st, out) = receive(st, others(bcasts, i))?;
        round2.push(st);
        private.extend(out);
    }
    round2
        .into_iter()
        .zip(bcasts.iter().map(|b| b.from))
        .map(|(st, me)| finish(st, addressed_to(&private, me)))
        .collect()
}

/// A full DKG among signers `1..=n`.
pub fn dkg<C: Ciphersuite, R: RngCore + CryptoRng>(
    threshold: Threshold,
    rng: &mut R,
) -> Result<Vec<KeyShare<C>>> {
    let (states, bcasts): (Vec<_>, Vec<_>) = SignerId::range(threshold.n())
        .map(|me| DkgParticipant::start::<C, R>(me, threshold, rng))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    run_two_rounds(states, &bcasts, |s, m| s.receive(m), |s, m| s.finish(m))
}

/// Refreshes every share of a key (all participants take part).
pub fn refresh<C: Ciphersuite, R: RngCore + CryptoRng>(
    shares: Vec<KeyShare<C>>,
    rng: &mut R,
) -> Result<Vec<KeyShare<C>>> {
    let (states, bcasts): (Vec<_>, Vec<_>) = shares
        .into_iter()
        .map(|s| start_refresh(s, rng))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    run_two_rounds(states, &bcasts, |s, m| s.receive(m), |s, m| s.finish(m))
}

/// Rebuilds the share of `lost` with the help of `helpers`, whose shares are in `shares`.
pub fn repair<C: Ciphersuite, R: RngCore + CryptoRng>(
    shares: &[KeyShare<C>],
    helpers: &[SignerId],
    lost: SignerId,
    rng: &mut R,
) -> Result<KeyShare<C>> {
    let helper_shares = helpers
        .iter()
        .map(|h| {
            shares
                .iter()
                .find(|s| s.id() == *h)
                .ok_or(SignerError::MissingMessage(*h))
        })
        .collect::<Result<Vec<_>>>()?;
    let first = helper_shares.first().ok_or(SignerError::TooFew {
        what: "repair helpers",
        got: 0,
        need: 1,
    })?;
    let mut deltas = Vec::new();
    for h in &helper_shares {
        deltas.extend(repair_step1(h, helpers, lost, rng)?);
    }
    let sigmas = helper_shares
        .iter()
        .map(|h| {
            let mine: Vec<_> = deltas.iter().filter(|d| d.to == h.id()).cloned().collect();
            repair_step2(h, helpers, lost, &mine)
        })
        .collect::<Result<Vec<_>>>()?;
    repair_step3(
        lost,
        first.participants(),
        first.public_key_package(),
        helpers,
        &sigmas,
    )
}

/// Moves the key to `config`'s new group; `shares` must hold every dealer's share.
pub fn reshare<C: Ciphersuite, R: RngCore + CryptoRng>(
    shares: &[KeyShare<C>],
    config: &ReshareConfig,
    rng: &mut R,
) -> Result<Vec<KeyShare<C>>> {
    let mut messages = Vec::new();
    for d in config.dealers() {
        let share = shares
            .iter()
            .find(|s| s.id() == *d)
            .ok_or(SignerError::MissingMessage(*d))?;
        messages.extend(reshare_deal(share, config, rng)?);
    }
    let old_public = shares
        .first()
        .ok_or(SignerError::TooFew {
            what: "old shares",
            got: 0,
            need: 1,
        })?
        .public_key_package();
    config
        .new_participants()
        .iter()
        .map(|j| {
            let mine: Vec<_> = messages.iter().filter(|m| m.to == *j).cloned().collect();
            reshare_receive(*j, config, old_public, &mine)
        })
        .collect()
}

/// In-memory session signers, one per share ([`session_signers`]).
pub type LocalSigners<C, P> = Vec<SessionSigner<C, MemoryNonceStore<C>, P>>;

/// Session signers for every share, each with a fresh identity key and the same `policy`,
/// plus the roster of their identities (what every node and the coordinator are configured
/// with) and the registered policies (every signer registered under `policy`'s `P`: what
/// a governance registry would hold, as the signers and the coordinator look it up).
pub fn session_signers<C, P, R>(
    shares: Vec<KeyShare<C>>,
    policy: &circuits::Policy,
    system: &Arc<P>,
    rng: &mut R,
) -> (LocalSigners<C, P>, Roster, verifier::RegisteredPolicies)
where
    C: Ciphersuite,
    P: prover::ProofSystem,
    R: RngCore + CryptoRng,
{
    let identities: Vec<Identity> = shares.iter().map(|_| Identity::random(rng)).collect();
    let roster: Roster = shares
        .iter()
        .zip(&identities)
        .map(|(s, i)| (s.id(), i.public_key()))
        .collect();
    let p = policy.commitment::<P::Backend>().to_le_bytes();
    let policies: verifier::RegisteredPolicies = shares.iter().map(|s| (s.id().get(), p)).collect();
    let registered = crate::session::Registered {
        key_id: "local".into(),
        registry: Arc::new(policies.clone()),
    };
    let nodes = shares
        .into_iter()
        .zip(identities)
        .map(|(s, i)| {
            SessionSigner::new(
                Signer::new(s, MemoryNonceStore::new()),
                vec![policy.clone()],
                i,
                roster.clone(),
                Arc::clone(system),
                registered.clone(),
            )
        })
        .collect();
    (nodes, roster, policies)
}

/// The key record of `public`'s key as every one of `nodes` attests it at keygen (under
/// roster version `roster_version`, at time `circuits::sample::NOW`): what an auditor needs
/// before the signing records of an in-process cluster (tests, benches).
pub fn key_record<C, S, P>(
    nodes: &[SessionSigner<C, S, P>],
    public: &frost_core::keys::PublicKeyPackage<C>,
    key_id: &str,
    roster_version: u64,
) -> verifier::audit::KeyRecord
where
    C: Ciphersuite,
    S: crate::round::nonce::NonceStore<C>,
    P: prover::ProofSystem,
{
    use circuits::Backend;
    let group_key: [u8; 33] = public
        .verifying_key()
        .serialize()
        .ok()
        .and_then(|k| k.try_into().ok())
        .expect("a 33-byte SEC1 group key");
    let mut rec = verifier::audit::KeyRecord {
        version: verifier::audit::KEY_RECORD_VERSION,
        index: 0,
        key_id: key_id.into(),
        backend: <P::Backend as Backend>::ID.as_u8(),
        threshold: public.min_signers().unwrap_or(2),
        participants: u16::try_from(nodes.len()).expect("at most u16::MAX nodes"),
        roster_version,
        group_key,
        public_key_package: public.serialize().expect("package serializes"),
        attestations: Vec::new(),
        time: circuits::sample::NOW,
        prev: [0; 32],
    };
    rec.attestations = nodes
        .iter()
        .map(|n| {
            let id = n.signer().share().id().get();
            verifier::audit::KeyAttestation {
                signer_id: id,
                identity_key: n.identity().public_key(),
                signature: n
                    .identity()
                    .sign(&rec.attestation_message(id), &mut rand::rngs::OsRng)
                    .expect("identity signature"),
            }
        })
        .collect();
    rec
}
