//! The room's event log: a Redis stream written by the room's own scripts (so an event exists if
//! and only if its change happened), read by SSE watchers (here) and drained by webhook delivery
//! (`webhooks.rs`). The users' stream slots (the per-user cap on open streams) are here too.

use std::time::Duration;

use redis::Value;

use super::calls::{self, SlotOp, SlotReply};
use super::connection::Connection;
use super::core::{Core, handle};
use super::reply::{array, text};
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};

/// How long a deleted room's event log stays without webhooks (CONTRACT section 5: at most 60 s,
/// for watchers to read `live_ended`).
pub(super) const DELETED_LOG_TTL_MS: u64 = 60_000;

/// Streams whose slots one `sse_renew.lua` call renews (a bound on the call's work).
pub const SLOT_RENEW_CALL_MAX: usize = 500;

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
pub(super) fn millis(d: Duration) -> u64 {
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
pub(super) fn stream_reply(v: &Value) -> Vec<StoredEvent> {
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

handle! {
    /// A room's event log as its watchers read it, and the users' stream slots.
    EventLog
}

impl EventLog {
    /// Takes a slot of the user's open streams (over all replicas): `Held` when taken, `Full`
    /// when the user is at `cap`, with the time until the soonest slot lapses and the streams
    /// holding the slots.
    pub async fn open_stream_slot(
        &self,
        user: &UserId,
        stream: &str,
        cap: u32,
        ttl: Duration,
    ) -> StoreResult<SlotReply> {
        self.stream_slot(SlotOp::Open, user, stream, cap, ttl).await
    }

    /// Frees the slots of `streams`, whose replicas' leases the caller found gone. Answers the
    /// slots freed (0 when they were freed already: idempotent).
    pub async fn reap_stream_slots(&self, user: &UserId, streams: &[String]) -> StoreResult<u64> {
        if streams.is_empty() {
            return Ok(0);
        }
        self.call(&calls::SseReap { user, streams }).await
    }

    /// Renews this replica's lease for `ttl`; answers whether it had lapsed (or never was):
    /// then other replicas may have freed its streams' slots, which the caller takes again.
    pub async fn keep_replica_lease(&self, token: &str, ttl: Duration) -> StoreResult<bool> {
        let previous: Option<String> = self
            .command(
                redis::cmd("SET")
                    .arg(self.keys().replica_lease(token))
                    .arg(1)
                    .arg("PX")
                    .arg(millis(ttl).max(1))
                    .arg("GET")
                    .clone(),
            )
            .await?;
        Ok(previous.is_none())
    }

    /// Whether the replica with carrier token `token` holds its lease.
    pub async fn replica_alive(&self, token: &str) -> StoreResult<bool> {
        let exists: i64 = self
            .command(
                redis::cmd("EXISTS")
                    .arg(self.keys().replica_lease(token))
                    .clone(),
            )
            .await?;
        Ok(exists > 0)
    }

    /// Keeps many streams' slots another `ttl` (a replica's periodic renewal, fanout.rs): calls
    /// of at most `SLOT_RENEW_CALL_MAX` streams on a single Redis, one per stream on a Cluster
    /// (each user's slots are in the user's own hash tag). Answers the slots renewed; stops at
    /// the first call that fails (the rest are renewed at the next period, well within `ttl`).
    pub async fn renew_stream_slots(
        &self,
        slots: &[(UserId, String)],
        ttl: Duration,
    ) -> StoreResult<u64> {
        let per_call = if self.is_cluster() {
            1
        } else {
            SLOT_RENEW_CALL_MAX
        };
        let mut renewed = 0;
        for chunk in slots.chunks(per_call) {
            renewed += self
                .call(&calls::SseRenew {
                    slots: chunk,
                    ttl_ms: millis(ttl).max(1),
                })
                .await?;
        }
        Ok(renewed)
    }

    /// Frees the stream's slot.
    pub async fn close_stream_slot(&self, user: &UserId, stream: &str) -> StoreResult<()> {
        self.stream_slot(SlotOp::Close, user, stream, 0, Duration::ZERO)
            .await
            .map(|_| ())
    }

    async fn stream_slot(
        &self,
        op: SlotOp,
        user: &UserId,
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

    /// Whether `user` may watch the room: its anchor, or a present member. Answers the room of
    /// members that holds the user's presence (the room, or in a sharded room the user's shard
    /// room: store/shards.rs), which the user's open stream carries.
    pub async fn may_watch(&self, id: &LiveId, user: &UserId) -> StoreResult<LiveId> {
        let members_room = match self.layout(id).await? {
            Some(layout) => layout.member_room(id, user.as_str()),
            None => return Err(crate::store::StoreError::NotFound),
        };
        let may = self
            .call(&calls::MayWatch {
                room: &members_room,
                user,
                window_ms: self.window(),
            })
            .await;
        match may {
            Ok(()) => Ok(members_room),
            // a shard room that no member was routed to yet: the user is not a member
            Err(crate::store::StoreError::NotFound) if members_room.is_shard_room() => {
                Err(self.shard_not_found(&members_room).await)
            }
            Err(e) => Err(e),
        }
    }

    /// Redis's clock, unix ms (`TIME`): what the log's ids are made of.
    pub async fn redis_now_ms(&self) -> StoreResult<u64> {
        let (secs, micros): (u64, u64) = self.command(redis::cmd("TIME")).await?;
        Ok(secs * 1000 + micros / 1000)
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
        let conn = Connection::dedicated(&self.target, self.timeout + block)
            .await
            .map_err(StoreError::from)?;
        Ok(Watcher {
            conn,
            key: self.events_key(id),
        })
    }
}

impl Core {
    pub(super) fn note_events(&self, id: &LiveId) {
        if let Some(sink) = self.event_sink.get() {
            let _ = sink.send(id.clone());
        }
    }

    pub(super) fn events_key(&self, id: &LiveId) -> String {
        self.keys().room(id)[6].clone()
    }

    /// How long a deleted room's log stays: 60 s without webhooks; with them, until delivered
    /// (delivery removes it then), at most the webhook age limit.
    pub(super) fn deleted_log_ttl_ms(&self) -> u64 {
        if self.event_log.webhooks {
            self.event_log.webhook_max_age_ms.max(DELETED_LOG_TTL_MS)
        } else {
            DELETED_LOG_TTL_MS
        }
    }
}
