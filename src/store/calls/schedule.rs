//! `schedule.lua`: brings a room's next sweep forward.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the sweep schedule, its claims. ARGV: live_id, delay ms (the room comes due within it,
/// never later than it already was).
pub struct Schedule<'a> {
    pub room: &'a LiveId,
    pub delay_ms: u64,
}

impl ScriptCall for Schedule<'_> {
    /// `1`, whatever happened (a room being swept is marked dirty: its sweeper looks again).
    type Reply = ();

    fn script(scripts: &Scripts) -> &Script {
        &scripts.schedule
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation.keys(keys.sweep_schedule_named());
        invocation.arg(self.room.as_str()).arg(self.delay_ms);
    }

    fn reply(answer: Value) -> StoreResult<()> {
        int(&answer).map(|_| ()).ok_or_else(|| bad("schedule"))
    }
}
