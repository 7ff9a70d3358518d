//! The room's event log: a Redis stream written by the room's own scripts (so an event exists if
//! and only if its change happened), read by SSE watchers and drained by webhook delivery.

use std::time::Duration;

use redis::Value;

use super::calls::{self, LeaseOp, SlotOp, SlotReply};
use super::connection::Connection;
use super::reply::{array, text};
use super::{Store, StoreError, StoreResult};
use crate::domain::ids::LiveId;

/// The consumer group of webhook delivery on every room's log.
const GROUP: &str = "webhooks";
/// The one consumer of that group: a lease makes sure a single replica delivers a room at a time.
const CONSUMER: &str = "deliverer";

/// How long delivered webhook events stay in a log (for watchers resuming with
/// `Last-Event-ID`) when webhooks are on; undelivered ones stay until delivered or too old.
const DELIVERED_KEEP_MS: u64 = 60_000;

/// How long a deleted room's event log stays without webhooks (CONTRACT section 5: at most 60 s,
/// for watchers to read `live_ended`).
pub(super) const DELETED_LOG_TTL_MS: u64 = 60_000;

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

/// One event as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The stream id (`ms-seq`): SSE `id:`, and part of the webhook's event_id.
    pub id: String,
    /// `live_started`, `member_joined`, ...
    pub kind: String,
    /// The event as JSON: at least `live_id`, `type`, `at` (unix ms).
    pub data: String,
    /// For webhooks only (a member event of a room above the member-event threshold).
    pub webhook_only: bool,
}

impl StoredEvent {
    /// The id as numbers, for ordering (`None` when it is not `ms-seq`).
    pub fn position(id: &str) -> Option<(u64, u64)> {
        let (ms, seq) = id.split_once('-')?;
        Some((ms.parse().ok()?, seq.parse().ok()?))
    }
}

/// A duration in whole ms, as scripts take it.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Reads `[[id, [field, value, ...]], ...]`.
fn entries(v: &Value) -> Vec<StoredEvent> {
    let Some(items) = array(v) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|entry| {
            let parts = array(entry)?;
            let id = text(parts.first()?)?;
            let fields = array(parts.get(1)?)?;
            let mut kind = String::new();
            let mut data = String::new();
            let mut webhook_only = false;
            for pair in fields.chunks(2) {
                if let [k, v] = pair {
                    match text(k)?.as_str() {
                        "type" => kind = text(v)?,
                        "data" => data = text(v)?,
                        "w" => webhook_only = true,
                        _ => {}
                    }
                }
            }
            Some(StoredEvent {
                id,
                kind,
                data,
                webhook_only,
            })
        })
        .collect()
}

/// Reads an XREAD / XREADGROUP answer: `[[key, entries]]` (or nil when nothing came).
fn stream_reply(v: &Value) -> Vec<StoredEvent> {
    array(v)
        .and_then(|streams| streams.first())
        .and_then(array)
        .and_then(|s| s.get(1))
        .map(entries)
        .unwrap_or_default()
}

/// A connection of its own for blocking reads of one room's log: the room's one reader on a
/// replica (see `crate::fanout`).
pub struct Watcher {
    conn: Connection,
    key: String,
}

impl Watcher {
    /// Events after `after`, waiting up to `block` for the first.
    pub async fn next(&mut self, after: &str, block: Duration) -> StoreResult<Vec<StoredEvent>> {
        let cmd = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(after)
            .clone();
        let answer: Value = cmd.query_async(&mut self.conn).await?;
        Ok(stream_reply(&answer))
    }
}

impl Store {
    /// Webhook delivery listens here for rooms whose log grew.
    pub fn set_event_sink(&self, sink: tokio::sync::mpsc::UnboundedSender<LiveId>) {
        let _ = self.inner.event_sink.set(sink);
    }

    pub(super) fn note_events(&self, id: &LiveId) {
        if let Some(sink) = self.inner.event_sink.get() {
            let _ = sink.send(id.clone());
        }
    }

    fn events_key(&self, id: &LiveId) -> String {
        self.keys().room(id)[6].clone()
    }

    /// The settings the event logs were written with.
    pub fn event_log(&self) -> EventLogSettings {
        self.inner.event_log
    }

    /// How long a deleted room's log stays: 60 s without webhooks; with them, until delivered
    /// (delivery removes it then), at most the webhook age limit.
    pub(super) fn deleted_log_ttl_ms(&self) -> u64 {
        if self.inner.event_log.webhooks {
            self.inner
                .event_log
                .webhook_max_age_ms
                .max(DELETED_LOG_TTL_MS)
        } else {
            DELETED_LOG_TTL_MS
        }
    }

    /// Takes a slot of the user's open streams (over all replicas): `Ok(None)` when taken,
    /// `Ok(Some(ms))` when the user is at `cap`, with the time until the soonest slot lapses.
    pub async fn open_stream_slot(
        &self,
        user: &str,
        stream: &str,
        cap: u32,
        ttl: Duration,
    ) -> StoreResult<Option<u64>> {
        Ok(
            match self
                .stream_slot(SlotOp::Open, user, stream, cap, ttl)
                .await?
            {
                SlotReply::Held => None,
                SlotReply::Full { wait_ms } => Some(wait_ms),
            },
        )
    }

    /// Keeps the stream's slot (its keep-alive).
    pub async fn renew_stream_slot(
        &self,
        user: &str,
        stream: &str,
        ttl: Duration,
    ) -> StoreResult<()> {
        self.stream_slot(SlotOp::Renew, user, stream, 0, ttl)
            .await
            .map(|_| ())
    }

    /// Frees the stream's slot.
    pub async fn close_stream_slot(&self, user: &str, stream: &str) -> StoreResult<()> {
        self.stream_slot(SlotOp::Close, user, stream, 0, Duration::ZERO)
            .await
            .map(|_| ())
    }

    async fn stream_slot(
        &self,
        op: SlotOp,
        user: &str,
        stream: &str,
        cap: u32,
        ttl: Duration,
    ) -> StoreResult<SlotReply> {
        self.call(&calls::SseSlot {
            user,
            op,
            stream,
            cap,
            // at least 1 ms: a slot with no time to live would lapse as it is taken, and its
            // PEXPIRE would drop the user's other slots with it (a close reads no ttl)
            ttl_ms: millis(ttl).max(1),
        })
        .await
    }

    /// Delivery has everything up to `upto`: the log keeps what is newer, and what was
    /// delivered in the last minute (for watchers resuming with `Last-Event-ID`).
    pub async fn trim_delivered(&self, id: &LiveId, upto: &str) -> StoreResult<()> {
        let Some((ms, _)) = StoredEvent::position(upto) else {
            return Ok(());
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let min = ms.min(now.saturating_sub(DELIVERED_KEEP_MS));
        let cmd = redis::cmd("XTRIM")
            .arg(self.events_key(id))
            .arg("MINID")
            .arg("~")
            .arg(format!("{min}-0"))
            .clone();
        let _: i64 = self.command(cmd).await?;
        Ok(())
    }

    /// Whether `user` may watch the room: its anchor, or a present member.
    pub async fn may_watch(&self, id: &LiveId, user: &str) -> StoreResult<()> {
        self.call(&calls::MayWatch {
            room: id,
            user,
            window_ms: self.window(),
        })
        .await
    }

    /// The id of the log's newest event ("0-0" when it has none): a watcher starting now reads
    /// after it.
    pub async fn last_event_id(&self, id: &LiveId) -> StoreResult<String> {
        let cmd = redis::cmd("XREVRANGE")
            .arg(self.events_key(id))
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .clone();
        let answer: Value = self.command(cmd).await?;
        Ok(entries(&answer)
            .pop()
            .map(|e| e.id)
            .unwrap_or_else(|| "0-0".into()))
    }

    /// Events after `after`, oldest first, at most `count`.
    pub async fn events_after(
        &self,
        id: &LiveId,
        after: &str,
        count: usize,
    ) -> StoreResult<Vec<StoredEvent>> {
        let cmd = redis::cmd("XRANGE")
            .arg(self.events_key(id))
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .clone();
        let answer: Value = self.command(cmd).await?;
        Ok(entries(&answer))
    }

    /// A watcher of the room's log on a connection of its own (blocking reads would stall the
    /// shared one). `block` bounds each read; the connection's timeout allows for it.
    pub async fn watcher(&self, id: &LiveId, block: Duration) -> StoreResult<Watcher> {
        let conn = Connection::dedicated(&self.inner.target, self.inner.timeout + block)
            .await
            .map_err(StoreError::from)?;
        Ok(Watcher {
            conn,
            key: self.events_key(id),
        })
    }

    // ---- webhook delivery ----

    /// Marks rooms as having events to deliver (one command for the batch).
    pub async fn mark_for_delivery(&self, ids: &[LiveId]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut cmd = redis::cmd("ZADD");
        cmd.arg(self.keys().webhook_pending()).arg("NX");
        for id in ids {
            cmd.arg(now).arg(id.as_str());
        }
        let _: i64 = self.command(cmd).await?;
        Ok(())
    }

    /// Rooms with events to deliver, oldest mark first.
    pub async fn rooms_to_deliver(&self, count: usize) -> StoreResult<Vec<LiveId>> {
        let cmd = redis::cmd("ZRANGE")
            .arg(self.keys().webhook_pending())
            .arg(0)
            .arg(count.max(1) - 1)
            .clone();
        let ids: Vec<String> = self.command(cmd).await?;
        Ok(ids.iter().filter_map(|raw| LiveId::parse(raw)).collect())
    }

    /// Takes the room's delivery lease for `ttl` (or extends it when `owner` holds it already);
    /// false when another replica delivers the room.
    pub async fn take_delivery_lease(
        &self,
        id: &LiveId,
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        self.delivery_lease(id, LeaseOp::Take, owner, ttl).await
    }

    /// Extends the lease `owner` holds by `ttl`; false when it lost the lease (it ran out and
    /// another replica took it).
    pub async fn renew_delivery_lease(
        &self,
        id: &LiveId,
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        self.delivery_lease(id, LeaseOp::Renew, owner, ttl).await
    }

    /// Gives up the lease `owner` holds (nothing when it does not hold it any more). `ttl` is
    /// not read: the lease's call takes one whatever its operation.
    pub async fn release_delivery_lease(
        &self,
        id: &LiveId,
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        self.delivery_lease(id, LeaseOp::Release, owner, ttl).await
    }

    async fn delivery_lease(
        &self,
        id: &LiveId,
        op: LeaseOp,
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        self.call(&calls::Lease {
            room: id,
            op,
            owner,
            ttl_ms: millis(ttl),
        })
        .await
    }

    /// The next events to deliver: first those read before but not acknowledged (a delivery cut
    /// short), then new ones. `None` when the room's log is gone.
    pub async fn events_to_deliver(
        &self,
        id: &LiveId,
        count: usize,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        let key = self.events_key(id);
        for from in ["0", ">"] {
            let read = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(GROUP)
                .arg(CONSUMER)
                .arg("COUNT")
                .arg(count)
                .arg("STREAMS")
                .arg(&key)
                .arg(from)
                .clone();
            let answer: Result<Value, StoreError> = self.command(read.clone()).await;
            let answer = match answer {
                Err(StoreError::Internal(e)) if e.contains("NOGROUP") => {
                    let exists: i64 = self.command(redis::cmd("EXISTS").arg(&key).clone()).await?;
                    if exists == 0 {
                        return Ok(None);
                    }
                    let create = redis::cmd("XGROUP")
                        .arg("CREATE")
                        .arg(&key)
                        .arg(GROUP)
                        .arg("0")
                        .clone();
                    match self.command::<Value>(create).await {
                        Ok(_) => {}
                        Err(StoreError::Internal(e)) if e.contains("BUSYGROUP") => {}
                        Err(e) => return Err(e),
                    }
                    self.command(read).await?
                }
                other => other?,
            };
            let events = stream_reply(&answer);
            if !events.is_empty() {
                return Ok(Some(events));
            }
        }
        Ok(Some(Vec::new()))
    }

    /// The receiver has the event.
    pub async fn delivered(&self, id: &LiveId, event_id: &str) -> StoreResult<()> {
        let cmd = redis::cmd("XACK")
            .arg(self.events_key(id))
            .arg(GROUP)
            .arg(event_id)
            .clone();
        let _: i64 = self.command(cmd).await?;
        Ok(())
    }

    /// Nothing left to deliver: the room leaves the pending set (and a deleted room's log goes).
    /// Looks again afterwards, so an event written meanwhile is not left behind.
    pub async fn delivery_done(&self, id: &LiveId) -> StoreResult<bool> {
        let rem = redis::cmd("ZREM")
            .arg(self.keys().webhook_pending())
            .arg(id.as_str())
            .clone();
        let _: i64 = self.command(rem).await?;
        match self.events_to_deliver(id, 1).await? {
            Some(more) if !more.is_empty() => {
                self.mark_for_delivery(std::slice::from_ref(id)).await?;
                Ok(false)
            }
            _ => {
                let room_exists: i64 = self
                    .command(redis::cmd("EXISTS").arg(&self.keys().room(id)[0]).clone())
                    .await?;
                if room_exists == 0 {
                    let _: i64 = self
                        .command(redis::cmd("DEL").arg(self.events_key(id)).clone())
                        .await?;
                }
                Ok(true)
            }
        }
    }
}
