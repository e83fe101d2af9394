//! The bridge's pure modules (no engine) in a plain Luau VM, against the Rust reference
//! implementation (`shared`) and the shared vectors in `testdata/`, one module per area.

mod batches;
mod codec;
mod crypto;
mod sessions;
mod vectors;
mod vm;
