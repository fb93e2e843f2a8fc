//! Key lifecycle: refresh, repair and reshare keep the group key and stay sound.

mod common;

use std::collections::BTreeMap;

use common::*;
use rand::rngs::OsRng;
use signer::keys::dealer;
use signer::keys::repair::{repair_step1, repair_step2, repair_step3};
use signer::keys::reshare::{reshare_deal, reshare_receive, ReshareConfig, ReshareMessage};
use signer::{taproot::Taproot, KeyShare, Rfc9591, SignerError, SignerId, Threshold};

type C = Taproot;

fn refresh_all(shares: Vec<KeyShare<C>>) -> Vec<KeyShare<C>> {
    signer::local::refresh(shares, &mut OsRng).unwrap()
}

fn secret_bytes(s: &KeyShare<C>) -> Vec<u8> {
    s.key_package().signing_share().serialize()
}

#[test]
fn refresh_keeps_group_key_and_old_shares_no_longer_combine() {
    let old = run_dkg::<C>(2, 3);
    let new = refresh_all(old.clone());
    for (o, n) in old.iter().zip(&new) {
        assert_eq!(o.group_key(), n.group_key());
        assert_ne!(secret_bytes(o), secret_bytes(n), "share must change");
    }
    // New shares sign under the same key.
    let new_signers = signers(new.clone());
    let sig = sign(&new_signers, &[0, 2], b"after refresh").unwrap();
    old[0].group_key().verify(b"after refresh", &sig).unwrap();

    // An old share combined with a new one does not sign: its share fails against the
    // refreshed verifying share, and the cheater is named.
    let mixed = signers(vec![old[0].clone(), new[1].clone(), new[2].clone()]);
    let (session, package) = round1(&mixed, &[0, 1], b"mixed");
    let shares: BTreeMap<_, _> = [0usize, 1]
        .iter()
        .map(|&i| {
            (
                mixed[i].share().id(),
                mixed[i].round2(session, &package).unwrap(),
            )
        })
        .collect();
    match signer::round::signing::aggregate(&package, &shares, new[0].public_key_package()) {
        Err(SignerError::InvalidSignatureShares(c)) => assert_eq!(c, vec![id(1)]),
        other => panic!("old share must not combine, got {other:?}"),
    }
    // Even judged against the old public package, the mixed shares do not form a signature.
    assert!(
        signer::round::signing::aggregate(&package, &shares, old[0].public_key_package()).is_err()
    );
}

fn repair(
    shares: &[KeyShare<C>],
    helpers: &[SignerId],
    lost: SignerId,
) -> signer::Result<KeyShare<C>> {
    signer::local::repair(shares, helpers, lost, &mut OsRng)
}

#[test]
fn repaired_share_equals_the_lost_one() {
    let shares = run_dkg::<C>(3, 5);
    let lost = id(2);
    let repaired = repair(&shares, &[id(1), id(4), id(5)], lost).unwrap();
    assert_eq!(repaired, shares[1]);
    assert_eq!(secret_bytes(&repaired), secret_bytes(&shares[1]));
}

#[test]
fn repair_refuses_bad_helper_sets_and_catches_a_wrong_sigma() {
    let shares = run_dkg::<C>(3, 5);
    // Too few helpers.
    assert!(matches!(
        repair_step1(&shares[0], &[id(1), id(3)], id(2), &mut OsRng),
        Err(SignerError::TooFew {
            got: 2,
            need: 3,
            ..
        })
    ));
    // The lost participant as its own helper.
    assert!(matches!(
        repair_step1(&shares[0], &[id(1), id(2), id(3)], id(2), &mut OsRng),
        Err(SignerError::Misbehaviour { .. })
    ));
    // Duplicate helper.
    assert_eq!(
        repair_step1(&shares[0], &[id(1), id(1), id(3)], id(2), &mut OsRng).unwrap_err(),
        SignerError::DuplicateIdentifier(id(1))
    );
    // A sigma computed for a different lost participant is detected.
    let helpers = [id(1), id(4), id(5)];
    let deltas: Vec<_> = helpers
        .iter()
        .flat_map(|h| {
            repair_step1(&shares[h.get() as usize - 1], &helpers, id(3), &mut OsRng).unwrap()
        })
        .collect();
    let sigmas: Vec<_> = helpers
        .iter()
        .map(|h| {
            let mine: Vec<_> = deltas.iter().filter(|d| d.to == *h).cloned().collect();
            repair_step2(&shares[h.get() as usize - 1], &helpers, id(3), &mine).unwrap()
        })
        .collect();
    assert!(matches!(
        repair_step3(
            id(2),
            shares[0].participants(),
            shares[0].public_key_package(),
            &helpers,
            &sigmas
        ),
        Err(SignerError::InconsistentShare(_))
    ));
}

fn reshare(
    old: &[KeyShare<C>],
    dealers: &[u16],
    new_ids: &[u16],
    new_t: u16,
    tamper: impl Fn(&mut Vec<ReshareMessage<C>>),
) -> Vec<signer::Result<KeyShare<C>>> {
    let public = old[0].public_key_package();
    let config = ReshareConfig::new(
        public,
        dealers.iter().map(|d| id(*d)).collect(),
        new_ids.iter().map(|d| id(*d)).collect(),
        new_t,
    )
    .unwrap();
    let mut messages: Vec<ReshareMessage<C>> = dealers
        .iter()
        .flat_map(|d| {
            let share = old.iter().find(|s| s.id() == id(*d)).unwrap();
            reshare_deal(share, &config, &mut OsRng).unwrap()
        })
        .collect();
    tamper(&mut messages);
    new_ids
        .iter()
        .map(|j| {
            let mine: Vec<_> = messages
                .iter()
                .filter(|m| m.to == id(*j))
                .cloned()
                .collect();
            reshare_receive(id(*j), &config, public, &mine)
        })
        .collect()
}

#[test]
fn reshare_2_of_3_to_3_of_5_and_back_keeps_the_group_key() {
    let old = dealer::trusted_dealer::<C, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap();
    let group = *old[0].group_key();
    let new: Vec<_> = reshare(&old, &[1, 3], &[1, 2, 3, 4, 5], 3, |_| {})
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(new
        .iter()
        .all(|s| s.group_key() == &group && s.threshold() == 3));
    let new_signers = signers(new.clone());
    for subset in [[0usize, 1, 2], [2, 3, 4], [0, 2, 4]] {
        let sig = sign(&new_signers, &subset, b"reshared").unwrap();
        group.verify(b"reshared", &sig).unwrap();
    }
    // Two new shares are not enough any more.
    let (session, package) = round1(&new_signers, &[0, 1], b"x");
    assert!(matches!(
        new_signers[0].round2(session, &package),
        Err(SignerError::TooFew { need: 3, .. })
    ));
    // And back down to 2-of-3 with different identifiers, dealt by 3 of the 5.
    let back: Vec<_> = reshare(&new, &[2, 4, 5], &[7, 8, 9], 2, |_| {})
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(back.iter().all(|s| s.group_key() == &group));
    let back_signers = signers(back);
    let sig = sign(&back_signers, &[0, 2], b"again").unwrap();
    group.verify(b"again", &sig).unwrap();
}

#[test]
fn reshare_names_a_dealer_with_a_bad_subshare() {
    let old = dealer::trusted_dealer::<C, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap();
    // Dealer 3 sends participant 1 the evaluation meant for participant 2.
    let results = reshare(&old, &[1, 3], &[1, 2, 3], 2, |msgs| {
        let for_two = msgs
            .iter()
            .find(|m| m.from == id(3) && m.to == id(2))
            .unwrap()
            .share
            .clone();
        let bad = msgs
            .iter_mut()
            .find(|m| m.from == id(3) && m.to == id(1))
            .unwrap();
        bad.share = for_two;
    });
    assert!(matches!(
        &results[0],
        Err(SignerError::Misbehaviour { culprit, .. }) if *culprit == id(3)
    ));
    assert!(results[1].is_ok() && results[2].is_ok());
}

#[test]
fn reshare_names_a_dealer_that_deals_a_different_secret() {
    let old = dealer::trusted_dealer::<C, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap();
    let other_key =
        dealer::trusted_dealer::<C, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap();
    // Dealer 1 re-deals a share of some other key: internally consistent, but its constant
    // term is not λ_1·Y_1 of the real key.
    let config = ReshareConfig::new(
        other_key[0].public_key_package(),
        vec![id(1), id(2)],
        vec![id(1), id(2), id(3)],
        2,
    )
    .unwrap();
    let forged = reshare_deal(&other_key[0], &config, &mut OsRng).unwrap();
    let results = reshare(&old, &[1, 2], &[1, 2, 3], 2, |msgs| {
        for m in msgs.iter_mut().filter(|m| m.from == id(1)) {
            m.share = forged.iter().find(|f| f.to == m.to).unwrap().share.clone();
        }
    });
    for r in results {
        assert!(matches!(r, Err(SignerError::Misbehaviour { culprit, .. }) if culprit == id(1)));
    }
}

#[test]
fn reshare_config_is_validated() {
    let old =
        dealer::trusted_dealer::<Rfc9591, _>(Threshold::new(3, 4).unwrap(), &mut OsRng).unwrap();
    let p = old[0].public_key_package();
    let ids = |v: &[u16]| v.iter().map(|d| id(*d)).collect::<Vec<_>>();
    assert!(matches!(
        ReshareConfig::new(p, ids(&[1, 2]), ids(&[1, 2, 3]), 2),
        Err(SignerError::TooFew {
            got: 2,
            need: 3,
            ..
        })
    ));
    assert_eq!(
        ReshareConfig::new(p, ids(&[1, 2, 9]), ids(&[1, 2, 3]), 2).unwrap_err(),
        SignerError::UnknownSigner(id(9))
    );
    assert_eq!(
        ReshareConfig::new(p, ids(&[1, 2, 2]), ids(&[1, 2, 3]), 2).unwrap_err(),
        SignerError::DuplicateIdentifier(id(2))
    );
    assert_eq!(
        ReshareConfig::new(p, ids(&[1, 2, 3]), ids(&[1, 2, 3]), 4).unwrap_err(),
        SignerError::InvalidThreshold { t: 4, n: 3 }
    );
    assert_eq!(
        ReshareConfig::new(p, ids(&[1, 2, 3]), ids(&[1, 2, 3]), 1).unwrap_err(),
        SignerError::InvalidThreshold { t: 1, n: 3 }
    );
}
