//! The transaction side of the Bitcoin statement: the external outputs of a spend, padded to
//! a size class, and their commitment `O`.
//!
//! An output is external when it does not pay the group's own output key; change back to
//! the group is free and does not enter the statement. Each external output enters as its
//! script hash ([`script_hash`]: a domain-separated hash of the scriptPubKey, as the two
//! 128-bit limbs of a [`Recipient`]) and its amount in satoshis. The list is padded with
//! [`PADDING`] entries (script hash 0, amount 0) up to its [`SizeClass`]; no real script
//! hashes to 0 (it is a 256-bit hash output), so padding is never confused with a payment.
//!
//! `O` is a hash chain, the same on both backends: `acc_0 = H_OUTPUTS(network, class)`,
//! `acc_{i+1} = H4_OUTPUT(acc_i, hi_i, lo_i, amount_i)`, `O = acc_class` — fixed-length
//! hashes only, so the halo2 circuit needs no variable-length sponge. Each link is the
//! backend's width-5 hash ([`Backend::hash4`]): one permutation per slot.

use core::fmt;

use crate::field::{Backend, StatementField};
use crate::hash::tagged_hash;
use crate::intent::Recipient;

/// Domain tag of the first link of `O`: `H_OUTPUTS(network, class)`.
pub const DOMAIN_OUTPUTS: u64 = 5;
/// Domain tag of each further link of `O`: `H4_OUTPUT(acc, hi, lo, amount)`
/// ([`Backend::hash4`]).
pub const DOMAIN_OUTPUT: u64 = 6;
/// Domain tag of the spend policy commitment `P`.
pub const DOMAIN_SPEND_POLICY: u64 = 7;
/// Tag of [`script_hash`].
pub const SCRIPT_TAG: &[u8] = b"zkquorum/script-pubkey/v1";

/// The padding entry's script hash (leaf 0 of every spend allowlist).
pub const PADDING: Recipient = Recipient([0u8; 32]);

/// The script hash of a scriptPubKey: `tagged_hash(SCRIPT_TAG, [script])` (blake3,
/// length-prefixed), what allowlists hold and the circuits see.
pub fn script_hash(script_pubkey: &[u8]) -> Recipient {
    Recipient(tagged_hash(SCRIPT_TAG, &[script_pubkey]))
}

/// How many external outputs a proof covers: a proof for a class covers any spend with at
/// most that many (the rest is padding). Each class has its own keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SizeClass {
    /// Up to 2 external outputs (a payment, maybe with a second payee).
    Two,
    /// Up to 16.
    Sixteen,
    /// Up to 256 (an exchange's batched payouts).
    TwoFiftySix,
}

impl SizeClass {
    /// Every class, smallest first.
    pub const ALL: [SizeClass; 3] = [SizeClass::Two, SizeClass::Sixteen, SizeClass::TwoFiftySix];

    /// The number of output slots.
    pub const fn slots(self) -> usize {
        match self {
            SizeClass::Two => 2,
            SizeClass::Sixteen => 16,
            SizeClass::TwoFiftySix => 256,
        }
    }

    /// How many top levels of the 4-ary allowlist tree ([`super::tree`]) the class's slots
    /// share in the Groth16 circuit: the `4^L` nodes at level `QUAD_DEPTH - L` are witnessed
    /// once and hashed to the root once, and each slot climbs only `QUAD_DEPTH - L` levels,
    /// then selects its node among them by its remaining `2L` path bits (`4^L - 1`
    /// multiplexers). Per slot that trades `L` levels (~309 constraints each: a width-5
    /// permutation and the child arrangement) for `4^L - 1` constraints, at a shared cost of
    /// `(4^L - 1) / 3` node hashes (~300 each). `L` minimises the sum: 1 for 2 slots (saves
    /// ~300), 2 for 16 (~8 100), 4 for 256 (~226 000; 3 would save ~215 000).
    pub const fn shared_levels(self) -> usize {
        match self {
            SizeClass::Two => 1,
            SizeClass::Sixteen => 2,
            SizeClass::TwoFiftySix => 4,
        }
    }

    /// The smallest class holding `outputs` external outputs.
    pub fn for_outputs(outputs: usize) -> Result<Self, SpendError> {
        Self::ALL
            .into_iter()
            .find(|c| c.slots() >= outputs)
            .ok_or(SpendError::TooManyOutputs { count: outputs })
    }
}

impl fmt::Display for SizeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.slots())
    }
}

/// One external output: where it pays and how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpendOutput {
    /// Its index in the transaction (for error messages; not committed).
    pub index: u32,
    /// [`script_hash`] of its scriptPubKey.
    pub script: Recipient,
    /// Satoshis.
    pub amount: u64,
}

/// What a spend does, as every verifier derives it from the transaction: the external
/// outputs (in transaction order), the fee, the lock time, and the network the key spends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spend {
    network: u32,
    outputs: Vec<SpendOutput>,
    fee: u64,
    lock_time: u32,
    class: SizeClass,
}

/// A spend the statement cannot express.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpendError {
    /// More external outputs than the largest class.
    #[error("{count} external outputs: the largest size class holds 256")]
    TooManyOutputs {
        /// External outputs in the transaction.
        count: usize,
    },
    /// An output whose script hash is the padding value (not a real hash).
    #[error("output {index}: its script hash is the padding value")]
    PaddingScript {
        /// The output's index in the transaction.
        index: u32,
    },
}

impl Spend {
    /// A spend in the smallest class that holds its outputs.
    pub fn new(
        network: u32,
        outputs: Vec<SpendOutput>,
        fee: u64,
        lock_time: u32,
    ) -> Result<Self, SpendError> {
        let class = SizeClass::for_outputs(outputs.len())?;
        Self::with_class(network, outputs, fee, lock_time, class)
    }

    /// A spend proven in `class` (which must hold its outputs).
    pub fn with_class(
        network: u32,
        outputs: Vec<SpendOutput>,
        fee: u64,
        lock_time: u32,
        class: SizeClass,
    ) -> Result<Self, SpendError> {
        if outputs.len() > class.slots() {
            return Err(SpendError::TooManyOutputs {
                count: outputs.len(),
            });
        }
        if let Some(o) = outputs.iter().find(|o| o.script == PADDING) {
            return Err(SpendError::PaddingScript { index: o.index });
        }
        Ok(Spend {
            network,
            outputs,
            fee,
            lock_time,
            class,
        })
    }

    /// The network code (see [`crate::spend::SpendPolicy::network`]).
    pub fn network(&self) -> u32 {
        self.network
    }

    /// The external outputs, in transaction order.
    pub fn outputs(&self) -> &[SpendOutput] {
        &self.outputs
    }

    /// The fee in satoshis.
    pub fn fee(&self) -> u64 {
        self.fee
    }

    /// The transaction's lock time.
    pub fn lock_time(&self) -> u32 {
        self.lock_time
    }

    /// The size class the proof is made in.
    pub fn class(&self) -> SizeClass {
        self.class
    }

    /// The sum of the external outputs (u128: no overflow).
    pub fn total(&self) -> u128 {
        self.outputs.iter().map(|o| u128::from(o.amount)).sum()
    }

    /// The outputs padded to the class: `(script, amount)` per slot.
    pub fn slots(&self) -> Vec<(Recipient, u64)> {
        let mut v: Vec<_> = self.outputs.iter().map(|o| (o.script, o.amount)).collect();
        v.resize(self.class.slots(), (PADDING, 0));
        v
    }

    /// The outputs commitment `O`.
    pub fn commitment<B: Backend>(&self) -> OutputsCommitment<B::F> {
        OutputsCommitment(commit_outputs::<B>(
            B::F::from_u64(self.network.into()),
            self.class,
            self.slots().iter().map(|(script, amount)| {
                [
                    B::F::from_u128(script.hi()),
                    B::F::from_u128(script.lo()),
                    B::F::from_u64(*amount),
                ]
            }),
        ))
    }
}

/// `O`, the commitment to a spend's padded external outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputsCommitment<F>(pub F);

/// `O` over padded slots given as `[script_hi, script_lo, amount]` field triples: the chain
/// of the module docs (the circuits compute the same chain).
pub fn commit_outputs<B: Backend>(
    network: B::F,
    class: SizeClass,
    slots: impl IntoIterator<Item = [B::F; 3]>,
) -> B::F {
    let mut acc = B::hash(
        DOMAIN_OUTPUTS,
        &[network, B::F::from_u64(class.slots() as u64)],
    );
    for [hi, lo, amount] in slots {
        acc = B::hash4(DOMAIN_OUTPUT, [acc, hi, lo, amount]);
    }
    acc
}
