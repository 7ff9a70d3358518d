//! Calls that reach a replica at the same moment share one script call (heartbeats, issue 16;
//! likes, issue 26). Most of what a small call costs Redis and this replica is the call around
//! the script (the command's parsing, the client's encoding, its share of the socket), so each
//! request queues its item, and one task per kind sends what is queued as one call of at most
//! `max` items. Nothing waits on a timer: with fewer than `IN_FLIGHT` calls out an item goes at
//! once (alone); while they are out, the items that arrive gather for the next call. So an item
//! still costs one round trip (plus, under load, part of the one before it).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Instant;

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::core::{Core, within_deadline};
use super::{StoreError, StoreResult};
use crate::domain::ids::LiveId;

/// Batch calls out at once: one being answered while the next gathers.
const IN_FLIGHT: usize = 2;

/// Where a replica's items of one kind queue for their batch calls.
pub(super) type Queue<T> = mpsc::UnboundedSender<T>;

/// Starts the task that gathers items into calls of at most `max`, each sent by `send` (which
/// answers every item of its batch); it ends when the store is dropped. The queue is unbounded,
/// yet bounded by what is waiting: each item is a request awaiting its answer (so at most one
/// per open connection, LIVEROOM_MAX_CONNECTIONS).
pub(super) fn start<T, F, Fut>(store: Weak<Core>, max: usize, send: F) -> Queue<T>
where
    T: Send + 'static,
    F: Fn(Arc<Core>, Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (queue, items) = mpsc::unbounded_channel();
    tokio::spawn(gather(store, items, max, send));
    queue
}

async fn gather<T, F, Fut>(
    store: Weak<Core>,
    mut items: mpsc::UnboundedReceiver<T>,
    max: usize,
    send: F,
) where
    T: Send + 'static,
    F: Fn(Arc<Core>, Vec<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = items.recv().await {
        // wait for a free call first: meanwhile the items that arrive join this batch
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < max {
            match items.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let Some(store) = store.upgrade() else {
            return;
        };
        let call = send(store, batch);
        tokio::spawn(async move {
            call.await;
            drop(permit);
        });
    }
}

/// An item queued for a batch: a request's, which waits for its own answer until its Redis
/// deadline (heartbeats, likes).
pub(super) trait Queued: Sized {
    type Answer;
    /// The room whose keys its call takes (on a cluster a call takes one room's).
    fn room(&self) -> &LiveId;
    /// The request's Redis deadline: the call that carries the item must not outlive it.
    fn deadline(&self) -> Instant;
    /// The request gave up (its deadline passed, it answered 503): the item is not sent.
    fn given_up(&self) -> bool;
    /// Hands the request its answer (a request that gave up no longer hears it).
    fn answer(self, answer: StoreResult<Self::Answer>);
}

/// The rooms of a batch, each once in the order first met, and each item's place among them:
/// what a batch script takes (its KEYS per room, each item's room by number).
pub(super) fn room_places<T: Queued>(items: &[T]) -> (Vec<&LiveId>, Vec<usize>) {
    let mut rooms: Vec<&LiveId> = Vec::new();
    let places = items
        .iter()
        .map(|item| match rooms.iter().position(|r| *r == item.room()) {
            Some(i) => i,
            None => {
                rooms.push(item.room());
                rooms.len() - 1
            }
        })
        .collect();
    (rooms, places)
}

/// Hands each item the answer of its place in a batch call's reply (`what` names the script, for
/// a reply of the wrong length), or every item the call's error.
pub(super) fn answer_each<T: Queued>(
    items: Vec<T>,
    answers: StoreResult<Vec<StoreResult<T::Answer>>>,
    what: &str,
) {
    match answers {
        Ok(answers) if answers.len() == items.len() => {
            for (item, answer) in items.into_iter().zip(answers) {
                item.answer(answer);
            }
        }
        Ok(_) => {
            for item in items {
                item.answer(Err(StoreError::Internal(format!(
                    "{what} answered a different number of items"
                ))));
            }
        }
        Err(e) => {
            for item in items {
                item.answer(Err(e.clone()));
            }
        }
    }
}

impl Core {
    /// Sends a gathered batch by `send`: one call on a single Redis, one per room on a cluster
    /// (one call's keys are one slot's there), side by side. Items whose request gave up are not
    /// sent, and each call ends by the earliest deadline among its items, so a batch held up by
    /// a dead node holds no request past LIVEROOM_REDIS_TIMEOUT_MS.
    pub(super) async fn send_batch<T, F, Fut>(self: &Arc<Self>, batch: Vec<T>, send: F)
    where
        T: Queued,
        F: Fn(Vec<T>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let waiting = batch.into_iter().filter(|item| !item.given_up());
        let calls: Vec<Vec<T>> = if self.is_cluster() {
            let mut by_room: HashMap<LiveId, Vec<T>> = HashMap::new();
            for item in waiting {
                by_room.entry(item.room().clone()).or_default().push(item);
            }
            by_room.into_values().collect()
        } else {
            vec![waiting.collect()]
        };
        futures_util::future::join_all(calls.into_iter().filter_map(|items| {
            let deadline = items.iter().map(Queued::deadline).min()?;
            Some(within_deadline(deadline, send(items)))
        }))
        .await;
    }

    /// Waits for a queued item's answer until the request's deadline; past it the request
    /// answers 503 (counted as a Redis error) and its item, if not sent yet, never is.
    pub(super) async fn answer_by<R>(
        &self,
        answered: oneshot::Receiver<StoreResult<R>>,
        deadline: Instant,
    ) -> StoreResult<R> {
        match tokio::time::timeout_at(deadline.into(), answered).await {
            Ok(answer) => answer.unwrap_or_else(|_| {
                Err(StoreError::Unavailable("the batch call was dropped".into()))
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
}
