//! The coordinator of a proof-carrying signing session: the session logic is the sans-IO
//! state machine [`signer::session::coordinator`]; this module re-exports it under its old
//! paths, with the synchronous in-process driver (`Coordinator::sign` over [`Endpoint`]s,
//! from `signer::local`) that the service uses until the async network driver replaces it.

pub use signer::local::Endpoint;
pub use signer::session::coordinator::{
    Action, Coordinator, CoordinatorError, Excluded, Refusal, ReplyFault, SignSession, Signed,
};
