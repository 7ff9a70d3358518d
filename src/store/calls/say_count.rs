//! `say_count.lua`: a sharded room's online count, said in the room's log.

use redis::{Script, Value};

use super::{Invocation, ScriptCall, due_in, flag};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the count.
pub struct SayCount<'a> {
    pub room: &'a LiveId,
    pub count: u64,
}

/// Whether it was said, and when to say it again (it was coalesced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SayCountReply {
    pub said: bool,
    pub again_in_ms: Option<u64>,
}

impl ScriptCall for SayCount<'_> {
    type Reply = SayCountReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.say_count
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.count);
    }

    fn reply(answer: Value) -> StoreResult<SayCountReply> {
        let items = array(&answer).ok_or_else(|| bad("say_count"))?;
        Ok(SayCountReply {
            said: flag(items.first()),
            again_in_ms: due_in(items.get(1)),
        })
    }
}
