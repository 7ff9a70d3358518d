//! Shared watching (CONTRACT section 11): a replica reads each watched room's event log once, on
//! one connection of its own per room (a blocking `XREAD`), and fans the events out in process
//! to every watcher of that room through a `tokio::sync::broadcast` channel. The reader starts
//! with the room's first watcher on this replica and stops with its last, so Redis connections
//! grow with the rooms watched here, not with the watchers.
//!
//! A watcher first reads what it missed from the log (after its `Last-Event-ID`) on the shared
//! connection, then follows the channel, skipping what it already had. The channel holds a
//! bounded number of events: a watcher that falls that far behind is cut off (it resumes with
//! `Last-Event-ID`), never buffered without bound.
//!
//! The hub also keeps this replica's count of open streams (`LIVEROOM_SSE_MAX`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};

use crate::domain::ids::LiveId;
use crate::store::{Store, StoreError, StoreResult, StoredEvent, Watcher};

/// How long one blocking read of a log waits before it is sent again.
const BLOCK: Duration = Duration::from_secs(5);
/// Pause before a reader that lost Redis tries again.
const RETRY: Duration = Duration::from_millis(500);

/// Where a room's reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReaderState {
    /// Fixing where it starts.
    Starting,
    /// Reading: every event after its start goes to the channel.
    Reading,
    /// Could not start (Redis unavailable).
    Failed,
}

struct Feed {
    tx: broadcast::Sender<Arc<StoredEvent>>,
    state: watch::Receiver<ReaderState>,
    stop: Notify,
}

struct Entry {
    feed: Arc<Feed>,
    watchers: usize,
}

pub struct Hub {
    store: Store,
    feeds: Mutex<HashMap<LiveId, Entry>>,
    /// Streams open on this replica.
    open: AtomicUsize,
    /// At most this many (0: no limit).
    max_open: usize,
    /// Streams one user may hold open over all replicas (0: no limit).
    per_user: u32,
    /// Events a watcher may fall behind its room's reader before it is cut off.
    buffer: usize,
}

/// A watcher's place in the fan-out of one room; leaving drops it.
pub struct Subscription {
    hub: Arc<Hub>,
    id: LiveId,
    feed: Arc<Feed>,
    pub rx: broadcast::Receiver<Arc<StoredEvent>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.id, &self.feed);
    }
}

/// One open stream counted against `LIVEROOM_SSE_MAX`; dropping it frees the place at once.
pub struct OpenStream {
    hub: Arc<Hub>,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.hub.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    pub fn new(store: Store, max_open: usize, per_user: u32, buffer: usize) -> Arc<Self> {
        Arc::new(Self {
            store,
            feeds: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            max_open,
            per_user,
            buffer: buffer.max(1),
        })
    }

    /// The cap of streams per user (0: none).
    pub fn per_user(&self) -> u32 {
        self.per_user
    }

    /// Counts a stream against this replica's cap; `None` when it is full.
    pub fn open_stream(self: &Arc<Self>) -> Option<OpenStream> {
        let before = self.open.fetch_add(1, Ordering::Relaxed);
        let guard = OpenStream { hub: self.clone() };
        if self.max_open > 0 && before >= self.max_open {
            return None; // the guard gives the place back
        }
        Some(guard)
    }

    /// The cap of open streams on this replica (0: none).
    pub fn max_open(&self) -> usize {
        self.max_open
    }

    /// Streams open on this replica now.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The lines of /metrics.
    pub fn render(&self) -> String {
        format!(
            "# HELP liveroom_sse_streams Event streams open on this replica.\n\
             # TYPE liveroom_sse_streams gauge\nliveroom_sse_streams {}\n\
             # HELP liveroom_sse_rooms_read Rooms whose event log this replica reads (one Redis connection each).\n\
             # TYPE liveroom_sse_rooms_read gauge\nliveroom_sse_rooms_read {}\n",
            self.open_streams(),
            self.rooms_read()
        )
    }

    /// Rooms this replica reads (one Redis connection each).
    pub fn rooms_read(&self) -> usize {
        self.feeds.lock().map(|f| f.len()).unwrap_or(0)
    }

    /// Joins the fan-out of the room (starting its reader when this is the first watcher here).
    /// Answers once the reader's start is fixed: every event after that reaches the channel,
    /// so the caller reads the log after its own position and misses nothing.
    pub async fn subscribe(self: &Arc<Self>, id: &LiveId) -> StoreResult<Subscription> {
        let (feed, rx) = {
            let mut feeds = self
                .feeds
                .lock()
                .map_err(|_| StoreError::Internal("fan-out lock poisoned".into()))?;
            let entry = feeds.entry(id.clone()).or_insert_with(|| {
                let (tx, _) = broadcast::channel(self.buffer);
                let (state_tx, state) = watch::channel(ReaderState::Starting);
                let feed = Arc::new(Feed {
                    tx,
                    state,
                    stop: Notify::new(),
                });
                tokio::spawn(read_room(self.clone(), id.clone(), feed.clone(), state_tx));
                Entry { feed, watchers: 0 }
            });
            entry.watchers += 1;
            (entry.feed.clone(), entry.feed.tx.subscribe())
        };
        let sub = Subscription {
            hub: self.clone(),
            id: id.clone(),
            feed,
            rx,
        };
        let mut state = sub.feed.state.clone();
        let started = tokio::time::timeout(
            Duration::from_secs(5),
            state.wait_for(|s| *s != ReaderState::Starting),
        )
        .await;
        match started {
            Ok(Ok(s)) if *s == ReaderState::Reading => Ok(sub),
            _ => Err(StoreError::Unavailable(
                "the room's event reader could not start".into(),
            )),
        }
    }

    fn unsubscribe(&self, id: &LiveId, feed: &Arc<Feed>) {
        let Ok(mut feeds) = self.feeds.lock() else {
            return;
        };
        let Some(entry) = feeds.get_mut(id) else {
            return;
        };
        if !Arc::ptr_eq(&entry.feed, feed) {
            return; // a reader that failed was replaced meanwhile
        }
        entry.watchers = entry.watchers.saturating_sub(1);
        if entry.watchers == 0
            && let Some(entry) = feeds.remove(id)
        {
            entry.feed.stop.notify_one();
        }
    }

    /// A reader that could not start leaves the map, so the next watcher starts a new one.
    fn forget(&self, id: &LiveId, feed: &Arc<Feed>) {
        if let Ok(mut feeds) = self.feeds.lock()
            && feeds.get(id).is_some_and(|e| Arc::ptr_eq(&e.feed, feed))
        {
            feeds.remove(id);
        }
    }
}

/// The room's one reader on this replica: from the log's newest event on, every event to the
/// channel, until the last watcher leaves.
async fn read_room(hub: Arc<Hub>, id: LiveId, feed: Arc<Feed>, state: watch::Sender<ReaderState>) {
    let store = hub.store.clone();
    let started = async {
        let last = store.events().last_event_id(&id).await?;
        let watcher = store.events().watcher(&id, BLOCK).await?;
        Ok::<(String, Watcher), StoreError>((last, watcher))
    };
    let (mut last, mut watcher) = tokio::select! {
        _ = feed.stop.notified() => return,
        started = started => match started {
            Ok(started) => started,
            Err(e) => {
                tracing::warn!(live_id = %id, error = %e, "event reader could not start");
                hub.forget(&id, &feed);
                let _ = state.send(ReaderState::Failed);
                return;
            }
        },
    };
    let _ = state.send(ReaderState::Reading);
    loop {
        tokio::select! {
            _ = feed.stop.notified() => return,
            read = watcher.next(&last, BLOCK) => match read {
                Ok(events) => {
                    for event in events {
                        last = event.id.clone();
                        // no receiver left: the stop notice follows
                        let _ = feed.tx.send(Arc::new(event));
                    }
                }
                Err(e) => {
                    tracing::info!(live_id = %id, error = %e, "event reader lost redis; retrying");
                    tokio::select! {
                        _ = feed.stop.notified() => return,
                        _ = tokio::time::sleep(RETRY) => {}
                    }
                    if let Ok(fresh) = store.events().watcher(&id, BLOCK).await {
                        watcher = fresh;
                    }
                }
            },
        }
    }
}
