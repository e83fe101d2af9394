//! ProfileStore and ProfileService on the emulator through the scenario harness: the session
//! scenarios, the seeded fault runs, and the negative control that proves the session-lock
//! invariant can fail.

mod invariant_control;
mod seeded;
mod sessions;
