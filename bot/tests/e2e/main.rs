//! End to end: the real bot against the Discord fake (see `harness`).

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod harness;
mod lifecycle;
mod log_channel;
mod members;
mod moves;
mod payouts;
mod payouts_role_file;
mod refusals;
mod registration;
mod reversals;
mod stale_buttons;
