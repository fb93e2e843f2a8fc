//! Shared fixtures for the integration tests.
#![allow(dead_code)]

use circuits::{Binding, Intent, Policy, PolicySalt, Recipient, Salt, INTENT_VERSION};

/// A recipient whose bytes are all `b`, except the last one which is `i`.
pub fn recipient(b: u8, i: u8) -> Recipient {
    let mut r = [b; 32];
    r[31] = i;
    Recipient(r)
}

pub const NOW: u64 = 1_700_000_500;

/// A fixed test salt: 32 bytes `b`.
pub fn policy_salt(b: u8) -> PolicySalt {
    PolicySalt::from_bytes([b; 32])
}

/// Policy: asset 7, max 1_000_000, not_before NOW-100, 5 recipients, salt `0x5b` × 32.
pub fn policy() -> Policy {
    Policy::new(
        7,
        1_000_000,
        NOW - 100,
        (0..5).map(|i| recipient(0xab, i)).collect(),
        policy_salt(0x5b),
    )
    .expect("valid policy")
}

/// A compliant intent paying recipient 3.
pub fn intent() -> Intent {
    Intent {
        version: INTENT_VERSION,
        network: 1,
        asset: 7,
        amount: 250_000,
        recipient: recipient(0xab, 3),
        valid_after: NOW - 50,
        valid_before: NOW + 50,
        nonce: 42,
        salt: Salt::from_bytes([0x5a; 31]),
    }
}

pub fn binding() -> Binding {
    Binding::derive(&[9u8; 32], b"signer-1", b"group-key", b"round-1")
}
