//! Heartbeats that reach a replica at the same moment share one script call (issue 16).
//!
//! A heartbeat is nearly all of a platform's traffic, and most of what one costs Redis and this
//! replica is the call around the script, not the script: the command's parsing, the client's
//! encoding and its share of the socket. So a heartbeat does not call `heartbeat.lua` itself; it
//! queues, and one task sends what is queued as one `heartbeat_batch.lua` call (at most
//! `LIVEROOM_HEARTBEAT_BATCH_MAX` beats), which runs the same function for each beat in turn and
//! answers each its own. Nothing waits on a timer: with no call out, a beat goes at once (alone,
//! as `heartbeat.lua`); while two calls are out, the beats that arrive gather for the next. So a
//! heartbeat still costs one round trip (plus, under load, part of the one before it), and its
//! answer is exactly what its own call would have said. The gathering is store/batch.rs's,
//! shared with likes.
//!
//! One call's keys must be on one node: on a single Redis a batch takes any rooms; on a cluster
//! it is split by room (each room's keys are one slot), and the rooms' calls go side by side.
//!
//! A heartbeat carries the caller's profile (the token's), which the room's entry takes when it
//! changed. Finding the entry costs Redis more since the entries are spread over buckets (the
//! user's bucket, then a listpack scan; figures in docs/operations.md, *Sizing*), so
//! the replica remembers the profile each (room, user) last sent in a heartbeat that counted,
//! by digest, and sends the same profile again as '' (heartbeat_fn.lua leaves the entry and the
//! anchor's profile alone). A different profile is sent and written as before. Bounded: at most
//! `PROFILES_SENT_MAX` (core.rs) remembered, the least used forgotten (they send their profile once
//! more).

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Weak};

use tokio::sync::oneshot;

use super::batch::{self, Queued};
use super::calls::{
    BatchedBeat, Heartbeat, HeartbeatBatch, HeartbeatQueue, HeartbeatReply, QueuedBeat,
};
use super::core::Core;
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};

fn digest(parts: &[&str]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut hasher);
    hasher.finish()
}

/// Starts the task that gathers a replica's heartbeats into calls (store/batch.rs); it ends
/// when the store is dropped.
fn start(store: Weak<Core>, max: usize) -> HeartbeatQueue {
    batch::start(store, max, |core: Arc<Core>, beats| async move {
        core.send_beats(beats).await;
    })
}

impl Core {
    /// One heartbeat's script answer: batched with the others arriving now, unless batching is
    /// off (`LIVEROOM_HEARTBEAT_BATCH_MAX=1`).
    pub(super) async fn beat(
        self: &Arc<Self>,
        room: &LiveId,
        user: &UserId,
        profile: String,
    ) -> StoreResult<HeartbeatReply> {
        let key = digest(&[room.as_str(), user.as_str()]);
        let sent = digest(&[&profile]);
        let profile = if self.profiles_sent.get(&key) == Some(sent) {
            String::new()
        } else {
            profile
        };
        let fresh = !profile.is_empty();
        let answer = self.beat_with(room, user, profile).await;
        if fresh && matches!(answer, Ok(HeartbeatReply::Beat { .. })) {
            self.profiles_sent.insert(key, sent);
        }
        answer
    }

    /// One heartbeat's script answer, `profile` '' when unchanged.
    async fn beat_with(
        self: &Arc<Self>,
        room: &LiveId,
        user: &UserId,
        profile: String,
    ) -> StoreResult<HeartbeatReply> {
        let max = self.timings().heartbeat_batch_max;
        if max <= 1 {
            return self
                .call(&Heartbeat {
                    room,
                    user,
                    profile: &profile,
                    window_ms: self.window(),
                })
                .await;
        }
        // The beat's call runs in the batcher's task, outside this request's scope: it carries
        // the request's deadline, and the request waits no longer than that (a batch held up
        // by a dead node must not hold a beat past LIVEROOM_REDIS_TIMEOUT_MS).
        let deadline = self.request_deadline()?;
        let batcher = self
            .heartbeats
            .get_or_init(|| start(Arc::downgrade(self), max));
        let (answer, answered) = oneshot::channel();
        let pending = QueuedBeat {
            room: room.clone(),
            user: user.to_owned(),
            profile,
            answer,
            deadline,
        };
        // The task outlives every handle that can queue (it ends only when the store is
        // dropped), so neither refusal below happens while `self` exists.
        batcher
            .send(pending)
            .map_err(|_| StoreError::Unavailable("the heartbeat queue is closed".into()))?;
        self.answer_by(answered, deadline).await
    }

    /// Sends one gathered batch (store/batch.rs: one call a node, none past its beats'
    /// deadlines).
    async fn send_beats(self: &Arc<Self>, batch: Vec<QueuedBeat>) {
        self.send_batch(batch, |beats| self.send(beats)).await;
    }

    /// One call for `beats` (on one node), each beat answered with its own reply.
    async fn send(self: &Arc<Self>, beats: Vec<QueuedBeat>) {
        let window_ms = self.window();
        if let [one] = beats.as_slice() {
            // alone: the plain script, as if there were no batching
            let answer = self
                .call(&Heartbeat {
                    room: &one.room,
                    user: &one.user,
                    profile: &one.profile,
                    window_ms,
                })
                .await;
            if let Some(p) = beats.into_iter().next() {
                p.answer(answer);
            }
            return;
        }
        let (rooms, places) = batch::room_places(&beats);
        let calls = beats
            .iter()
            .zip(places)
            .map(|(beat, room)| BatchedBeat {
                room,
                user: &beat.user,
                profile: &beat.profile,
            })
            .collect();
        let answers = self
            .call(&HeartbeatBatch {
                rooms,
                beats: calls,
                window_ms,
            })
            .await;
        self.stats.heartbeat_batches.record(beats.len());
        batch::answer_each(beats, answers, "heartbeat_batch");
    }
}

impl Queued for QueuedBeat {
    type Answer = HeartbeatReply;

    fn room(&self) -> &LiveId {
        &self.room
    }

    fn deadline(&self) -> std::time::Instant {
        self.deadline
    }

    fn given_up(&self) -> bool {
        self.answer.is_closed()
    }

    fn answer(self, answer: StoreResult<HeartbeatReply>) {
        let _ = self.answer.send(answer);
    }
}
