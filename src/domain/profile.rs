use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Invalid;

pub use super::ids::{MAX_USER_ID_BYTES, UserId};

/// What a user shows of themself: the token's claims are the profile (the server never asks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Looks {
    pub nick: String,
    // Empty fields are not stored: one copy per member of a crowd (CONTRACT section 6).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub avatar: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extends: BTreeMap<String, String>,
}

impl Looks {
    /// The form stored in Redis; deterministic (sorted keys), so an unchanged profile compares equal.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    pub fn from_json(raw: &str) -> Option<Self> {
        serde_json::from_str(raw).ok()
    }
}

/// The caller, as its verified token describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub user_id: UserId,
    pub looks: Looks,
    /// The token says `"admin": true`: the platform's own backend (server API, any room).
    pub admin: bool,
}

/// A user as rooms show them: the profile plus the im_userid the server gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user_id: String,
    pub im_userid: i64,
    pub looks: Looks,
}

impl Looks {
    /// Refuses control characters in the nick and the profile's extends (CONTRACT section 8):
    /// what the token claims is shown to everyone in the room.
    pub fn check(&self) -> Result<(), Invalid> {
        super::refuse_control_characters("nick", &self.nick)?;
        for (k, v) in &self.extends {
            super::refuse_control_characters("extends keys (token claim)", k)?;
            super::refuse_control_characters(&format!("extends.{k} (token claim)"), v)?;
        }
        Ok(())
    }
}
