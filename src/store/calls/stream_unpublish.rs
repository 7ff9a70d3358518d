//! `stream_unpublish.lua`: the room's stream stopped publishing.

use redis::{Script, Value};

use super::{Invocation, ScriptCall, flag};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: none.
pub struct StreamUnpublish<'a> {
    pub room: &'a LiveId,
}

/// `{'OK', stream_status changed}`; `'NOT_FOUND'` becomes `StoreError::NotFound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamUnpublishReply {
    /// `stream_status` became 0 (the room's list card shows it).
    pub stream_status_changed: bool,
}

impl ScriptCall for StreamUnpublish<'_> {
    type Reply = StreamUnpublishReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.stream_unpublish
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
    }

    fn reply(answer: Value) -> StoreResult<StreamUnpublishReply> {
        let (_, rest) = status(&answer, "stream_unpublish")?;
        Ok(StreamUnpublishReply {
            stream_status_changed: flag(rest.first()),
        })
    }
}
