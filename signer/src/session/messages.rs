//! The messages of a signing session and what signs them: the node identity key
//! ([`Identity`]), the roster of identities, the round-1/round-2 requests and replies, the
//! attestation messages each identity key signs and the binding of a round-1 proof.

use std::collections::BTreeMap;

use circuits::{Binding, Intent};
use frost_core::round1::SigningCommitments;
use frost_core::round2::SignatureShare;
use frost_core::{Ciphersuite, SigningPackage};
use rand_core::{CryptoRng, RngCore};
use verifier::ProofEnvelope;

use super::SessionError;
use crate::error::SignerError;
use crate::ids::{SessionId, SignerId};

/// A node's long-term identity key (BIP-340 over secp256k1), used to sign its replies.
pub struct Identity(k256::schnorr::SigningKey);

impl Identity {
    /// A fresh random identity.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        Self(k256::schnorr::SigningKey::random(rng))
    }

    /// The identity with secret key `secret` (32 bytes, a valid secp256k1 scalar).
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, SignerError> {
        k256::schnorr::SigningKey::from_bytes(secret)
            .map(Self)
            .map_err(|_| {
                SignerError::Frost("identity secret is not a valid secp256k1 scalar".into())
            })
    }

    /// The secret key bytes (to store them encrypted).
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes().into())
    }

    /// The 32-byte x-only public key others verify with.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes().into()
    }

    /// Signs a 32-byte message (BIP-340 with fresh auxiliary randomness).
    pub fn sign<R: RngCore + CryptoRng>(
        &self,
        msg: &[u8; 32],
        rng: &mut R,
    ) -> Result<[u8; 64], SessionError> {
        let mut aux = [0u8; 32];
        rng.fill_bytes(&mut aux);
        self.0
            .sign_raw(msg, &aux)
            .map(|s| s.to_bytes())
            .map_err(|_| SessionError::Signer(SignerError::Frost("identity signing failed".into())))
    }
}

impl core::fmt::Debug for Identity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Identity({})", hex::encode(self.public_key()))
    }
}

/// The identity keys of a key's participants, as every node is configured with them.
pub type Roster = BTreeMap<SignerId, [u8; 32]>;

/// Round-1 request from the coordinator.
#[derive(Clone, Debug)]
pub struct Round1Request {
    /// The session.
    pub session: SessionId,
    /// The intent to sign (private: travels encrypted between coordinator and signers).
    pub intent: Intent,
    /// Unix time at which the policy is evaluated and proved.
    pub now: u64,
    /// The signers chosen for this session.
    pub signers: Vec<SignerId>,
}

/// A signer's round-1 reply: commitments, proof and attestation.
#[derive(Clone, Debug)]
pub struct Round1Reply<C: Ciphersuite> {
    /// The session.
    pub session: SessionId,
    /// Who replies.
    pub signer: SignerId,
    /// Fresh nonce commitments.
    pub commitments: SigningCommitments<C>,
    /// The policy proof, bound to `commitments`.
    pub proof: ProofEnvelope,
    /// Its public inputs `[C, P, now, binding]`, canonical little-endian.
    pub public_inputs: [[u8; 32]; 4],
    /// BIP-340 signature by the signer's identity key over [`round1_attestation`].
    pub attestation: [u8; 64],
}

/// Round-2 request: the signing package and every chosen signer's round-1 reply.
#[derive(Clone, Debug)]
pub struct Round2Request<C: Ciphersuite> {
    /// The session.
    pub session: SessionId,
    /// What is signed (the digest) and by whom (their commitments).
    pub package: SigningPackage<C>,
    /// The round-1 replies of every signer in the package.
    pub replies: Vec<Round1Reply<C>>,
}

/// A signer's round-2 reply: its signature share, signed by its identity key.
#[derive(Clone, Debug)]
pub struct Round2Reply<C: Ciphersuite> {
    /// The session.
    pub session: SessionId,
    /// Who replies.
    pub signer: SignerId,
    /// The signature share.
    pub share: SignatureShare<C>,
    /// BIP-340 signature by the identity key over [`round2_attestation`].
    pub attestation: [u8; 64],
}

/// What a signer's identity key signs in round 1 (the audit log's
/// [`verifier::audit::attestation_message`], so auditors check the same bytes).
pub fn round1_attestation(
    session: &SessionId,
    signer: SignerId,
    commitments: &[u8],
    proof: &[u8],
    public_inputs: &[[u8; 32]; 4],
) -> [u8; 32] {
    verifier::audit::attestation_message(
        session.as_bytes(),
        signer.get(),
        commitments,
        proof,
        public_inputs,
    )
}

/// What a signer's identity key signs in round 2.
/// (The audit log's [`verifier::audit::share_attestation_message`], so auditors check the
/// same bytes.)
pub fn round2_attestation(session: &SessionId, signer: SignerId, share: &[u8]) -> [u8; 32] {
    verifier::audit::share_attestation_message(session.as_bytes(), signer.get(), share)
}

/// The binding of a signer's proof: session, signer id, group key, its round-1 commitments.
pub fn binding_for(
    session: &SessionId,
    signer: SignerId,
    group_key: &[u8],
    commitments: &[u8],
) -> Binding {
    Binding::derive(
        session.as_bytes(),
        &signer.get().to_le_bytes(),
        group_key,
        commitments,
    )
}

/// The serialized round-1 commitments (what the attestation and the binding cover).
pub(crate) fn commitments_bytes<C: Ciphersuite>(
    c: &SigningCommitments<C>,
) -> Result<Vec<u8>, SessionError> {
    c.serialize()
        .map_err(|e| SessionError::Signer(SignerError::Frost(e.to_string())))
}
