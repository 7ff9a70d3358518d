//! `stream_publish.lua`: the room's stream publishes (or says it still does): an anchor heartbeat.

use redis::{Script, Value};

use super::{Invocation, ScriptCall, due_in, flag};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the member window (ms), when the push URL expires (unix
/// seconds by Redis's clock; 0: not checked).
pub struct StreamPublish<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
    /// `None`: the push URL does not expire (sent as 0).
    pub expires_at: Option<u64>,
}

/// `{'OK', events written, due in, stream_status changed}`; `'NOT_FOUND'` and `'CONFLICT'`
/// (ended, expired) become `StoreError`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamPublishReply {
    /// The anchor's heartbeat wrote to the room's event log (`anchor_online`).
    pub events_written: bool,
    /// The room must come due on the sweep schedule within this many ms (the anchor's presence).
    pub due_in_ms: Option<u64>,
    /// `stream_status` became 1 (the room's list card shows it).
    pub stream_status_changed: bool,
}

impl ScriptCall for StreamPublish<'_> {
    type Reply = StreamPublishReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.stream_publish
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.window_ms)
            .arg(self.expires_at.unwrap_or(0));
    }

    fn reply(answer: Value) -> StoreResult<StreamPublishReply> {
        let (_, rest) = status(&answer, "stream_publish")?;
        Ok(StreamPublishReply {
            events_written: flag(rest.first()),
            due_in_ms: due_in(rest.get(1)),
            stream_status_changed: flag(rest.get(2)),
        })
    }
}
