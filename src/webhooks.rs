//! Webhook delivery: every room event, POSTed to `LIVEROOM_WEBHOOK_URL` with a signature,
//! at least once, in order per room, shared among replicas.
//!
//! A room whose event log grew is marked in `idx:{rooms}:webhook_pending` (the replica that made
//! the change notes it; the marks of 20 ms go out as one command). Every replica walks that set;
//! a lease per room (`room:{L}:webhook_lease`) lets one replica at a time deliver the room, in log
//! order, through the log's consumer group `webhooks`: an event is acknowledged (XACK) after the
//! receiver answered 2xx, so a delivery cut short (a crash, a lost lease) resumes with the
//! unacknowledged events first. Receivers deduplicate by `event_id`.
//!
//! With webhooks on, the room scripts do not trim the logs: delivery trims what it delivered
//! (keeping the last minute of it for watchers resuming with `Last-Event-ID`), so a receiver
//! down for a long time gets every event afterwards, in order. An event older than
//! `LIVEROOM_WEBHOOK_MAX_AGE_SECS` is dropped undelivered, logged and counted
//! (`liveroom_webhook_dropped_total`).
//!
//! Batches (`LIVEROOM_WEBHOOK_BATCH_MAX` above 1): each room's delivery reads up to that many
//! events and hands them, as one unit, to the replica's batcher, then waits until the receiver
//! has them before it acknowledges them and reads on; the batcher packs whole units of many rooms
//! into one signed `{"events": [...]}` POST. A room has at most one unit out at a time and a unit
//! is never split, so the order per room holds with several POSTs in flight. Nothing waits on a
//! timer: while `POSTS_IN_FLIGHT` POSTs are out, the units that arrive gather for the next, so a
//! burst goes in full batches and a trickle goes at once.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::domain::ids::LiveId;
use crate::store::{Store, StoredEvent};

const LEASE: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Batched POSTs a replica has out at once (with `LIVEROOM_WEBHOOK_BATCH_MAX` above 1).
const POSTS_IN_FLIGHT: usize = 4;

/// Webhook delivery (`LIVEROOM_WEBHOOK_*`).
#[derive(Clone)]
pub struct WebhookConfig {
    pub url: url::Url,
    /// The HMAC-SHA256 key of `X-Liveroom-Signature`.
    pub secret: String,
    /// Whether webhooks get the member events of rooms above the watchers' threshold.
    pub member_events: MemberEvents,
    /// Events older than this are dropped undelivered.
    pub max_age_ms: u64,
    /// Events a POST may carry (1: one event a POST, its JSON the body).
    pub batch_max: usize,
}

/// Which member events webhooks get (`LIVEROOM_WEBHOOK_MEMBER_EVENTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberEvents {
    /// Every member_joined / member_left, of rooms above the watchers' threshold too (`all`).
    All,
    /// What watchers get (`none`).
    AsWatchers,
}

/// `X-Liveroom-Signature`: `t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}`.
pub fn signature(secret: &str, t: u64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(), // HMAC takes a key of any length
    };
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body sent for one event: the event's JSON plus its `event_id`.
fn body_of(id: &LiveId, event: &StoredEvent) -> String {
    json_of(id, event).to_string()
}

/// An event as a webhook carries it: its JSON plus its `event_id`.
fn json_of(id: &LiveId, event: &StoredEvent) -> serde_json::Value {
    let event_id = format!("{id}-{}", event.id);
    match serde_json::from_str::<serde_json::Value>(&event.data) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("event_id".into(), serde_json::Value::String(event_id));
            serde_json::Value::Object(map)
        }
        _ => serde_json::json!({"event_id": event_id, "type": event.kind}),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs delivery until `stop` turns true: the flusher of marks, and the walk over pending rooms.
pub async fn run(
    store: Store,
    config: WebhookConfig,
    mut noted: mpsc::UnboundedReceiver<LiveId>,
    mut stop: watch::Receiver<bool>,
) {
    let owner = uuid::Uuid::new_v4().to_string();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook client");
            return;
        }
    };
    let active: Arc<Mutex<HashSet<LiveId>>> = Arc::default();
    let units = (config.batch_max > 1).then(|| {
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(batcher(store.clone(), config.clone(), client.clone(), rx));
        tx
    });
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch: Vec<LiveId> = Vec::new();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            Some(id) = noted.recv() => {
                batch.push(id);
                // gather what else arrives within 20 ms, then one command for them all
                let until = tokio::time::sleep(Duration::from_millis(20));
                tokio::pin!(until);
                loop {
                    tokio::select! {
                        _ = &mut until => break,
                        Some(id) = noted.recv() => batch.push(id),
                    }
                }
                batch.sort();
                batch.dedup();
                if let Err(e) = store.webhooks().mark_for_delivery(&batch).await {
                    tracing::warn!(error = %e, "marking rooms for webhook delivery failed");
                }
                batch.clear();
            }
            _ = tick.tick() => {
                match store.webhooks().backlog().await {
                    Ok((rooms, oldest)) => {
                        let stats = store.redis_stats();
                        stats.webhook_backlog_rooms.store(rooms, Ordering::Relaxed);
                        stats.webhook_backlog_oldest_ms.store(oldest.unwrap_or(0), Ordering::Relaxed);
                    }
                    Err(e) => tracing::info!(error = %e, "reading the webhook backlog failed"),
                }
                let rooms = match store.webhooks().rooms_to_deliver(100).await {
                    Ok(rooms) => rooms,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading rooms to deliver failed");
                        continue;
                    }
                };
                for id in rooms {
                    let fresh = active.lock().map(|mut a| a.insert(id.clone())).unwrap_or(false);
                    if !fresh {
                        continue;
                    }
                    let (store, config, client, owner, active, units) =
                        (store.clone(), config.clone(), client.clone(), owner.clone(), active.clone(), units.clone());
                    tokio::spawn(async move {
                        match units {
                            Some(units) => deliver_room_batched(&store, &config, &units, &owner, &id).await,
                            None => deliver_room(&store, &config, &client, &owner, &id).await,
                        }
                        if let Ok(mut a) = active.lock() {
                            a.remove(&id);
                        }
                    });
                }
            }
        }
    }
}

/// Delivers one room's events in order while this replica holds its lease.
async fn deliver_room(
    store: &Store,
    config: &WebhookConfig,
    client: &reqwest::Client,
    owner: &str,
    id: &LiveId,
) {
    match store.webhooks().take_delivery_lease(id, owner, LEASE).await {
        Ok(true) => {}
        _ => return, // another replica delivers this room
    }
    loop {
        let events = match store.webhooks().events_to_deliver(id, 50).await {
            Ok(Some(events)) => events,
            Ok(None) => {
                // the log is gone (a deleted room past its time): nothing to deliver
                let _ = store.webhooks().delivery_done(id).await;
                break;
            }
            Err(e) => {
                tracing::warn!(live_id = %id, error = %e, "reading events to deliver failed");
                break;
            }
        };
        if events.is_empty() {
            match store.webhooks().delivery_done(id).await {
                Ok(true) | Err(_) => break,
                Ok(false) => continue,
            }
        }
        let backlog = &store.redis_stats().webhook_backlog_events;
        backlog.fetch_add(events.len() as u64, Ordering::Relaxed);
        for (n, event) in events.iter().enumerate() {
            let posted = post_until_accepted(store, config, client, owner, id, event).await;
            // this event is settled (or handed to the next owner): the rest still wait
            backlog.fetch_sub(
                if matches!(posted, Posted::LeaseLost) {
                    (events.len() - n) as u64
                } else {
                    1
                },
                Ordering::Relaxed,
            );
            match posted {
                Posted::Accepted(took) => {
                    let stats = store.redis_stats();
                    stats.webhook_latency.observe(took);
                    stats.webhook_posts.fetch_add(1, Ordering::Relaxed);
                }
                Posted::TooOld => {
                    tracing::warn!(live_id = %id, event = %event.id, kind = %event.kind,
                        "webhook event older than LIVEROOM_WEBHOOK_MAX_AGE_SECS dropped undelivered");
                    store
                        .redis_stats()
                        .webhook_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
                Posted::LeaseLost => {
                    let _ = store
                        .webhooks()
                        .release_delivery_lease(id, owner, LEASE)
                        .await;
                    return;
                }
            }
            if let Err(e) = store.webhooks().delivered(id, &event.id).await {
                tracing::warn!(live_id = %id, error = %e, "acknowledging a delivered event failed");
            }
        }
        // everything up to the batch's last event is delivered: the log may let it go
        if let Some(last) = events.last()
            && let Err(e) = store.webhooks().trim_delivered(id, &last.id).await
        {
            tracing::info!(live_id = %id, error = %e, "trimming delivered events failed");
        }
    }
    let _ = store
        .webhooks()
        .release_delivery_lease(id, owner, LEASE)
        .await;
}

/// Up to `LIVEROOM_WEBHOOK_BATCH_MAX` events of one room, in log order, handed to the batcher;
/// `done` answers once the receiver has them (or they were too old to send).
struct Unit {
    room: LiveId,
    events: Vec<StoredEvent>,
    done: oneshot::Sender<()>,
}

/// Delivers one room's events in order, a unit at a time through the batcher, while this replica
/// holds its lease.
async fn deliver_room_batched(
    store: &Store,
    config: &WebhookConfig,
    units: &mpsc::Sender<Unit>,
    owner: &str,
    id: &LiveId,
) {
    match store.webhooks().take_delivery_lease(id, owner, LEASE).await {
        Ok(true) => {}
        _ => return, // another replica delivers this room
    }
    let backlog = &store.redis_stats().webhook_backlog_events;
    loop {
        let events = match store
            .webhooks()
            .events_to_deliver(id, config.batch_max)
            .await
        {
            Ok(Some(events)) => events,
            Ok(None) => {
                let _ = store.webhooks().delivery_done(id).await;
                break;
            }
            Err(e) => {
                tracing::warn!(live_id = %id, error = %e, "reading events to deliver failed");
                break;
            }
        };
        if events.is_empty() {
            match store.webhooks().delivery_done(id).await {
                Ok(true) | Err(_) => break,
                Ok(false) => continue,
            }
        }
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let (done, accepted) = oneshot::channel();
        backlog.fetch_add(ids.len() as u64, Ordering::Relaxed);
        let handed = units
            .send(Unit {
                room: id.clone(),
                events,
                done,
            })
            .await;
        let settled = match handed {
            Ok(()) => until_accepted(store, owner, id, accepted).await,
            Err(_) => Settled::Stopped,
        };
        backlog.fetch_sub(ids.len() as u64, Ordering::Relaxed);
        match settled {
            Settled::Accepted => {}
            Settled::LeaseLost => return, // the next owner resumes from the unacknowledged
            Settled::Stopped => break,
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        if let Err(e) = store.webhooks().delivered_all(id, &refs).await {
            tracing::warn!(live_id = %id, error = %e, "acknowledging delivered events failed");
        }
        if let Some(last) = ids.last()
            && let Err(e) = store.webhooks().trim_delivered(id, last).await
        {
            tracing::info!(live_id = %id, error = %e, "trimming delivered events failed");
        }
    }
    let _ = store
        .webhooks()
        .release_delivery_lease(id, owner, LEASE)
        .await;
}

/// How a room's unit ended.
enum Settled {
    Accepted,
    LeaseLost,
    Stopped,
}

/// Waits for the batcher to have the unit accepted, renewing the room's lease meanwhile (a
/// receiver down for long keeps the unit retrying).
async fn until_accepted(
    store: &Store,
    owner: &str,
    id: &LiveId,
    mut accepted: oneshot::Receiver<()>,
) -> Settled {
    loop {
        tokio::select! {
            answer = &mut accepted => {
                return if answer.is_ok() { Settled::Accepted } else { Settled::Stopped };
            }
            _ = tokio::time::sleep(LEASE / 3) => {
                if let Ok(false) = store.webhooks().renew_delivery_lease(id, owner, LEASE).await {
                    return Settled::LeaseLost;
                }
            }
        }
    }
}

/// Packs the rooms' units into POSTs of at most `batch_max` events, `POSTS_IN_FLIGHT` at a time.
async fn batcher(
    store: Store,
    config: WebhookConfig,
    client: reqwest::Client,
    mut units: mpsc::Receiver<Unit>,
) {
    let slots = Arc::new(Semaphore::new(POSTS_IN_FLIGHT));
    // a batch the receiver accepted wakes the others backing off: it is back
    let receiver_back = Arc::new(tokio::sync::Notify::new());
    let mut held: Option<Unit> = None;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let first = match held.take() {
            Some(unit) => unit,
            None => match units.recv().await {
                Some(unit) => unit,
                None => return,
            },
        };
        let mut size = first.events.len();
        let mut batch = vec![first];
        // whatever gathered while the POSTs were out, up to the batch's size
        while size < config.batch_max {
            match units.try_recv() {
                Ok(unit) if size + unit.events.len() > config.batch_max => {
                    held = Some(unit);
                    break;
                }
                Ok(unit) => {
                    size += unit.events.len();
                    batch.push(unit);
                }
                Err(_) => break,
            }
        }
        let (store, config, client, back) = (
            store.clone(),
            config.clone(),
            client.clone(),
            receiver_back.clone(),
        );
        tokio::spawn(async move {
            post_batch(&store, &config, &client, &back, batch).await;
            drop(slot);
        });
    }
}

/// POSTs one batch until the receiver answers 2xx, backing off between attempts; events that
/// are (or become, while the receiver is down) older than `max_age_ms` are dropped from it.
async fn post_batch(
    store: &Store,
    config: &WebhookConfig,
    client: &reqwest::Client,
    receiver_back: &tokio::sync::Notify,
    mut batch: Vec<Unit>,
) {
    let stats = store.redis_stats();
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 1u32;
    loop {
        let now = now_ms();
        for unit in &mut batch {
            let before = unit.events.len();
            unit.events.retain(|event| {
                let written = StoredEvent::position(&event.id).map_or(0, |(ms, _)| ms);
                now.saturating_sub(written) <= config.max_age_ms
            });
            let dropped = before - unit.events.len();
            if dropped > 0 {
                tracing::warn!(live_id = %unit.room, dropped,
                    "webhook events older than LIVEROOM_WEBHOOK_MAX_AGE_SECS dropped undelivered");
                stats
                    .webhook_dropped
                    .fetch_add(dropped as u64, Ordering::Relaxed);
            }
        }
        let events: Vec<serde_json::Value> = batch
            .iter()
            .flat_map(|unit| unit.events.iter().map(|e| json_of(&unit.room, e)))
            .collect();
        if events.is_empty() {
            break;
        }
        let count = events.len();
        let body = serde_json::json!({ "events": events }).to_string();
        let t = now / 1000;
        let sent = client
            .post(config.url.clone())
            .header("Content-Type", "application/json")
            .header("X-Liveroom-Signature", signature(&config.secret, t, &body))
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => {
                let now = now_ms();
                for event in batch.iter().flat_map(|unit| &unit.events) {
                    let written = StoredEvent::position(&event.id).map_or(0, |(ms, _)| ms);
                    stats
                        .webhook_latency
                        .observe(Duration::from_millis(now.saturating_sub(written)));
                }
                stats.webhook_posts.fetch_add(1, Ordering::Relaxed);
                receiver_back.notify_waiters();
                break;
            }
            Ok(resp) => {
                tracing::info!(
                    events = count,
                    attempt,
                    status = resp.status().as_u16(),
                    "webhook batch refused; retrying"
                );
            }
            Err(e) => {
                tracing::info!(events = count, attempt, error = %e, "webhook batch failed; retrying");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = receiver_back.notified() => backoff = Duration::from_millis(100),
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
    for unit in batch {
        let _ = unit.done.send(()); // the room's delivery may have given the room up meanwhile
    }
}

/// What became of one event.
enum Posted {
    /// The receiver answered 2xx; this long after the event was written.
    Accepted(Duration),
    /// Older than LIVEROOM_WEBHOOK_MAX_AGE_SECS: dropped.
    TooOld,
    /// The lease was lost meanwhile (another replica takes over, from this event).
    LeaseLost,
}

/// POSTs one event until the receiver answers 2xx, backing off between attempts, unless it is
/// (or becomes, while the receiver is down) older than the config's `max_age_ms`.
async fn post_until_accepted(
    store: &Store,
    config: &WebhookConfig,
    client: &reqwest::Client,
    owner: &str,
    id: &LiveId,
    event: &StoredEvent,
) -> Posted {
    let body = body_of(id, event);
    let written_ms = StoredEvent::position(&event.id).map_or(0, |(ms, _)| ms);
    let mut backoff = Duration::from_millis(100);
    let mut attempt = 1u32;
    loop {
        if now_ms().saturating_sub(written_ms) > config.max_age_ms {
            return Posted::TooOld;
        }
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let sent = client
            .post(config.url.clone())
            .header("Content-Type", "application/json")
            .header("X-Liveroom-Signature", signature(&config.secret, t, &body))
            .header("X-Liveroom-Event-Id", format!("{id}-{}", event.id))
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => {
                return Posted::Accepted(Duration::from_millis(
                    now_ms().saturating_sub(written_ms),
                ));
            }
            Ok(resp) => {
                tracing::info!(live_id = %id, event = %event.id, attempt, status = resp.status().as_u16(), "webhook refused; retrying");
            }
            Err(e) => {
                tracing::info!(live_id = %id, event = %event.id, attempt, error = %e, "webhook failed; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
        match store
            .webhooks()
            .renew_delivery_lease(id, owner, LEASE)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Posted::LeaseLost,
            Err(_) => {} // Redis away: keep trying; the lease check repeats next attempt
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_t_dot_body() {
        // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        let s = signature("secret", 1_700_000_000, r#"{"a":1}"#);
        assert_eq!(
            s,
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }
}
