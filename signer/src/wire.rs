//! JSON encoding of protocol messages (DKG, refresh, repair, reshare, signing).
//!
//! Messages are serde types whose FROST parts validate themselves while decoding: points
//! must be on the curve and not the identity, scalars canonical, identifiers non-zero.
//! [`decode`] turns every such failure into a [`SignerError::Decode`] naming the message.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Result, SignerError};

/// Largest message accepted, in bytes: a 67-of-100 DKG round-1 broadcast is ~5 KiB.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Decodes a message of type `T` from JSON, naming `what` in the error.
pub fn decode<T: DeserializeOwned>(what: &'static str, json: &str) -> Result<T> {
    if json.len() > MAX_MESSAGE_BYTES {
        return Err(SignerError::Decode {
            what,
            reason: format!(
                "{} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit",
                json.len()
            ),
        });
    }
    serde_json::from_str(json).map_err(|e| SignerError::Decode {
        what,
        reason: e.to_string(),
    })
}

/// Encodes a message as JSON.
pub fn encode<T: Serialize>(what: &'static str, message: &T) -> Result<String> {
    serde_json::to_string(message).map_err(|e| SignerError::Decode {
        what,
        reason: e.to_string(),
    })
}
