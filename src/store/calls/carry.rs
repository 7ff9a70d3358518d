//! `carry.lua`: one replica's lease on the presence of its streams' members in one room.

use redis::{Script, Value};

use super::{Invocation, ScriptCall, Share, due_in, flag};
use crate::domain::ids::{LiveId, UserId};
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status, text};
use crate::store::scripts::Scripts;
use crate::store::{StoreError, StoreResult};

/// KEYS: the six keys a heartbeat touches of one room (`Keys::heartbeat_room`). ARGV: the
/// member window (ms), the takeover age (ms), the replica's token, the number of members to let
/// go, those members, then per member to carry: user id, profile JSON.
pub struct Carry<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
    /// A member another carrier holds is taken over once that carrier's renewal is this old.
    pub takeover_ms: u64,
    /// The replica's carrier token (one per process).
    pub token: &'a str,
    /// Members whose last stream on this replica closed since the last renewal.
    pub release: &'a [UserId],
    /// Members whose streams here started carrying them (user, profile JSON).
    pub members: &'a [(UserId, String)],
}

/// What became of one member to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarryAnswer {
    /// Holds this replica's mark: present while the replica renews its lease.
    Carried,
    /// Another replica's live lease carries it: present, asked again at the next renewal.
    Elsewhere,
    /// No carrier index was free: refreshed as a heartbeat would, asked again every interval.
    Refreshed,
    /// The room's anchor: its stream carries nobody.
    Anchor,
    /// Not a member (left, kicked, moved, lapsed or never joined): never brought back.
    Gone,
}

/// A member the carrier's list says went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WentAway {
    /// Left the room (leave, kick, move, lapse): its streams end.
    Left(UserId),
    /// Another carrier took it over: this replica no longer holds its mark.
    TakenOver(UserId),
    /// The list overflowed: every member this replica believes it carries must be asked again.
    Unknown,
}

/// `{'OK', index, fresh, left list, events, due in, dropped, {answers}, share}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarryReply {
    /// The replica's carrier index in the room (`None`: all taken, members refreshed one by one).
    pub index: Option<i64>,
    /// The replica carries afresh: whatever it marked before is void.
    pub fresh: bool,
    pub went: Vec<WentAway>,
    pub events_written: bool,
    pub due_in_ms: Option<u64>,
    /// Members the call took out (lapsed on the way): the room's share follows.
    pub dropped: bool,
    pub answers: Vec<CarryAnswer>,
    pub share: Option<Share>,
}

impl ScriptCall for Carry<'_> {
    type Reply = CarryReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.carry
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation.keys(keys.heartbeat_room(self.room));
        invocation
            .arg(self.window_ms)
            .arg(self.takeover_ms)
            .arg(self.token)
            .arg(self.release.len());
        for user in self.release {
            invocation.arg(user.as_str());
        }
        for (user, profile) in self.members {
            invocation.arg(user.as_str()).arg(profile.as_str());
        }
    }

    fn reply(answer: Value) -> StoreResult<CarryReply> {
        let (word, rest) = status(&answer, "carry")?;
        if word == "ENDED" {
            return Err(StoreError::Conflict("the live has ended".into()));
        }
        let [
            index,
            fresh,
            left,
            events,
            due,
            dropped,
            answers,
            share @ ..,
        ] = rest
        else {
            return Err(bad("carry"));
        };
        let left = text(left).unwrap_or_default();
        let went = if left == "*" {
            vec![WentAway::Unknown]
        } else {
            left.lines()
                .filter_map(|line| match line.strip_prefix('~') {
                    Some(user) => UserId::parse(user).ok().map(WentAway::TakenOver),
                    None => UserId::parse(line).ok().map(WentAway::Left),
                })
                .collect()
        };
        let answers = array(answers)
            .ok_or_else(|| bad("carry"))?
            .iter()
            .map(|a| match text(a).as_deref() {
                Some("CARRIED") => Ok(CarryAnswer::Carried),
                Some("ELSEWHERE") => Ok(CarryAnswer::Elsewhere),
                Some("REFRESHED") => Ok(CarryAnswer::Refreshed),
                Some("ANCHOR") => Ok(CarryAnswer::Anchor),
                Some("GONE") => Ok(CarryAnswer::Gone),
                _ => Err(bad("carry")),
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(CarryReply {
            index: int(index).filter(|&i| i >= 0),
            fresh: flag(Some(fresh)),
            went,
            events_written: flag(Some(events)),
            due_in_ms: due_in(Some(due)),
            dropped: flag(Some(dropped)),
            answers,
            share: Share::at(share, 0),
        })
    }
}
