//! The room, its people and their rules, in the domain's words. Nothing here knows HTTP or Redis.

pub mod ids;
pub mod interaction;
pub mod page;
pub mod profile;
pub mod room;
pub mod search;
pub mod seat;
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

/// Refuses control characters (U+0000–U+001F, U+007F–U+009F, NUL included) in `field`: they
/// break logs, terminals and the clients that show the text (CONTRACT section 8).
pub fn refuse_control_characters(field: &str, raw: &str) -> Result<(), Invalid> {
    match raw.chars().find(|c| c.is_control()) {
        Some(c) => Err(Invalid::new(format!(
            "{field} must not contain control characters (found U+{:04X})",
            u32::from(c)
        ))),
        None => Ok(()),
    }
}
