//! The room's event log: a Redis stream written by the room's own scripts (so an event exists if
//! and only if its change happened), read by SSE watchers and drained by webhook delivery.

use std::time::Duration;

use redis::Value;

use super::connection::Connection;
use super::reply::{array, status, text};
use super::{Store, StoreError, StoreResult};
use crate::domain::ids::LiveId;

/// The consumer group of webhook delivery on every room's log.
const GROUP: &str = "webhooks";
/// The one consumer of that group: a lease makes sure a single replica delivers a room at a time.
const CONSUMER: &str = "deliverer";

/// One event as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The stream id (`ms-seq`): SSE `id:`, and part of the webhook's event_id.
    pub id: String,
    /// `live_started`, `member_joined`, ...
    pub kind: String,
    /// The event as JSON: at least `live_id`, `type`, `at` (unix ms).
    pub data: String,
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
            for pair in fields.chunks(2) {
                if let [k, v] = pair {
                    match text(k)?.as_str() {
                        "type" => kind = text(v)?,
                        "data" => data = text(v)?,
                        _ => {}
                    }
                }
            }
            Some(StoredEvent { id, kind, data })
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

/// A connection of its own for blocking reads of one room's log (an SSE stream holds one).
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

    /// Whether `user` may watch the room: its anchor, or a present member.
    pub async fn may_watch(&self, id: &LiveId, user: &str) -> StoreResult<()> {
        let args = [user.to_owned(), self.window().to_string()];
        let answer: Value = self
            .eval(&self.scripts().may_watch, &self.keys().room(id), &args)
            .await?;
        status(&answer, "may_watch").map(|_| ())
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

    /// Takes, renews or releases the room's delivery lease; true while `owner` holds it.
    pub async fn delivery_lease(
        &self,
        id: &LiveId,
        op: &str,
        owner: &str,
        ttl: Duration,
    ) -> StoreResult<bool> {
        let keys = [self.keys().webhook_lease(id)];
        let args = [op.to_owned(), owner.to_owned(), ttl.as_millis().to_string()];
        let held: i64 = self.eval(&self.scripts().lease, &keys, &args).await?;
        Ok(held == 1)
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
