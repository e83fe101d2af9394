//! What a provider knows about one Discord server, and the switches a test flips.

use std::collections::{HashMap, HashSet};

/// One server's members and links, shared by a fake and the test driving it.
#[derive(Debug, Default)]
pub struct Directory {
    /// Members of the server the provider knows.
    pub members: HashSet<u64>,
    /// Member → Roblox user id.
    pub links: HashMap<u64, u64>,
    /// Answer every request with 503 (the provider is down).
    pub down: bool,
    /// Requests that reached the provider (any answer).
    pub requests: u64,
}

/// What the provider knows about one member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Not a member of the server.
    Stranger,
    /// A member without a link.
    Unlinked,
    /// A member linked to this Roblox user.
    Linked(u64),
}

impl Directory {
    /// What is known about `member`.
    pub fn known(&self, member: u64) -> Known {
        match (self.members.contains(&member), self.links.get(&member)) {
            (_, Some(id)) => Known::Linked(*id),
            (true, None) => Known::Unlinked,
            (false, None) => Known::Stranger,
        }
    }
}
