//! End-to-end threshold signing for both ciphersuites, nonce single-use, cheater detection.

mod common;

use std::collections::BTreeMap;

use common::*;
use frost_core::round2::SignatureShare;
use frost_core::Ciphersuite;
use proptest::prelude::*;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use signer::keys::dealer;
use signer::{taproot, Rfc9591, SignerError, Threshold};

const SIZES: [(u16, u16); 3] = [(2, 3), (3, 5), (7, 10)];

fn check_taproot_sig(
    public: &frost_core::keys::PublicKeyPackage<taproot::Taproot>,
    msg: &[u8],
    sig: &frost_core::Signature<taproot::Taproot>,
) {
    let key = taproot::x_only_key(public).unwrap();
    let bytes = taproot::signature_bytes(sig).unwrap();
    // Independent check with k256's BIP-340 implementation.
    let vk = k256::schnorr::VerifyingKey::from_bytes(&key).unwrap();
    let ks = k256::schnorr::Signature::try_from(bytes.as_slice()).unwrap();
    vk.verify_raw(msg, &ks)
        .expect("k256 accepts the threshold signature");
    // And a different message must not verify.
    assert!(vk.verify_raw(b"another message", &ks).is_err());
}

fn end_to_end<C: Ciphersuite>(use_dkg: bool, t: u16, n: u16) -> Vec<frost_core::Signature<C>> {
    let shares = if use_dkg {
        run_dkg::<C>(t, n)
    } else {
        dealer::trusted_dealer::<C, _>(Threshold::new(t, n).unwrap(), &mut OsRng).unwrap()
    };
    let group = *shares[0].group_key();
    assert!(shares.iter().all(|s| s.group_key() == &group));
    let signers = signers(shares);
    // Two different subsets of exactly t, and all n, each produce a valid signature.
    let first: Vec<usize> = (0..t as usize).collect();
    let last: Vec<usize> = (n as usize - t as usize..n as usize).collect();
    let all: Vec<usize> = (0..n as usize).collect();
    [first, last, all]
        .iter()
        .map(|subset| {
            let msg = b"zkquorum end-to-end";
            let sig = sign(&signers, subset, msg).unwrap();
            group.verify(msg, &sig).unwrap();
            sig
        })
        .collect()
}

#[test]
fn taproot_dealer_and_dkg_sign_and_verify_with_k256() {
    for (t, n) in SIZES {
        for use_dkg in [false, true] {
            let shares = if use_dkg {
                run_dkg::<taproot::Taproot>(t, n)
            } else {
                dealer::trusted_dealer(Threshold::new(t, n).unwrap(), &mut OsRng).unwrap()
            };
            let public = shares[0].public_key_package().clone();
            let signers = signers(shares);
            let subset: Vec<usize> = (0..t as usize).collect();
            let sig = sign(&signers, &subset, b"msg").unwrap();
            check_taproot_sig(&public, b"msg", &sig);
        }
    }
}

#[test]
fn rfc9591_dealer_and_dkg_end_to_end() {
    for (t, n) in SIZES {
        end_to_end::<Rfc9591>(false, t, n);
        end_to_end::<Rfc9591>(true, t, n);
    }
}

#[test]
fn taproot_end_to_end_all_subsets_kinds() {
    for (t, n) in SIZES {
        end_to_end::<taproot::Taproot>(true, t, n);
    }
}

#[test]
fn fewer_than_t_signers_cannot_sign() {
    let signers = signers(
        dealer::trusted_dealer::<Rfc9591, _>(Threshold::new(3, 5).unwrap(), &mut OsRng).unwrap(),
    );
    let (session, package) = round1(&signers, &[0, 1], b"m");
    // Each signer refuses to sign a package with fewer than t commitments.
    for i in [0, 1] {
        assert!(matches!(
            signers[i].round2(session, &package),
            Err(SignerError::TooFew {
                got: 2,
                need: 3,
                ..
            })
        ));
    }
    // And a coordinator holding only t-1 valid shares cannot aggregate them.
    let (session, package) = round1(&signers, &[0, 1, 2], b"m");
    let shares: BTreeMap<_, _> = [0, 1]
        .iter()
        .map(|&i| {
            (
                signers[i].share().id(),
                signers[i].round2(session, &package).unwrap(),
            )
        })
        .collect();
    assert!(signer::round::signing::aggregate(
        &package,
        &shares,
        signers[0].share().public_key_package()
    )
    .is_err());
}

#[test]
fn nonce_reuse_is_refused() {
    let signers = signers(
        dealer::trusted_dealer::<taproot::Taproot, _>(Threshold::new(2, 3).unwrap(), &mut OsRng)
            .unwrap(),
    );
    let (session, package) = round1(&signers, &[0, 1], b"first");
    signers[0].round2(session, &package).unwrap();
    // Same session, same package: refused.
    assert!(matches!(
        signers[0].round2(session, &package),
        Err(SignerError::NonceAlreadyUsed(_))
    ));
    // Same session, a different message (the attack nonce reuse enables): refused.
    let commitments: BTreeMap<_, _> = package
        .signing_commitments()
        .iter()
        .map(|(fid, c)| {
            let sid = signers
                .iter()
                .map(|s| s.share().id())
                .find(|s| s.to_frost::<taproot::Taproot>() == *fid)
                .unwrap();
            (sid, *c)
        })
        .collect();
    let other = signer::round::signing::signing_package(&commitments, b"second");
    assert!(matches!(
        signers[0].round2(session, &other),
        Err(SignerError::NonceAlreadyUsed(_))
    ));
    // Round 1 cannot be re-run for a session to get new nonces under the same id.
    assert!(matches!(
        signers[0].round1(session, &mut OsRng),
        Err(SignerError::NonceExists(_))
    ));
    // Round 2 for a session that never had round 1.
    let unknown = signer::SessionId::random(&mut OsRng);
    assert!(matches!(
        signers[0].round2(unknown, &package),
        Err(SignerError::UnknownSession(_))
    ));
    assert_eq!(signers[0].store().used_count(), 1);
}

#[test]
fn package_without_own_commitments_is_refused() {
    let signers = signers(
        dealer::trusted_dealer::<Rfc9591, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap(),
    );
    let (session, _) = round1(&signers, &[0, 1], b"m");
    // The coordinator swaps in commitments signer 1 never made.
    let (_, forged) = round1(&signers, &[0, 2], b"m");
    assert!(matches!(
        signers[1].round2(session, &forged),
        Err(SignerError::CommitmentMismatch(_))
    ));
    let (session0, _) = round1(&signers, &[0], b"m");
    let (_, fresh) = round1(&signers, &[0, 1], b"m");
    assert!(matches!(
        signers[0].round2(session0, &fresh),
        Err(SignerError::CommitmentMismatch(_))
    ));
}

#[test]
fn bad_share_at_aggregation_names_the_cheater_and_retry_without_it_succeeds() {
    let signers = signers(
        dealer::trusted_dealer::<taproot::Taproot, _>(Threshold::new(3, 5).unwrap(), &mut OsRng)
            .unwrap(),
    );
    let public = signers[0].share().public_key_package().clone();
    let subset = [0usize, 2, 4];
    let (session, package) = round1(&signers, &subset, b"pay");
    let mut shares: BTreeMap<_, _> = subset
        .iter()
        .map(|&i| {
            (
                signers[i].share().id(),
                signers[i].round2(session, &package).unwrap(),
            )
        })
        .collect();
    // Signer 3 (index 2) returns a share from another session: valid encoding, wrong value.
    let (s2, p2) = round1(&signers, &subset, b"other");
    let wrong = signers[2].round2(s2, &p2).unwrap();
    shares.insert(id(3), wrong);
    match signer::round::signing::aggregate(&package, &shares, &public) {
        Err(SignerError::InvalidSignatureShares(c)) => assert_eq!(c, vec![id(3)]),
        other => panic!("expected the cheater to be named, got {other:?}"),
    }
    // Two cheaters are both named.
    let garbage = SignatureShare::<taproot::Taproot>::deserialize(&[1u8; 32]).unwrap();
    shares.insert(id(5), garbage);
    match signer::round::signing::aggregate(&package, &shares, &public) {
        Err(SignerError::InvalidSignatureShares(c)) => assert_eq!(c, vec![id(3), id(5)]),
        other => panic!("expected both cheaters, got {other:?}"),
    }
    // Retry without the cheater, with signer 2 instead.
    let sig = sign(&signers, &[0, 1, 4], b"pay").unwrap();
    check_taproot_sig(&public, b"pay", &sig);
}

#[test]
fn aggregation_refuses_share_sets_that_do_not_match_the_package() {
    let signers = signers(
        dealer::trusted_dealer::<Rfc9591, _>(Threshold::new(2, 3).unwrap(), &mut OsRng).unwrap(),
    );
    let public = signers[0].share().public_key_package().clone();
    let (session, package) = round1(&signers, &[0, 1], b"m");
    let s1 = signers[0].round2(session, &package).unwrap();
    let s2 = signers[1].round2(session, &package).unwrap();
    let mut shares = BTreeMap::from([(id(1), s1)]);
    assert!(signer::round::signing::aggregate(&package, &shares, &public).is_err());
    shares.insert(id(3), s2);
    assert!(matches!(
        signer::round::signing::aggregate(&package, &shares, &public),
        Err(SignerError::UnknownSigner(s)) if s == id(3)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn random_thresholds_and_subsets_sign(t in 2u16..=6, extra in 0u16..=4, seed in any::<u64>(), k in 0usize..=4) {
        use rand::SeedableRng;
        let n = t + extra;
        let signers = signers(
            dealer::trusted_dealer::<taproot::Taproot, _>(Threshold::new(t, n).unwrap(), &mut OsRng).unwrap(),
        );
        let public = signers[0].share().public_key_package().clone();
        let mut idx: Vec<usize> = (0..n as usize).collect();
        idx.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let size = (t as usize + k).min(n as usize);
        let subset = &idx[..size];
        let sig = sign(&signers, subset, b"prop").unwrap();
        check_taproot_sig(&public, b"prop", &sig);
        // One fewer than t never signs: every signer refuses the package.
        let short = &idx[..t as usize - 1];
        let (session, package) = round1(&signers, short, b"prop");
        for &i in short {
            let refused = matches!(signers[i].round2(session, &package), Err(SignerError::TooFew { .. }));
            prop_assert!(refused);
        }
    }
}
