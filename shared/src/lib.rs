//! Economy Bridge protocol v1: the one place its rules live.
//!
//! Every other component (audit API, bot, Open Cloud emulator, the Luau bridge's test suite)
//! builds on these types and functions instead of re-implementing them. The wire contract they
//! implement is written down in `docs/protocol.md`; the shared test vectors in `testdata/` pin it.

pub mod apply;
pub mod audit;
pub mod batch;
pub mod calendar;
pub mod clock;
pub mod command;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod message;
pub mod outcome;
pub mod request_signing;
pub mod strict_json;
pub mod update;
pub mod wallet;

pub use apply::{ApplyOutcome, apply, apply_local};
pub use audit::{AuditError, AuditRecord, Source};
pub use batch::{BatchId, Envelope};
pub use command::{Actor, Command, CommandError, Op};
pub use ids::{TxnId, TxnIdError};
pub use keys::{Key, KeyError, KeyId, KeyRing, Scope, Secret};
pub use limits::Limits;
pub use message::{
    MessageError, decode_command_message, decode_message, encode_batch_message,
    encode_command_message,
};
pub use outcome::{RecordOutcome, RejectReason, TxnRecord};
pub use request_signing::{RequestParts, SignatureHeaders, VerifyError};
pub use update::UpdateEvent;
pub use wallet::{Wallet, WalletError};
