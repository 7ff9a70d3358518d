//! `stats.lua`: a room's figures for the platform's backend (server API). Reads only.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::room::LiveStatus;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the member window (ms).
pub struct Stats<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
}

/// `{'OK', live_status, pv, start_time, end_time, started_ms, ended_ms, ended_reason, peak,
/// online, uv, now ms, likes}`, as the room's hash holds them (absent ones 0 or empty); `NOT_FOUND`
/// becomes `StoreError::NotFound`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsReply {
    pub live_status: LiveStatus,
    pub pv: i64,
    /// The room's start and end times as the API gives them (unix s).
    pub start_time: i64,
    pub end_time: i64,
    /// When the room went live and ended, unix ms (0: not yet).
    pub started_ms: i64,
    pub ended_ms: i64,
    pub ended_reason: String,
    /// The most members present at once since the room went live (join.lua keeps it).
    pub peak: i64,
    /// Members present now.
    pub online: i64,
    pub uv: i64,
    /// Redis's clock when the figures were read, unix ms.
    pub now_ms: i64,
    pub likes: i64,
}

impl ScriptCall for Stats<'_> {
    type Reply = StatsReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.stats
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.window_ms);
    }

    fn reply(answer: Value) -> StoreResult<StatsReply> {
        let (_, rest) = status(&answer, "stats")?;
        let num = |i: usize| rest.get(i).and_then(int).unwrap_or(0);
        Ok(StatsReply {
            live_status: LiveStatus::from_code(num(0)).ok_or_else(|| bad("stats"))?,
            pv: num(1),
            start_time: num(2),
            end_time: num(3),
            started_ms: num(4),
            ended_ms: num(5),
            ended_reason: rest.get(6).and_then(text).unwrap_or_default(),
            peak: num(7),
            online: num(8),
            uv: num(9),
            now_ms: num(10),
            likes: num(11),
        })
    }
}
