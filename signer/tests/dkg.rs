//! DKG state machine: honest runs, and each kind of misbehaviour refused with its culprit.

mod common;

use common::*;
use rand::rngs::OsRng;
use signer::keys::dkg::{DkgParticipant, DkgRound1, DkgRound1Message, DkgRound2, DkgRound2Message};
use signer::{taproot::Taproot, SignerError, SignerId, Threshold};

type C = Taproot;

struct Run {
    states: Vec<Option<DkgRound1<C>>>,
    bcasts: Vec<DkgRound1Message<C>>,
}

fn start(t: u16, n: u16) -> Run {
    let th = Threshold::new(t, n).unwrap();
    let (states, bcasts): (Vec<_>, Vec<_>) = SignerId::range(n)
        .map(|me| {
            let (s, m) = DkgParticipant::start::<C, _>(me, th, &mut OsRng).unwrap();
            (Some(s), m)
        })
        .unzip();
    Run { states, bcasts }
}

fn others(bcasts: &[DkgRound1Message<C>], me: usize) -> Vec<DkgRound1Message<C>> {
    signer::local::others(bcasts, me)
}

fn to_round2(run: &mut Run) -> (Vec<Option<DkgRound2<C>>>, Vec<DkgRound2Message<C>>) {
    let mut states = Vec::new();
    let mut private = Vec::new();
    for i in 0..run.states.len() {
        let st = run.states[i].take().unwrap();
        let (s2, out) = st.receive(others(&run.bcasts, i)).unwrap();
        states.push(Some(s2));
        private.extend(out);
    }
    (states, private)
}

fn mine(private: &[DkgRound2Message<C>], me: u16) -> Vec<DkgRound2Message<C>> {
    private.iter().filter(|m| m.to == id(me)).cloned().collect()
}

#[test]
fn honest_dkg_gives_consistent_shares_that_sign() {
    let shares = run_dkg::<C>(3, 5);
    let g = shares[0].group_key_bytes();
    assert!(shares.iter().all(|s| s.group_key_bytes() == g));
    assert!(shares
        .iter()
        .all(|s| s.threshold() == 3 && s.participants().len() == 5));
    let signers = signers(shares);
    sign(&signers, &[1, 3, 4], b"dkg").unwrap();
}

#[test]
fn tampered_proof_of_knowledge_names_the_sender() {
    let mut run = start(2, 3);
    // Participant 2's broadcast is replaced by participant 3's package (a replay under
    // another identity): its proof of knowledge is bound to identifier 3, not 2.
    let mut bcasts = run.bcasts.clone();
    bcasts[1].package = run.bcasts[2].package.clone();
    let st = run.states[0].take().unwrap();
    match st.receive(others(&bcasts, 0)) {
        Err(SignerError::Misbehaviour { culprit, .. }) => assert_eq!(culprit, id(2)),
        other => panic!("expected culprit #2, got {:?}", other.err()),
    }
}

#[test]
fn proof_from_another_run_names_the_sender() {
    let mut run = start(2, 3);
    let other_run = start(2, 3);
    let mut bcasts = run.bcasts.clone();
    // Participant 3 replays its package from an earlier DKG run with a corrupted proof:
    // the commitment is from one run, the proof from another.
    let mut json: serde_json::Value =
        serde_json::from_str(&signer::wire::encode("m", &bcasts[2]).unwrap()).unwrap();
    let other_json: serde_json::Value =
        serde_json::from_str(&signer::wire::encode("m", &other_run.bcasts[2]).unwrap()).unwrap();
    json["package"]["proof_of_knowledge"] = other_json["package"]["proof_of_knowledge"].clone();
    bcasts[2] = signer::wire::decode("m", &json.to_string()).unwrap();
    let st = run.states[0].take().unwrap();
    match st.receive(others(&bcasts, 0)) {
        Err(SignerError::Misbehaviour { culprit, .. }) => assert_eq!(culprit, id(3)),
        other => panic!("expected culprit #3, got {:?}", other.err()),
    }
}

#[test]
fn wrong_secret_share_names_the_sender() {
    let mut run = start(3, 4);
    let (mut states, private) = to_round2(&mut run);
    // Participant 4 sends participant 1 the share it computed for participant 2.
    let mut for_one = mine(&private, 1);
    let stolen = private
        .iter()
        .find(|m| m.from == id(4) && m.to == id(2))
        .unwrap()
        .package
        .clone();
    for m in for_one.iter_mut().filter(|m| m.from == id(4)) {
        m.package = stolen.clone();
    }
    match states[0].take().unwrap().finish(for_one) {
        Err(SignerError::Misbehaviour { culprit, .. }) => assert_eq!(culprit, id(4)),
        other => panic!("expected culprit #4, got {:?}", other.err()),
    }
}

#[test]
fn message_set_errors_are_typed() {
    let run = start(2, 3);
    let th = Threshold::new(2, 3).unwrap();
    let fresh = || {
        DkgParticipant::start::<C, _>(id(1), th, &mut OsRng)
            .unwrap()
            .0
    };
    // Missing sender.
    let err = fresh().receive(vec![run.bcasts[1].clone()]).err().unwrap();
    assert_eq!(err, SignerError::MissingMessage(id(3)));
    // Duplicate sender.
    let err = fresh()
        .receive(vec![run.bcasts[1].clone(), run.bcasts[1].clone()])
        .err()
        .unwrap();
    assert_eq!(err, SignerError::DuplicateIdentifier(id(2)));
    // Out-of-range sender.
    let mut stray = run.bcasts[1].clone();
    stray.from = id(9);
    let err = fresh()
        .receive(vec![run.bcasts[1].clone(), stray])
        .err()
        .unwrap();
    assert_eq!(err, SignerError::UnknownSigner(id(9)));
    // A message claiming to come from the receiver itself.
    let mut me = run.bcasts[1].clone();
    me.from = id(1);
    assert!(matches!(
        fresh().receive(vec![me, run.bcasts[2].clone()]),
        Err(SignerError::Misbehaviour { culprit, .. }) if culprit == id(1)
    ));
}

#[test]
fn misaddressed_round2_message_is_refused() {
    let mut run = start(2, 3);
    let (mut states, private) = to_round2(&mut run);
    let wrong = mine(&private, 2);
    assert!(matches!(
        states[0].take().unwrap().finish(wrong),
        Err(SignerError::MisaddressedMessage { me, .. }) if me == id(1)
    ));
}

#[test]
fn invalid_parameters_are_refused() {
    assert_eq!(
        Threshold::new(1, 3).unwrap_err(),
        SignerError::InvalidThreshold { t: 1, n: 3 }
    );
    assert_eq!(
        Threshold::new(4, 3).unwrap_err(),
        SignerError::InvalidThreshold { t: 4, n: 3 }
    );
    assert_eq!(SignerId::new(0).unwrap_err(), SignerError::ZeroIdentifier);
    let th = Threshold::new(2, 3).unwrap();
    assert!(matches!(
        DkgParticipant::start::<C, _>(id(4), th, &mut OsRng),
        Err(SignerError::IdentifierOutOfRange { .. })
    ));
}
