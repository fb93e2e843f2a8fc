//! A signer's policy, loaded from TOML, and its hiding commitment.
//!
//! File format (all keys required, no others allowed):
//!
//! ```toml
//! asset = 1                 # u32: the only asset this key may move
//! max_amount = 1000000      # u64: largest amount per intent (inclusive)
//! not_before = 1700000000   # u64: unix seconds before which nothing is signed
//! allowlist = [             # 1..=65536 distinct recipients, 64 hex characters each
//!   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
//! ]
//! salt = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! #                         # 64 hex characters: 32 uniformly random secret bytes
//! ```
//!
//! The salt is secret like the rest of the file: generate one per policy (for example
//! `openssl rand -hex 32`, or [`PolicySalt::random`]) and never reuse it across signers
//! or keys. A file without `salt`, or with a salt that is not exactly 64 hex characters,
//! is refused ([`PolicyFileError::MissingField`], [`PolicyFileError::BadSalt`]).
//!
//! # Encoding and commitment
//!
//! Field encoding (shared by both backends, see [`Policy::fields`] and [`PolicyFields`]):
//! `[asset, max_amount, not_before, allowlist_root, salt_lo, salt_hi]`, commitment
//! `P = H_POLICY(fields...)` (6 inputs under the policy domain). The allowlist root is the
//! root of the [`crate::merkle`] tree over the recipients in file order, so `P` and the
//! root are per backend. `salt_lo` and `salt_hi` are the salt's bytes `0..16` and `16..32`,
//! each read as a little-endian `u128` ([`PolicySalt::limbs`]): two integers below 2^128,
//! canonical in BN254 Fr and Pasta Fp alike, so both backends hash the same 256 bits.
//!
//! # Binding and hiding
//!
//! - **Binding.** `P` binds the four policy fields as before: two openings of one `P`
//!   with different fields are a collision of the backend's Poseidon (over field
//!   elements, whatever their size). The circuits therefore do not range-check
//!   `salt_lo`/`salt_hi`: a prover may witness limbs of 2^128 or more, but that only
//!   changes which preimage it claims, and every preimage other than the committed one is
//!   a collision. No rule reads the salt, so no comparison can be wrapped with it either
//!   (the reason the u64/u32 fields *are* range-checked, see [`crate::checks`]).
//! - **Hiding.** Without a salt, `P` was a deterministic function of guessable values:
//!   whoever could guess the allowlist recovered `max_amount` from an audit record by
//!   enumeration, and equal policies had equal `P` across signers and keys. With a
//!   uniformly random secret 256-bit salt, `P` is computationally hiding: the
//!   policy fields and the salt are absorbed by the same sponge and `P` is one squeezed
//!   element, so telling the `P` of two chosen policies apart (or linking two policies with
//!   equal parameters and independent salts) means distinguishing the Poseidon sponge,
//!   keyed by 256 unknown bits absorbed after the policy fields, from a random function. That is
//!   the standard assumption that the Poseidon permutation (BN254: t = 3, x^5, 8 + 57
//!   rounds; Pasta: `P128Pow5T3`) behaves as a random permutation in the sponge
//!   construction, at the 128-bit level its round numbers target (the capacity is one
//!   ~254-bit element). Hiding is not statistical: an unbounded adversary could search
//!   the salts. It also rests on the salt staying secret (it is sealed with the policy in
//!   the node's database) and being fresh per policy.

use core::fmt;
use core::str::FromStr;
use std::collections::HashMap;
use std::path::Path;

use zeroize::{Zeroize, Zeroizing};

use crate::field::{Backend, StatementField, DOMAIN_POLICY};
use crate::intent::{Recipient, RecipientParseError};
use crate::merkle::{MerkleTree, MAX_LEAVES};

/// The policy commitment's blinding factor: 32 secret bytes, hashed into `P` as two
/// 128-bit little-endian limbs ([`PolicySalt::limbs`]).
///
/// Zeroized on drop; `Debug` is redacted; equality is constant-time. Parsed from and
/// written as 64 hex characters (the TOML key `salt`).
#[derive(Clone)]
pub struct PolicySalt([u8; 32]);

/// A salt string that is not 32 bytes of hex. The messages never repeat the text (it is
/// a secret).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PolicySaltParseError {
    /// Not 64 characters long.
    #[error("salt must be 64 hex characters (32 bytes), got {chars} characters")]
    WrongLength {
        /// Number of characters given.
        chars: usize,
    },
    /// A character that is not a hex digit.
    #[error("salt must be 64 hex characters, character {index} is not a hex digit")]
    NotHex {
        /// Position of the first offending character (0-based).
        index: usize,
    },
}

impl PolicySalt {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PolicySalt(bytes)
    }

    /// A fresh uniformly random salt from a cryptographic RNG.
    pub fn random<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        PolicySalt(b)
    }

    /// Parses exactly 64 hex characters (either case, no prefix, no whitespace).
    pub fn from_hex(s: &str) -> Result<Self, PolicySaltParseError> {
        let chars = s.chars().count();
        if chars != 64 {
            return Err(PolicySaltParseError::WrongLength { chars });
        }
        if let Some(index) = s.chars().position(|c| !c.is_ascii_hexdigit()) {
            return Err(PolicySaltParseError::NotHex { index });
        }
        let mut out = [0u8; 32];
        // 64 ASCII hex digits: cannot fail, but the decoder's error is still mapped
        // rather than unwrapped.
        hex::decode_to_slice(s, &mut out).map_err(|_| PolicySaltParseError::NotHex { index: 0 })?;
        Ok(PolicySalt(out))
    }

    /// Lower-case hex, 64 characters (a secret: the buffer is zeroized when dropped).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `(salt_lo, salt_hi)`: bytes `0..16` and `16..32`, each a little-endian `u128`, as
    /// field elements (below 2^128, canonical in both backends' fields).
    pub fn limbs<F: StatementField>(&self) -> (F, F) {
        let mut lo = [0u8; 16];
        let mut hi = [0u8; 16];
        lo.copy_from_slice(&self.0[..16]);
        hi.copy_from_slice(&self.0[16..]);
        let limbs = (
            F::from_u128(u128::from_le_bytes(lo)),
            F::from_u128(u128::from_le_bytes(hi)),
        );
        lo.zeroize();
        hi.zeroize();
        limbs
    }
}

impl FromStr for PolicySalt {
    type Err = PolicySaltParseError;
    /// See [`PolicySalt::from_hex`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl PartialEq for PolicySalt {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for PolicySalt {}

impl Drop for PolicySalt {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for PolicySalt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PolicySalt(<redacted>)")
    }
}

/// A validated policy: at least one and at most 2^16 distinct allowlisted recipients, and
/// the salt that makes its commitment hiding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    asset: u32,
    max_amount: u64,
    not_before: u64,
    allowlist: Vec<Recipient>,
    salt: PolicySalt,
    index: HashMap<Recipient, usize>,
}

/// A policy file or policy value that is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    /// The file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Io {
        /// The path given.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or a value of the wrong type/range.
    #[error("invalid policy TOML: {0}")]
    Toml(String),
    /// A required key is absent (every key of the format is required).
    #[error("policy field `{field}` is missing")]
    MissingField {
        /// The absent key (`salt`, `asset`, ...).
        field: &'static str,
    },
    /// The `salt` value is not 64 hex characters.
    #[error("policy field `salt`: {0}")]
    BadSalt(#[source] PolicySaltParseError),
    /// A key the format does not have (typos must not silently relax a policy).
    #[error("unknown policy field `{field}`")]
    UnknownField {
        /// The unexpected key.
        field: String,
    },
    /// An allowlist entry that is not hex.
    #[error("allowlist entry {index} ({value:?}) is not hex")]
    BadHex {
        /// Position in the allowlist.
        index: usize,
        /// The entry.
        value: String,
    },
    /// An allowlist entry that is not 32 bytes.
    #[error("allowlist entry {index} is {len} bytes, expected 32")]
    WrongLength {
        /// Position in the allowlist.
        index: usize,
        /// Decoded length.
        len: usize,
    },
    /// The same recipient listed twice.
    #[error("allowlist entry {index} repeats entry {first}: {recipient}")]
    Duplicate {
        /// Position of the repetition.
        index: usize,
        /// Position of the first occurrence.
        first: usize,
        /// The recipient.
        recipient: Recipient,
    },
    /// No recipients at all (nothing could ever be signed).
    #[error("allowlist is empty")]
    EmptyAllowlist,
    /// More recipients than the depth-16 tree holds.
    #[error("allowlist has {count} entries, at most {max} are supported")]
    TooManyRecipients {
        /// Number given.
        count: usize,
        /// [`MAX_LEAVES`].
        max: usize,
    },
}

/// The on-disk shape (key order is the written order). Zeroizes the salt text on drop.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    asset: u32,
    max_amount: u64,
    not_before: u64,
    allowlist: Vec<String>,
    salt: String,
}

impl Drop for PolicyFile {
    fn drop(&mut self) {
        self.salt.zeroize();
    }
}

/// Every key of the format; all are required.
const KNOWN_FIELDS: [&str; 5] = ["asset", "max_amount", "not_before", "allowlist", "salt"];

/// The Poseidon commitment `P` to a policy, over the backend's field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PolicyCommitment<F>(pub F);

impl<F: StatementField> PolicyCommitment<F> {
    /// Canonical little-endian bytes.
    pub fn to_le_bytes(&self) -> [u8; 32] {
        self.0.to_le_bytes32()
    }
}

impl Policy {
    /// Validates and builds a policy. `salt` must be fresh and uniformly random
    /// ([`PolicySalt::random`]) for `P` to hide the policy.
    pub fn new(
        asset: u32,
        max_amount: u64,
        not_before: u64,
        allowlist: Vec<Recipient>,
        salt: PolicySalt,
    ) -> Result<Self, PolicyFileError> {
        if allowlist.is_empty() {
            return Err(PolicyFileError::EmptyAllowlist);
        }
        if allowlist.len() > MAX_LEAVES {
            return Err(PolicyFileError::TooManyRecipients {
                count: allowlist.len(),
                max: MAX_LEAVES,
            });
        }
        let mut index = HashMap::with_capacity(allowlist.len());
        for (i, r) in allowlist.iter().enumerate() {
            if let Some(first) = index.insert(*r, i) {
                return Err(PolicyFileError::Duplicate {
                    index: i,
                    first,
                    recipient: *r,
                });
            }
        }
        Ok(Policy {
            asset,
            max_amount,
            not_before,
            allowlist,
            salt,
            index,
        })
    }

    /// Parses and validates a TOML policy.
    pub fn from_toml_str(s: &str) -> Result<Self, PolicyFileError> {
        let table: toml::Table = toml::from_str(s).map_err(|e| syntax_error(s, &e))?;
        if let Some(field) = table.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
            return Err(PolicyFileError::UnknownField {
                field: field.clone(),
            });
        }
        if let Some(field) = KNOWN_FIELDS.into_iter().find(|k| !table.contains_key(*k)) {
            return Err(PolicyFileError::MissingField { field });
        }
        let file: PolicyFile = table
            .try_into()
            .map_err(|e: toml::de::Error| PolicyFileError::Toml(e.to_string()))?;
        if file.allowlist.len() > MAX_LEAVES {
            return Err(PolicyFileError::TooManyRecipients {
                count: file.allowlist.len(),
                max: MAX_LEAVES,
            });
        }
        let mut allowlist = Vec::with_capacity(file.allowlist.len());
        for (index, value) in file.allowlist.iter().enumerate() {
            let r: Recipient = value.parse().map_err(|e| match e {
                RecipientParseError::BadHex { .. } => PolicyFileError::BadHex {
                    index,
                    value: value.clone(),
                },
                RecipientParseError::WrongLength { len } => {
                    PolicyFileError::WrongLength { index, len }
                }
            })?;
            allowlist.push(r);
        }
        let salt = PolicySalt::from_hex(&file.salt).map_err(PolicyFileError::BadSalt)?;
        Policy::new(
            file.asset,
            file.max_amount,
            file.not_before,
            allowlist,
            salt,
        )
    }

    /// Reads and validates a TOML policy file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PolicyFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyFileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Writes the policy in the file format, salt included (fails only for u64 values
    /// above i64::MAX, which TOML integers cannot hold). The text holds the secret salt:
    /// callers that keep it in memory should zeroize it ([`Zeroizing`]).
    pub fn to_toml_string(&self) -> Result<String, PolicyFileError> {
        let file = PolicyFile {
            asset: self.asset,
            max_amount: self.max_amount,
            not_before: self.not_before,
            allowlist: self.allowlist.iter().map(Recipient::to_hex).collect(),
            salt: core::mem::take(&mut *self.salt.to_hex()),
        };
        toml::to_string(&file).map_err(|e| PolicyFileError::Toml(e.to_string()))
    }

    /// The asset this policy allows.
    pub fn asset(&self) -> u32 {
        self.asset
    }

    /// The largest amount allowed (inclusive).
    pub fn max_amount(&self) -> u64 {
        self.max_amount
    }

    /// Unix seconds before which nothing is signed.
    pub fn not_before(&self) -> u64 {
        self.not_before
    }

    /// The allowlisted recipients, in tree order.
    pub fn allowlist(&self) -> &[Recipient] {
        &self.allowlist
    }

    /// The commitment's salt.
    pub fn salt(&self) -> &PolicySalt {
        &self.salt
    }

    /// The same policy under another salt (a policy change that keeps the rules but
    /// must not be linkable to the old commitment, or a test).
    pub fn with_salt(&self, salt: PolicySalt) -> Policy {
        Policy {
            salt,
            ..self.clone()
        }
    }

    /// The leaf index of `recipient`, if allowlisted.
    pub fn index_of(&self, recipient: &Recipient) -> Option<usize> {
        self.index.get(recipient).copied()
    }

    /// Whether `recipient` is allowlisted.
    pub fn allows(&self, recipient: &Recipient) -> bool {
        self.index.contains_key(recipient)
    }

    /// The allowlist tree for backend `B`.
    pub fn allowlist_tree<B: Backend>(&self) -> MerkleTree<B> {
        match MerkleTree::from_recipients(&self.allowlist) {
            Ok(t) => t,
            // `Policy::new` guarantees at most MAX_LEAVES recipients.
            Err(e) => unreachable!("validated policy has a buildable tree: {e}"),
        }
    }

    /// The allowlist root for backend `B`.
    pub fn allowlist_root<B: Backend>(&self) -> B::F {
        self.allowlist_tree::<B>().root()
    }

    /// The shared field encoding, field by field (hashed in the order of
    /// [`PolicyFields::to_array`]).
    pub fn fields<B: Backend>(&self) -> PolicyFields<B::F> {
        self.fields_with_root::<B>(self.allowlist_root::<B>())
    }

    /// [`Policy::fields`] with a root already computed.
    pub fn fields_with_root<B: Backend>(&self, root: B::F) -> PolicyFields<B::F> {
        let (salt_lo, salt_hi) = self.salt.limbs::<B::F>();
        PolicyFields {
            asset: B::F::from_u64(self.asset.into()),
            max_amount: B::F::from_u64(self.max_amount),
            not_before: B::F::from_u64(self.not_before),
            allowlist_root: root,
            salt_lo,
            salt_hi,
        }
    }

    /// `P = H(DOMAIN_POLICY, fields...)`.
    pub fn commitment<B: Backend>(&self) -> PolicyCommitment<B::F> {
        PolicyCommitment(commit_policy_fields::<B>(&self.fields::<B>()))
    }
}

/// A TOML syntax error as its line and message only: the parser's full rendering quotes
/// the offending line, which may hold the secret salt or a limit, and such errors reach
/// logs.
fn syntax_error(text: &str, e: &toml::de::Error) -> PolicyFileError {
    match e.span() {
        Some(span) => {
            let line = 1 + text
                .as_bytes()
                .iter()
                .take(span.start)
                .filter(|b| **b == b'\n')
                .count();
            PolicyFileError::Toml(format!("line {line}: {}", e.message()))
        }
        None => PolicyFileError::Toml(e.message().to_string()),
    }
}

/// `H_POLICY(fields...)` over already-encoded fields.
pub fn commit_policy_fields<B: Backend>(fields: &PolicyFields<B::F>) -> B::F {
    B::hash(DOMAIN_POLICY, &fields.to_array())
}

/// The field encoding of a [`Policy`], by name, over any representation `T` of a field
/// element: values natively ([`Policy::fields`], [`crate::WitnessValues`]), allocated
/// variables in the BN254 circuit ([`crate::bn254::PolicyVar`]) and assigned cells in the
/// halo2 circuit ([`crate::pasta::PolicyVar`]). The allowlist enters as its Merkle root,
/// the salt as two 128-bit limbs. `Debug` is redacted (the salt limbs are secret).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PolicyFields<T> {
    /// The only asset the policy allows (a u32).
    pub asset: T,
    /// Largest amount per intent, inclusive (a u64).
    pub max_amount: T,
    /// Unix seconds before which nothing is signed (a u64).
    pub not_before: T,
    /// Root of the allowlist tree ([`crate::merkle`]).
    pub allowlist_root: T,
    /// Salt bytes `0..16` as a little-endian integer (below 2^128; not range-checked in
    /// the circuits, see the module docs).
    pub salt_lo: T,
    /// Salt bytes `16..32` as a little-endian integer (below 2^128; likewise).
    pub salt_hi: T,
}

impl<T> fmt::Debug for PolicyFields<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PolicyFields(<redacted>)")
    }
}

impl<T> PolicyFields<T> {
    /// Number of fields.
    pub const LEN: usize = 6;

    /// The fields in commitment order: `[asset, max_amount, not_before, allowlist_root,
    /// salt_lo, salt_hi]`.
    pub fn to_array(&self) -> [T; 6]
    where
        T: Clone,
    {
        [
            self.asset.clone(),
            self.max_amount.clone(),
            self.not_before.clone(),
            self.allowlist_root.clone(),
            self.salt_lo.clone(),
            self.salt_hi.clone(),
        ]
    }

    /// Applies `f` to each field, in commitment order, stopping at the first error.
    pub fn try_map<U, E>(
        &self,
        mut f: impl FnMut(&T) -> Result<U, E>,
    ) -> Result<PolicyFields<U>, E> {
        Ok(PolicyFields {
            asset: f(&self.asset)?,
            max_amount: f(&self.max_amount)?,
            not_before: f(&self.not_before)?,
            allowlist_root: f(&self.allowlist_root)?,
            salt_lo: f(&self.salt_lo)?,
            salt_hi: f(&self.salt_hi)?,
        })
    }

    /// Applies `f` to each field, in commitment order.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> U) -> PolicyFields<U> {
        match self.try_map(|x| Ok::<U, core::convert::Infallible>(f(x))) {
            Ok(mapped) => mapped,
            Err(never) => match never {},
        }
    }
}

impl<T: Copy> PolicyFields<T> {
    /// One accessor per field (`|f| f.max_amount`, ...), see [`crate::IntentFields::getters`].
    pub fn getters() -> PolicyFields<fn(&PolicyFields<T>) -> T> {
        PolicyFields {
            asset: |f| f.asset,
            max_amount: |f| f.max_amount,
            not_before: |f| f.not_before,
            allowlist_root: |f| f.allowlist_root,
            salt_lo: |f| f.salt_lo,
            salt_hi: |f| f.salt_hi,
        }
    }
}
