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
