//! HTTP handlers, one file per group of endpoints.

pub mod health;
pub mod post;
pub mod read;
pub mod totals;
