//! `heartbeat.lua`: a member's or the anchor's heartbeat; `heartbeat_batch.lua`: several at once
//! (the same function, `heartbeat_fn.lua`, for each).

use redis::{Script, Value};

use super::{Invocation, ScriptCall, Share, due_in, flag};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: user id, the caller's profile JSON, the member window (ms).
pub struct Heartbeat<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
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
        /// With `lapsed_dropped`: the room's share of the online total.
        share: Option<Share>,
    },
    /// Not a member (left, lapsed or never joined): join again.
    NotMember {
        /// The heartbeat took out the caller's lapsed, unswept entry (a `member_left` written).
        dropped: bool,
        due_in_ms: Option<u64>,
        /// With `dropped`: the room's share of the online total.
        share: Option<Share>,
    },
}

impl ScriptCall for Heartbeat<'_> {
    type Reply = HeartbeatReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.heartbeat
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.user.as_str())
            .arg(self.profile)
            .arg(self.window_ms);
    }

    fn reply(answer: Value) -> StoreResult<HeartbeatReply> {
        decode(&answer)
    }
}

/// One heartbeat's answer.
fn decode(answer: &Value) -> StoreResult<HeartbeatReply> {
    if let Some([word, dropped, due, share @ ..]) = array(answer)
        && text(word).as_deref() == Some("NOT_MEMBER")
    {
        return Ok(HeartbeatReply::NotMember {
            dropped: flag(Some(dropped)),
            due_in_ms: due_in(Some(due)),
            share: Share::at(share, 0),
        });
    }
    let (_, rest) = status(answer, "heartbeat")?;
    let live_status = rest.first().and_then(int).ok_or_else(|| bad("heartbeat"))?;
    Ok(HeartbeatReply::Beat {
        live_status,
        anchor_profile_changed: flag(rest.get(1)),
        events_written: flag(rest.get(2)),
        lapsed_dropped: flag(rest.get(3)),
        due_in_ms: due_in(rest.get(4)),
        share: Share::at(rest, 5),
    })
}

/// KEYS: per room the six keys a heartbeat touches (`Keys::heartbeat_room`, the rooms in
/// `rooms`' order). ARGV: the member window
/// (ms), then per heartbeat: its room's place among the rooms (1-based), user id, profile JSON.
pub struct HeartbeatBatch<'a> {
    /// The rooms, each once: all in one slot on a cluster.
    pub rooms: Vec<&'a LiveId>,
    pub beats: Vec<BatchedBeat<'a>>,
    pub window_ms: u64,
}

/// One heartbeat of a batch.
pub struct BatchedBeat<'a> {
    /// Its room's index in `HeartbeatBatch::rooms`.
    pub room: usize,
    pub user: &'a UserId,
    pub profile: &'a str,
}

impl ScriptCall for HeartbeatBatch<'_> {
    /// One answer per heartbeat, in order; a refusal (an unknown room) is that heartbeat's alone.
    type Reply = Vec<StoreResult<HeartbeatReply>>;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.heartbeat_batch
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        for room in &self.rooms {
            invocation.keys(keys.heartbeat_room(room));
        }
        invocation.arg(self.window_ms);
        for beat in &self.beats {
            invocation
                .arg(beat.room + 1)
                .arg(beat.user.as_str())
                .arg(beat.profile);
        }
    }

    fn reply(answer: Value) -> StoreResult<Self::Reply> {
        let answers = array(&answer).ok_or_else(|| bad("heartbeat_batch"))?;
        Ok(answers.iter().map(decode).collect())
    }
}

/// A heartbeat waiting for its batch (store/heartbeats.rs): its call's arguments, and where its
/// own answer goes.
pub struct QueuedBeat {
    pub room: LiveId,
    pub user: UserId,
    pub profile: String,
    pub answer: tokio::sync::oneshot::Sender<StoreResult<HeartbeatReply>>,
    /// The request's Redis deadline: its batch's call must not outlive it.
    pub deadline: std::time::Instant,
}

/// Where a replica's heartbeats queue for their batch calls.
pub type HeartbeatQueue = tokio::sync::mpsc::UnboundedSender<QueuedBeat>;
