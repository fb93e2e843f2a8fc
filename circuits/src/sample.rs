//! The embedded default scenario: one policy and compliant intents, used by
//! `zkquorum demo`, the benches and the tests, so every run proves the same statement.
//!
//! Policy: asset 7, at most 1 000 000 units, not before `now - 100`, five allowlisted
//! recipients, salt [`POLICY_SALT`]. The intent pays 250 000 units to the fourth
//! recipient, valid `now ± 50` seconds.

use crate::field::Backend;
use crate::intent::{Intent, Recipient, Salt, INTENT_VERSION};
use crate::policy::{Policy, PolicySalt};
use crate::public::{Binding, Witness};

/// The reference time of the scenario (unix seconds).
pub const NOW: u64 = 1_700_000_500;

/// The `i`-th allowlisted recipient (bytes `0xab..ab i`).
pub fn recipient(i: u8) -> Recipient {
    let mut r = [0xab; 32];
    r[31] = i;
    Recipient(r)
}

/// The sample policy's salt: the fixed bytes `0x5b` × 32, so the embedded scenario (its
/// `P`, the benches, the tests' expected values) is the same in every run. It is public,
/// so the sample `P` hides nothing: real policies take [`PolicySalt::random`].
pub const POLICY_SALT: [u8; 32] = [0x5b; 32];

/// The sample policy.
pub fn policy() -> Policy {
    Policy::new(
        7,
        1_000_000,
        NOW - 100,
        (0..5).map(recipient).collect(),
        PolicySalt::from_bytes(POLICY_SALT),
    )
    .expect("the sample policy is valid")
}

/// A compliant intent; `nonce` makes otherwise equal intents distinct.
pub fn intent(nonce: u64) -> Intent {
    let mut salt = [0x5a; 31];
    salt[..8].copy_from_slice(&nonce.to_le_bytes());
    Intent {
        version: INTENT_VERSION,
        network: 1,
        asset: 7,
        amount: 250_000,
        recipient: recipient(3),
        valid_after: NOW - 50,
        valid_before: NOW + 50,
        nonce,
        salt: Salt::from_bytes(salt),
    }
}

/// A binding for a made-up session `n` (real bindings come from the signing session).
pub fn binding(n: u64) -> Binding {
    Binding::derive(
        &[n as u8; 32],
        &n.to_le_bytes(),
        b"sample-group-key",
        b"round-1",
    )
}

/// The witness of the `n`-th sample statement (intent `n`, the sample policy, [`NOW`],
/// binding `n`) for backend `B`.
pub fn witness<B: Backend>(n: u64) -> Witness<B> {
    Witness::new(intent(n), policy(), NOW, binding(n)).expect("the sample statement holds")
}

/// The sample spend scenario (the Bitcoin statement): regtest (network 3), at most
/// 100 000 sat out per transaction, fee at most 1 000 sat, time-locked until `now - 10`,
/// twenty allowlisted scripts ([`spend_script`]).
pub mod spend {
    use super::{binding, NOW, POLICY_SALT};
    use crate::field::Backend;
    use crate::intent::Recipient;
    use crate::policy::PolicySalt;
    use crate::spend::{script_hash, SizeClass, Spend, SpendOutput, SpendPolicy, SpendWitness};

    /// The network code of the scenario (regtest).
    pub const NETWORK: u32 = 3;

    /// The script hash of the `i`-th sample script (a made-up `OP_1 <i>` scriptPubKey).
    pub fn spend_script(i: u8) -> Recipient {
        script_hash(&[0x51, 0x20, i])
    }

    /// The sample spend policy.
    pub fn policy() -> SpendPolicy {
        SpendPolicy::new(
            NETWORK,
            100_000,
            1_000,
            NOW - 10,
            (1..=20).map(spend_script).collect(),
            PolicySalt::from_bytes(POLICY_SALT),
        )
        .expect("the sample spend policy is valid")
    }

    /// External output `index` paying `amount` to `script`.
    pub fn output(index: u32, script: Recipient, amount: u64) -> SpendOutput {
        SpendOutput {
            index,
            script,
            amount,
        }
    }

    /// A compliant spend filling `class`: every slot pays 10 sat to a sample script; fee 500.
    pub fn spend(class: SizeClass) -> Spend {
        let outputs = (0..class.slots() as u32)
            .map(|i| output(i, spend_script(1 + (i % 20) as u8), 10))
            .collect();
        Spend::with_class(NETWORK, outputs, 500, 0, class).expect("fits its class")
    }

    /// The witness of the sample spend of `class` with binding `n`.
    pub fn witness<B: Backend>(class: SizeClass, n: u64) -> SpendWitness<B> {
        SpendWitness::new(&spend(class), &policy(), NOW, binding(n))
            .expect("the sample spend holds")
    }
}
