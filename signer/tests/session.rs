//! Proof-carrying sessions, signer side: an honest 3-of-5 session on both backends, and the
//! refusals round 2 must make (other digest, replayed proof or attestation, bad binding).

use std::collections::BTreeMap;
use std::sync::Arc;

use circuits::sample;
use prover::test_util::{groth16, halo2};
use prover::ProofSystem;
use rand::rngs::OsRng;
use signer::keys::dealer;
use signer::round::signing;
use signer::session::{
    ReplyFault, Round1Reply, Round1Request, Round2Request, SessionError, SessionSigner,
};
use signer::taproot::{self, Taproot};
use signer::{MemoryNonceStore, SessionId, SignerId, Threshold};
use verifier::contribution::ContributionFault;
use verifier::Bip340Error;

type Node<P> = SessionSigner<Taproot, MemoryNonceStore<Taproot>, P>;

fn nodes<P: ProofSystem>(system: &Arc<P>) -> Vec<Node<P>> {
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(3, 5).unwrap(), &mut OsRng).unwrap();
    signer::local::session_signers(shares, &sample::policy(), system, &mut OsRng).0
}

fn request(session: SessionId, chosen: &[usize], nonce: u64) -> Round1Request {
    Round1Request {
        session,
        intent: sample::intent(nonce),
        now: sample::NOW,
        signers: chosen
            .iter()
            .map(|i| SignerId::new(*i as u16 + 1).unwrap())
            .collect(),
    }
}

fn round1<P: ProofSystem>(
    nodes: &[Node<P>],
    req: &Round1Request,
    chosen: &[usize],
) -> Vec<Round1Reply<Taproot>> {
    chosen
        .iter()
        .map(|&i| nodes[i].round1(req, &mut OsRng).unwrap())
        .collect()
}

fn round2_request(
    session: SessionId,
    replies: &[Round1Reply<Taproot>],
    digest: &[u8],
) -> Round2Request<Taproot> {
    let commitments: BTreeMap<_, _> = replies.iter().map(|r| (r.signer, r.commitments)).collect();
    Round2Request {
        session,
        package: signing::signing_package(&commitments, digest),
        replies: replies.to_vec(),
    }
}

/// The round-2 request for `req`'s own intent (on Groth16/BN254) over `replies`.
fn round2_for(req: &Round1Request, replies: &[Round1Reply<Taproot>]) -> Round2Request<Taproot> {
    round2_request(
        req.session,
        replies,
        req.intent
            .signed_digest::<circuits::bn254::Bn254>()
            .as_bytes(),
    )
}

fn honest_session<P: ProofSystem>(system: &Arc<P>) {
    let nodes = nodes(system);
    let chosen = [0, 2, 4];
    let session = SessionId::random(&mut OsRng);
    let req = request(session, &chosen, 1);
    let replies = round1(&nodes, &req, &chosen);
    let digest = req.intent.signed_digest::<P::Backend>();
    let r2 = round2_request(session, &replies, digest.as_bytes());
    let shares: BTreeMap<_, _> = chosen
        .iter()
        .map(|&i| {
            let reply = nodes[i].round2(&r2, &mut OsRng).unwrap();
            (reply.signer, reply.share)
        })
        .collect();
    let public = nodes[0].signer().share().public_key_package();
    let sig = signing::aggregate(&r2.package, &shares, public).unwrap();
    let key = taproot::x_only_key(public).unwrap();
    let bytes = taproot::signature_bytes(&sig).unwrap();
    // The final signature is plain BIP-340 over the intent's digest.
    let vk = k256::schnorr::VerifyingKey::from_bytes(&key).unwrap();
    vk.verify_raw(
        digest.as_bytes(),
        &k256::schnorr::Signature::try_from(bytes.as_slice()).unwrap(),
    )
    .unwrap();
}

#[test]
fn honest_3_of_5_session_on_groth16() {
    honest_session(groth16());
}

#[test]
fn honest_3_of_5_session_on_halo2() {
    honest_session(halo2());
}

#[test]
fn violation_is_named_in_round_1() {
    let nodes = nodes(groth16());
    let mut req = request(SessionId::random(&mut OsRng), &[0, 1, 2], 2);
    req.intent.amount = 2_000_000;
    match nodes[0].round1(&req, &mut OsRng) {
        Err(SessionError::Policy(v)) => assert_eq!(v.rule(), "amount_above_limit"),
        other => panic!("expected the rule named, got {other:?}"),
    }
    // A signer not chosen refuses.
    assert!(matches!(
        nodes[4].round1(
            &request(SessionId::random(&mut OsRng), &[0, 1, 2], 3),
            &mut OsRng
        ),
        Err(SessionError::NotSelected(_))
    ));
}

/// The sample policy with its limit raised to `max` (same salt: only the limit differs).
fn looser(max: u64) -> circuits::Policy {
    let text = sample::policy().to_toml_string().unwrap();
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("max_amount") {
                format!("max_amount = {max}")
            } else {
                l.to_string()
            }
        })
        .collect();
    let p = circuits::Policy::from_toml_str(&edited.join("\n")).unwrap();
    assert_eq!(p.max_amount(), max);
    p
}

#[test]
fn only_the_registered_policy_is_proved() {
    let nodes = nodes(groth16());
    // A looser policy set locally after the registered one (no admin quorum): the signer
    // still proves under the registered one, so an over-limit intent is refused by it.
    nodes[0].set_policies(vec![sample::policy(), looser(10u64.pow(12))]);
    let mut req = request(SessionId::random(&mut OsRng), &[0, 1, 2], 21);
    req.intent.amount = 2_000_000;
    match nodes[0].round1(&req, &mut OsRng) {
        Err(SessionError::Policy(v)) => assert_eq!(v.rule(), "amount_above_limit"),
        other => panic!("expected the registered policy's refusal, got {other:?}"),
    }
    // With the registered policy gone (rows deleted), nothing is proved at all.
    nodes[0].set_policies(vec![looser(10u64.pow(12))]);
    let registered = hex::encode(
        sample::policy()
            .commitment::<circuits::bn254::Bn254>()
            .to_le_bytes(),
    );
    match nodes[0].round1(
        &request(SessionId::random(&mut OsRng), &[0, 1, 2], 22),
        &mut OsRng,
    ) {
        Err(e @ SessionError::PolicyNotRegistered { .. }) => {
            assert!(
                matches!(&e, SessionError::PolicyNotRegistered { registered: Some(p) } if *p == registered)
            );
            assert!(e.to_string().contains(&registered), "{e}");
        }
        other => panic!("expected no registered policy held, got {other:?}"),
    }
}

#[test]
fn a_reply_proved_under_an_unregistered_policy_is_refused_by_cosigners_and_coordinator() {
    use signer::session::coordinator::{Action, Coordinator, CoordinatorError, SignSession};
    use signer::session::{Identity, Registered};
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(3, 5).unwrap(), &mut OsRng).unwrap();
    let public = shares[0].public_key_package().clone();
    let (honest, roster, policies) =
        signer::local::session_signers(shares, &sample::policy(), groth16(), &mut OsRng);
    // Signer 1 runs modified code: it registers its own looser policy with itself and proves
    // a 10^12 transfer under it, with its real share and identity key.
    let fake = looser(10u64.pow(12));
    let fake_p = fake.commitment::<circuits::bn254::Bn254>().to_le_bytes();
    let mut lie = policies.clone();
    lie.insert(1, fake_p);
    let liar = SessionSigner::new(
        signer::Signer::new(honest[0].signer().share().clone(), MemoryNonceStore::new()),
        vec![fake],
        Identity::from_bytes(&honest[0].identity().to_bytes()).unwrap(),
        roster.clone(),
        Arc::clone(groth16()),
        Registered {
            key_id: "local".into(),
            registry: Arc::new(lie),
        },
    );
    let chosen = [0, 1, 2];
    let mut req = request(SessionId::random(&mut OsRng), &chosen, 23);
    req.intent.amount = 10u64.pow(12);
    // The proof itself verifies: only the registry tells it is the wrong policy.
    let fault = ContributionFault::UnregisteredPolicy {
        registered: Some(hex::encode(policies.get(1).unwrap())),
        found: hex::encode(fake_p),
    };
    // The coordinator refuses it in round 1, naming signer 1 and the fault.
    let coord = Coordinator::new(public, roster, groth16().verifier()).unwrap();
    let ids: Vec<SignerId> = (1..=3).map(|i| SignerId::new(i).unwrap()).collect();
    let (mut session, action) = SignSession::start(
        &coord,
        req.intent.clone(),
        sample::NOW,
        ids.clone(),
        policies,
        &mut OsRng,
    );
    let first = match action {
        Action::Round1 { request, .. } => request,
        other => panic!("expected round 1, got {other:?}"),
    };
    let forged = liar.round1(&first, &mut OsRng).unwrap();
    match session.on_round1(vec![(ids[0], Ok(forged))]) {
        Action::Failed(CoordinatorError::TooFewSigners { excluded, .. }) => {
            let one = excluded.iter().find(|e| e.signer == ids[0]).unwrap();
            assert_eq!(one.fault, Some(ReplyFault::Contribution(fault.clone())));
            assert!(
                one.refusal.reason.contains("not the registered one"),
                "{one:?}"
            );
        }
        other => panic!("expected the session to fail with the fault, got {other:?}"),
    }
    // A co-signer refuses it in round 2: here the liar proves the same compliant intent as
    // the honest signers, under its own policy.
    let honest_req = request(SessionId::random(&mut OsRng), &chosen, 24);
    let replies = vec![
        liar.round1(&honest_req, &mut OsRng).unwrap(),
        honest[1].round1(&honest_req, &mut OsRng).unwrap(),
        honest[2].round1(&honest_req, &mut OsRng).unwrap(),
    ];
    let r2 = round2_for(&honest_req, &replies);
    match honest[1].round2(&r2, &mut OsRng) {
        Err(SessionError::BadReply { signer, fault: f }) => {
            assert_eq!(signer.get(), 1);
            assert_eq!(f, ReplyFault::Contribution(fault));
        }
        other => panic!("expected signer 1's reply refused, got {other:?}"),
    }
}

#[test]
fn an_intent_is_signed_at_most_once_per_key() {
    let nodes = nodes(groth16());
    let chosen = [0, 1, 2];
    // Two sessions of two intents under the same nonce (31) both pass round 1 ...
    let a = request(SessionId::random(&mut OsRng), &chosen, 31);
    let mut b = Round1Request {
        session: SessionId::random(&mut OsRng),
        ..a.clone()
    };
    b.intent.amount = 200_000;
    let ra = round1(&nodes, &a, &chosen);
    let rb = round1(&nodes, &b, &chosen);
    // ... the first to reach round 2 is signed ...
    let r2 = round2_for(&a, &ra);
    for &i in &chosen {
        nodes[i].round2(&r2, &mut OsRng).unwrap();
    }
    // ... and the other is refused at round 2 by every signer, before any share.
    let r2 = round2_for(&b, &rb);
    for &i in &chosen {
        match nodes[i].round2(&r2, &mut OsRng) {
            Err(SessionError::Replayed(signer::session::LedgerError::AlreadySigned {
                nonce: 31,
                ..
            })) => {}
            other => panic!("expected the replay refused, got {other:?}"),
        }
    }
    // A third session of the other intent is refused already at round 1; the signed
    // intent itself may be signed again within the retry window (a coordinator retrying
    // the request after a round-2 refusal); another nonce is fine.
    let c = Round1Request {
        session: SessionId::random(&mut OsRng),
        ..b.clone()
    };
    assert!(matches!(
        nodes[0].round1(&c, &mut OsRng),
        Err(SessionError::Replayed(_))
    ));
    let retry = request(SessionId::random(&mut OsRng), &chosen, 31);
    let rr = round1(&nodes, &retry, &chosen);
    let r2 = round2_for(&retry, &rr);
    for &i in &chosen {
        nodes[i].round2(&r2, &mut OsRng).unwrap();
    }
    let d = request(SessionId::random(&mut OsRng), &chosen, 32);
    nodes[0].round1(&d, &mut OsRng).unwrap();
}

#[test]
fn different_digests_to_different_signers_are_refused_and_no_share_leaks() {
    let nodes = nodes(groth16());
    let chosen = [0, 1, 2];
    let session = SessionId::random(&mut OsRng);
    let req = request(session, &chosen, 4);
    let replies = round1(&nodes, &req, &chosen);
    // The coordinator asks signer 1 to sign another intent's digest.
    let other = sample::intent(99).signed_digest::<circuits::bn254::Bn254>();
    let forged = round2_request(session, &replies, other.as_bytes());
    assert!(matches!(
        nodes[0].round2(&forged, &mut OsRng),
        Err(SessionError::DigestMismatch)
    ));
    // The refused request closed the session: an honest retry under the same session id is
    // refused too, so its nonces can never sign (a new session is needed).
    let honest = round2_for(&req, &replies);
    assert!(matches!(
        nodes[0].round2(&honest, &mut OsRng),
        Err(SessionError::UnknownSession(_))
    ));
}

#[test]
fn replayed_proof_or_attestation_is_rejected() {
    let nodes = nodes(groth16());
    let chosen = [0, 1, 2];
    // An earlier session whose replies an attacker replays.
    let old = SessionId::random(&mut OsRng);
    let old_replies = round1(&nodes, &request(old, &chosen, 5), &chosen);

    let session = SessionId::random(&mut OsRng);
    let req = request(session, &chosen, 5);
    let digest = req.intent.signed_digest::<circuits::bn254::Bn254>();
    let replies = round1(&nodes, &req, &chosen);

    // Signer 2's proof and public inputs replaced by those of the old session.
    let mut r = replies.clone();
    r[1].proof = old_replies[1].proof.clone();
    r[1].public_inputs = old_replies[1].public_inputs;
    let e = nodes[0].round2(&round2_request(session, &r, digest.as_bytes()), &mut OsRng);
    assert!(
        matches!(&e, Err(SessionError::BadReply { signer, fault: ReplyFault::Contribution(ContributionFault::BadAttestation(Bip340Error::Invalid)) }) if signer.get() == 2),
        "{e:?}"
    );

    // Signer 3 presents signer 2's proof (another signer's binding), attestation re-signed
    // is impossible without signer 3's identity key, so the attestation fails first.
    let session = SessionId::random(&mut OsRng);
    let req = request(session, &chosen, 6);
    let replies = round1(&nodes, &req, &chosen);
    let mut r = replies.clone();
    r[2].proof = replies[1].proof.clone();
    r[2].public_inputs = replies[1].public_inputs;
    let e = nodes[0].round2(&round2_for(&req, &r), &mut OsRng);
    assert!(
        matches!(&e, Err(SessionError::BadReply { signer, fault: ReplyFault::Contribution(ContributionFault::BadAttestation(Bip340Error::Invalid)) }) if signer.get() == 3),
        "{e:?}"
    );

    // An attestation copied from another signer is rejected.
    let session = SessionId::random(&mut OsRng);
    let req = request(session, &chosen, 7);
    let replies = round1(&nodes, &req, &chosen);
    let mut r = replies.clone();
    r[2].attestation = replies[1].attestation;
    let e = nodes[0].round2(&round2_for(&req, &r), &mut OsRng);
    assert!(
        matches!(&e, Err(SessionError::BadReply { signer, fault: ReplyFault::Contribution(ContributionFault::BadAttestation(Bip340Error::Invalid)) }) if signer.get() == 3),
        "{e:?}"
    );
}

#[test]
fn a_package_that_differs_from_the_replies_is_refused() {
    let nodes = nodes(groth16());
    let chosen = [0, 1, 2];
    let session = SessionId::random(&mut OsRng);
    let req = request(session, &chosen, 8);
    let digest = req.intent.signed_digest::<circuits::bn254::Bn254>();
    let replies = round1(&nodes, &req, &chosen);
    // The coordinator swaps signer 2's commitments in the package for fresh ones of its own
    // choosing (as if showing different packages to different signers).
    let other = SessionId::random(&mut OsRng);
    let forged_c = nodes[1].signer().round1(other, &mut OsRng).unwrap();
    let mut commitments: BTreeMap<_, _> =
        replies.iter().map(|r| (r.signer, r.commitments)).collect();
    commitments.insert(SignerId::new(2).unwrap(), forged_c);
    let r2 = Round2Request {
        session,
        package: signing::signing_package(&commitments, digest.as_bytes()),
        replies: replies.clone(),
    };
    let e = nodes[0].round2(&r2, &mut OsRng);
    assert!(
        matches!(&e, Err(SessionError::BadReply { signer, fault: ReplyFault::CommitmentsDiffer }) if signer.get() == 2),
        "{e:?}"
    );
    // A package that leaves out a signer's reply is refused as well.
    let session = SessionId::random(&mut OsRng);
    let req = request(session, &chosen, 9);
    let replies = round1(&nodes, &req, &chosen);
    let mut r2 = round2_for(&req, &replies);
    r2.replies.pop();
    assert!(matches!(
        nodes[0].round2(&r2, &mut OsRng),
        Err(SessionError::BadReply { signer, fault: ReplyFault::MissingReply }) if signer.get() == 1
    ));
}

#[test]
fn round2_after_the_session_ttl_is_refused_on_the_signers_clock() {
    let ttl = std::time::Duration::from_secs(1);
    let nodes: Vec<_> = nodes(groth16())
        .into_iter()
        .map(|n| n.with_session_ttl(ttl))
        .collect();
    let chosen = [0, 1, 2];
    // Within the TTL, round 2 goes through.
    let session = SessionId::random(&mut OsRng);
    let req = request(session, &chosen, 10);
    let digest = req.intent.signed_digest::<circuits::bn254::Bn254>();
    let replies = round1(&nodes, &req, &chosen);
    let r2 = round2_request(session, &replies, digest.as_bytes());
    nodes[2].round2(&r2, &mut OsRng).unwrap();
    // Past it, the open session is refused as expired, however valid the request ...
    std::thread::sleep(ttl + std::time::Duration::from_millis(100));
    match nodes[0].round2(&r2, &mut OsRng) {
        Err(SessionError::Expired { session: s, age }) => {
            assert_eq!(s, session);
            assert!(age > ttl, "{age:?}");
        }
        other => panic!("expected the session expired, got {other:?}"),
    }
    // ... and forgotten: its nonces can never sign.
    assert!(matches!(
        nodes[0].round2(&r2, &mut OsRng),
        Err(SessionError::UnknownSession(s)) if s == session
    ));
}

#[test]
fn coordinator_state_machine_excludes_the_silent_and_refuses_replies_out_of_order() {
    use signer::session::coordinator::{
        Action, Coordinator, CoordinatorError, ReplyFault, SignSession,
    };
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(3, 5).unwrap(), &mut OsRng).unwrap();
    let public = shares[0].public_key_package().clone();
    let (_, roster, policies) =
        signer::local::session_signers(shares, &sample::policy(), groth16(), &mut OsRng);
    let coord = Coordinator::new(public, roster, groth16().verifier()).unwrap();
    let ids: Vec<SignerId> = (1..=5).map(|i| SignerId::new(i).unwrap()).collect();
    let (mut session, action) = SignSession::start(
        &coord,
        sample::intent(11),
        sample::NOW,
        ids.clone(),
        policies,
        &mut OsRng,
    );
    let request = match action {
        Action::Round1 { to, request } => {
            assert_eq!(to, ids[..3]);
            assert_eq!(request.signers, ids);
            assert_eq!(request.now, sample::NOW);
            request
        }
        other => panic!("expected round 1, got {other:?}"),
    };
    // Round-2 replies while round 1 is open: refused, the session goes on.
    assert!(matches!(
        session.on_round2(Vec::new(), &mut OsRng),
        Action::Failed(CoordinatorError::OutOfOrder {
            got: "round-2",
            expected: "round-1 replies"
        })
    ));
    // Nobody answers: the next candidates are asked in the same session ...
    match session.on_round1(Vec::new()) {
        Action::Round1 { to, request: again } => {
            assert_eq!(to, ids[3..]);
            assert_eq!(again.session, request.session);
        }
        other => panic!("expected the replacements asked, got {other:?}"),
    }
    assert_eq!(session.excluded().len(), 3);
    // ... and when they are silent too, the session fails naming every signer.
    match session.on_round1(Vec::new()) {
        Action::Failed(CoordinatorError::TooFewSigners {
            need: 3,
            usable: 0,
            excluded,
        }) => {
            assert_eq!(excluded.iter().map(|x| x.signer).collect::<Vec<_>>(), ids);
            assert!(excluded
                .iter()
                .all(|x| x.fault == Some(ReplyFault::NoReply) && x.refusal.reason == "no reply"));
        }
        other => panic!("expected too few signers, got {other:?}"),
    }
}

#[test]
fn a_round2_share_without_its_signers_attestation_is_excluded_and_the_record_keeps_the_rest() {
    use signer::local::Endpoint;
    use signer::session::coordinator::{Action, Coordinator, ReplyFault, SignSession};
    let shares =
        dealer::trusted_dealer::<Taproot, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap();
    let public = shares[0].public_key_package().clone();
    let (nodes, roster, policies) =
        signer::local::session_signers(shares, &sample::policy(), groth16(), &mut OsRng);
    let coord = Coordinator::new(public, roster, groth16().verifier()).unwrap();
    let ids: Vec<SignerId> = (1..=3).map(|i| SignerId::new(i).unwrap()).collect();
    let node = |id: SignerId| &nodes[usize::from(id.get()) - 1];
    let (mut session, mut action) = SignSession::start(
        &coord,
        sample::intent(12),
        sample::NOW,
        ids,
        policies,
        &mut OsRng,
    );
    let mut tampered = None;
    let signed = loop {
        action = match action {
            Action::Round1 { to, request } => session.on_round1(
                to.iter()
                    .map(|id| (*id, Endpoint::round1(node(*id), &request)))
                    .collect(),
            ),
            Action::Round2 { to, request } => {
                let mut replies: Vec<_> = to
                    .iter()
                    .map(|id| (*id, Endpoint::round2(node(*id), &request)))
                    .collect();
                // The first time, the first signer's share arrives with a broken attestation.
                if tampered.is_none() {
                    let (id, reply) = &mut replies[0];
                    reply.as_mut().unwrap().attestation[7] ^= 1;
                    tampered = Some(*id);
                }
                session.on_round2(replies, &mut OsRng)
            }
            Action::Done(signed) => break signed,
            Action::Failed(e) => panic!("session failed: {e}"),
        }
    };
    let culprit = tampered.unwrap();
    assert!(signed
        .excluded
        .iter()
        .any(|x| x.signer == culprit && x.fault == Some(ReplyFault::Round2Attestation)));
    assert!(signed.shares.iter().all(|s| s.signer != culprit));
    // The record keeps each share with its attestation, which the auditor checks.
    let record = coord.audit_record(&signed, "k", sample::NOW).unwrap();
    for e in &record.signers {
        let msg =
            verifier::audit::share_attestation_message(&record.session_id, e.signer_id, &e.share);
        verifier::verify_bip340(&e.identity_key, &msg, &e.share_attestation).unwrap();
    }
}
