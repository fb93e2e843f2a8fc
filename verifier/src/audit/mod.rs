//! The audit log: a hash chain of key records and signing sessions, and its verifier.
//!
//! The coordinator appends one [`KeyRecord`] per key made (every participant's signature
//! over the public key package, before any signature under the key) and one
//! [`AuditRecord`] per signed session, one JSON object per line, told apart by its
//! `"type"` (`"key"` or `"signing"`, [`LogEntry`]). Record `i`'s `prev` is
//! [`chain_hash`]`(line i-1)` = `blake3("zkquorum/audit/v1" || len u64 LE || line)` over the
//! exact bytes of the previous line (without its newline); record 0's `prev` is 32 zero
//! bytes and every `index` equals its line number. Changing, removing, inserting or moving
//! a record therefore breaks the link of the record after it. The chain cannot protect the
//! last line or a truncated tail on its own: [`AuditReport::head`] is the hash to publish
//! or compare with a copy kept elsewhere.
//!
//! # What is checked
//!
//! [`verify_record`] and [`verify_log`] check, for every record (each signer entry through
//! [the contribution check](crate::contribution), whose faults are
//! [`AuditError::Contribution`] naming the signer):
//!
//! - the version, `index` and `prev` (the chain);
//! - the signer set: ids non-zero and distinct, at least `threshold` of them;
//! - every signer proved the same intent commitment `C` and the same `now`, and `digest` is
//!   `SignedDigest::from_parts(backend, C)` — the signature, the commitment and the proofs
//!   belong together;
//! - each signer's `binding` is `Binding::derive(session_id, signer_id LE, group_key,
//!   commitments)`, so a proof cannot be moved to another signer or session;
//! - each attestation is a valid BIP-340 signature by the signer's identity key over
//!   [`attestation_message`] (Groth16 proofs can be re-randomised by anyone, so this
//!   signature, not the proof, says who attested), and each round-2 share comes with the
//!   signer's signature over [`share_attestation_message`] (the node released that share
//!   for that session);
//! - each proof's envelope names the record's backend and fingerprint, a key with that
//!   fingerprint is held ([`AuditKeys`]; otherwise
//!   [`AuditError::UnknownVerifyingKey`]) and the proof verifies with its public inputs;
//! - the final signature verifies as BIP-340 over `digest` under the x-only group key (the
//!   SEC1 key's bytes 1..33; byte 0 must be `0x02` or `0x03`: `frost-secp256k1-tr` keeps
//!   the group key's own parity in its serialization — about half of all keys are odd-y —
//!   and signs for the x coordinate, as BIP-340 does).
//!
//! Key records are checked by [`check_key_record`]: one valid signature per participant by
//! the identity key the admins rostered, over the package whose group key is the record's,
//! and threshold, participant count and roster version matching the roster in force. A
//! signing record takes its key's facts from the key record before it, never from itself:
//! the same group key, backend and threshold, every signer a participant attesting with the
//! identity key it attested the key with (a signing record without a verified key record
//! before it fails with [`AuditError::UnknownKey`]; a key id recorded twice with
//! [`AuditError::KeyIdReused`]).
//!
//! Across the log, [`verify_log`] also checks that a (group key, signer id) always attests
//! with the same identity key and that no session id is recorded twice (a replayed
//! session). It verifies proofs in batches, one per (backend, key), over
//! chunks of [`CHUNK_RECORDS`] records, falling back to one-by-one only when a batch
//! fails, so that every failure names its record. The records of a chunk are checked in
//! parallel (BIP-340 signatures among them: `k256` has no batch verification).
//!
//! # Privacy
//!
//! A record holds commitments, proofs, keys and signatures only: the intent (amount,
//! recipient, salt) and the policy (limits, allowlist) appear only inside the hiding
//! Poseidon commitments `C` and `P`. Auditing needs no private data.
//!
//! # Example
//!
//! ```
//! use verifier::audit::{chain_hash, verify_log, AuditError, AuditKeys};
//!
//! let keys = AuditKeys::new(); // or AuditKeys::load_dir("keys/")?.with_transparent_halo2()?
//! let report = verify_log(&b""[..], &keys);
//! assert!(report.is_ok() && report.records == 0 && report.head.is_none());
//!
//! // A line that is not a record is a failure with its index, never a panic.
//! let report = verify_log(&b"{\"version\":1}\n"[..], &keys);
//! assert_eq!(report.records, 1);
//! assert_eq!(report.failures[0].index, 0);
//! assert!(matches!(report.failures[0].reason, AuditError::Malformed(_)));
//! assert_eq!(report.head, Some(chain_hash(b"{\"version\":1}")));
//! # Ok::<(), verifier::audit::AuditKeysError>(())
//! ```
//!
//! Verifying a log file (halo2 proofs need no key file; Groth16 keys come from the
//! directory `prover` saved them to):
//!
//! ```no_run
//! use std::{fs::File, io::BufReader};
//! use verifier::audit::{verify_log, AuditKeys};
//!
//! let keys = AuditKeys::load_dir("keys/")?.with_transparent_halo2()?;
//! let report = verify_log(BufReader::new(File::open("audit.log")?), &keys);
//! for f in &report.failures {
//!     eprintln!("{f}"); // "record 3: signer 2: proof rejected: …"
//! }
//! assert!(report.is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod check;
pub mod checkpoint;
mod commitment;
mod error;
mod key_record;
mod keys;
mod record;
mod spend_record;
mod verify;
mod witness;

pub use crate::keys::HALO2_PARAMS_FILE;
pub use checkpoint::{checkpoint_message, WitnessSignature, Witnesses, CHECKPOINT_TAG};
pub use commitment::{group_commitment_x, CommitmentError};
pub use error::{AuditError, AuditFailure, AuditReport};
pub use key_record::{
    check_key_record, key_attestation_message, KeyAttestation, KeyFacts, KeyRecord, KeyStatement,
    KEY_ATTEST_TAG, KEY_RECORD_VERSION,
};
pub use keys::{AuditKeys, AuditKeysError, DEFAULT_MAX_SKEW_SECS};
pub use record::{
    attestation_message, chain_hash, share_attestation_message, AuditRecord, LogEntry, SignerEntry,
    ATTEST_TAG, AUDIT_VERSION, CHAIN_TAG, SHARE_ATTEST_TAG,
};
pub use spend_record::{
    decode_list, encode_list, spend_record_faults, SpendRecord, SpendSignature, SpendSignerEntry,
    SPEND_RECORD_VERSION,
};
pub use verify::{verify_log, verify_log_from, verify_record, CHUNK_RECORDS};
