//! Likes (CONTRACT section 14): a member's (or the anchor's) likes add to the room's total and
//! to the liker's own total in the room, written before the answer. Likes that reach a replica
//! together share one `like_batch.lua` call (store/batch.rs, as heartbeats): a like storm in a
//! hot room costs Redis O(1) per like, and one call per batch.

use std::sync::{Arc, Weak};

use tokio::sync::oneshot;

use super::batch::{self, Queued};
use super::calls::{self, BatchedLike, LikeBatch, LikeBatchReply, LikeQueue, Liked, QueuedLike};
use super::core::{Core, handle};
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::room::LiveStatus;

/// Distinct likers a room keeps own totals for (its `room:{L}:likes` hash): a room of a million
/// members that all like still fits; past it a new liker is refused (429/42900).
pub const LIKERS_PER_ROOM_MAX: u64 = 1_000_000;
/// The per-user totals go this long after the room's last like (likes need a live room, so an
/// ended room's totals go a day after its end at the latest; a deleted room's with it).
const LIKES_KEPT_MS: u64 = 24 * 3_600_000;

handle! {
    /// Likes: a room's total and each liker's own.
    Likes
}

impl Likes {
    /// `count` likes (1–100, checked by the caller) of `user` in the room: the room's total and
    /// the user's own total after them. The room must be live (409/40900, checked first) and the
    /// user a present member or the anchor (409/40901).
    pub async fn like(&self, room: &LiveId, user: &UserId, count: u32) -> StoreResult<Liked> {
        // In a sharded room the liker's presence is in their shard room, another slot than
        // the room's likes: it is checked there first (like_batch.lua does not, in such a room).
        if let Some(layout) = self.layout(room).await?
            && layout.sharded()
        {
            let members_room = layout.member_room(room, user.as_str());
            let present = self
                .call(&calls::MayWatch {
                    room: &members_room,
                    user,
                    window_ms: self.window(),
                })
                .await;
            match present {
                Ok(()) => {}
                // the room's state is said first, as like_batch.lua says it
                Err(StoreError::NotMember | StoreError::NotFound) => {
                    let status = self.read_room(room).await?.live_status;
                    return Err(if status == LiveStatus::Live {
                        StoreError::NotMember
                    } else {
                        StoreError::Conflict("the room is not live".into())
                    });
                }
                Err(e) => return Err(e),
            }
        }
        let max = self.timings().heartbeat_batch_max.max(1);
        // the like's call runs in the batcher's task: it carries the request's deadline, and the
        // request waits no longer than that (as a heartbeat, store/heartbeats.rs)
        let deadline = self.request_deadline()?;
        let queue = self
            .likes
            .get_or_init(|| start(Arc::downgrade(&self.core), max));
        let (answer, answered) = oneshot::channel();
        queue
            .send(QueuedLike {
                room: room.clone(),
                user: user.clone(),
                count,
                answer,
                deadline,
            })
            .map_err(|_| StoreError::Unavailable("the like queue is closed".into()))?;
        self.answer_by(answered, deadline).await
    }
}

fn start(store: Weak<Core>, max: usize) -> LikeQueue {
    batch::start(store, max, |core: Arc<Core>, likes| async move {
        core.send_likes(likes).await;
    })
}

impl Core {
    /// The likers' own totals of an ended or deleted room go (a follow-up of its end: replayed
    /// under its intent, idempotent; UNLINK frees them off Redis's main thread).
    pub(super) async fn forget_likes(self: &Arc<Self>, room: &LiveId) -> StoreResult<()> {
        let likes = self.keys().room_likes(room);
        self.command::<i64>(redis::cmd("UNLINK").arg(likes).clone())
            .await
            .map(|_| ())
    }

    /// Sends one gathered batch (store/batch.rs: one call a node, none past its likes'
    /// deadlines).
    async fn send_likes(self: &Arc<Self>, batch: Vec<QueuedLike>) {
        self.send_batch(batch, |likes| self.send_like_call(likes))
            .await;
    }

    /// One call for `likes` (on one node), each answered with its own reply; then the rooms
    /// whose likes total a burst left unsaid come due on the sweep schedule.
    async fn send_like_call(self: &Arc<Self>, likes: Vec<QueuedLike>) {
        let (rooms, places) = batch::room_places(&likes);
        let calls = likes
            .iter()
            .zip(places)
            .map(|(like, room)| BatchedLike {
                room,
                user: &like.user,
                count: like.count,
            })
            .collect();
        let answer = self
            .call(&LikeBatch {
                rooms: rooms.clone(),
                likes: calls,
                window_ms: self.window(),
                likers_max: LIKERS_PER_ROOM_MAX,
                likes_ttl_ms: LIKES_KEPT_MS,
            })
            .await;
        let due: Vec<(LiveId, Option<u64>, bool)> = match &answer {
            Ok(LikeBatchReply { rooms: liked, .. }) => liked
                .iter()
                .filter_map(|r| {
                    let id = rooms.get(r.room)?;
                    Some(((*id).clone(), r.due_in_ms, r.events_written))
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        batch::answer_each(likes, answer.map(|reply| reply.likes), "like_batch");
        // after the answers, and off the batch's call slot: what follows is the event's
        for (room, due_in, written) in due {
            if written {
                self.note_events(&room);
                // the total was announced (at most once a second per room): list rows show it
                self.refresh_card_of(&room);
            }
            if let Some(ms) = due_in {
                let store = self.clone();
                tokio::spawn(async move { store.schedule_sweep_after(&room, ms as i64).await });
            }
        }
    }
}

impl Queued for QueuedLike {
    type Answer = Liked;

    fn room(&self) -> &LiveId {
        &self.room
    }

    fn deadline(&self) -> std::time::Instant {
        self.deadline
    }

    fn given_up(&self) -> bool {
        self.answer.is_closed()
    }

    fn answer(self, answer: StoreResult<Liked>) {
        let _ = self.answer.send(answer);
    }
}
