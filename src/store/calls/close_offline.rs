//! `close_offline.lua`: the sweeper's close of a live room whose anchor has been silent too long.

use redis::{Script, Value};

use super::view::decode_view;
use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::room::Room;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the member window (ms), the anchor-offline close delay (ms).
pub struct CloseOffline<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
    pub close_ms: u64,
}

/// `{'GONE'}`, `{'LATER', deadline}` or the room's view plus the number of members it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOfflineReply {
    /// Not live any more (ended, deleted): the change that did it keeps the index.
    NotLive,
    /// The anchor came back: the close deadline is now this (unix ms, Redis clock).
    Later { deadline_ms: i64 },
    /// Closed (anchor_offline).
    Closed {
        room: Box<Room>,
        /// Members the room held; they are released in the background (`sweep_room.lua`).
        held: i64,
    },
}

impl ScriptCall for CloseOffline<'_> {
    type Reply = CloseOfflineReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.close_offline
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.window_ms).arg(self.close_ms);
    }

    fn reply(answer: Value) -> StoreResult<CloseOfflineReply> {
        let parts = array(&answer).ok_or_else(|| bad("close_offline"))?;
        match parts.first().and_then(text).as_deref() {
            Some("LATER") => Ok(CloseOfflineReply::Later {
                deadline_ms: parts
                    .get(1)
                    .and_then(int)
                    .ok_or_else(|| bad("close_offline"))?,
            }),
            Some("OK") => {
                let (_, rest) = status(&answer, "close_offline")?;
                Ok(CloseOfflineReply::Closed {
                    room: Box::new(decode_view(rest)?),
                    held: rest.get(4).and_then(int).unwrap_or(0),
                })
            }
            _ => Ok(CloseOfflineReply::NotLive),
        }
    }
}
