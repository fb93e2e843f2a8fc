//! The signer role of zkquorum: threshold keys over secp256k1 and the signing protocol.
//!
//! Built on the ZcashFoundation FROST crates — `frost-secp256k1-tr` (BIP-340/Taproot, the
//! default, see [`taproot`]) and `frost-secp256k1` (RFC 9591) — and generic over
//! `frost_core::Ciphersuite`. FROST itself is not re-implemented; this crate adds what a
//! custody service needs around it:
//!
//! - [`keys`]: a participant's [`KeyShare`] with a versioned format and encrypted export
//!   ([`keys::export`], sealed by [`keys::seal`]: Argon2id → XChaCha20-Poly1305); key
//!   creation by [`keys::dealer`] or [`keys::dkg`] (a message-passing state machine); the key
//!   lifecycle: [`keys::refresh`], [`keys::repair`], [`keys::reshare`] to a new `t'`-of-`n'`;
//! - [`round`]: FROST round 1, round 2 and aggregation with cheater detection
//!   ([`round::signing`]), nonces kept single-use by a [`NonceStore`];
//! - [`session`]: proof-carrying sessions — the signer's side ([`SessionSigner`]) and the
//!   coordinator's sans-IO state machine ([`session::coordinator`]);
//! - `local` (feature `test-util`): in-process drivers for tests, benches and demos.
//!
//! ```
//! use std::collections::BTreeMap;
//! use rand::rngs::OsRng;
//! use signer::keys::dealer;
//! use signer::round::signing;
//! use signer::{taproot, MemoryNonceStore, SessionId, Signer, Threshold};
//!
//! // A 2-of-3 key from a trusted dealer (use `dkg` in production).
//! let shares = dealer::trusted_dealer::<taproot::Taproot, _>(Threshold::new(2, 3)?, &mut OsRng)?;
//! let public = shares[0].public_key_package().clone();
//! let signers: Vec<_> = shares
//!     .into_iter()
//!     .map(|s| Signer::new(s, MemoryNonceStore::new()))
//!     .collect();
//!
//! // Round 1: signers 1 and 3 commit to fresh, single-use nonces.
//! let session = SessionId::random(&mut OsRng);
//! let mut commitments = BTreeMap::new();
//! for s in [&signers[0], &signers[2]] {
//!     commitments.insert(s.share().id(), s.round1(session, &mut OsRng)?);
//! }
//! let message = [7u8; 32];
//! let package = signing::signing_package(&commitments, &message);
//!
//! // Round 2: each returns its share; the coordinator aggregates.
//! let mut sig_shares = BTreeMap::new();
//! for s in [&signers[0], &signers[2]] {
//!     sig_shares.insert(s.share().id(), s.round2(session, &package)?);
//! }
//! let signature = signing::aggregate(&package, &sig_shares, &public)?;
//!
//! // A standard BIP-340 signature under the x-only group key.
//! let key = taproot::x_only_key(&public)?;
//! taproot::verify(&key, &message, &taproot::signature_bytes(&signature)?)?;
//!
//! // Nonces are single-use: a second round 2 in the same session is refused.
//! assert!(matches!(
//!     signers[0].round2(session, &package),
//!     Err(signer::SignerError::NonceAlreadyUsed(_))
//! ));
//! # Ok::<(), signer::SignerError>(())
//! ```

pub mod error;
pub mod ids;
pub mod keys;
#[cfg(any(test, feature = "test-util"))]
pub mod local;
pub mod round;
pub mod session;
pub mod taproot;
pub mod wire;

pub use error::{Result, SignerError};
pub use ids::{SessionId, SignerId, Threshold};
pub use keys::seal::KdfParams;
pub use keys::share::KeyShare;
pub use round::nonce::{MemoryNonceStore, NonceStore};
pub use round::signing::Signer;
pub use session::{Identity, Roster, SessionError, SessionSigner};

/// The RFC 9591 ciphersuite FROST(secp256k1, SHA-256), for keys that need not be BIP-340.
pub type Rfc9591 = frost_secp256k1::Secp256K1Sha256;

/// The README's code blocks, compiled and run as doctests so the documented API stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
