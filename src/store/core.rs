//! What every handle of the store shares: the connection, the script runner, the key schema and
//! the scripts, the timings, and this replica's count of its own changes to the indexes.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{FromRedisValue, Value};

use super::calls::{HeartbeatQueue, Invocation, LikeQueue, ScriptCall};
use super::connection::{Connection, RedisTarget};
use super::keys::Keys;
use super::scripts::Scripts;
use super::{EventLogSettings, StoreError, StoreResult, Timings};
use crate::domain::ids::LiveId;

/// Defines a handle of the store: a small type on the shared core. It reads through to the core
/// (`Deref`), so a handle's operations use the runner, the keys and the shared steps directly.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            core: std::sync::Arc<$crate::store::core::Core>,
        }

        impl $name {
            pub(in crate::store) fn new(core: std::sync::Arc<$crate::store::core::Core>) -> Self {
                Self { core }
            }
        }

        impl std::ops::Deref for $name {
            type Target = std::sync::Arc<$crate::store::core::Core>;

            fn deref(&self) -> &Self::Target {
                &self.core
            }
        }
    };
}
pub(super) use handle;

tokio::task_local! {
    /// When the Redis time of the request being served ends: `LIVEROOM_REDIS_TIMEOUT_MS` after
    /// its first call (set then).
    static REQUEST_DEADLINE: Cell<Option<Instant>>;
}

/// Runs a request's handler with one Redis timeout for the whole request: its calls share
/// `LIVEROOM_REDIS_TIMEOUT_MS` from the first one, and once it is spent the next call fails at
/// once (503/50300) without reaching Redis, so a request never waits for two timeouts in a row
/// (a room created, then its index write and its anchor's count each timing out, say). Calls
/// outside it (background work, an event stream's body) each have the whole timeout.
pub async fn one_redis_timeout<F: Future>(handler: F) -> F::Output {
    REQUEST_DEADLINE.scope(Cell::new(None), handler).await
}

/// Runs `work` that another task does for requests (the heartbeat batcher's calls) under the
/// earliest of their deadlines, so that it outlives none of them.
pub(super) async fn within_deadline<F: Future>(deadline: Instant, work: F) -> F::Output {
    REQUEST_DEADLINE
        .scope(Cell::new(Some(deadline)), work)
        .await
}

/// How many (room, user) profiles a replica remembers for its heartbeats (store/heartbeats.rs;
/// its memory: docs/operations.md, *Sizing*): a million viewers beating through one replica.
const PROFILES_SENT_MAX: usize = 1 << 20;

pub struct Core {
    conn: Connection,
    /// Where Redis is, for connections of their own (blocking reads of event logs).
    pub(super) target: RedisTarget,
    /// Told the rooms whose event log grew, when webhooks are on.
    pub(super) event_sink: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<LiveId>>,
    keys: Keys,
    scripts: Scripts,
    pub(super) stats: crate::metrics::RedisStats,
    timings: Timings,
    pub(super) timeout: Duration,
    /// What the event log is read by (webhooks or not) and its member-event threshold.
    pub(super) event_log: EventLogSettings,
    /// Gathers the heartbeats that arrive together into one script call (started on first use).
    pub(super) heartbeats: std::sync::OnceLock<HeartbeatQueue>,
    /// Gathers the likes that arrive together into one script call (started on first use).
    pub(super) likes: std::sync::OnceLock<LikeQueue>,
    /// The profile each (room, user) last sent in a heartbeat that counted, by digest
    /// (store/heartbeats.rs): a heartbeat with the same profile does not send it again.
    pub(super) profiles_sent: quick_cache::sync::Cache<u64, u64>,
    /// Rooms' layouts over shard rooms, once fixed (store/shards.rs).
    pub(super) layouts: quick_cache::sync::Cache<LiveId, super::layout::Layout>,
    /// Sharded rooms' shard rooms' counts, for join answers (store/shards.rs).
    pub(super) shard_counts: quick_cache::sync::Cache<LiveId, super::layout::ShardCounts>,
    /// Changes this replica made to the indexes (see `Discovery::generation`).
    index_changes: AtomicU64,
    /// The test hook of `Store::abandon_follow_ups`.
    pub(super) abandon_follow_ups: std::sync::atomic::AtomicBool,
    /// The test hook of `Store::abandon_pk_after` (0: off).
    pub(super) abandon_pk_after: std::sync::atomic::AtomicUsize,
}

impl Core {
    pub(super) fn new(
        conn: Connection,
        target: RedisTarget,
        key_prefix: &str,
        timings: Timings,
        timeout: Duration,
        event_log: EventLogSettings,
    ) -> Self {
        Self {
            conn,
            target,
            event_sink: std::sync::OnceLock::new(),
            keys: Keys::new(key_prefix),
            stats: Default::default(),
            scripts: Scripts::with_event_log(&event_log),
            timings,
            timeout,
            event_log,
            heartbeats: std::sync::OnceLock::new(),
            likes: std::sync::OnceLock::new(),
            profiles_sent: quick_cache::sync::Cache::new(PROFILES_SENT_MAX),
            layouts: quick_cache::sync::Cache::new(super::layout::LAYOUTS_MAX),
            shard_counts: quick_cache::sync::Cache::new(super::layout::LAYOUTS_MAX),
            index_changes: AtomicU64::new(0),
            abandon_follow_ups: std::sync::atomic::AtomicBool::new(false),
            abandon_pk_after: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    pub(super) fn keys(&self) -> &Keys {
        &self.keys
    }

    pub(super) fn scripts(&self) -> &Scripts {
        &self.scripts
    }

    pub(super) fn timings(&self) -> Timings {
        self.timings
    }

    pub(super) fn window(&self) -> u64 {
        self.timings.member_window_ms
    }

    pub(super) fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// This replica changed an index (and so what a list or a search answers).
    pub(super) fn index_changed(&self) {
        self.index_changes.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn index_changes(&self) -> u64 {
        self.index_changes.load(Ordering::Acquire)
    }

    /// Runs one script call: one EVALSHA (plus SCRIPT LOAD and a retry the first time a node
    /// lacks the script), bounded by the store's timeout.
    pub(super) async fn call<C: ScriptCall>(&self, call: &C) -> StoreResult<C::Reply> {
        let mut invocation = Invocation::new(C::script(self.scripts()));
        call.keys_and_args(self.keys(), &mut invocation);
        let answer: Value = self.invoke(invocation.prepared()).await?;
        C::reply(answer)
    }

    /// Sends a prepared script invocation, bounded by the store's timeout.
    pub(super) async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        let (started, limit) = self.time_left()?;
        let answer = tokio::time::timeout(limit, invocation.invoke_async(&mut conn)).await;
        self.observed(started, answer)
    }

    /// One plain command, bounded like `eval`.
    pub(super) async fn command<T: FromRedisValue>(&self, cmd: redis::Cmd) -> StoreResult<T> {
        let mut conn = self.conn.clone();
        let (started, limit) = self.time_left()?;
        let answer = tokio::time::timeout(limit, cmd.query_async(&mut conn)).await;
        self.observed(started, answer)
    }

    /// When the request being served must have its Redis answers (its first call starts the
    /// clock, as here): for a request that waits on work another task does for it.
    pub(super) fn request_deadline(&self) -> StoreResult<Instant> {
        let (now, left) = self.time_left()?;
        Ok(now + left)
    }

    /// Now, and how long a call may wait for Redis: the store's timeout, or within a request
    /// (`one_redis_timeout`) what is left of it; none left is Unavailable, not sent.
    fn time_left(&self) -> StoreResult<(Instant, Duration)> {
        let now = Instant::now();
        let deadline = REQUEST_DEADLINE.try_with(|deadline| match deadline.get() {
            Some(d) => d,
            None => {
                let d = now + self.timeout;
                deadline.set(Some(d));
                d
            }
        });
        match deadline {
            Err(_) => Ok((now, self.timeout)),
            Ok(d) if d > now => Ok((now, d - now)),
            Ok(_) => {
                self.stats.unsent.fetch_add(1, Ordering::Relaxed);
                Err(StoreError::Unavailable(
                    "the request's time for redis is spent (LIVEROOM_REDIS_TIMEOUT_MS)".into(),
                ))
            }
        }
    }

    /// Counts a call for /metrics and turns a timeout into Unavailable.
    fn observed<T>(
        &self,
        started: Instant,
        answer: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> StoreResult<T> {
        self.stats.latency.observe(started.elapsed());
        let result = match answer {
            Ok(result) => result.map_err(StoreError::from),
            Err(_) => Err(StoreError::Unavailable(
                "redis did not answer in time".into(),
            )),
        };
        if matches!(result, Err(StoreError::Unavailable(_))) {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}
