//! Proof-carrying signing sessions, transport-agnostic: the [`messages`] the parties
//! exchange, the signer's side ([`signer::SessionSigner`]: policy check, proof, attested
//! replies) and the coordinator's side ([`coordinator`]: a sans-IO state machine that says
//! whom to send what, and consumes the replies).

pub mod coordinator;
pub mod ledger;
pub mod messages;
pub mod outcome;
pub mod signer;
pub mod spend;

pub use coordinator::{Action, Coordinator, SignSession};
pub use ledger::{IntentLedger, LedgerError, MemoryIntentLedger, RETRY_WINDOW};
pub use messages::{
    binding_for, round1_attestation, round2_attestation, Identity, Roster, Round1Reply,
    Round1Request, Round2Reply, Round2Request,
};
pub use outcome::{CoordinatorError, Excluded, Refusal, ReplyFault, Signed};
pub use signer::{Registered, SessionError, SessionSigner, SESSION_TTL};
