//! Public inputs of the spend statement and the prover's witness, shared by both backends.
//!
//! Public inputs, in this order, one field element each: `O` (outputs commitment), `fee`
//! (u64 satoshis), `lock_time` (u32), `P` (spend policy commitment), `now` (u64 unix
//! seconds), `binding` (31 bytes, little-endian; [`crate::Binding`]). Every verifier derives
//! `O`, `fee` and `lock_time` from the transaction itself, `binding` from the session, and
//! matches `P` against the registry.

use core::fmt;

use super::outputs::{commit_outputs, OutputsCommitment, SizeClass, Spend};
use super::policy::{commit_spend_policy_fields, SpendPolicy, SpendPolicyFields};
use super::rules::{check, SpendViolation};
use super::tree::{QuadPath, QUAD_DEPTH};
use crate::field::{Backend, StatementField};
use crate::intent::Recipient;
use crate::policy::PolicyCommitment;
use crate::public::{Binding, PublicInputsError, StatementInputs};

/// Number of public inputs of the spend statement.
pub const NUM_SPEND_PUBLIC_INPUTS: usize = 6;
/// Position of `O`.
pub const SPEND_O: usize = 0;
/// Position of `fee`.
pub const SPEND_FEE: usize = 1;
/// Position of `lock_time`.
pub const SPEND_LOCK_TIME: usize = 2;
/// Position of `P`.
pub const SPEND_P: usize = 3;
/// Position of `now`.
pub const SPEND_NOW: usize = 4;
/// Position of `binding`.
pub const SPEND_BINDING: usize = 5;

/// The spend statement's public inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpendPublicInputs<F> {
    /// `O`.
    pub outputs: OutputsCommitment<F>,
    /// The fee in satoshis.
    pub fee: u64,
    /// The transaction's lock time.
    pub lock_time: u32,
    /// `P`.
    pub policy: PolicyCommitment<F>,
    /// Unix seconds at which the policy was evaluated.
    pub now: u64,
    /// Session/signer binding.
    pub binding: Binding,
}

/// The low `bits` bits of `f` as an integer, if `f` is below `2^bits`.
fn small<F: StatementField>(f: &F, bits: usize) -> Option<u64> {
    let b = f.to_le_bytes32();
    let bytes = bits / 8;
    if b[bytes..].iter().any(|x| *x != 0) {
        return None;
    }
    let mut v = [0u8; 8];
    v[..bytes].copy_from_slice(&b[..bytes]);
    Some(u64::from_le_bytes(v))
}

impl<F: StatementField> SpendPublicInputs<F> {
    /// The public inputs of `spend` under policy commitment `policy`.
    pub fn for_spend<B: Backend<F = F>>(
        spend: &Spend,
        policy: PolicyCommitment<F>,
        now: u64,
        binding: Binding,
    ) -> Self {
        SpendPublicInputs {
            outputs: spend.commitment::<B>(),
            fee: spend.fee(),
            lock_time: spend.lock_time(),
            policy,
            now,
            binding,
        }
    }

    /// `[O, fee, lock_time, P, now, binding]`, the order the circuits allocate them in.
    pub fn to_field_elements(&self) -> [F; NUM_SPEND_PUBLIC_INPUTS] {
        [
            self.outputs.0,
            F::from_u64(self.fee),
            F::from_u64(self.lock_time.into()),
            self.policy.0,
            F::from_u64(self.now),
            self.binding.to_field(),
        ]
    }

    /// Decodes the vector, checking every integer's range (`binding < 2^248`).
    pub fn from_field_elements(
        v: &[F; NUM_SPEND_PUBLIC_INPUTS],
    ) -> Result<Self, PublicInputsError> {
        let range = |index: usize, name, bits| {
            small(&v[index], bits).ok_or(PublicInputsError::OutOfRange { name, bits })
        };
        let fee = range(SPEND_FEE, "fee", 64)?;
        let lock_time = range(SPEND_LOCK_TIME, "lock_time", 32)?;
        let now = range(SPEND_NOW, "now", 64)?;
        let b = v[SPEND_BINDING].to_le_bytes32();
        if b[31] != 0 {
            return Err(PublicInputsError::OutOfRange {
                name: "binding",
                bits: 248,
            });
        }
        let mut binding = [0u8; 31];
        binding.copy_from_slice(&b[..31]);
        Ok(SpendPublicInputs {
            outputs: OutputsCommitment(v[SPEND_O]),
            fee,
            lock_time: lock_time as u32,
            policy: PolicyCommitment(v[SPEND_P]),
            now,
            binding: Binding(binding),
        })
    }

    /// Each input as 32 canonical little-endian bytes (wire and audit log).
    pub fn to_le_bytes(&self) -> [[u8; 32]; NUM_SPEND_PUBLIC_INPUTS] {
        self.to_field_elements().map(|f| f.to_le_bytes32())
    }

    /// Inverse of [`Self::to_le_bytes`], rejecting non-canonical encodings.
    pub fn from_le_bytes(
        v: &[[u8; 32]; NUM_SPEND_PUBLIC_INPUTS],
    ) -> Result<Self, PublicInputsError> {
        let mut f = [F::zero(); NUM_SPEND_PUBLIC_INPUTS];
        for (index, (out, bytes)) in f.iter_mut().zip(v.iter()).enumerate() {
            *out = F::from_canonical_le_bytes32(bytes)
                .ok_or(PublicInputsError::NonCanonical { index })?;
        }
        Self::from_field_elements(&f)
    }
}

/// One output slot of the assignment: script hash limbs, amount and allowlist path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SlotValues<F> {
    /// Script hash bytes `0..16` as an integer ([`Recipient::hi`]).
    pub script_hi: F,
    /// Script hash bytes `16..32` ([`Recipient::lo`]).
    pub script_lo: F,
    /// Satoshis.
    pub amount: F,
    /// The script's leaf path in the 4-ary allowlist tree.
    pub path: QuadPath<F>,
}

/// The field-level assignment both spend circuits read. Tests may edit it to force values
/// no [`SpendWitness`] holds, then call [`SpendValues::recommit`].
#[derive(Clone, PartialEq, Eq)]
pub struct SpendValues<F> {
    /// The size class (the number of slots).
    pub class: SizeClass,
    /// The policy fields (with the allowlist root).
    pub policy: SpendPolicyFields<F>,
    /// One entry per slot of the class.
    pub slots: Vec<SlotValues<F>>,
    /// The allowlist tree's nodes at level `QUAD_DEPTH - L`, `L` the class's
    /// [`SizeClass::shared_levels`] (`4^L` nodes). The Groth16 circuit hashes them to the
    /// root once instead of climbing every path to the top; the halo2 circuit climbs every
    /// path and does not read them.
    pub top: Vec<F>,
    /// `[O, fee, lock_time, P, now, binding]`.
    pub public: [F; NUM_SPEND_PUBLIC_INPUTS],
}

impl<F> fmt::Debug for SpendValues<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpendValues(<redacted>)")
    }
}

impl<F: StatementField> SpendValues<F> {
    /// Recomputes `O` (from the slots, under the policy's network) and `P`.
    pub fn recommit<B: Backend<F = F>>(&mut self) {
        self.public[SPEND_O] = commit_outputs::<B>(
            self.policy.network,
            self.class,
            self.slots
                .iter()
                .map(|s| [s.script_hi, s.script_lo, s.amount]),
        );
        self.public[SPEND_P] = commit_spend_policy_fields::<B>(&self.policy);
    }
}

/// Everything a prover needs for one spend proof, checked natively.
#[derive(Clone, Debug)]
pub struct SpendWitness<B: Backend> {
    public: SpendPublicInputs<B::F>,
    values: SpendValues<B::F>,
}

impl<B: Backend> SpendWitness<B> {
    /// Checks the spend natively ([`check`]) and builds the witness.
    pub fn new(
        spend: &Spend,
        policy: &SpendPolicy,
        now: u64,
        binding: Binding,
    ) -> Result<Self, SpendViolation> {
        check(spend, policy, now)?;
        Ok(Self::new_unchecked(spend, policy, now, binding))
    }

    /// Builds the witness WITHOUT the native check — for negative tests only (a script
    /// outside the allowlist gets the path of leaf 0).
    pub fn new_unchecked(spend: &Spend, policy: &SpendPolicy, now: u64, binding: Binding) -> Self {
        let tree = policy.allowlist_tree::<B>();
        let root = tree.root();
        let top = tree.level(QUAD_DEPTH - spend.class().shared_levels());
        let fields = policy.fields_with_root::<B>(root);
        let slots = spend
            .slots()
            .iter()
            .map(|(script, amount)| {
                let leaf = policy.leaf_of(script).unwrap_or(0);
                let path = match tree.path(leaf) {
                    Ok(p) => p,
                    // Leaf 0 (padding) always exists and `leaf_of` answers in range.
                    Err(e) => unreachable!("spend allowlist has leaf {leaf}: {e}"),
                };
                slot::<B>(script, *amount, path)
            })
            .collect();
        let public = SpendPublicInputs {
            // The verifier's O: under the spend's network (the circuit hashes the policy's).
            outputs: spend.commitment::<B>(),
            fee: spend.fee(),
            lock_time: spend.lock_time(),
            policy: PolicyCommitment(commit_spend_policy_fields::<B>(&fields)),
            now,
            binding,
        };
        SpendWitness {
            public,
            values: SpendValues {
                class: spend.class(),
                policy: fields,
                slots,
                top,
                public: public.to_field_elements(),
            },
        }
    }

    /// The public inputs this witness proves.
    pub fn public_inputs(&self) -> SpendPublicInputs<B::F> {
        self.public
    }

    /// The field-level assignment.
    pub fn values(&self) -> &SpendValues<B::F> {
        &self.values
    }
}

fn slot<B: Backend>(script: &Recipient, amount: u64, path: QuadPath<B::F>) -> SlotValues<B::F> {
    SlotValues {
        script_hi: B::F::from_u128(script.hi()),
        script_lo: B::F::from_u128(script.lo()),
        amount: B::F::from_u64(amount),
        path,
    }
}

impl<F: StatementField> StatementInputs for SpendPublicInputs<F> {
    const DERIVED: &'static [&'static str] = &["outputs commitment O", "fee", "lock_time"];

    fn decode(v: &[[u8; 32]]) -> Result<Self, PublicInputsError> {
        let v: &[[u8; 32]; NUM_SPEND_PUBLIC_INPUTS] =
            v.try_into().map_err(|_| PublicInputsError::Count {
                expected: NUM_SPEND_PUBLIC_INPUTS,
                found: v.len(),
            })?;
        Self::from_le_bytes(v)
    }

    fn binding(&self) -> Binding {
        self.binding
    }
}
