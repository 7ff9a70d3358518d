//! The only thing that talks to Redis. One node or a cluster behind one type; every operation is
//! a script (or a plain command) of one round trip, bounded by a timeout.

mod calls;
mod cards;
mod connection;
mod discovery;
mod events;
mod heartbeats;
mod index;
pub mod inspect;
mod keys;
mod moderation;
mod page_cache;
mod presence;
mod ratelimit;
mod reply;
mod rooms;
mod scripts;
mod streams;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use redis::{FromRedisValue, Value};

pub use crate::metrics::Gauges;
pub use connection::{Connection, RedisTarget};
pub use events::{EventLogSettings, StoredEvent, Watcher};
pub use moderation::{Ban, Kicked, RoomStats};
pub use page_cache::SharedPage;
pub use presence::Heartbeat;
pub use sweep::SweepReport;

use self::keys::Keys;
use self::scripts::Scripts;
use crate::domain::ids::LiveId;

/// Presence and retention timings, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// A member (or the anchor) is present while its last heartbeat is younger than this.
    pub member_window_ms: u64,
    /// A live room closes once its anchor has been silent this long.
    pub anchor_close_ms: u64,
    /// Ended rooms are removed this long after they end (0: kept until deleted).
    pub ended_retention_ms: u64,
    /// Rooms not ended one anchor may have at once (0: no limit). A quota, not a timing, but
    /// read from the same settings at the same place.
    pub open_rooms_per_anchor: u32,
    /// How long this replica may keep a hot page of the live list or search
    /// (`LIVEROOM_LIST_CACHE_MS`; 0: no cache; store/page_cache.rs).
    pub list_cache_ms: u64,
    /// Heartbeats one script call may carry (`LIVEROOM_HEARTBEAT_BATCH_MAX`; 1: no batching;
    /// store/heartbeats.rs).
    pub heartbeat_batch_max: usize,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("no such room")]
    NotFound,
    #[error("the caller is not the room's anchor")]
    NotAnchor,
    #[error("{0}")]
    Conflict(String),
    #[error("the user is not a member of the room")]
    NotMember,
    /// The user is banned from the room until then (unix ms, Redis clock).
    #[error("banned until {0} ms")]
    Banned(i64),
    /// The request names something the room refuses (the message names the field).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("redis is unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected redis answer: {0}")]
    Internal(String),
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        use redis::ServerErrorKind as K;
        let transient = e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || matches!(
                e.kind(),
                redis::ErrorKind::Server(
                    K::BusyLoading
                        | K::ClusterDown
                        | K::MasterDown
                        | K::TryAgain
                        | K::Moved
                        | K::Ask
                )
            );
        if transient {
            Self::Unavailable(e.to_string())
        } else {
            Self::Internal(e.to_string())
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Connection,
    /// Where Redis is, for connections of their own (blocking reads of event logs).
    target: RedisTarget,
    /// Told the rooms whose event log grew, when webhooks are on.
    event_sink: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<LiveId>>,
    keys: Keys,
    scripts: Scripts,
    stats: crate::metrics::RedisStats,
    timings: Timings,
    timeout: Duration,
    pages: page_cache::PageCache,
    /// What the event log is read by (webhooks or not) and its member-event threshold.
    event_log: EventLogSettings,
    /// Gathers the heartbeats that arrive together into one script call (started on first use).
    heartbeats: std::sync::OnceLock<heartbeats::Batcher>,
}

impl Store {
    pub fn new(
        conn: Connection,
        target: RedisTarget,
        key_prefix: &str,
        timings: Timings,
        timeout: Duration,
        event_log: EventLogSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                conn,
                target,
                event_sink: std::sync::OnceLock::new(),
                keys: Keys::new(key_prefix),
                stats: Default::default(),
                scripts: Scripts::with_event_log(&event_log),
                timings,
                timeout,
                pages: page_cache::PageCache::new(timings.list_cache_ms),
                event_log,
                heartbeats: std::sync::OnceLock::new(),
            }),
        }
    }

    fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    fn scripts(&self) -> &Scripts {
        &self.inner.scripts
    }

    fn pages(&self) -> &page_cache::PageCache {
        &self.inner.pages
    }

    fn timings(&self) -> Timings {
        self.inner.timings
    }

    fn window(&self) -> u64 {
        self.inner.timings.member_window_ms
    }

    /// Sends a prepared script invocation, bounded by the store's timeout.
    async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> StoreResult<T> {
        let mut conn = self.inner.conn.clone();
        let started = std::time::Instant::now();
        let answer =
            tokio::time::timeout(self.inner.timeout, invocation.invoke_async(&mut conn)).await;
        self.observed(started, answer)
    }

    /// One plain command, bounded like `eval`.
    async fn command<T: FromRedisValue>(&self, cmd: redis::Cmd) -> StoreResult<T> {
        let mut conn = self.inner.conn.clone();
        let started = std::time::Instant::now();
        let answer = tokio::time::timeout(self.inner.timeout, cmd.query_async(&mut conn)).await;
        self.observed(started, answer)
    }

    /// Counts a call for /metrics and turns a timeout into Unavailable.
    fn observed<T>(
        &self,
        started: std::time::Instant,
        answer: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> StoreResult<T> {
        self.inner.stats.latency.observe(started.elapsed());
        let result = match answer {
            Ok(result) => result.map_err(StoreError::from),
            Err(_) => Err(StoreError::Unavailable(
                "redis did not answer in time".into(),
            )),
        };
        if matches!(result, Err(StoreError::Unavailable(_))) {
            self.inner
                .stats
                .errors
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        result
    }

    /// Redis call counts and latency, for /metrics.
    pub fn redis_stats(&self) -> &crate::metrics::RedisStats {
        &self.inner.stats
    }

    /// Whether Redis answers now (for `/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        let _: Value = self.command(redis::cmd("PING")).await?;
        Ok(())
    }
}
