//! `join_number.lua`: a sharded room's next join number, the shards checked (issue 27).

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int, status};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the shards the join was routed by.
pub struct JoinNumber<'a> {
    pub room: &'a LiveId,
    pub shards: u32,
}

/// The number, or the room's shards when they are not those the join was routed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinNumberReply {
    Number(i64),
    Shards(u32),
}

impl ScriptCall for JoinNumber<'_> {
    type Reply = JoinNumberReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.join_number
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.shards);
    }

    fn reply(answer: Value) -> StoreResult<JoinNumberReply> {
        let (word, rest) = status(&answer, "join_number")?;
        let n = rest
            .first()
            .and_then(int)
            .ok_or_else(|| bad("join_number"))?;
        Ok(if word == "SHARDS" {
            JoinNumberReply::Shards(u32::try_from(n).unwrap_or(1))
        } else {
            JoinNumberReply::Number(n)
        })
    }
}
