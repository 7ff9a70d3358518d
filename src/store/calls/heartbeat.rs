//! `heartbeat.lua`: a member's or the anchor's heartbeat.

use redis::{Script, ScriptInvocation, Value};

use super::{ScriptCall, due_in, flag};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: user id, the caller's profile JSON, the member window (ms).
pub struct Heartbeat<'a> {
    pub room: &'a LiveId,
    pub user: &'a str,
    pub profile: &'a str,
    pub window_ms: u64,
}

/// `{'OK', live_status, anchor profile changed, events written, lapsed member dropped, due in}`
/// or `{'NOT_MEMBER', dropped, due in}`; `'NOT_FOUND'` becomes `StoreError::NotFound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatReply {
    /// The beat counted (a present member, or the anchor).
    Beat {
        live_status: i64,
        /// The anchor's heartbeat changed the anchor profile stored in the room.
        anchor_profile_changed: bool,
        /// The script wrote to the room's event log.
        events_written: bool,
        /// A lapsed, unswept member was taken out on the way (the anchor's own entry).
        lapsed_dropped: bool,
        /// The room must come due on the sweep schedule within this many ms.
        due_in_ms: Option<u64>,
    },
    /// Not a member (left, lapsed or never joined): join again.
    NotMember {
        /// The heartbeat took out the caller's lapsed, unswept entry (a `member_left` written).
        dropped: bool,
        due_in_ms: Option<u64>,
    },
}

impl ScriptCall for Heartbeat<'_> {
    type Reply = HeartbeatReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.heartbeat
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut ScriptInvocation<'_>) {
        for key in keys.room(self.room) {
            invocation.key(key);
        }
        invocation
            .arg(self.user)
            .arg(self.profile)
            .arg(self.window_ms);
    }

    fn reply(answer: Value) -> StoreResult<HeartbeatReply> {
        if let Some([word, dropped, due]) = array(&answer)
            && text(word).as_deref() == Some("NOT_MEMBER")
        {
            return Ok(HeartbeatReply::NotMember {
                dropped: flag(Some(dropped)),
                due_in_ms: due_in(Some(due)),
            });
        }
        let (_, rest) = status(&answer, "heartbeat")?;
        let live_status = rest.first().and_then(int).ok_or_else(|| bad("heartbeat"))?;
        Ok(HeartbeatReply::Beat {
            live_status,
            anchor_profile_changed: flag(rest.get(1)),
            events_written: flag(rest.get(2)),
            lapsed_dropped: flag(rest.get(3)),
            due_in_ms: due_in(rest.get(4)),
        })
    }
}
