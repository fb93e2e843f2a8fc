//! Names that cross the network: key ids and client request ids.
//!
//! Both are short printable tokens chosen by operators and clients; they are validated on
//! the way in (network, CLI, database) so that a log line or a URL path can never carry
//! anything but `[A-Za-z0-9._-]`, 1 to 64 characters.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: use 1 to 64 characters from [A-Za-z0-9._-]")]
pub struct InvalidName {
    /// Which kind of name.
    pub what: &'static str,
    /// The refused value (truncated to 80 characters).
    pub value: String,
}

fn check(what: &'static str, s: &str) -> Result<(), InvalidName> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InvalidName {
            what,
            value: s.chars().take(80).collect(),
        })
    }
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates `s`.
            pub fn new(s: &str) -> Result<Self, InvalidName> {
                check($what, s)?;
                Ok(Self(s.to_string()))
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidName;
            fn from_str(s: &str) -> Result<Self, InvalidName> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

name_type!(
    /// The name of a threshold key held by the cluster (e.g. `treasury`).
    KeyId,
    "key id"
);
name_type!(
    /// A client's id for one signing request; resubmitting the same id returns the first
    /// outcome instead of signing again (idempotency).
    RequestId,
    "request id"
);

impl RequestId {
    /// A fresh random id (32 hex characters).
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        rand_core::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        Self(hex::encode(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(KeyId::new("treasury-1.hot_wallet").is_ok());
        for bad in ["", "a b", "a/b", "ключ", &"x".repeat(65), "a\n"] {
            assert!(KeyId::new(bad).is_err(), "{bad:?} accepted");
        }
        let err: Result<KeyId, _> = serde_json::from_str("\"../etc\"");
        assert!(err.is_err());
        let ok: KeyId = serde_json::from_str("\"k1\"").unwrap();
        assert_eq!(ok.as_str(), "k1");
        assert_eq!(RequestId::random().as_str().len(), 32);
    }
}
