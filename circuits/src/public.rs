//! Public inputs of the statement and the prover's witness, shared by both backends.
//!
//! Public inputs, in this order, one field element each: `C` (intent commitment), `P`
//! (policy commitment), `now` (u64 unix seconds), `binding` (31 bytes, little-endian).

use core::fmt;

use crate::field::{Backend, StatementField};
use crate::hash::tagged_hash;
use crate::intent::{commit_intent_fields, Intent, IntentCommitment, IntentFields};
use crate::merkle::{leaf_hash, MerklePath};
use crate::policy::{commit_policy_fields, Policy, PolicyCommitment, PolicyFields};
use crate::rules::{check, PolicyViolation};

/// Domain tag of [`Binding::derive`].
pub const BINDING_TAG: &[u8] = b"zkquorum/binding/v1";

/// Number of public inputs of the statement.
pub const NUM_PUBLIC_INPUTS: usize = 4;

/// Ties a proof to one signer in one signing session (31 bytes, little-endian integer).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Binding(pub [u8; 31]);

/// A string that is not 31 bytes of hex.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("binding must be 62 hex characters (31 bytes): {0}")]
pub struct BindingParseError(pub String);

impl Binding {
    /// [`tagged_hash`]`(BINDING_TAG, [session_id, signer_id, group_public_key, round1])` —
    /// `blake3(BINDING_TAG || len(session_id) || session_id || len(signer_id) || signer_id ||
    /// len(group_public_key) || group_public_key || len(round1) || round1)`, lengths as u64
    /// little-endian — truncated to the first 31 bytes.
    pub fn derive(
        session_id: &[u8; 32],
        signer_id: &[u8],
        group_public_key: &[u8],
        round1_commitments: &[u8],
    ) -> Self {
        let full = tagged_hash(
            BINDING_TAG,
            &[
                session_id.as_slice(),
                signer_id,
                group_public_key,
                round1_commitments,
            ],
        );
        let mut out = [0u8; 31];
        out.copy_from_slice(&full[..31]);
        Binding(out)
    }

    /// The binding as a field element.
    pub fn to_field<F: StatementField>(&self) -> F {
        F::from_le_bytes31(&self.0)
    }

    /// Lower-case hex (62 characters).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Binding({})", self.to_hex())
    }
}

impl From<Binding> for String {
    fn from(b: Binding) -> String {
        b.to_hex()
    }
}

impl TryFrom<String> for Binding {
    type Error = BindingParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let bytes = hex::decode(s.trim()).map_err(|e| BindingParseError(e.to_string()))?;
        let arr: [u8; 31] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| BindingParseError(format!("got {} bytes", bytes.len())))?;
        Ok(Binding(arr))
    }
}

/// The statement's public inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicInputs<F> {
    /// `C`.
    pub intent_commitment: IntentCommitment<F>,
    /// `P`.
    pub policy_commitment: PolicyCommitment<F>,
    /// Unix seconds at which the policy was evaluated.
    pub now: u64,
    /// Session/signer binding.
    pub binding: Binding,
}

/// Field elements that are not a valid public-input vector.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublicInputsError {
    /// A 32-byte value that is not a canonical field element.
    #[error("public input {index} is not a canonical field element")]
    NonCanonical {
        /// Position (0 = C, 1 = P, 2 = now, 3 = binding).
        index: usize,
    },
    /// `now` does not fit in 64 bits.
    #[error("public input `now` does not fit in 64 bits")]
    NowOutOfRange,
    /// `binding` does not fit in 31 bytes.
    #[error("public input `binding` does not fit in 31 bytes")]
    BindingOutOfRange,
    /// An integer input (of the spend statement) out of its range.
    #[error("public input `{name}` does not fit in {bits} bits")]
    OutOfRange {
        /// The input.
        name: &'static str,
        /// Its width.
        bits: usize,
    },
    /// A vector of another length than the statement's.
    #[error("{found} public inputs, the statement has {expected}")]
    Count {
        /// The statement's count.
        expected: usize,
        /// The count received.
        found: usize,
    },
}

/// A statement's public-input vector as it travels, is attested and is checked:
/// `[derived.., P, now, binding]`. The derived prefix is what every verifier computes from
/// the session itself (the intent statement's `C`; a spend's `O`, fee and lock time); `P`
/// is matched against the governance registry, `now` against the session, `binding`
/// re-derived. One contribution check ([`verifier::contribution`]) serves every statement.
pub trait StatementInputs: Sized {
    /// Names of the session-derived inputs, in order.
    const DERIVED: &'static [&'static str];
    /// Inputs in all: the derived ones, then `P`, `now` and `binding`.
    const LEN: usize = Self::DERIVED.len() + 3;
    /// Position of `P`.
    const P: usize = Self::DERIVED.len();
    /// Position of `now`.
    const NOW: usize = Self::DERIVED.len() + 1;
    /// Decodes canonical little-endian bytes, checking the count and every range.
    fn decode(v: &[[u8; 32]]) -> Result<Self, PublicInputsError>;
    /// The binding.
    fn binding(&self) -> Binding;
}

impl<F: StatementField> StatementInputs for PublicInputs<F> {
    const DERIVED: &'static [&'static str] = &["intent commitment C"];

    fn decode(v: &[[u8; 32]]) -> Result<Self, PublicInputsError> {
        let v: &[[u8; 32]; NUM_PUBLIC_INPUTS] =
            v.try_into().map_err(|_| PublicInputsError::Count {
                expected: NUM_PUBLIC_INPUTS,
                found: v.len(),
            })?;
        Self::from_le_bytes(v)
    }

    fn binding(&self) -> Binding {
        self.binding
    }
}

impl<F: StatementField> PublicInputs<F> {
    /// `[C, P, now, binding]` — the order the circuits allocate them in.
    pub fn to_field_elements(&self) -> [F; NUM_PUBLIC_INPUTS] {
        [
            self.intent_commitment.0,
            self.policy_commitment.0,
            F::from_u64(self.now),
            self.binding.to_field(),
        ]
    }

    /// Decodes `[C, P, now, binding]`, checking `now < 2^64` and `binding < 2^248`.
    pub fn from_field_elements(v: &[F; NUM_PUBLIC_INPUTS]) -> Result<Self, PublicInputsError> {
        let now_bytes = v[PUBLIC_NOW].to_le_bytes32();
        if now_bytes[8..].iter().any(|b| *b != 0) {
            return Err(PublicInputsError::NowOutOfRange);
        }
        let mut now = [0u8; 8];
        now.copy_from_slice(&now_bytes[..8]);
        let b = v[PUBLIC_BINDING].to_le_bytes32();
        if b[31] != 0 {
            return Err(PublicInputsError::BindingOutOfRange);
        }
        let mut binding = [0u8; 31];
        binding.copy_from_slice(&b[..31]);
        Ok(PublicInputs {
            intent_commitment: IntentCommitment(v[PUBLIC_C]),
            policy_commitment: PolicyCommitment(v[PUBLIC_P]),
            now: u64::from_le_bytes(now),
            binding: Binding(binding),
        })
    }

    /// Each public input as 32 canonical little-endian bytes (for the wire / audit log).
    pub fn to_le_bytes(&self) -> [[u8; 32]; NUM_PUBLIC_INPUTS] {
        self.to_field_elements().map(|f| f.to_le_bytes32())
    }

    /// Inverse of [`PublicInputs::to_le_bytes`], rejecting non-canonical encodings.
    pub fn from_le_bytes(v: &[[u8; 32]; NUM_PUBLIC_INPUTS]) -> Result<Self, PublicInputsError> {
        let mut f = [F::zero(); NUM_PUBLIC_INPUTS];
        for (index, (out, bytes)) in f.iter_mut().zip(v.iter()).enumerate() {
            *out = F::from_canonical_le_bytes32(bytes)
                .ok_or(PublicInputsError::NonCanonical { index })?;
        }
        Self::from_field_elements(&f)
    }
}

/// Everything a prover needs for one proof, for backend `B`.
#[derive(Clone, Debug)]
pub struct Witness<B: Backend> {
    intent: Intent,
    policy: Policy,
    now: u64,
    binding: Binding,
    allowlist_root: B::F,
    path: MerklePath<B::F>,
    public: PublicInputs<B::F>,
}

impl<B: Backend> Witness<B> {
    /// Checks the policy natively ([`check`]) and builds the witness.
    pub fn new(
        intent: Intent,
        policy: Policy,
        now: u64,
        binding: Binding,
    ) -> Result<Self, PolicyViolation> {
        check(&intent, &policy, now)?;
        Ok(Self::new_unchecked(intent, policy, now, binding))
    }

    /// Builds the witness WITHOUT the native check — for negative tests only: a violating
    /// witness yields an unsatisfied circuit. A recipient outside the allowlist gets the path
    /// of leaf 0.
    pub fn new_unchecked(intent: Intent, policy: Policy, now: u64, binding: Binding) -> Self {
        let tree = policy.allowlist_tree::<B>();
        let index = policy.index_of(&intent.recipient).unwrap_or(0);
        let path = match tree.path(index) {
            Ok(p) => p,
            // A validated policy has at least one leaf, and `index` is in range.
            Err(e) => unreachable!("validated policy has leaf {index}: {e}"),
        };
        let allowlist_root = tree.root();
        let public = PublicInputs {
            intent_commitment: intent.commitment::<B>(),
            policy_commitment: PolicyCommitment(commit_policy_fields::<B>(
                &policy.fields_with_root::<B>(allowlist_root),
            )),
            now,
            binding,
        };
        Witness {
            intent,
            policy,
            now,
            binding,
            allowlist_root,
            path,
            public,
        }
    }

    /// The intent.
    pub fn intent(&self) -> &Intent {
        &self.intent
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The evaluation time.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// The binding.
    pub fn binding(&self) -> Binding {
        self.binding
    }

    /// The allowlist root.
    pub fn allowlist_root(&self) -> B::F {
        self.allowlist_root
    }

    /// The recipient's Merkle path.
    pub fn path(&self) -> &MerklePath<B::F> {
        &self.path
    }

    /// The recipient's leaf.
    pub fn leaf(&self) -> B::F {
        leaf_hash::<B>(&self.intent.recipient)
    }

    /// The public inputs this witness proves.
    pub fn public_inputs(&self) -> PublicInputs<B::F> {
        self.public
    }

    /// The field-level assignment both circuits consume.
    pub fn values(&self) -> WitnessValues<B::F> {
        WitnessValues {
            intent: self.intent.fields(),
            policy: self.policy.fields_with_root::<B>(self.allowlist_root),
            path: self.path,
            public: self.public.to_field_elements(),
        }
    }
}

/// The field-level assignment of the circuit: what both backends' circuits read.
///
/// Normally produced by [`Witness::values`]; tests may edit it to force values a
/// [`Witness`] cannot hold (e.g. an amount >= 2^64) and call [`WitnessValues::recommit`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WitnessValues<F> {
    /// [`Intent::fields`].
    pub intent: IntentFields<F>,
    /// [`Policy::fields`] (with the allowlist root).
    pub policy: PolicyFields<F>,
    /// The recipient's Merkle path.
    pub path: MerklePath<F>,
    /// `[C, P, now, binding]`, in instance order (see [`PublicInputs::to_field_elements`];
    /// [`WitnessValues::now`] and [`WitnessValues::binding`] read them by name).
    pub public: [F; NUM_PUBLIC_INPUTS],
}

/// Position of `C` in [`WitnessValues::public`] (and in every instance vector).
pub const PUBLIC_C: usize = 0;
/// Position of `P` in [`WitnessValues::public`].
pub const PUBLIC_P: usize = 1;
/// Position of `now` in [`WitnessValues::public`].
pub const PUBLIC_NOW: usize = 2;
/// Position of `binding` in [`WitnessValues::public`].
pub const PUBLIC_BINDING: usize = 3;

impl<F: StatementField> WitnessValues<F> {
    /// Recomputes `C` and `P` from the (possibly edited) intent and policy fields.
    pub fn recommit<B: Backend<F = F>>(&mut self) {
        self.public[PUBLIC_C] = commit_intent_fields::<B>(&self.intent);
        self.public[PUBLIC_P] = commit_policy_fields::<B>(&self.policy);
    }

    /// The intent commitment `C`.
    pub fn intent_commitment(&self) -> F {
        self.public[PUBLIC_C]
    }

    /// The policy commitment `P`.
    pub fn policy_commitment(&self) -> F {
        self.public[PUBLIC_P]
    }

    /// `now`.
    pub fn now(&self) -> F {
        self.public[PUBLIC_NOW]
    }

    /// `binding`.
    pub fn binding(&self) -> F {
        self.public[PUBLIC_BINDING]
    }
}

impl<F> fmt::Debug for WitnessValues<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WitnessValues(<redacted>)")
    }
}
