//! Likes and cross-room PK (CONTRACT section 14), in the domain's words.

use std::fmt;

use std::collections::BTreeMap;

use super::Invalid;
use super::ids::LiveId;

/// Likes one call may send at most.
pub const MAX_LIKES_PER_CALL: u32 = 100;

/// How many likes one call sends: 1–100, 1 when left out.
pub fn like_count(raw: Option<i64>) -> Result<u32, Invalid> {
    match raw {
        None => Ok(1),
        Some(n) if (1..=i64::from(MAX_LIKES_PER_CALL)).contains(&n) => Ok(n as u32),
        Some(n) => Err(Invalid::new(format!(
            "count must be 1 to {MAX_LIKES_PER_CALL} (got {n})"
        ))),
    }
}

/// A cross-room PK session's id: `pk_` + a UUIDv7 in simple form (32 lower-case hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PkId(String);

const PK_PREFIX: &str = "pk_";

impl PkId {
    pub fn generate() -> Self {
        Self(format!("{PK_PREFIX}{}", uuid::Uuid::now_v7().simple()))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let hex = raw.strip_prefix(PK_PREFIX)?;
        (hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a PK is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkStatus {
    /// Invited, waiting for the target's anchor (until the invitation expires).
    Inviting,
    /// Accepted: both rooms show the PK's id.
    Active,
    /// Rejected, expired, stopped or ended with a room; readable for an hour.
    Ended,
}

impl PkStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "inviting" => Some(Self::Inviting),
            "active" => Some(Self::Active),
            "ended" => Some(Self::Ended),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inviting => "inviting",
            Self::Active => "active",
            Self::Ended => "ended",
        }
    }
}

/// A cross-room PK as its record holds it (times in unix ms by Redis's clock, 0 when not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pk {
    pub pk_id: PkId,
    pub status: PkStatus,
    pub init_live_id: LiveId,
    pub init_anchor_id: String,
    pub target_live_id: LiveId,
    pub target_anchor_id: String,
    pub created_ms: i64,
    /// When an unanswered invitation expires.
    pub expires_ms: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    /// `rejected`, `expired`, `stopped`, `admin` or `room_ended`; "" until it ends.
    pub ended_reason: String,
    pub extends: BTreeMap<String, String>,
    /// Bumped by every change of the record: the rooms apply only what is newer.
    pub version: i64,
}

impl Pk {
    /// Whether `user` is the anchor of either room.
    pub fn is_anchor(&self, user: &str) -> bool {
        self.init_anchor_id == user || self.target_anchor_id == user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_like_count_is_one_to_a_hundred() {
        assert_eq!(like_count(None), Ok(1));
        assert_eq!(like_count(Some(100)), Ok(100));
        assert!(like_count(Some(0)).unwrap_err().0.contains("count"));
        assert!(like_count(Some(101)).is_err());
        assert!(like_count(Some(-1)).is_err());
    }

    #[test]
    fn pk_ids_round_trip() {
        let id = PkId::generate();
        assert_eq!(PkId::parse(id.as_str()), Some(id));
        assert!(PkId::parse("pk_xyz").is_none());
        assert!(PkId::parse("live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f").is_none());
    }
}
