//! The emulated engine surface on one or a few servers, one module per area: scripts and modules
//! (`smoke`), DataStore corners and `task` ordering, the services (HTTP, RemoteEvents, Players,
//! messaging, encoding), and behaviours scripts rely on that must match Roblox
//! (`roblox_semantics`).

mod datastore_and_task;
mod roblox_semantics;
mod services;
mod smoke;
