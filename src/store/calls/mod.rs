//! One typed call per Lua script: the only place that knows a script's KEYS, ARGV and the shape
//! of its answer. A store operation builds a call with named fields, `Core::call` runs it (one
//! EVALSHA, bounded by the store's timeout) and hands back a typed reply; nothing outside this
//! module counts positions in a script's arguments or answers.
//!
//! Each file here is named after its script in `../lua/` and opens with the same contract as the
//! script's header comment: change the two together.

use redis::{Script, ScriptInvocation, ToRedisArgs, Value};

use super::StoreResult;
use super::keys::Keys;
use super::scripts::Scripts;
use crate::domain::ids::LiveId;

#[cfg(test)]
mod contract;

// members (presence.rs, ratelimit.rs, streams.rs)
mod carry;
mod heartbeat;
pub use carry::{Carry, CarryAnswer, WentAway};
pub use heartbeat::{
    BatchedBeat, Heartbeat, HeartbeatBatch, HeartbeatQueue, HeartbeatReply, QueuedBeat,
};
mod evict;
mod like_batch;
pub use like_batch::{BatchedLike, LikeBatch, LikeBatchReply, LikeQueue, Liked, QueuedLike};
mod join;
mod join_number;
mod members;
mod ratelimit;
mod stream_publish;
mod stream_unpublish;
mod user_abort_join;
mod user_join;
mod user_leave;
pub use evict::{Evict, EvictReason, EvictReply};
pub use join::{Join, JoinAnswer, JoinReply};
pub use join_number::{JoinNumber, JoinNumberReply};
pub use members::{Members, MembersReply};
pub use ratelimit::Ratelimit;
pub use stream_publish::StreamPublish;
pub use stream_unpublish::StreamUnpublish;
pub use user_abort_join::{UserAbortJoin, UserAbortJoinReply};
pub use user_join::{UserJoin, UserJoinReply};
pub use user_leave::UserLeave;
// end of members

// a room's life and the indexes (rooms.rs, discovery.rs)
mod card;
mod card_page;
mod create;
mod delete;
mod extends;
mod index_sync;
mod intent;
mod list;
mod online_set;
mod open_slot;
mod read;
mod search;
mod start;
mod stop;
mod user_imid;
mod user_release;
mod view;
pub use card::Card;
pub use card_page::CardPage;
pub use create::Create;
pub use delete::{Delete, DeleteReply};
pub use extends::Extends;
pub use index_sync::{IndexSync, Indexed};
pub use intent::{Intent, IntentOp};
pub use list::List;
pub use online_set::{OnlineSet, Share};
pub use open_slot::{OpenSlot, SlotChange};
pub use read::Read;
pub use search::Search;
pub use start::{Start, StartReply};
pub use stop::{Stop, StopReply};
pub use user_imid::{LegacyUser, UserImid, UserImidReply};
pub use user_release::UserRelease;
// end of a room's life and the indexes

// cross-room PK (pk.rs)
mod pk_intent;
mod pk_record;
mod pk_reserve;
mod pk_room;
pub use pk_intent::{PkIntent, PkIntentOp, PkIntentReply};
pub use pk_record::{PkChange, PkRecord, decode_pk};
pub use pk_reserve::PkReserve;
pub use pk_room::{PkRoom, PkRoomReply, PkRoomState};
// end of cross-room PK

// the sweep, moderation, seats and events (sweep.rs, moderation.rs, seats.rs, events.rs)
mod bans;
mod claim;
mod close_offline;
mod kick;
mod kicked;
mod lease;
mod may_watch;
mod page;
mod purge;
mod reschedule;
mod say_count;
mod schedule;
mod seat_decide;
mod seat_leave;
mod seat_switch;
mod seat_take;
mod seats;
mod shard_end;
mod shard_init;
mod shard_page;
mod shards;
mod sse_renew;
mod sse_slot;
mod stats;
mod sweep_room;
mod unban;
pub use bans::{Bans, BansPage};
pub use claim::{Claim, Claimed, Owed, PkDue};
pub use close_offline::{CloseOffline, CloseOfflineReply};
pub use kick::{Authority, Kick};
pub use kicked::Kicked;
pub use lease::{Lease, LeaseOp};
pub use may_watch::MayWatch;
pub use page::{Page, PageReply};
pub use purge::{Purge, PurgeReply};
pub use reschedule::{NextDue, Reschedule};
pub use say_count::SayCount;
pub use schedule::Schedule;
pub use seat_decide::SeatDecide;
pub use seat_leave::SeatLeave;
pub use seat_switch::{SeatSwitch, Switched};
pub use seat_take::SeatTake;
pub use seats::Seats;
pub use shard_end::ShardEnd;
pub use shard_init::ShardInit;
pub use shard_page::{ChunkMember, ShardPage, ShardPageRead, ShardPageReply};
pub use shards::SetShards;
pub use sse_renew::SseRenew;
pub use sse_slot::{SlotOp, SlotReply, SseReap, SseSlot};
pub use stats::Stats;
pub use sweep_room::{SweepPhase, SweepRoom};
pub use unban::Unban;
// end of the sweep, moderation and events

/// A call of one Lua script.
pub trait ScriptCall {
    /// The script's answer, decoded.
    type Reply;

    /// The script (from `Scripts`, where the event-log settings are baked in).
    fn script(scripts: &Scripts) -> &Script;

    /// Pushes the script's KEYS, each by its name in the script's `--! KEYS:` header, and then
    /// its ARGV, in the script's order.
    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>);

    /// Decodes the answer; refusal words become `StoreError`s (see `reply::status`).
    fn reply(answer: Value) -> StoreResult<Self::Reply>;
}

/// A script invocation being built: every key goes in with its name in the key contract (the
/// script's `--! KEYS:` header, `keys.rs`), so that a test can hold each call's keys against its
/// script's declaration (`contract.rs`). The names are kept in tests only: a call pays nothing.
pub struct Invocation<'a> {
    inner: ScriptInvocation<'a>,
    #[cfg(test)]
    names: Vec<&'static str>,
}

impl<'a> Invocation<'a> {
    pub(super) fn new(script: &'a Script) -> Self {
        Self {
            inner: script.prepare_invoke(),
            #[cfg(test)]
            names: Vec::new(),
        }
    }

    /// One key, by its name in the script's header.
    pub fn key<K: ToRedisArgs>(&mut self, name: &'static str, key: K) -> &mut Self {
        #[cfg(test)]
        self.names.push(name);
        #[cfg(not(test))]
        let _ = name;
        self.inner.key(key);
        self
    }

    /// A set of keys named together in `keys.rs` (a room's, the index's, the schedule's).
    pub fn keys<const N: usize>(&mut self, named: [(&'static str, String); N]) -> &mut Self {
        for (name, key) in named {
            self.key(name, key);
        }
        self
    }

    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        self.inner.arg(arg);
        self
    }

    pub(super) fn prepared(&self) -> &ScriptInvocation<'a> {
        &self.inner
    }

    #[cfg(test)]
    pub(super) fn names(&self) -> &[&'static str] {
        &self.names
    }
}

/// Pushes a room's keys, in the order every per-room script takes them (`lua/lib.lua`).
pub(super) fn room_keys(invocation: &mut Invocation<'_>, keys: &Keys, room: &LiveId) {
    invocation.keys(keys.room_named(room));
}

/// Pushes a room's keys and then its seat requests (the seat scripts: lua/seat_fn.lua).
pub(super) fn seat_keys(invocation: &mut Invocation<'_>, keys: &Keys, room: &LiveId) {
    room_keys(invocation, keys, room);
    invocation.key("seat_requests", keys.seat_requests(room));
}

/// Pushes the global index keys, in the order every index script takes them.
pub(super) fn index_keys(invocation: &mut Invocation<'_>, keys: &Keys) {
    invocation.keys(keys.index_named());
}

/// A script's "ms until the room must come due" answer: -1 (or absent) means nothing to schedule.
pub(super) fn due_in(v: Option<&Value>) -> Option<u64> {
    v.and_then(super::reply::int)
        .and_then(|ms| u64::try_from(ms).ok())
}

/// A 0/1 flag in a script's answer (absent: false).
pub(super) fn flag(v: Option<&Value>) -> bool {
    v.and_then(super::reply::int).is_some_and(|n| n > 0)
}
