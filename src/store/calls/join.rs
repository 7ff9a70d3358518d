//! `join.lua`: a user joins (or re-joins) the room.

use redis::{Script, Value};

use super::view::decode_view;
use super::{Invocation, ScriptCall, Share, due_in, flag};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::room::Room;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{int, status};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys (a room of members: the room or one of its shard rooms). ARGV: user
/// id, the join's seq (from `user_join`), the member's entry without its seq ("im_userid\tprofile
/// json"), the member window (ms), the room's shards as the join was routed by them.
pub struct Join<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
    pub seq: i64,
    pub im_userid: i64,
    /// The member's profile JSON (`Looks::to_json`).
    pub profile: &'a str,
    pub window_ms: u64,
    /// The room's shards as this join was routed by them (store/shards.rs).
    pub shards: u32,
    /// In a sharded room, the join's number (join_number.lua): its place in the join order.
    pub number: Option<i64>,
}

/// What the room of members said to a join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinAnswer {
    Joined(Box<JoinReply>),
    /// The room's shards are not what the join was routed by: route again by these.
    Shards(u32),
}

/// `{'OK', room view (4 elements, see lib.lua room_view), made the room non-empty, new visit,
/// due in, online count said}`; `'NOT_FOUND'`, `'CONFLICT'` (ended) and `'BANNED'` become
/// `StoreError`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinReply {
    /// The room as it is after the join.
    pub room: Room,
    /// The join made the room non-empty (a sweep that saw it empty must look again).
    pub first_member: bool,
    /// A new visit: one member more online (a re-join of the room one is in is a heartbeat).
    pub fresh_visit: bool,
    /// The room must come due on the sweep schedule within this many ms (an unsaid online
    /// count, the anchor's presence).
    pub due_in_ms: Option<u64>,
    /// The online count was said: the room's card in the index follows (issue 18).
    pub announced: bool,
    /// The room's share of the online total after the join.
    pub share: Option<Share>,
}

/// How many elements of the answer (after 'OK') are the room view.
const VIEW_LEN: usize = 4;

impl ScriptCall for Join<'_> {
    type Reply = JoinAnswer;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.join
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        // the script stores the entry as "seq\t" followed by this (see `members`)
        invocation
            .arg(self.user.as_str())
            .arg(self.seq)
            .arg(format!("{}\t{}", self.im_userid, self.profile))
            .arg(self.window_ms)
            .arg(self.shards);
        if let Some(number) = self.number {
            invocation.arg(number);
        }
    }

    fn reply(answer: Value) -> StoreResult<JoinAnswer> {
        let (word, rest) = status(&answer, "join")?;
        if word == "SHARDS" {
            let shards = rest.first().and_then(int).unwrap_or(1);
            return Ok(JoinAnswer::Shards(u32::try_from(shards).unwrap_or(1)));
        }
        Ok(JoinAnswer::Joined(Box::new(JoinReply {
            room: decode_view(rest)?,
            first_member: flag(rest.get(VIEW_LEN)),
            fresh_visit: flag(rest.get(VIEW_LEN + 1)),
            due_in_ms: due_in(rest.get(VIEW_LEN + 2)),
            announced: flag(rest.get(VIEW_LEN + 3)),
            share: Share::at(rest, VIEW_LEN + 4),
        })))
    }
}
