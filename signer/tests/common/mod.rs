//! Test helpers: run whole protocols in-process by passing messages around.
#![allow(dead_code)]

use std::collections::BTreeMap;

use frost_core::{Ciphersuite, Signature, SigningPackage};
use rand::rngs::OsRng;
use signer::{KeyShare, MemoryNonceStore, SessionId, Signer, SignerId, Threshold};

pub fn id(n: u16) -> SignerId {
    SignerId::new(n).unwrap()
}

/// Full DKG among `1..=n`, delivering every message.
pub fn run_dkg<C: Ciphersuite>(t: u16, n: u16) -> Vec<KeyShare<C>> {
    signer::local::dkg(Threshold::new(t, n).unwrap(), &mut OsRng).unwrap()
}

pub fn signers<C: Ciphersuite>(shares: Vec<KeyShare<C>>) -> Vec<Signer<C, MemoryNonceStore<C>>> {
    shares
        .into_iter()
        .map(|s| Signer::new(s, MemoryNonceStore::new()))
        .collect()
}

/// Round 1 for `subset` (indices into `signers`), returning the session and package.
pub fn round1<C: Ciphersuite>(
    signers: &[Signer<C, MemoryNonceStore<C>>],
    subset: &[usize],
    message: &[u8],
) -> (SessionId, SigningPackage<C>) {
    let session = SessionId::random(&mut OsRng);
    let commitments: BTreeMap<_, _> = subset
        .iter()
        .map(|&i| {
            let s = &signers[i];
            (s.share().id(), s.round1(session, &mut OsRng).unwrap())
        })
        .collect();
    (
        session,
        signer::round::signing::signing_package(&commitments, message),
    )
}

/// A whole signing session by `subset`; returns the aggregate result.
pub fn sign<C: Ciphersuite>(
    signers: &[Signer<C, MemoryNonceStore<C>>],
    subset: &[usize],
    message: &[u8],
) -> signer::Result<Signature<C>> {
    let (session, package) = round1(signers, subset, message);
    let shares: BTreeMap<_, _> = subset
        .iter()
        .map(|&i| {
            let s = &signers[i];
            (s.share().id(), s.round2(session, &package).unwrap())
        })
        .collect();
    signer::round::signing::aggregate(&package, &shares, signers[0].share().public_key_package())
}
