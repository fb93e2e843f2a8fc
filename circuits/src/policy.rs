//! A signer's policy, loaded from TOML, and its commitment.
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
//! ```
//!
//! Field encoding (shared by both backends, see [`Policy::fields`] and [`PolicyFields`]):
//! `[asset, max_amount, not_before, allowlist_root]`, commitment `P = H_POLICY(fields...)`
//! (4 inputs under the policy domain). The allowlist root is the root of the
//! [`crate::merkle`] tree over the recipients in file order, so `P` and the root are per
//! backend.

use std::collections::HashMap;
use std::path::Path;

use crate::field::{Backend, StatementField, DOMAIN_POLICY};
use crate::intent::{Recipient, RecipientParseError};
use crate::merkle::{MerkleTree, MAX_LEAVES};

/// A validated policy: at least one and at most 2^16 distinct allowlisted recipients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    asset: u32,
    max_amount: u64,
    not_before: u64,
    allowlist: Vec<Recipient>,
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
    /// Not TOML, a missing key, or a value of the wrong type/range.
    #[error("invalid policy TOML: {0}")]
    Toml(String),
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

/// The on-disk shape.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    asset: u32,
    max_amount: u64,
    not_before: u64,
    allowlist: Vec<String>,
}

const KNOWN_FIELDS: [&str; 4] = ["asset", "max_amount", "not_before", "allowlist"];

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
    /// Validates and builds a policy.
    pub fn new(
        asset: u32,
        max_amount: u64,
        not_before: u64,
        allowlist: Vec<Recipient>,
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
            index,
        })
    }

    /// Parses and validates a TOML policy.
    pub fn from_toml_str(s: &str) -> Result<Self, PolicyFileError> {
        let table: toml::Table =
            toml::from_str(s).map_err(|e| PolicyFileError::Toml(e.to_string()))?;
        if let Some(field) = table.keys().find(|k| !KNOWN_FIELDS.contains(&k.as_str())) {
            return Err(PolicyFileError::UnknownField {
                field: field.clone(),
            });
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
        Policy::new(file.asset, file.max_amount, file.not_before, allowlist)
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

    /// Writes the policy in the file format (fails only for u64 values above i64::MAX,
    /// which TOML integers cannot hold).
    pub fn to_toml_string(&self) -> Result<String, PolicyFileError> {
        let file = PolicyFile {
            asset: self.asset,
            max_amount: self.max_amount,
            not_before: self.not_before,
            allowlist: self.allowlist.iter().map(Recipient::to_hex).collect(),
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
        PolicyFields {
            asset: B::F::from_u64(self.asset.into()),
            max_amount: B::F::from_u64(self.max_amount),
            not_before: B::F::from_u64(self.not_before),
            allowlist_root: root,
        }
    }

    /// `P = H(DOMAIN_POLICY, fields...)`.
    pub fn commitment<B: Backend>(&self) -> PolicyCommitment<B::F> {
        PolicyCommitment(commit_policy_fields::<B>(&self.fields::<B>()))
    }
}

/// `H_POLICY(fields...)` over already-encoded fields.
pub fn commit_policy_fields<B: Backend>(fields: &PolicyFields<B::F>) -> B::F {
    B::hash(DOMAIN_POLICY, &fields.to_array())
}

/// The field encoding of a [`Policy`], by name, over any representation `T` of a field
/// element: values natively ([`Policy::fields`], [`crate::WitnessValues`]), allocated
/// variables in the BN254 circuit ([`crate::bn254::PolicyVar`]) and assigned cells in the
/// halo2 circuit ([`crate::pasta::PolicyVar`]). The allowlist enters as its Merkle root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyFields<T> {
    /// The only asset the policy allows (a u32).
    pub asset: T,
    /// Largest amount per intent, inclusive (a u64).
    pub max_amount: T,
    /// Unix seconds before which nothing is signed (a u64).
    pub not_before: T,
    /// Root of the allowlist tree ([`crate::merkle`]).
    pub allowlist_root: T,
}

impl<T> PolicyFields<T> {
    /// Number of fields.
    pub const LEN: usize = 4;

    /// The fields in commitment order: `[asset, max_amount, not_before, allowlist_root]`.
    pub fn to_array(&self) -> [T; 4]
    where
        T: Clone,
    {
        [
            self.asset.clone(),
            self.max_amount.clone(),
            self.not_before.clone(),
            self.allowlist_root.clone(),
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
        }
    }
}
