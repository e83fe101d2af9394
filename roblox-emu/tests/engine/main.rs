//! The emulated engine surface on one or a few servers, one module per area: scripts and modules
//! (`smoke`), DataStore corners and `task` ordering, the services (HTTP, RemoteEvents, Players,
//! messaging, encoding), the limits servers share with each other and Open Cloud
//! (`shared_limits`), behaviours scripts rely on that must match Roblox
//! (`roblox_semantics`), and Open Cloud Luau Execution tasks (`luau_tasks`).

mod datastore_and_task;
mod luau_tasks;
mod roblox_semantics;
mod services;
mod shared_limits;
mod smoke;
