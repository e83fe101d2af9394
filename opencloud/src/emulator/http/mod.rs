//! The HTTP face of the emulator: Open Cloud's paths, headers, bodies and status codes.
//!
//! Every handler takes a [`call::Call`] (the emulator, path parameters, decoded query and
//! headers) and runs its body through [`call::Call::handle`]: the gate first (latency, request
//! log, injected faults, API key, budget), then [`gate::Admitted::finish`] (rate-limit headers,
//! "response lost" faults).
//!
//! - `routes`: the router.
//! - `call`: the request preamble extractor and the steps shared by handler bodies.
//! - `gate`: what a request must pass, and the headers added to its answer.
//! - `query`: query strings matched by name in any letter case.
//! - `errors`: Open Cloud's error bodies (v1 data stores, v2, gateway).
//! - `v1_datastores`, `v2_datastores`, `messaging`, `users`, `luau_execution`, `oauth`: the handlers
//!   (`oauth` outside the gate: OAuth takes no API key).

// Handler helpers short-circuit with a ready `Response` as the error; it is built once per request,
// so its size does not matter.
#![allow(clippy::result_large_err)]

mod call;
mod errors;
mod gate;
mod luau_execution;
mod messaging;
mod oauth;
mod query;
mod routes;
mod users;
mod v1_datastores;
mod v2_datastores;

pub(crate) use routes::router;
