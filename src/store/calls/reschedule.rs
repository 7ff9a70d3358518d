//! `reschedule.lua`: the sweeper is done with a room it claimed.

use redis::{RedisWrite, Script, ToRedisArgs, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// When a room comes due on the sweep schedule next (what `sweep_room.lua` answers, what
/// `reschedule.lua` takes): on the wire a due time in ms (Redis clock), -1 for never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextDue {
    /// Nothing about the room can come due (no members, no presence to watch): it leaves the
    /// schedule until a change schedules it again.
    Never,
    /// Due at this moment, unix ms; 0 (`AT_ONCE`) is always past.
    At(u64),
}

impl NextDue {
    /// Due at once: the next claim takes the room again.
    pub const AT_ONCE: Self = Self::At(0);

    /// Reads the script's due time: a negative or absent one means never.
    pub(super) fn from_answer(v: Option<&Value>) -> Self {
        match v.and_then(int).map(u64::try_from) {
            Some(Ok(ms)) => Self::At(ms),
            _ => Self::Never,
        }
    }
}

impl ToRedisArgs for NextDue {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        match self {
            Self::Never => (-1i64).write_redis_args(out),
            Self::At(ms) => ms.write_redis_args(out),
        }
    }
}

/// KEYS: the sweep schedule, its claims. ARGV: live_id, the replica's token (of its claim), the
/// room's next due time.
pub struct Reschedule<'a> {
    pub room: &'a LiveId,
    pub token: &'a str,
    pub next: NextDue,
}

impl ScriptCall for Reschedule<'_> {
    /// `1` when the claim was this replica's (or the room changed meanwhile: it comes due at once
    /// instead); `0` when another replica has claimed the room since (this one's lease ran out),
    /// which then decides its next due time.
    type Reply = bool;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.reschedule
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation.keys(keys.sweep_schedule_named());
        invocation
            .arg(self.room.as_str())
            .arg(self.token)
            .arg(self.next);
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        int(&answer)
            .map(|n| n == 1)
            .ok_or_else(|| bad("reschedule"))
    }
}
