//! Fixed-size byte arrays as lowercase hex strings in JSON (keys, hashes, signatures).

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

/// Writes `bytes` as lowercase hex.
pub fn serialize<S: Serializer, const N: usize>(bytes: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// Reads exactly `N` bytes of hex, naming the expected length when it differs.
pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
    let text = String::deserialize(d)?;
    let bytes = hex::decode(&text).map_err(|e| D::Error::custom(format!("not hex: {e}")))?;
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| D::Error::custom(format!("{len} bytes of hex, expected {N}")))
}

/// A list of fixed-size byte arrays, each as hex.
pub mod list {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes each array as lowercase hex.
    pub fn serialize<S: Serializer, const N: usize>(
        items: &[[u8; N]],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&hex::encode(item))?;
        }
        seq.end()
    }

    /// Reads a list of `N`-byte hex strings.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Vec<[u8; N]>, D::Error> {
        #[derive(Deserialize)]
        struct Item<const M: usize>(#[serde(with = "super")] [u8; M]);
        let items: Vec<Item<N>> = Vec::deserialize(d)?;
        Ok(items.into_iter().map(|i| i.0).collect())
    }
}

/// A proof backend by its short name (`groth16`, `halo2`), as the cluster's configuration
/// files and API replies write it.
pub mod backend {
    use circuits::BackendId;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    const KNOWN: [BackendId; 2] = [BackendId::Groth16Bn254, BackendId::Halo2Pasta];

    /// Writes the short name.
    pub fn serialize<S: Serializer>(b: &BackendId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(b.short_name())
    }

    /// Reads a short name.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BackendId, D::Error> {
        let name = String::deserialize(d)?;
        KNOWN
            .into_iter()
            .find(|b| b.short_name() == name)
            .ok_or_else(|| D::Error::unknown_variant(&name, &["groth16", "halo2"]))
    }
}
