//! `intent.lua`: the intent of a change that spans slots, written before the room's own change
//! and removed once its follow-ups are done.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// What to do with the room's intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentOp<'a> {
    /// Owe the follow-ups: the sweep carries them out in `delay_ms` unless `Done` comes first.
    /// `anchor` is the room's anchor ('' when not known before the room's script).
    /// `kicked`: the user a kick removes ('' for any other change). `shards`: the room's
    /// member shards (store/shards.rs).
    Add {
        anchor: &'a str,
        delay_ms: u64,
        kicked: &'a str,
        shards: u32,
    },
    /// The follow-ups are done.
    Done,
}

/// KEYS: the owed follow-ups, their owners. ARGV: op, live_id, token, anchor, delay ms, kicked
/// user, member shards.
pub struct Intent<'a> {
    pub room: &'a LiveId,
    pub token: &'a str,
    pub op: IntentOp<'a>,
}

impl ScriptCall for Intent<'_> {
    /// False: a `Done` found a newer intent of the room, left to its own writer (or the sweep).
    type Reply = bool;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.intent
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation.keys(keys.followups_named());
        invocation.arg(match self.op {
            IntentOp::Add { .. } => "add",
            IntentOp::Done => "done",
        });
        invocation.arg(self.room.as_str()).arg(self.token);
        if let IntentOp::Add {
            anchor,
            delay_ms,
            kicked,
            shards,
        } = self.op
        {
            invocation.arg(anchor).arg(delay_ms).arg(kicked).arg(shards);
        }
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        int(&answer).map(|n| n > 0).ok_or_else(|| bad("intent"))
    }
}
