//! The only thing that talks to Redis. One node or a cluster behind one type; every operation is
//! a script (or a plain command) of one round trip, bounded by a timeout.
//!
//! `Store` is a handle on one shared core (the connection, the script runner, the key schema and
//! the scripts, `core.rs`); what a caller can do is grouped in small handles on the same core,
//! one per concern and each in a file of its own: `rooms()`, `presence()`, `discovery()`,
//! `events()` (a room's event log as watchers read it), `webhooks()` (delivery of the log),
//! `sweep()` and `moderation()`. A handle owns the calls of its scripts (`calls/`); what several
//! handles share (the indexes, the sweep schedule, the users' records) is on the core.

mod batch;
mod calls;
mod cards;
mod connection;
mod core;
mod discovery;
mod events;
mod heartbeats;
mod index;
pub mod inspect;
mod intents;
mod keys;
mod layout;
mod likes;
mod moderation;
mod pk;
mod presence;
mod ratelimit;
mod reply;
mod rooms;
mod scripts;
mod seats;
mod shards;
mod streams;
mod sweep;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use redis::Value;

pub use crate::metrics::Gauges;
pub use calls::Liked;
pub use calls::{CarryAnswer, SlotReply, WentAway};
pub use connection::{Connection, RedisTarget};
pub use core::one_redis_timeout;
pub use discovery::Discovery;
pub use events::EventLog;
pub use events::{StoredEvent, Watcher};
pub use likes::{LIKERS_PER_ROOM_MAX, Likes};
pub use moderation::{Ban, Kicked, Moderation, RoomStats};
pub use pk::{PK_INVITES_PER_HOUR, Pks};
pub use presence::{CARRY_CALL_MAX, Carried, Heartbeat, Presence};
pub use rooms::Rooms;
pub use seats::{MAX_SEAT_REQUESTS_PER_ROOM, Seats, Switched};
pub use sweep::{Sweep, SweepReport};
pub use webhooks::Webhooks;

use self::core::Core;

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
    /// Heartbeats one script call may carry (`LIVEROOM_HEARTBEAT_BATCH_MAX`; 1: no batching;
    /// store/heartbeats.rs).
    pub heartbeat_batch_max: usize,
    /// Co-host seats of a room created now (`LIVEROOM_SEATS_PER_ROOM`; store/seats.rs).
    pub seats_per_room: u32,
    /// A seat request of an `apply` room lapses after this long unanswered.
    pub seat_request_ms: u64,
    /// An unanswered PK invitation expires after this (`LIVEROOM_PK_INVITE_SECS`).
    pub pk_invite_ms: u64,
}

/// The settings of the room event logs, baked into the room scripts (`EVENT_LOG` in lib.lua).
#[derive(Debug, Clone, Copy)]
pub struct EventLogSettings {
    /// Webhook delivery reads the logs: they are trimmed by delivery, not by length.
    pub webhooks: bool,
    /// Above this many members a room writes no member events for watchers.
    pub member_events_max: u32,
    /// Webhooks still get those member events (`LIVEROOM_WEBHOOK_MEMBER_EVENTS=all`).
    pub webhook_member_events: bool,
    /// Undelivered webhook events older than this are dropped.
    pub webhook_max_age_ms: u64,
    /// Extends up to this many bytes of JSON ride along in `extends_updated`; larger ones are
    /// announced with their size only, so that an event stays small.
    pub extends_max_bytes: usize,
}

impl Default for EventLogSettings {
    fn default() -> Self {
        Self {
            webhooks: false,
            member_events_max: 500,
            webhook_member_events: false,
            webhook_max_age_ms: 86_400_000,
            extends_max_bytes: 1024,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("no such room")]
    NotFound,
    #[error("the caller is not the room's anchor")]
    NotAnchor,
    #[error("{0}")]
    Conflict(String),
    /// A PK conflict: a room already in a PK, or the PK not in a state that allows it.
    #[error("{0}")]
    PkConflict(String),
    #[error("the user is not a member of the room")]
    NotMember,
    /// A co-host seat conflict (no free seat, already seated or asking, not on a seat).
    #[error("{0}")]
    Seat(String),
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
                        // a primary demoted by a failover refuses the write: nothing written
                        | K::ReadOnly
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

/// The store: a cheap handle (clone it freely) on the one core every handle shares.
#[derive(Clone)]
pub struct Store {
    core: Arc<Core>,
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
            core: Arc::new(Core::new(
                conn, target, key_prefix, timings, timeout, event_log,
            )),
        }
    }

    /// A room's life: create, read, start, stop, delete, extends, the media server's hooks.
    pub fn rooms(&self) -> Rooms {
        Rooms::new(self.core.clone())
    }

    /// Members: join, leave, heartbeat, the member list.
    pub fn presence(&self) -> Presence {
        Presence::new(self.core.clone())
    }

    /// The live list, search and an anchor's rooms.
    pub fn discovery(&self) -> Discovery {
        Discovery::new(self.core.clone())
    }

    /// A room's event log as watchers read it, and the users' stream slots.
    pub fn events(&self) -> EventLog {
        EventLog::new(self.core.clone())
    }

    /// Webhook delivery: which rooms have events to deliver, the lease, the reads and the trim.
    pub fn webhooks(&self) -> Webhooks {
        Webhooks::new(self.core.clone())
    }

    /// The background sweep (lapses, closes, purges) and the gauges.
    pub fn sweep(&self) -> Sweep {
        Sweep::new(self.core.clone())
    }

    /// Likes: a room's total and each liker's own.
    pub fn likes(&self) -> Likes {
        Likes::new(self.core.clone())
    }

    /// Cross-room PK: invite, accept, reject, stop, extends, read.
    pub fn pks(&self) -> Pks {
        Pks::new(self.core.clone())
    }

    /// Kicks, bans and a room's stats.
    pub fn moderation(&self) -> Moderation {
        Moderation::new(self.core.clone())
    }

    /// Co-host seats: take or ask, the anchor's answer, leave, mic and camera, the list.
    pub fn seats(&self) -> Seats {
        Seats::new(self.core.clone())
    }

    /// Webhook delivery listens here for rooms whose log grew.
    pub fn set_event_sink(
        &self,
        sink: tokio::sync::mpsc::UnboundedSender<crate::domain::ids::LiveId>,
    ) {
        let _ = self.core.event_sink.set(sink);
    }

    /// The settings the event logs were written with.
    pub fn event_log(&self) -> EventLogSettings {
        self.core.event_log
    }

    /// Redis call counts and latency, for /metrics.
    pub fn redis_stats(&self) -> &crate::metrics::RedisStats {
        &self.core.stats
    }

    /// A test hook: from now on, every PK flow stops (as if its replica died) once `step` of
    /// its Redis steps are done (1: the reservation or intent, 2: the record, 3 and 4: each
    /// room, 5: the intent settled); 0: never.
    #[doc(hidden)]
    pub fn abandon_pk_after(&self, step: usize) {
        self.core
            .abandon_pk_after
            .store(step, std::sync::atomic::Ordering::Relaxed);
    }

    /// A test hook: from now on, changes that span slots stop right after the room's own
    /// script, as if this process died there (their intents are left for the sweep).
    #[doc(hidden)]
    pub fn abandon_follow_ups(&self) {
        self.core
            .abandon_follow_ups
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether Redis answers now (for `/readyz`).
    pub async fn ping(&self) -> StoreResult<()> {
        let _: Value = self.core.command(redis::cmd("PING")).await?;
        Ok(())
    }
}
