//! The HTTP/JSON messages of the node API and the client API, and their errors.
//!
//! Binary values travel as lowercase hex; FROST types (DKG packages, public key packages)
//! in frost-core's own serde form. Every request type refuses unknown fields. Conversions
//! from the wire into session types ([`Round1ReplyWire::decode`], ...) validate every field
//! and say which one was wrong.
//!
//! Errors are JSON objects `{"error": code, "message": text}` with, where it applies, the
//! broken policy `rule` and the per-signer reasons `signers` (see [`ApiError`]).
//!
//! - [`error`]: the error body ([`ApiError`]) and the JSON extractor that answers with it;
//! - [`node`]: the node API (coordinator → signer node): DKG steps and signing rounds;
//! - [`client`]: the client API (operator/client → coordinator): keys, sign requests,
//!   sessions;
//! - [`governance`]: governance records submitted to the coordinator and pushed to the
//!   nodes.

pub mod client;
pub mod error;
pub mod governance;
pub mod node;
pub mod spend;

pub use client::{
    AuditPage, AuditQuery, CheckpointsQuery, CreateKey, KeyInfo, KeyVerifyError, SessionStatus,
    SignRequest, SignResponse, TaprootInfo, MAX_AUDIT_PAGE,
};
pub(crate) use error::blocking;
pub use error::{ApiError, ApiJson};
pub use node::{
    DkgCommit, DkgCommitReply, DkgFinish, DkgFinishReply, DkgRound2, DkgRound2Reply, DkgStart,
    DkgStartReply, NodeStatus, Round1ReplyWire, Round2ReplyWire, SignRound1, SignRound2,
    WitnessRequest, WitnessStateWire,
};

/// Largest request body a node or the coordinator reads (a round-2 request with ten halo2
/// proofs is ~70 KiB); larger bodies are answered 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
