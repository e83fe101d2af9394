//! Data stores v2 entries (`/cloud/v2/universes/{u}/data-stores/{ds}[/scopes/{s}]/entries...`):
//! list, create, get (`@latest`, `@latest:<time>`, `@<revision>`), update (PATCH, full replace,
//! `allowMissing`), delete, `:increment` and `:listRevisions`, as documented at
//! <https://create.roblox.com/docs/cloud/reference/DataStoreEntry>.
//!
//! Choices where Roblox is silent are listed in the crate README ("v2 entries").
//!
//! - `resource`: the collection and entry id a path names, revision suffixes, entry paths.
//! - `body`: request bodies (`value`, `users`, `attributes`, `etag`).
//! - `render`: `DataStoreEntry` JSON, full and partial.
//! - `paging`: page sizes, query-bound page tokens, list filters.
//! - `errors`: the v2 error answers of these endpoints.
//! - `reads`: list, get, `:listRevisions`.
//! - `writes`: create, update, delete, `:increment`.

mod body;
mod errors;
mod paging;
mod reads;
mod render;
mod resource;
mod writes;

pub(crate) use reads::{get, list};
pub(crate) use writes::{create, delete, patch, post};
