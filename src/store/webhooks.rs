//! Webhook delivery of the rooms' event logs: which rooms have events to deliver, the lease that
//! lets one replica deliver a room at a time, the consumer group's reads, and the trim of what
//! was delivered.

use std::time::Duration;

use redis::Value;

use super::calls::{self, LeaseOp};
use super::core::handle;
use super::events::{StoredEvent, millis, stream_reply};
use super::{StoreError, StoreResult};
use crate::domain::ids::LiveId;

/// The consumer group of webhook delivery on every room's log.
const GROUP: &str = "webhooks";
/// The one consumer of that group: a lease makes sure a single replica delivers a room at a time.
const CONSUMER: &str = "deliverer";

/// How long delivered webhook events stay in a log (for watchers resuming with
/// `Last-Event-ID`) when webhooks are on; undelivered ones stay until delivered or too old.
const DELIVERED_KEEP_MS: u64 = 60_000;

handle! {
    /// Webhook delivery of the rooms' event logs.
    Webhooks
}

impl Webhooks {
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
        // rooms of members: a sharded room's shard rooms keep their members' events (shards.rs)
        Ok(ids
            .iter()
            .filter_map(|raw| LiveId::parse_member_room(raw))
            .collect())
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

    /// The webhook backlog of all replicas: how many rooms have events waiting, and when the
    /// oldest of them was marked (unix ms, the marking replica's clock). Two O(1) / O(log n)
    /// reads of the pending set.
    pub async fn backlog(&self) -> StoreResult<(u64, Option<u64>)> {
        let key = self.keys().webhook_pending();
        let rooms: u64 = self.command(redis::cmd("ZCARD").arg(&key).clone()).await?;
        let oldest: Vec<(String, f64)> = self
            .command(
                redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(0)
                    .arg("WITHSCORES")
                    .clone(),
            )
            .await?;
        Ok((rooms, oldest.first().map(|(_, at)| *at as u64)))
    }

    /// The receiver has these events of the room (one XACK for a batch).
    pub async fn delivered_all(&self, id: &LiveId, event_ids: &[&str]) -> StoreResult<()> {
        if event_ids.is_empty() {
            return Ok(());
        }
        let mut cmd = redis::cmd("XACK");
        cmd.arg(self.events_key(id)).arg(GROUP);
        for event_id in event_ids {
            cmd.arg(*event_id);
        }
        let _: i64 = self.command(cmd).await?;
        Ok(())
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
