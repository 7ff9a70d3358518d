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

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use tokio::sync::oneshot;

use super::batch;
use super::calls::{
    BatchedBeat, Heartbeat, HeartbeatBatch, HeartbeatQueue, HeartbeatReply, QueuedBeat,
};
use super::core::{Core, within_deadline};
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};

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
        match tokio::time::timeout_at(deadline.into(), answered).await {
            Ok(answer) => answer.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the heartbeat's call was dropped".into(),
                ))
            }),
            Err(_) => {
                self.stats
                    .errors
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Err(StoreError::Unavailable(
                    "redis did not answer in time".into(),
                ))
            }
        }
    }

    /// Sends one gathered batch: one call on a single Redis, one per room on a cluster.
    async fn send_beats(self: &Arc<Self>, batch: Vec<QueuedBeat>) {
        if self.is_cluster() {
            let mut by_room: HashMap<LiveId, Vec<QueuedBeat>> = HashMap::new();
            for beat in batch {
                by_room.entry(beat.room.clone()).or_default().push(beat);
            }
            futures_util::future::join_all(by_room.into_values().map(|beats| self.send(beats)))
                .await;
        } else {
            self.send(batch).await;
        }
    }

    /// One call for `beats` (on one node), each beat answered with its own reply.
    async fn send(self: &Arc<Self>, beats: Vec<QueuedBeat>) {
        // beats whose request gave up (its deadline passed) are not sent; the rest's call ends
        // by the earliest deadline among them
        let beats: Vec<QueuedBeat> = beats
            .into_iter()
            .filter(|b| !b.answer.is_closed())
            .collect();
        let Some(deadline) = beats.iter().map(|b| b.deadline).min() else {
            return;
        };
        within_deadline(deadline, self.send_within(beats)).await;
    }

    async fn send_within(self: &Arc<Self>, beats: Vec<QueuedBeat>) {
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
                let _ = p.answer.send(answer);
            }
            return;
        }
        let mut rooms: Vec<&LiveId> = Vec::new();
        let mut calls = Vec::with_capacity(beats.len());
        for beat in &beats {
            let room = match rooms.iter().position(|r| **r == beat.room) {
                Some(i) => i,
                None => {
                    rooms.push(&beat.room);
                    rooms.len() - 1
                }
            };
            calls.push(BatchedBeat {
                room,
                user: &beat.user,
                profile: &beat.profile,
            });
        }
        let answers = self
            .call(&HeartbeatBatch {
                rooms,
                beats: calls,
                window_ms,
            })
            .await;
        self.stats.heartbeat_batches.record(beats.len());
        match answers {
            Ok(answers) if answers.len() == beats.len() => {
                for (p, answer) in beats.into_iter().zip(answers) {
                    let _ = p.answer.send(answer);
                }
            }
            Ok(_) => {
                for p in beats {
                    let _ = p.answer.send(Err(StoreError::Internal(
                        "heartbeat_batch answered a different number of heartbeats".into(),
                    )));
                }
            }
            Err(e) => {
                for p in beats {
                    let _ = p.answer.send(Err(e.clone()));
                }
            }
        }
    }
}
