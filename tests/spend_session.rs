//! Bitcoin spends signed by a 3-of-5 quorum in process, each signer proving (Groth16) that
//! the transaction meets its registered spend policy: one session per transaction with one
//! nonce pair per input, every signed transaction checked by Bitcoin Core's consensus code.
//! Then the liars: a signer whose policy refuses (naming the rule and the output), a replayed
//! session, a coordinator asking for shares over another sighash, and a signer proving
//! about other outputs or another fee. Last, the auditor: it re-derives a spend from its
//! record and names what a tampered record changed.

mod common;

use std::sync::{Arc, OnceLock};

use bitcoin::{Psbt, TxOut};
use circuits::spend::{script_hash, SizeClass, SpendPolicy};
use circuits::PolicySalt;
use common::btc::{consensus_check, external, funding, pay, spend_psbt};
use frost_core::keys::PublicKeyPackage;
use frost_core::SigningPackage;
use prover::groth16::Groth16System;
use prover::spend::{Groth16Spend, SpendKeys};
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::local::spend::{FixedRegistry, SpendNode};
use signer::session::spend::{
    RecordPlace, SpendCoordinator, SpendCoordinatorError, SpendEndpoint, SpendRound1Reply,
    SpendRound1Request, SpendRound2Reply, SpendRound2Request, SpendSigned,
};
use signer::session::{CoordinatorError, Refusal, ReplyFault, SessionError};
use signer::taproot::Taproot;
use signer::{MemoryNonceStore, Roster, SessionId, SessionSigner, Threshold};
use verifier::audit::{
    decode_list, encode_list, spend_record_faults, verify_log, AuditError, AuditKeys, SpendRecord,
};
use verifier::bitcoin::{network_code, GroupWallet, Network};
use verifier::contribution::ContributionFault;
use verifier::RegisteredPolicies;

const NOW: u64 = circuits::sample::NOW;

type Node = SessionSigner<Taproot, MemoryNonceStore<Taproot>, Groth16System>;

/// The spend policy every signer holds: regtest, at most 100 000 sat out per transaction,
/// fee at most 2 000 sat, time-locked until `NOW - 10`, external scripts 0..40 allowed.
fn policy() -> SpendPolicy {
    SpendPolicy::new(
        network_code(Network::Regtest),
        100_000,
        2_000,
        NOW - 10,
        (0..40)
            .map(|i| script_hash(external(i).as_bytes()))
            .collect(),
        PolicySalt::from_bytes([7; 32]),
    )
    .expect("a valid policy")
}

/// Spend keys for the 2- and 16-output classes, set up once per test binary.
fn keys() -> &'static SpendKeys<Groth16Spend> {
    static KEYS: OnceLock<SpendKeys<Groth16Spend>> = OnceLock::new();
    KEYS.get_or_init(|| {
        SpendKeys::new(
            [SizeClass::Two, SizeClass::Sixteen]
                .into_iter()
                .map(|c| Groth16Spend::setup(c, &mut OsRng).expect("spend setup"))
                .collect(),
        )
    })
}

/// A fresh 3-of-5 key (DKG), its signers holding [`policy`], registered for it.
struct Quorum {
    nodes: Vec<Node>,
    roster: Roster,
    public: PublicKeyPackage<Taproot>,
    wallet: GroupWallet,
    spend: RegisteredPolicies,
}

fn quorum() -> Quorum {
    let shares =
        signer::local::dkg::<Taproot, _>(Threshold::new(3, 5).unwrap(), &mut OsRng).expect("dkg");
    let public = shares[0].public_key_package().clone();
    let (nodes, roster, intent) = signer::local::session_signers(
        shares,
        &circuits::sample::policy(),
        common::groth16(),
        &mut OsRng,
    );
    let (nodes, spend) = signer::local::spend::hold_spend_policy(nodes, intent, &policy());
    Quorum {
        wallet: GroupWallet::from_public_key_package(&public).expect("wallet"),
        nodes,
        roster,
        public,
        spend,
    }
}

impl Quorum {
    fn coordinator(&self) -> SpendCoordinator<'_, verifier::Groth16VerifyingKey> {
        SpendCoordinator {
            public: &self.public,
            threshold: 3,
            roster: &self.roster,
            network: Network::Regtest,
            policies: &self.spend,
            verifiers: [SizeClass::Two, SizeClass::Sixteen]
                .into_iter()
                .map(|c| (c, keys().class(c).expect("keys").verifier()))
                .collect(),
        }
    }

    fn endpoints(
        &self,
    ) -> Vec<SpendNode<'_, MemoryNonceStore<Taproot>, Groth16System, Groth16Spend>> {
        self.nodes
            .iter()
            .map(|signer| SpendNode {
                signer,
                keys: keys(),
            })
            .collect()
    }

    /// Signs `psbt` with the signers in order, `first` (if any) asked before them.
    fn sign(
        &self,
        psbt: &Psbt,
        first: Option<&dyn SpendEndpoint>,
    ) -> Result<SpendSigned, SpendCoordinatorError> {
        let nodes = self.endpoints();
        let mut endpoints: Vec<&dyn SpendEndpoint> = first.into_iter().collect();
        endpoints.extend(nodes.iter().map(|n| n as &dyn SpendEndpoint));
        self.coordinator()
            .sign(&endpoints, &psbt.serialize(), NOW, &mut OsRng)
    }

    fn change(&self) -> bitcoin::ScriptBuf {
        self.wallet.script_pubkey().clone()
    }
}

/// The spent outputs of `psbt` (its inputs' `witness_utxo`), for the consensus check.
fn spent(psbt: &Psbt) -> Vec<TxOut> {
    psbt.inputs
        .iter()
        .map(|i| i.witness_utxo.clone().expect("witness_utxo"))
        .collect()
}

fn consensus_ok(signed: &SpendSigned, psbt: &Psbt) {
    consensus_check(&signed.signed.tx, &spent(psbt)).unwrap_or_else(|(i, e)| {
        panic!(
            "Bitcoin consensus refused input {i} of {}: {e}",
            signed.signed.txid
        )
    });
}

/// Every excluded signer's reason, when too few signers remain.
fn refusals(err: SpendCoordinatorError) -> Vec<String> {
    match err {
        SpendCoordinatorError::Session(CoordinatorError::TooFewSigners { excluded, .. }) => {
            excluded.into_iter().map(|e| e.refusal.reason).collect()
        }
        other => panic!("expected too few signers, got {other}"),
    }
}

#[test]
fn a_quorum_signs_a_one_input_spend_and_bitcoin_accepts_it() {
    let q = quorum();
    let fund = funding(&q.change(), &[60_000]);
    let psbt = spend_psbt(
        &q.wallet,
        &[fund],
        vec![pay(external(0), 30_000), pay(q.change(), 29_000)],
        0,
    );
    let signed = q.sign(&psbt, None).expect("signed");
    consensus_ok(&signed, &psbt);
    assert_eq!(signed.replies.len(), 3);
    assert!(signed.excluded.is_empty(), "{:?}", signed.excluded);
    assert_eq!(signed.summary.fee, 1_000);
    assert_eq!(signed.summary.external.len(), 1, "change is not external");
    assert_eq!(signed.signed.txid, psbt.unsigned_tx.compute_txid());
    for r in &signed.replies {
        assert_eq!(r.commitments.len(), 1, "one nonce pair per input");
    }
}

#[test]
fn three_inputs_and_sixteen_outputs_are_one_session_and_pass_consensus() {
    let q = quorum();
    let funds = [
        funding(&q.change(), &[50_000, 40_000]),
        funding(&q.change(), &[30_000]),
    ];
    let mut outputs: Vec<TxOut> = (0..16).map(|i| pay(external(i), 5_000)).collect();
    outputs.push(pay(q.change(), 120_000 - 80_000 - 1_500));
    let psbt = spend_psbt(&q.wallet, &funds, outputs, 800_000);
    let signed = q.sign(&psbt, None).expect("signed");
    consensus_ok(&signed, &psbt);
    assert_eq!(signed.summary.sighashes.len(), 3);
    for r in &signed.replies {
        assert_eq!(r.commitments.len(), 3, "one nonce pair per input");
    }
    for s in &signed.shares {
        assert_eq!(s.shares.len(), 3, "one share per input");
    }
}

#[test]
fn a_spend_breaking_the_policy_is_refused_naming_the_rule_and_the_output() {
    let q = quorum();
    let fund = || funding(&q.change(), &[200_000]);
    // Output 1 pays a script outside every signer's allowlist.
    let psbt = spend_psbt(
        &q.wallet,
        &[fund()],
        vec![
            pay(external(1), 10_000),
            pay(external(500), 10_000),
            pay(q.change(), 179_000),
        ],
        0,
    );
    let reasons = refusals(q.sign(&psbt, None).unwrap_err());
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    for r in &reasons {
        assert_eq!(r, "spend policy refused: allowlist (output 1)");
    }
    // Over the total, and over the fee limit.
    let over_total = spend_psbt(
        &q.wallet,
        &[fund()],
        vec![
            pay(external(1), 60_000),
            pay(external(2), 50_000),
            pay(q.change(), 89_000),
        ],
        0,
    );
    for r in refusals(q.sign(&over_total, None).unwrap_err()) {
        assert_eq!(r, "spend policy refused: total");
    }
    let over_fee = spend_psbt(
        &q.wallet,
        &[fund()],
        vec![pay(external(1), 10_000), pay(q.change(), 185_000)],
        0,
    );
    for r in refusals(q.sign(&over_fee, None).unwrap_err()) {
        assert_eq!(r, "spend policy refused: fee");
    }
    // Change to a key that is not the group's counts as external (and is not allowlisted).
    let foreign_change = spend_psbt(
        &q.wallet,
        &[fund()],
        vec![pay(external(1), 10_000), pay(quorum().change(), 189_000)],
        0,
    );
    for r in refusals(q.sign(&foreign_change, None).unwrap_err()) {
        assert_eq!(r, "spend policy refused: allowlist (output 1)");
    }
}

/// Round 1 of a fresh one-input spend (paying `external(out)`) by the first three signers,
/// driven by hand (a coordinator that may lie in round 2): the PSBT, the request, the
/// replies.
fn round1_by_three(q: &Quorum, out: usize) -> (Psbt, SpendRound1Request, Vec<SpendRound1Reply>) {
    let fund = funding(&q.change(), &[60_000]);
    let psbt = spend_psbt(
        &q.wallet,
        &[fund],
        vec![pay(external(out), 30_000), pay(q.change(), 29_000)],
        0,
    );
    let chosen = &q.nodes[..3];
    let req = SpendRound1Request {
        session: SessionId::random(&mut OsRng),
        psbt: psbt.serialize(),
        network: Network::Regtest,
        now: NOW,
        signers: chosen.iter().map(|n| n.id()).collect(),
    };
    let replies = chosen
        .iter()
        .map(|n| n.spend_round1(&req, keys(), &mut OsRng).expect("round 1"))
        .collect();
    (psbt, req, replies)
}

#[test]
fn a_replayed_session_gets_no_nonces_and_no_shares() {
    let q = quorum();
    let (psbt, req, replies) = round1_by_three(&q, 3);
    let (session, chosen) = (req.session, &q.nodes[..3]);
    // Round 1 again under the same session: the input's nonces exist, none are made.
    let err = chosen[0]
        .spend_round1(&req, keys(), &mut OsRng)
        .expect_err("replayed round 1");
    assert!(
        matches!(
            err,
            SessionError::Signer(signer::SignerError::NonceExists(_))
        ),
        "{err}"
    );
    let summary =
        verifier::bitcoin::SpendPsbt::from_psbt(psbt.clone(), &q.wallet, Network::Regtest)
            .and_then(|p| p.summary())
            .expect("summary");
    let commitments = replies
        .iter()
        .map(|r| (r.signer.to_frost::<Taproot>(), r.commitments[0]))
        .collect();
    let round2 = SpendRound2Request {
        session,
        packages: vec![SigningPackage::new(commitments, &summary.sighashes[0])],
        replies,
    };
    chosen[1]
        .spend_round2(&round2, keys(), &mut OsRng)
        .expect("round 2");
    // Round 2 again: the session is closed, its nonces consumed.
    let err = chosen[1]
        .spend_round2(&round2, keys(), &mut OsRng)
        .expect_err("replayed round 2");
    assert!(matches!(err, SessionError::UnknownSession(_)), "{err}");
}

#[test]
fn a_coordinator_asking_shares_over_another_sighash_gets_none() {
    let q = quorum();
    let (_, req, replies) = round1_by_three(&q, 4);
    let (session, chosen) = (req.session, &q.nodes[..3]);
    // The package signs another message than input 0's sighash.
    let commitments = replies
        .iter()
        .map(|r| (r.signer.to_frost::<Taproot>(), r.commitments[0]))
        .collect();
    let lie = SpendRound2Request {
        session,
        packages: vec![SigningPackage::new(commitments, &[9u8; 32])],
        replies: replies.clone(),
    };
    let err = chosen[0]
        .spend_round2(&lie, keys(), &mut OsRng)
        .expect_err("refused");
    assert!(
        matches!(err, SessionError::SighashMismatch { input: 0 }),
        "{err}"
    );
    // Two packages for one input: refused too.
    let mut two = lie.clone();
    two.packages.push(two.packages[0].clone());
    let err = chosen[1]
        .spend_round2(&two, keys(), &mut OsRng)
        .expect_err("refused");
    assert!(
        matches!(
            err,
            SessionError::InputCount {
                packages: 2,
                inputs: 1
            }
        ),
        "{err}"
    );
}

/// A signer that proves about another transaction than the session's (a PSBT of its own
/// choosing), with valid proofs and attestations.
struct ProvesOther<'a> {
    node: SpendNode<'a, MemoryNonceStore<Taproot>, Groth16System, Groth16Spend>,
    psbt: Vec<u8>,
}

impl SpendEndpoint for ProvesOther<'_> {
    fn id(&self) -> signer::SignerId {
        self.node.id()
    }
    fn spend_round1(&self, req: &SpendRound1Request) -> Result<SpendRound1Reply, Refusal> {
        let mut other = req.clone();
        other.psbt = self.psbt.clone();
        self.node.spend_round1(&other)
    }
    fn spend_round2(&self, req: &SpendRound2Request) -> Result<SpendRound2Reply, Refusal> {
        self.node.spend_round2(req)
    }
}

#[test]
fn a_proof_about_other_outputs_or_another_fee_is_refused_and_its_signer_replaced() {
    let q = quorum();
    let cases = [
        // Other outputs, same fee: `O` differs.
        (
            vec![pay(external(6), 30_000), pay(q.change(), 29_000)],
            "outputs commitment O",
        ),
        // Same external output, another fee: the fee differs.
        (
            vec![pay(external(5), 30_000), pay(q.change(), 28_500)],
            "fee",
        ),
    ];
    for (outputs, input) in cases {
        // A fresh transaction per case (a signed one is never signed again).
        let fund = funding(&q.change(), &[60_000]);
        let psbt = spend_psbt(
            &q.wallet,
            std::slice::from_ref(&fund),
            vec![pay(external(5), 30_000), pay(q.change(), 29_000)],
            0,
        );
        let other = spend_psbt(&q.wallet, std::slice::from_ref(&fund), outputs, 0);
        let liar = ProvesOther {
            node: SpendNode {
                signer: &q.nodes[4],
                keys: keys(),
            },
            psbt: other.serialize(),
        };
        // The liar is asked first; its honest self is not asked again.
        let nodes = q.endpoints();
        let endpoints: Vec<&dyn SpendEndpoint> = std::iter::once(&liar as &dyn SpendEndpoint)
            .chain(nodes[..4].iter().map(|n| n as &dyn SpendEndpoint))
            .collect();
        let signed = q
            .coordinator()
            .sign(&endpoints, &psbt.serialize(), NOW, &mut OsRng)
            .expect("signed by the three honest signers asked next");
        consensus_ok(&signed, &psbt);
        assert_eq!(signed.excluded.len(), 1, "{:?}", signed.excluded);
        let x = &signed.excluded[0];
        assert_eq!(x.signer, q.nodes[4].id());
        match &x.fault {
            Some(ReplyFault::Contribution(ContributionFault::DerivedMismatch {
                input: i, ..
            })) => {
                assert_eq!(*i, input)
            }
            other => panic!("expected a derived-input mismatch, got {other:?}"),
        }
        assert!(signed.replies.iter().all(|r| r.signer != x.signer));
    }
}

/// A signer whose round 1 cannot finish before `gate` opens (or 60 s pass).
struct WaitsFor<'a> {
    node: SpendNode<'a, MemoryNonceStore<Taproot>, Groth16System, Groth16Spend>,
    gate: &'a (std::sync::Mutex<bool>, std::sync::Condvar),
}

impl SpendEndpoint for WaitsFor<'_> {
    fn id(&self) -> signer::SignerId {
        self.node.id()
    }
    fn spend_round1(&self, req: &SpendRound1Request) -> Result<SpendRound1Reply, Refusal> {
        let (open, cv) = self.gate;
        let guard = open.lock().unwrap();
        let (guard, _) = cv
            .wait_timeout_while(guard, std::time::Duration::from_secs(60), |o| !*o)
            .unwrap();
        if !*guard {
            return Err(Refusal::other(
                "the replacement was not asked while I proved",
            ));
        }
        drop(guard);
        self.node.spend_round1(req)
    }
    fn spend_round2(&self, req: &SpendRound2Request) -> Result<SpendRound2Reply, Refusal> {
        self.node.spend_round2(req)
    }
}

/// A signer that opens `gate` when asked.
struct Opens<'a> {
    node: SpendNode<'a, MemoryNonceStore<Taproot>, Groth16System, Groth16Spend>,
    gate: &'a (std::sync::Mutex<bool>, std::sync::Condvar),
}

impl SpendEndpoint for Opens<'_> {
    fn id(&self) -> signer::SignerId {
        self.node.id()
    }
    fn spend_round1(&self, req: &SpendRound1Request) -> Result<SpendRound1Reply, Refusal> {
        *self.gate.0.lock().unwrap() = true;
        self.gate.1.notify_all();
        self.node.spend_round1(req)
    }
    fn spend_round2(&self, req: &SpendRound2Request) -> Result<SpendRound2Reply, Refusal> {
        self.node.spend_round2(req)
    }
}

/// A signer that refuses every spend at once (as one over its limit does, before proving).
struct RefusesAtOnce(signer::SignerId);

impl SpendEndpoint for RefusesAtOnce {
    fn id(&self) -> signer::SignerId {
        self.0
    }
    fn spend_round1(&self, _: &SpendRound1Request) -> Result<SpendRound1Reply, Refusal> {
        Err(Refusal::other("over my limit"))
    }
    fn spend_round2(&self, _: &SpendRound2Request) -> Result<SpendRound2Reply, Refusal> {
        unreachable!("a refusing signer is never asked for shares")
    }
}

#[test]
fn a_refusing_signer_is_replaced_while_the_others_still_prove() {
    // Signers 1 and 2 cannot finish round 1 until signer 4 has been asked; signer 3
    // refuses at once. Replacing only after the first three answered would never ask 4
    // in time (and, over the network, would hand 4 a session time grown stale).
    let q = quorum();
    let gate = (std::sync::Mutex::new(false), std::sync::Condvar::new());
    let node = |i: usize| SpendNode {
        signer: &q.nodes[i],
        keys: keys(),
    };
    let waiting = [0, 1].map(|i| WaitsFor {
        node: node(i),
        gate: &gate,
    });
    let refuses = RefusesAtOnce(q.nodes[2].id());
    let opens = Opens {
        node: node(3),
        gate: &gate,
    };
    let endpoints: Vec<&dyn SpendEndpoint> = vec![&waiting[0], &waiting[1], &refuses, &opens];
    let fund = funding(&q.change(), &[60_000]);
    let psbt = spend_psbt(
        &q.wallet,
        std::slice::from_ref(&fund),
        vec![pay(external(5), 30_000), pay(q.change(), 29_000)],
        0,
    );
    let signed = q
        .coordinator()
        .sign(&endpoints, &psbt.serialize(), NOW, &mut OsRng)
        .expect("signed by 1, 2 and the replacement 4");
    consensus_ok(&signed, &psbt);
    assert_eq!(signed.excluded.len(), 1, "{:?}", signed.excluded);
    assert_eq!(signed.excluded[0].signer, q.nodes[2].id());
    let mut by: Vec<_> = signed.replies.iter().map(|r| r.signer).collect();
    by.sort();
    assert_eq!(by, [0, 1, 3].map(|i| q.nodes[i].id()));
}

/// The record of a signed spend, after the key record, as the coordinator would log it.
fn logged(q: &Quorum, signed: &SpendSigned) -> (verifier::audit::KeyRecord, SpendRecord) {
    let key = signer::local::key_record(&q.nodes, &q.public, "local", 1);
    let rec = signed
        .audit_record(
            &q.public,
            &q.roster,
            RecordPlace {
                key_id: "local",
                threshold: 3,
                network: Network::Regtest,
                index: 1,
                time: NOW,
                prev: verifier::audit::chain_hash(key.to_line().as_bytes()),
            },
        )
        .expect("record");
    (key, rec)
}

#[test]
fn the_auditor_re_derives_a_spend_from_its_record_and_names_what_was_tampered() {
    let q = quorum();
    let funds = [funding(&q.change(), &[40_000, 30_000])];
    let psbt = spend_psbt(
        &q.wallet,
        &funds,
        vec![pay(external(7), 50_000), pay(q.change(), 19_000)],
        0,
    );
    let signed = q.sign(&psbt, None).expect("signed");
    let (key, rec) = logged(&q, &signed);

    // The whole log verifies and names the txid.
    let mut keys = AuditKeys::new().with_registry(Arc::new(FixedRegistry {
        intent: (1..=5)
            .map(|s| {
                let p = circuits::sample::policy().commitment::<circuits::bn254::Bn254>();
                (s, p.to_le_bytes())
            })
            .collect(),
        spend: q.spend.clone(),
    }));
    keys.add_verifier(common::groth16().verifier())
        .add_spend_groth16(keys_of(SizeClass::Two).clone());
    let log = format!("{}\n{}\n", key.to_line(), rec.to_line());
    let report = verify_log(log.as_bytes(), &keys);
    assert!(report.is_ok(), "{:?}", report.failures);
    assert_eq!(report.txids, vec![signed.signed.txid.to_string()]);

    let faults = |r: &SpendRecord| spend_record_faults(r, keys_of(SizeClass::Two), &q.spend);
    assert!(faults(&rec).is_empty(), "{:?}", faults(&rec));

    // Another transaction in the record (same inputs, other outputs): the proofs are about
    // other outputs and the txid is not the PSBT's.
    let mut other = rec.clone();
    other.psbt = spend_psbt(
        &q.wallet,
        &funds,
        vec![pay(external(8), 50_000), pay(q.change(), 19_000)],
        0,
    )
    .to_string();
    let found = faults(&other);
    assert!(
        found.iter().any(|e| matches!(e, AuditError::Contribution(c)
            if matches!(c.fault, ContributionFault::DerivedMismatch { input: "outputs commitment O", .. }))),
        "{found:?}"
    );
    assert!(found
        .iter()
        .any(|e| matches!(e, AuditError::SpendMismatch(m) if m.contains("txid"))));
    assert!(found
        .iter()
        .any(|e| matches!(e, AuditError::SpendInput { input: 0, .. })));

    // A signer's proved fee changed: its attestation and the fee check both fail.
    let mut fee = rec.clone();
    fee.signers[0].public_inputs[1][0] ^= 1;
    let found = faults(&fee);
    assert!(
        found.iter().any(|e| matches!(e, AuditError::Contribution(c)
            if matches!(c.fault, ContributionFault::DerivedMismatch { input: "fee", .. }))),
        "{found:?}"
    );

    // A signer whose proof claims another time than the session's is named.
    let mut late = rec.clone();
    late.signers[2].public_inputs[4][0] ^= 1;
    let found = faults(&late);
    assert!(
        found.iter().any(|e| matches!(e, AuditError::Contribution(c)
            if c.signer_id == late.signers[2].signer_id
                && matches!(c.fault, ContributionFault::NowMismatch { .. }))),
        "{found:?}"
    );

    // The commitments listed for the two inputs swapped: neither input's R is the one
    // that signed it.
    let mut swapped = rec.clone();
    for s in &mut swapped.signers {
        let list = decode_list(&s.commitments).expect("a list");
        s.commitments = encode_list(&[list[1], list[0]]);
    }
    let found = faults(&swapped);
    for input in 0..2 {
        assert!(
            found
                .iter()
                .any(|e| matches!(e, AuditError::SpendInput { input: i, reason }
                if *i == input && reason.contains("R with x"))),
            "{found:?}"
        );
    }

    // A signature of another input: refused under the output key.
    let mut sigs = rec.clone();
    sigs.signatures.swap(0, 1);
    let found = faults(&sigs);
    assert!(
        found
            .iter()
            .any(|e| matches!(e, AuditError::SpendInput { reason, .. }
            if reason.contains("output key"))),
        "{found:?}"
    );

    // A share attestation of another signer's shares.
    let mut shares = rec.clone();
    shares.signers[0].shares = shares.signers[1].shares.clone();
    let found = faults(&shares);
    assert!(
        found
            .iter()
            .any(|e| matches!(e, AuditError::ShareAttestation { .. })),
        "{found:?}"
    );

    // In the log, a spend record whose key was never recorded is refused.
    let log = format!(
        "{}\n",
        SpendRecord {
            index: 0,
            prev: [0; 32],
            ..rec.clone()
        }
        .to_line()
    );
    let report = verify_log(log.as_bytes(), &keys);
    assert!(
        report
            .failures
            .iter()
            .any(|f| matches!(f.reason, AuditError::UnknownKey { .. })),
        "{:?}",
        report.failures
    );
}

fn keys_of(class: SizeClass) -> &'static verifier::Groth16VerifyingKey {
    keys().class(class).expect("keys").verifier()
}
