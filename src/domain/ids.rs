use std::fmt;

use super::Invalid;

const PREFIX: &str = "live_";

/// A room's id: `live_` + a UUIDv7 in simple form (32 lower-case hex digits).
///
/// Only the server makes them, so anything else names no room: it parses to `None` and the caller
/// answers 404 without asking Redis. The form also keeps ids free of `{`/`}`, which matters because
/// the id is the Redis Cluster hash tag of every key of the room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LiveId(String);

impl LiveId {
    pub fn generate() -> Self {
        Self(format!("{PREFIX}{}", uuid::Uuid::now_v7().simple()))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let hex = raw.strip_prefix(PREFIX)?;
        let ok = hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(raw.to_owned()))
    }

    /// A room of members as the store names it: a room's id, or one of a sharded room's shard
    /// rooms, `<live_id>#<n>` (issue 27; store/keys.rs `room_shard_tag` picks n). Only for
    /// names the server wrote itself (the sweep's schedule, pointers): a client's live_id is
    /// parsed by [`LiveId::parse`], which names rooms only.
    pub fn parse_member_room(raw: &str) -> Option<Self> {
        match raw.split_once('#') {
            Some((room, n)) => {
                let ok = !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit());
                Self::parse(room)
                    .filter(|_| ok)
                    .map(|_| Self(raw.to_owned()))
            }
            None => Self::parse(raw),
        }
    }

    /// Shard room `n` of this room (store/keys.rs `room_shard_tag`).
    pub fn shard_room(&self, n: u32) -> Self {
        Self(format!("{}#{n}", self.room().0))
    }

    /// The room this names: itself, or the room a shard room belongs to.
    pub fn room(&self) -> Self {
        match self.0.split_once('#') {
            Some((room, _)) => Self(room.to_owned()),
            None => self.clone(),
        }
    }

    /// Whether this names one of a sharded room's shard rooms.
    pub fn is_shard_room(&self) -> bool {
        self.0.contains('#')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LiveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const MAX_USER_ID_BYTES: usize = 128;

/// A user id as the token's `sub` gives it: 1–128 bytes, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.is_empty() || raw.len() > MAX_USER_ID_BYTES {
            return Err(Invalid::new(format!(
                "sub must be 1 to {MAX_USER_ID_BYTES} bytes"
            )));
        }
        if raw.chars().any(char::is_control) {
            return Err(Invalid::new("sub must not contain control characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = LiveId::generate();
        assert_eq!(LiveId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn shard_rooms_name_their_room() {
        let id = LiveId::generate();
        let shard = id.shard_room(17);
        assert_eq!(shard.as_str(), format!("{id}#17"));
        assert_eq!(shard.room(), id);
        assert!(shard.is_shard_room() && !id.is_shard_room());
        assert_eq!(
            LiveId::parse_member_room(shard.as_str()),
            Some(shard.clone())
        );
        assert_eq!(LiveId::parse_member_room(id.as_str()), Some(id.clone()));
        // a client's live_id never names a shard room
        assert_eq!(LiveId::parse(shard.as_str()), None);
        for raw in [
            format!("{id}#"),
            format!("{id}#x"),
            format!("{id}#1#2"),
            "live_1#2".into(),
        ] {
            assert_eq!(LiveId::parse_member_room(&raw), None, "{raw:?}");
        }
    }

    #[test]
    fn other_forms_name_no_room() {
        for raw in [
            "",
            "live_",
            "live_1",
            "extends",
            "LIVE_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f",
            "live_0192F0C1A2B34C5D8E9F0A1B2C3D4E5F",
            "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5",
            "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f0",
            "live_{192f0c1a2b34c5d8e9f0a1b2c3d4e5f",
        ] {
            assert_eq!(LiveId::parse(raw), None, "{raw:?}");
        }
    }
}
