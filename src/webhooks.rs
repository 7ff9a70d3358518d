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

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{mpsc, watch};

use crate::domain::ids::LiveId;
use crate::store::{Store, StoredEvent};

const LEASE: Duration = Duration::from_secs(15);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

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
    let event_id = format!("{id}-{}", event.id);
    match serde_json::from_str::<serde_json::Value>(&event.data) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.insert("event_id".into(), serde_json::Value::String(event_id));
            serde_json::Value::Object(map).to_string()
        }
        _ => serde_json::json!({"event_id": event_id, "type": event.kind}).to_string(),
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
                    let (store, config, client, owner, active) =
                        (store.clone(), config.clone(), client.clone(), owner.clone(), active.clone());
                    tokio::spawn(async move {
                        deliver_room(&store, &config, &client, &owner, &id).await;
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
        for event in &events {
            match post_until_accepted(store, config, client, owner, id, event).await {
                Posted::Accepted(took) => store.redis_stats().webhook_latency.observe(took),
                Posted::TooOld => {
                    tracing::warn!(live_id = %id, event = %event.id, kind = %event.kind,
                        "webhook event older than LIVEROOM_WEBHOOK_MAX_AGE_SECS dropped undelivered");
                    store
                        .redis_stats()
                        .webhook_dropped
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
