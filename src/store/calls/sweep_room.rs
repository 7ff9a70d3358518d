//! `sweep_room.lua`: one bounded step of the sweeper on a room it claimed.

use redis::{Script, Value};

use super::{Invocation, NextDue, ScriptCall, Share, flag};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the member window (ms), the most members one step handles, then
/// the users of the previous step whose user pointers the caller has released since (the step
/// finishes them: released members leave the set-aside keys, still-lapsed ones leave the room).
pub struct SweepRoom<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
    pub batch: usize,
    pub released: &'a [String],
}

/// `{phase, removed, …, events}`: what the step did, and what the sweeper does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepStep {
    /// Members the step took out of the members set (lapsed ones), for the online total.
    pub removed: i64,
    /// The step wrote to the room's event log (member_left, anchor_offline, an online count).
    pub events_written: bool,
    /// The room's share of the online total as the step left it.
    pub share: Option<Share>,
    pub phase: SweepPhase,
}

/// The step's status word and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepPhase {
    /// `'RELEASE'`: the next batch of the members the end of the room set aside, `(user, seq)`:
    /// release their pointers, then pass them to the next step.
    Release(Vec<(String, i64)>),
    /// `'LAPSED'`: the next batch of lapsed members, `(user, seq)`: release their pointers, then
    /// pass them to the next step, which takes them out of the room.
    Lapsed(Vec<(String, i64)>),
    /// `'NEXT'` (or `'GONE'`: the room and everything set aside are gone): the room is done for
    /// this claim, and comes due next then.
    Done(NextDue),
}

impl ScriptCall for SweepRoom<'_> {
    type Reply = SweepStep;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.sweep_room
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.window_ms).arg(self.batch);
        for user in self.released {
            invocation.arg(user);
        }
    }

    fn reply(answer: Value) -> StoreResult<SweepStep> {
        let (word, rest) = status(&answer, "sweep_room")?;
        let phase = match word.as_str() {
            "RELEASE" => SweepPhase::Release(members(rest.get(1))),
            "LAPSED" => SweepPhase::Lapsed(members(rest.get(1))),
            _ => SweepPhase::Done(NextDue::from_answer(rest.get(1))),
        };
        Ok(SweepStep {
            removed: rest.first().and_then(int).unwrap_or(0),
            events_written: flag(rest.get(2)),
            share: Share::at(rest, 3),
            phase,
        })
    }
}

/// A flat `{user, seq, …}` list of members (a pair that does not read is left out).
fn members(v: Option<&Value>) -> Vec<(String, i64)> {
    let Some(items) = v.and_then(array) else {
        return Vec::new();
    };
    items
        .chunks(2)
        .filter_map(|pair| match pair {
            [u, s] => Some((text(u)?, int(s)?)),
            _ => None,
        })
        .collect()
}
