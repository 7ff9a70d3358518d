//! The room, its people and their rules, in the domain's words. Nothing here knows HTTP or Redis.

pub mod ids;
pub mod page;
pub mod profile;
pub mod room;
pub mod search;
pub mod time;

/// A value from a client that does not fit the contract; the message names the field and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
