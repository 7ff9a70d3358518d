//! Calls that reach a replica at the same moment share one script call (heartbeats, issue 16;
//! likes, issue 26). Most of what a small call costs Redis and this replica is the call around
//! the script (the command's parsing, the client's encoding, its share of the socket), so each
//! request queues its item, and one task per kind sends what is queued as one call of at most
//! `max` items. Nothing waits on a timer: with fewer than `IN_FLIGHT` calls out an item goes at
//! once (alone); while they are out, the items that arrive gather for the next call. So an item
//! still costs one round trip (plus, under load, part of the one before it).

use std::future::Future;
use std::sync::{Arc, Weak};

use tokio::sync::{Semaphore, mpsc};

use super::core::Core;

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
