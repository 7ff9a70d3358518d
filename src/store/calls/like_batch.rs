//! `like_batch.lua`: the likes that reached a replica together, in one call (store/likes.rs).

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status};
use crate::store::scripts::Scripts;
use crate::store::{StoreError, StoreResult};

/// KEYS: per room the four keys a like touches (`Keys::like_room`, the rooms in `rooms`' order).
/// ARGV: the member window (ms), the most likers a room keeps totals for, how long the totals
/// stay after the room's last like (ms), then per like: its room's place (1-based), user, count.
pub struct LikeBatch<'a> {
    /// The rooms, each once: all in one slot on a cluster.
    pub rooms: Vec<&'a LiveId>,
    pub likes: Vec<BatchedLike<'a>>,
    pub window_ms: u64,
    pub likers_max: u64,
    pub likes_ttl_ms: u64,
}

/// One like of a batch.
pub struct BatchedLike<'a> {
    /// Its room's index in `LikeBatch::rooms`.
    pub room: usize,
    pub user: &'a UserId,
    pub count: u32,
}

/// A like's answer: the room's total including it and the liker's own total in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liked {
    pub total: u64,
    pub own: u64,
}

/// What one call answers: each like's answer, in order, and what became of each room liked.
pub struct LikeBatchReply {
    pub likes: Vec<StoreResult<Liked>>,
    pub rooms: Vec<RoomLiked>,
}

/// A room a batch liked.
pub struct RoomLiked {
    /// Its index in `LikeBatch::rooms`.
    pub room: usize,
    /// A burst left its likes total unsaid: the room must come due within this many ms.
    pub due_in_ms: Option<u64>,
    /// The call wrote a `likes` event to the room's log.
    pub events_written: bool,
}

impl ScriptCall for LikeBatch<'_> {
    type Reply = LikeBatchReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.like_batch
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        for room in &self.rooms {
            invocation.keys(keys.like_room(room));
        }
        invocation
            .arg(self.window_ms)
            .arg(self.likers_max)
            .arg(self.likes_ttl_ms);
        for like in &self.likes {
            invocation
                .arg(like.room + 1)
                .arg(like.user.as_str())
                .arg(like.count);
        }
    }

    fn reply(answer: Value) -> StoreResult<LikeBatchReply> {
        let answers = array(&answer).ok_or_else(|| bad("like_batch"))?;
        let (due, likes) = answers.split_last().ok_or_else(|| bad("like_batch"))?;
        let rooms = array(due)
            .ok_or_else(|| bad("like_batch"))?
            .iter()
            .filter_map(|room| {
                let [place, due, written] = array(room)? else {
                    return None;
                };
                Some(RoomLiked {
                    room: usize::try_from(int(place)?).ok()?.checked_sub(1)?,
                    due_in_ms: u64::try_from(int(due)?).ok(),
                    events_written: int(written)? > 0,
                })
            })
            .collect();
        Ok(LikeBatchReply {
            likes: likes.iter().map(decode).collect(),
            rooms,
        })
    }
}

fn decode(answer: &Value) -> StoreResult<Liked> {
    // a bare refusal word ('NOT_FOUND', 'NOT_MEMBER') reads as a one-word answer
    let wrapped;
    let answer = match answer {
        Value::Array(_) => answer,
        word => {
            wrapped = Value::Array(vec![word.clone()]);
            &wrapped
        }
    };
    let (_, rest) = status(answer, "like_batch")?;
    let n = |i: usize| {
        rest.get(i)
            .and_then(int)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| StoreError::Internal("like_batch: a like without its totals".into()))
    };
    Ok(Liked {
        total: n(0)?,
        own: n(1)?,
    })
}

/// A like waiting for its batch (store/likes.rs): its call's arguments, and where its own
/// answer goes.
pub struct QueuedLike {
    pub room: LiveId,
    pub user: UserId,
    pub count: u32,
    pub answer: tokio::sync::oneshot::Sender<StoreResult<Liked>>,
    /// The request's Redis deadline: its batch's call must not outlive it (as a heartbeat's).
    pub deadline: std::time::Instant,
}

/// Where a replica's likes queue for their batch calls.
pub type LikeQueue = tokio::sync::mpsc::UnboundedSender<QueuedLike>;
