//! `zkquorum lifecycle`: the threshold key lifecycle end to end, in one process, without
//! the network (the networked demo is `zkquorum demo`).
//!
//! Runs a DKG among `n` participants, signs with several `t`-subsets (each signature checked
//! as plain BIP-340 by `verifier`), shows a nonce reuse being refused, refreshes all shares,
//! repairs a lost share, reshares to a larger group; then, on each proof backend, has `t`
//! signers prove that the sample intent satisfies their policy (each proof bound to the
//! signer's round-1 commitments), verifies the proofs as a batch, signs the intent's digest,
//! and shows a rule violation refused before any proving. Prints a summary.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use circuits::public::PublicInputs;
use circuits::{sample, Backend, Binding, PolicyViolation};
use clap::Args;
use frost_core::SigningPackage;
use prover::groth16::Groth16System;
use prover::halo2::Halo2System;
use prover::{ProofSystem, ProveError};
use rand::rngs::OsRng;
use signer::keys::reshare::ReshareConfig;
use signer::local;
use signer::round::signing;
use signer::taproot::{self, Taproot};
use signer::{KeyShare, MemoryNonceStore, SessionId, Signer, SignerError, SignerId, Threshold};
use verifier::StatementVerifier;

/// Options of `zkquorum lifecycle`.
#[derive(Args, Debug)]
pub struct LifecycleArgs {
    /// Signers needed to sign.
    #[arg(long, short, default_value_t = 3)]
    t: u16,
    /// Participants holding a share.
    #[arg(long, short, default_value_t = 5)]
    n: u16,
}

type Shares = Vec<KeyShare<Taproot>>;

/// Signs `message` with the shares at `subset` and checks the result as plain BIP-340.
fn sign(shares: &Shares, subset: &[usize], message: &[u8]) -> Result<[u8; 64]> {
    let signers: Vec<_> = subset
        .iter()
        .map(|&i| Signer::new(shares[i].clone(), MemoryNonceStore::new()))
        .collect();
    let session = SessionId::random(&mut OsRng);
    let commitments = signers
        .iter()
        .map(|s| Ok((s.share().id(), s.round1(session, &mut OsRng)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    let package = signing::signing_package(&commitments, message);
    let sig = round2_and_verify(&signers, session, &package, shares, message)?;
    // A second round 2 in the same session must be refused.
    ensure!(matches!(
        signers[0].round2(session, &package),
        Err(SignerError::NonceAlreadyUsed(_))
    ));
    Ok(sig)
}

/// Round 2 of `signers` on `package`, aggregated, and checked as plain BIP-340 over
/// `message` under the group key of `shares`.
fn round2_and_verify(
    signers: &[Signer<Taproot, MemoryNonceStore<Taproot>>],
    session: SessionId,
    package: &SigningPackage<Taproot>,
    shares: &Shares,
    message: &[u8],
) -> Result<[u8; 64]> {
    let sig_shares = signers
        .iter()
        .map(|s| Ok((s.share().id(), s.round2(session, package)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    let public = shares[0].public_key_package();
    let sig = taproot::signature_bytes(&signing::aggregate(package, &sig_shares, public)?)?;
    verifier::verify_bip340(&taproot::x_only_key(public)?, message, &sig)
        .context("final signature must verify as BIP-340")?;
    Ok(sig)
}

fn repair(shares: &Shares, lost: usize) -> Result<KeyShare<Taproot>> {
    let t = shares[0].threshold() as usize;
    let lost = shares[lost].id();
    let helpers: Vec<SignerId> = shares
        .iter()
        .map(|s| s.id())
        .filter(|id| *id != lost)
        .take(t)
        .collect();
    Ok(local::repair(shares, &helpers, lost, &mut OsRng)?)
}

fn reshare(shares: &Shares, new_t: u16, new_n: u16) -> Result<Shares> {
    let dealers: Vec<SignerId> = shares
        .iter()
        .take(shares[0].threshold() as usize)
        .map(|s| s.id())
        .collect();
    let config = ReshareConfig::new(
        shares[0].public_key_package(),
        dealers,
        SignerId::range(new_n).collect(),
        new_t,
    )?;
    Ok(local::reshare(shares, &config, &mut OsRng)?)
}

/// One proof-carrying signature on backend `S`: every signer proves the sample intent
/// complies with the sample policy, bound to its own round-1 commitments; the coordinator
/// batch-verifies the proofs before round 2; the signature signs the intent's digest.
fn proof_carrying_signature<S: ProofSystem>(shares: &Shares, name: &str) -> Result<()> {
    let t0 = Instant::now();
    let system = S::setup(&mut OsRng)?;
    let setup = t0.elapsed();
    let t = shares[0].threshold() as usize;
    let intent = sample::intent(7);
    let digest = intent.signed_digest::<S::Backend>();
    let signers: Vec<_> = shares[..t]
        .iter()
        .map(|s| Signer::new(s.clone(), MemoryNonceStore::new()))
        .collect();
    let session = SessionId::random(&mut OsRng);
    let group = shares[0].group_key_bytes();
    let mut commitments = BTreeMap::new();
    let mut proofs = Vec::new();
    let t1 = Instant::now();
    for s in &signers {
        let c = s.round1(session, &mut OsRng)?;
        let binding = Binding::derive(
            session.as_bytes(),
            &s.share().id().get().to_le_bytes(),
            &group,
            &c.serialize()?,
        );
        let proof = system.prove_statement(
            intent.clone(),
            sample::policy(),
            sample::NOW,
            binding,
            &mut OsRng,
        )?;
        let public: PublicInputs<<S::Backend as Backend>::F> = PublicInputs {
            intent_commitment: intent.commitment::<S::Backend>(),
            policy_commitment: sample::policy().commitment::<S::Backend>(),
            now: sample::NOW,
            binding,
        };
        proofs.push((proof, public));
        commitments.insert(s.share().id(), c);
    }
    let proving = t1.elapsed();
    let items: Vec<_> = proofs.iter().map(|(p, x)| (p, x)).collect();
    system
        .verifier()
        .verify_batch(&items)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let package = signing::signing_package(&commitments, digest.as_bytes());
    round2_and_verify(&signers, session, &package, shares, digest.as_bytes())?;
    println!(
        "6. {name}: setup {setup:.0?}, {t} proofs in {proving:.0?} ({} B each), batch-verified; digest {}… signed",
        proofs[0].0.proof.len(),
        &digest.to_hex()[..16]
    );

    // A request over the limit is refused by the native check, naming the rule.
    let mut big = sample::intent(8);
    big.amount = 5_000_000;
    match system.prove_statement(
        big,
        sample::policy(),
        sample::NOW,
        Binding::default(),
        &mut OsRng,
    ) {
        Err(ProveError::Policy(v @ PolicyViolation::AmountAboveLimit { .. })) => {
            println!("   refused: rule `{}`: {v}", v.rule())
        }
        other => anyhow::bail!(
            "an over-limit intent must be refused, got {:?}",
            other.map(|_| ())
        ),
    }
    Ok(())
}

/// Runs the demo and prints what happened.
pub fn run(args: &LifecycleArgs) -> Result<()> {
    let th = Threshold::new(args.t, args.n)?;
    let (t, n) = (th.t() as usize, th.n() as usize);
    let start = Instant::now();
    println!("zkquorum demo — {t}-of-{n} threshold key, BIP-340 (frost-secp256k1-tr)\n");

    let shares = local::dkg::<Taproot, _>(th, &mut OsRng)?;
    let key = taproot::x_only_key(shares[0].public_key_package())?;
    println!(
        "1. DKG among {n} participants: group key (x-only) {}",
        hex::encode(key)
    );

    let subsets: Vec<Vec<usize>> = vec![(0..t).collect(), (n - t..n).collect()];
    for subset in &subsets {
        let ids: Vec<_> = subset.iter().map(|&i| shares[i].id().to_string()).collect();
        let sig = sign(&shares, subset, b"zkquorum demo payment")?;
        println!(
            "2. signers {} signed: {}… verifies as BIP-340; nonce reuse refused",
            ids.join(","),
            &hex::encode(sig)[..16]
        );
    }

    let refreshed = local::refresh(shares.clone(), &mut OsRng)?;
    ensure!(taproot::x_only_key(refreshed[0].public_key_package())? == key);
    sign(&refreshed, &(0..t).collect::<Vec<_>>(), b"after refresh")?;
    println!("3. refresh: every share replaced, same group key, new shares sign");

    let repaired = repair(&refreshed, 1)?;
    ensure!(
        repaired == refreshed[1],
        "repaired share must equal the lost one"
    );
    println!(
        "4. repair: share of {} rebuilt by {t} helpers, identical to the lost one",
        repaired.id()
    );

    let (new_t, new_n) = (args.t + 1, args.n + 2);
    let reshared = reshare(&refreshed, new_t, new_n)?;
    ensure!(taproot::x_only_key(reshared[0].public_key_package())? == key);
    sign(
        &reshared,
        &(0..new_t as usize).collect::<Vec<_>>(),
        b"after reshare",
    )?;
    println!("5. reshare: {t}-of-{n} -> {new_t}-of-{new_n}, same group key, new group signs");

    proof_carrying_signature::<Groth16System>(&shares, "Groth16/BN254")?;
    proof_carrying_signature::<Halo2System>(&shares, "halo2/IPA")?;

    println!(
        "\nsummary: 7 signatures, all valid BIP-340 under {}, in {:.2?}",
        &hex::encode(key)[..16],
        start.elapsed()
    );
    Ok(())
}
