//! The final-signature check against the published BIP-340 test vectors: every TRUE row
//! verifies, every FALSE row (wrong parity, s >= n, x not on the curve, ...) is rejected.

use verifier::{verify_bip340, Bip340Error};

struct Row {
    index: String,
    public_key: Vec<u8>,
    message: Vec<u8>,
    signature: Vec<u8>,
    valid: bool,
}

fn rows() -> Vec<Row> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vectors/bip340-test-vectors.csv"
    );
    let text = std::fs::read_to_string(path).expect("BIP-340 vectors in vectors/");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                index: f[0].to_string(),
                public_key: hex::decode(f[2]).unwrap(),
                message: hex::decode(f[4]).unwrap(),
                signature: hex::decode(f[5]).unwrap(),
                valid: f[6] == "TRUE",
            }
        })
        .collect()
}

#[test]
fn all_bip340_vectors() {
    let rows = rows();
    assert!(rows.len() >= 19, "vector file has {} rows", rows.len());
    assert!(
        rows.iter().any(|r| r.message.len() != 32),
        "variable-length messages covered"
    );
    assert!(rows.iter().any(|r| !r.valid), "rejection cases covered");
    for r in &rows {
        let got = verify_bip340(&r.public_key, &r.message, &r.signature);
        assert_eq!(got.is_ok(), r.valid, "vector {}: {got:?}", r.index);
    }
}

#[test]
fn malformed_inputs_are_typed_errors() {
    let r = &rows()[0];
    assert_eq!(
        verify_bip340(&r.public_key[..31], &r.message, &r.signature),
        Err(Bip340Error::PublicKeyLength(31))
    );
    assert_eq!(
        verify_bip340(&r.public_key, &r.message, &r.signature[..63]),
        Err(Bip340Error::SignatureLength(63))
    );
    let mut flipped = r.signature.clone();
    flipped[63] ^= 1;
    assert_eq!(
        verify_bip340(&r.public_key, &r.message, &flipped),
        Err(Bip340Error::Invalid)
    );
    let mut s_too_big = r.signature.clone();
    s_too_big[32..].copy_from_slice(&[0xff; 32]);
    assert_eq!(
        verify_bip340(&r.public_key, &r.message, &s_too_big),
        Err(Bip340Error::SignatureEncoding)
    );
}
