//! A faithful in-memory Open Cloud (feature `emulator`).
//!
//! - [`clock`]: injectable time ([`SystemClock`], [`ManualClock`], [`TokioClock`]).
//! - [`store`]: versioned standard data stores with an atomic read-transform-write and a write hook.
//! - [`version`]: Roblox-format version ids.
//! - [`bus`]: MessagingService topics with synchronous fan-out and seeded message faults.
//!
//! The synchronous core is shared by the HTTP router, the Roblox engine emulator and tests, so game
//! servers and the bot see the same entries and versions.

pub mod bus;
pub mod clock;
pub mod store;
pub mod version;

pub use bus::{Bus, BusStats, Message, MessageFaults, Subscriber, SubscriptionId};
pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use store::{
    DataStoreInfo, Entry, EntryKey, KeyPage, SetCondition, Store, StoreConfig, StoreError,
    Transform, VersionInfo, VersionPage, WriteEvent, WriteHook, WriteOp, Writer,
};
