//! The audit record: one JSON object per line, and the hashes that bind it.

use circuits::hash::tagged_hash;
use serde::{Deserialize, Serialize};

use super::key_record::KeyRecord;
use super::spend_record::SpendRecord;

/// Format version of [`AuditRecord`].
pub const AUDIT_VERSION: u32 = 1;
/// Domain tag of [`chain_hash`].
pub const CHAIN_TAG: &[u8] = b"zkquorum/audit/v1";
/// Domain tag of [`attestation_message`].
pub const ATTEST_TAG: &[u8] = b"zkquorum/attest/round1/v1";
/// Domain tag of [`share_attestation_message`].
pub const SHARE_ATTEST_TAG: &[u8] = b"zkquorum/attest/round2/v1";

/// One signing session, as the coordinator appends it to the audit log.
///
/// Every byte string is lower-case hex in JSON; fixed-size fields must have their exact
/// length. Unknown fields are refused, so two different lines never mean the same record
/// silently. Nothing here is private: the intent and the policy appear only as their
/// hiding commitments `C` and `P` inside [`SignerEntry::public_inputs`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Record format version ([`AUDIT_VERSION`]).
    pub version: u32,
    /// Position in the log, 0-based; equals the line number.
    pub index: u64,
    /// The signing session id.
    #[serde(with = "hex_bytes")]
    pub session_id: [u8; 32],
    /// The coordinator's name for the key.
    pub key_id: String,
    /// The FROST group key, 33-byte SEC1 compressed, as `KeyShare::group_key_bytes` gives
    /// it (either parity: BIP-340 uses its x coordinate, bytes 1..33).
    #[serde(with = "hex_bytes")]
    pub group_key: [u8; 33],
    /// Signers the key needs.
    pub threshold: u16,
    /// The signed digest (`SignedDigest::from_parts(backend, C)`).
    #[serde(with = "hex_bytes")]
    pub digest: [u8; 32],
    /// Proof backend id (1 = groth16-bn254, 2 = halo2-pasta).
    pub backend: u8,
    /// Fingerprint of the verifying key every proof names.
    #[serde(with = "hex_bytes")]
    pub vk_fingerprint: [u8; 32],
    /// The signers whose shares were aggregated.
    pub signers: Vec<SignerEntry>,
    /// The final BIP-340 signature over `digest` under the x-only group key.
    #[serde(with = "hex_bytes")]
    pub signature: [u8; 64],
    /// Unix seconds at which the record was appended.
    pub time: u64,
    /// [`chain_hash`] of the previous line; 32 zero bytes for record 0.
    #[serde(with = "hex_bytes")]
    pub prev: [u8; 32],
}

/// One signer's round-1 contribution to a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerEntry {
    /// The signer's FROST identifier (non-zero).
    pub signer_id: u16,
    /// The node identity key (x-only BIP-340) that signed [`SignerEntry::attestation`].
    #[serde(with = "hex_bytes")]
    pub identity_key: [u8; 32],
    /// frost `SigningCommitments::serialize()` bytes.
    #[serde(with = "hex_vec")]
    pub commitments: Vec<u8>,
    /// `ProofEnvelope::to_bytes()`.
    #[serde(with = "hex_vec")]
    pub proof: Vec<u8>,
    /// `PublicInputs::to_le_bytes()`: `C`, `P`, `now`, `binding`.
    #[serde(with = "hex_inputs")]
    pub public_inputs: [[u8; 32]; 4],
    /// BIP-340 signature by `identity_key` over [`attestation_message`].
    #[serde(with = "hex_bytes")]
    pub attestation: [u8; 64],
    /// The signer's round-2 signature share (frost `SignatureShare::serialize()`).
    #[serde(with = "hex_vec")]
    pub share: Vec<u8>,
    /// BIP-340 signature by `identity_key` over [`share_attestation_message`]: the node
    /// itself released this share for this session.
    #[serde(with = "hex_bytes")]
    pub share_attestation: [u8; 64],
}

/// One line of the log: a key record, a signing record or a Bitcoin spend record, told
/// apart by the line's `"type"` field (`"key"`, `"signing"` or `"spend"`, written first).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LogEntry {
    /// A threshold key as every participant attested it.
    Key(KeyRecord),
    /// A signing session.
    Signing(AuditRecord),
    /// A Bitcoin spend session.
    Spend(SpendRecord),
}

impl LogEntry {
    /// Parses one line (without its newline).
    pub fn from_line(line: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(line)
    }

    /// The entry's position in the log.
    pub fn index(&self) -> u64 {
        match self {
            LogEntry::Key(k) => k.index,
            LogEntry::Signing(s) => s.index,
            LogEntry::Spend(s) => s.index,
        }
    }

    /// Unix seconds at which the entry was appended.
    pub fn time(&self) -> u64 {
        match self {
            LogEntry::Key(k) => k.time,
            LogEntry::Signing(s) => s.time,
            LogEntry::Spend(s) => s.time,
        }
    }

    /// The entry's link to the previous line.
    pub fn prev(&self) -> &[u8; 32] {
        match self {
            LogEntry::Key(k) => &k.prev,
            LogEntry::Signing(s) => &s.prev,
            LogEntry::Spend(s) => &s.prev,
        }
    }

    /// The entry as one log line (no newline).
    pub fn to_line(&self) -> String {
        match self {
            LogEntry::Key(k) => k.to_line(),
            LogEntry::Signing(s) => s.to_line(),
            LogEntry::Spend(s) => s.to_line(),
        }
    }
}

/// A borrowed [`LogEntry`], to serialize without cloning.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum EntryRef<'a> {
    Key(&'a KeyRecord),
    Signing(&'a AuditRecord),
    Spend(&'a SpendRecord),
}

/// The exact line of an entry.
pub(super) fn entry_line(entry: EntryRef<'_>) -> String {
    // Serializing plain structs of strings and integers cannot fail.
    serde_json::to_string(&entry).expect("log entry serializes")
}

impl AuditRecord {
    /// The record as one JSON line (no newline), tagged `"type": "signing"`: what the
    /// coordinator appends, and what the next record's `prev` hashes.
    pub fn to_line(&self) -> String {
        entry_line(EntryRef::Signing(self))
    }

    /// Parses one signing-record line (without its newline); a key record is refused.
    pub fn from_line(line: &[u8]) -> Result<Self, serde_json::Error> {
        match LogEntry::from_line(line)? {
            LogEntry::Signing(s) => Ok(s),
            LogEntry::Key(_) => Err(serde::de::Error::custom(
                "a key record, where a signing record was expected",
            )),
            LogEntry::Spend(_) => Err(serde::de::Error::custom(
                "a spend record, where a signing record was expected",
            )),
        }
    }
}

impl SignerEntry {
    /// The message this signer's identity key signs: [`attestation_message`] over this
    /// entry's fields in `session_id`.
    pub fn attestation_message(&self, session_id: &[u8; 32]) -> [u8; 32] {
        attestation_message(
            session_id,
            self.signer_id,
            &self.commitments,
            &self.proof,
            &self.public_inputs,
        )
    }
}

/// What a signer's identity key signs in round 2: `tagged_hash("zkquorum/attest/round2/v1",
/// [session id, signer id u16 LE, share bytes])` — byte for byte what
/// `signer::session::round2_attestation` signs.
pub fn share_attestation_message(session_id: &[u8; 32], signer_id: u16, share: &[u8]) -> [u8; 32] {
    tagged_hash(
        SHARE_ATTEST_TAG,
        &[session_id, &signer_id.to_le_bytes(), share],
    )
}

/// `blake3("zkquorum/audit/v1" || len(line) as u64 LE || line)`: the `prev` of the record
/// after `line` (the exact bytes of the line, without its newline).
pub fn chain_hash(line: &[u8]) -> [u8; 32] {
    tagged_hash(CHAIN_TAG, &[line])
}

/// What a signer's node identity key signs (BIP-340, this 32-byte message) in round 1:
/// `blake3("zkquorum/attest/round1/v1" || part_1 || … )`, each part preceded by its length
/// (u64 LE); the parts are the session id, the signer id (u16 LE), the commitments bytes,
/// the proof envelope bytes and the public inputs concatenated (one part: 128 bytes for the
/// intent statement's four, 192 for a spend's six, so no attestation of one statement reads
/// as one of the other) — byte for byte what `signer::session::round1_attestation` signs.
///
/// Groth16 proofs can be re-randomised by anyone, so this signature — not the proof — says
/// which node attested the contribution.
pub fn attestation_message(
    session_id: &[u8; 32],
    signer_id: u16,
    commitments: &[u8],
    proof: &[u8],
    public_inputs: &[[u8; 32]],
) -> [u8; 32] {
    tagged_hash(
        ATTEST_TAG,
        &[
            session_id,
            &signer_id.to_le_bytes(),
            commitments,
            proof,
            &public_inputs.concat(),
        ],
    )
}

pub(super) mod hex_bytes {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = hex::decode(s.as_ref()).map_err(D::Error::custom)?;
        <[u8; N]>::try_from(bytes.as_slice())
            .map_err(|_| D::Error::custom(format!("expected {N} bytes, got {}", bytes.len())))
    }
}

pub(super) mod hex_vec {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(s.as_ref()).map_err(D::Error::custom)
    }
}

pub(super) mod hex_inputs {
    use serde::{de::Error, ser::SerializeSeq, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        v: &[[u8; 32]; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(N))?;
        for x in v {
            seq.serialize_element(&hex::encode(x))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[[u8; 32]; N], D::Error> {
        let v = <Vec<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        if v.len() != N {
            return Err(D::Error::custom(format!(
                "expected {N} public inputs, got {}",
                v.len()
            )));
        }
        let mut out = [[0u8; 32]; N];
        for (o, s) in out.iter_mut().zip(&v) {
            let bytes = hex::decode(s.as_ref()).map_err(D::Error::custom)?;
            *o = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                D::Error::custom(format!(
                    "public input: expected 32 bytes, got {}",
                    bytes.len()
                ))
            })?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            version: AUDIT_VERSION,
            index: 0,
            session_id: [1; 32],
            key_id: "k".into(),
            group_key: [2; 33],
            threshold: 1,
            digest: [3; 32],
            backend: 1,
            vk_fingerprint: [4; 32],
            signers: vec![SignerEntry {
                signer_id: 1,
                identity_key: [5; 32],
                commitments: vec![6; 66],
                proof: vec![7; 170],
                public_inputs: [[8; 32], [9; 32], [10; 32], [11; 32]],
                attestation: [12; 64],
                share: vec![15; 32],
                share_attestation: [16; 64],
            }],
            signature: [13; 64],
            time: 14,
            prev: [0; 32],
        }
    }

    #[test]
    fn lines_round_trip_and_refuse_bad_fields() {
        let r = record();
        let line = r.to_line();
        assert!(!line.contains('\n'));
        assert_eq!(AuditRecord::from_line(line.as_bytes()).unwrap(), r);
        // Unknown field, short hex, non-hex, wrong number of public inputs.
        let bad = [
            line.replacen("{", "{\"x\":1,", 1),
            line.replacen(&hex::encode([3u8; 32]), &hex::encode([3u8; 31]), 1),
            line.replacen(&hex::encode([13u8; 64]), &"zz".repeat(64), 1),
            line.replacen(&format!(",\"{}\"]", hex::encode([11u8; 32])), "]", 1),
        ];
        for b in bad {
            assert_ne!(b, line);
            assert!(AuditRecord::from_line(b.as_bytes()).is_err(), "{b}");
        }
    }

    #[test]
    fn attestation_message_covers_every_part_unambiguously() {
        let s = [1u8; 32];
        let x = [[0u8; 32]; 4];
        let base = attestation_message(&s, 1, b"ab", b"c", &x);
        assert_eq!(base, attestation_message(&s, 1, b"ab", b"c", &x));
        // Moving a byte between parts changes the message (length prefixes).
        assert_ne!(base, attestation_message(&s, 1, b"a", b"bc", &x));
        assert_ne!(base, attestation_message(&[2; 32], 1, b"ab", b"c", &x));
        assert_ne!(base, attestation_message(&s, 2, b"ab", b"c", &x));
        let mut y = x;
        y[3][0] = 1;
        assert_ne!(base, attestation_message(&s, 1, b"ab", b"c", &y));
        // The exact construction the session code signs (public inputs as one part).
        let mut h = blake3::Hasher::new();
        h.update(b"zkquorum/attest/round1/v1");
        for p in [
            &s[..],
            &1u16.to_le_bytes()[..],
            b"ab",
            b"c",
            &[0u8; 128][..],
        ] {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        assert_eq!(base, *h.finalize().as_bytes());
        // The chain hash is domain-separated from a plain blake3, and pinned.
        assert_ne!(chain_hash(b"line"), *blake3::hash(b"line").as_bytes());
        let mut h = blake3::Hasher::new();
        h.update(b"zkquorum/audit/v1");
        h.update(&4u64.to_le_bytes());
        h.update(b"line");
        assert_eq!(chain_hash(b"line"), *h.finalize().as_bytes());
    }
}
