//! Room events as Server-Sent Events, for the room's members and anchor, from any replica.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, BoxStream, StreamExt};
use hyper::body::Bytes;
use poem::web::sse::Event;
use poem::{IntoResponse, Response};
use poem_openapi::param::Header;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::auth::Caller;
use super::error::ApiError;
use super::model::{EXAMPLE_LIVE_ID, Extends};
use super::{ApiTags, AppState, live_id};
use crate::domain::ids::{LiveId, UserId};
use crate::fanout::Subscription;
use crate::store::{EventLog, SlotReply, StoreError, StoredEvent};

/// How often a stream whose presence the carrier does not check (the anchor's) checks that its
/// watcher may still watch (a leave the log does not show: rooms above the member-event
/// threshold write none). The slot is renewed by the hub (`Hub::renew_slots`), not here.
const RECHECK: Duration = Duration::from_secs(15);
use crate::fanout::SLOT_TTL;
/// Events read from the log per call while a watcher catches up.
const CATCH_UP_PAGE: usize = 100;

/// The user's slot of open streams (over all replicas); dropping it frees the slot at once.
struct StreamSlot {
    events: EventLog,
    user: UserId,
    stream: String,
    /// Renewed with the replica's other slots while the stream lives.
    _renewed: crate::fanout::RenewedSlot,
}

impl StreamSlot {
    async fn take(
        events: &EventLog,
        hub: &std::sync::Arc<crate::fanout::Hub>,
        user: &UserId,
    ) -> Result<Self, ApiError> {
        let cap = hub.per_user();
        let stream = hub.stream_id();
        let mut reply = events
            .open_stream_slot(user, &stream, cap, SLOT_TTL)
            .await?;
        // slots held by a replica that died are freed once its lease is gone: look once, then
        // try again
        if let SlotReply::Full { holders, .. } = &reply
            && hub.reap_dead_slots(user, holders).await?
        {
            reply = events
                .open_stream_slot(user, &stream, cap, SLOT_TTL)
                .await?;
        }
        if let SlotReply::Full { wait_ms, .. } = reply {
            return Err(ApiError::Busy {
                why: format!(
                    "this user has {cap} event streams open, the limit (LIVEROOM_SSE_PER_USER); \
                     close one first"
                ),
                // a stream closes when it will; a dead replica's slots are free by then
                retry_after: wait_ms
                    .div_ceil(1000)
                    .clamp(1, hub.lease_ttl().as_secs().max(1)),
            });
        }
        Ok(Self {
            events: events.clone(),
            user: user.clone(),
            _renewed: hub.renew_slot(user, &stream),
            stream,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let (events, user, stream) = (
            self.events.clone(),
            self.user.clone(),
            std::mem::take(&mut self.stream),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = events.close_stream_slot(&user, &stream).await {
                    tracing::info!(error = %e, "freeing an event stream's slot failed; it lapses");
                }
            });
        }
    }
}

/// The `exp` of the request's token (verified already by the `Caller` extractor).
fn token_exp(req: &poem::Request) -> Option<u64> {
    use base64::Engine;
    let raw = req
        .headers()
        .get(poem::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim();
    let token = match raw.split_once(' ') {
        Some((_, rest)) => rest.trim(),
        None => raw,
    };
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?["exp"].as_u64()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One watcher's stream: what it missed from the log, then the room's fan-out.
struct Follow {
    events: EventLog,
    live_id: LiveId,
    /// `"user_id":"<me>"` as the events' JSON writes it: a cheap test before parsing.
    user_needle: String,
    /// The id of the last event sent (or the position the watcher started after).
    last: String,
    backlog: VecDeque<StoredEvent>,
    caught_up: bool,
    /// Why the stream ends; the final message goes out next.
    ending: Option<&'static str>,
    done: bool,
    subscription: Subscription,
    expires: Option<tokio::time::Instant>,
    recheck: tokio::time::Interval,
    _open: crate::fanout::OpenStream,
    slot: StreamSlot,
    /// The stream keeps its member present (CONTRACT section 6) until it closes.
    carrying: crate::fanout::Carrying,
    /// The presence refresh found the watcher gone: the stream ends once the log is read.
    gone: bool,
}

impl Follow {
    /// The next message, or None when the stream is over.
    async fn next(&mut self) -> Option<RoomEventMessage> {
        loop {
            if self.done {
                return None;
            }
            if let Some(reason) = self.ending.take() {
                self.done = true;
                return Some(self.final_message(reason));
            }
            if let Some(event) = self.backlog.pop_front() {
                if let Some(message) = self.deliver(event) {
                    return Some(message);
                }
                continue;
            }
            if !self.caught_up {
                match self
                    .events
                    .events_after(&self.live_id, &self.last, CATCH_UP_PAGE)
                    .await
                {
                    Ok(page) => {
                        self.caught_up = page.len() < CATCH_UP_PAGE;
                        self.backlog.extend(page);
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "event stream ends: redis");
                        return None;
                    }
                }
                continue;
            }
            if self.gone {
                self.ending = Some("not_member");
                continue;
            }
            let expiry = async {
                match self.expires {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            // biased: the events in hand go first, so that a watcher that fell behind is cut
            // off as `lagged` even when its room's end (`gone`) is noticed at the same time
            tokio::select! {
                biased;
                received = self.subscription.rx.recv() => match received {
                    Ok(event) => {
                        let newer = StoredEvent::position(&event.id) > StoredEvent::position(&self.last);
                        if newer && let Some(message) = self.deliver((*event).clone()) {
                            return Some(message);
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        self.ending = Some("lagged");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                },
                _ = expiry => self.ending = Some("token_expired"),
                // a refresh found the watcher no member any more, or the room ended: read the log
                // once more first, so that the watcher's own member_left (left, kicked, moved,
                // lapsed) or the room's live_ended says why, else the stream ends as not_member
                _ = self.carrying.member.gone.notified() => {
                    self.gone = true;
                    self.caught_up = false;
                }
                // a stream whose presence the carrier checks polls no timer of its own
                _ = self.recheck.tick(), if !self.carrying.member.is_refreshed() => self.recheck_watcher().await,
                _ = self.carrying.member.unrefreshed.notified(), if self.carrying.member.is_refreshed() => {}
            }
        }
    }

    /// The message for an event, noting when it ends the stream; None for events watchers do
    /// not get.
    fn deliver(&mut self, event: StoredEvent) -> Option<RoomEventMessage> {
        self.last = event.id.clone();
        if event.webhook_only {
            return None;
        }
        match event.kind.as_str() {
            // the stream ends after live_ended, which says why itself
            "live_ended" => self.done_after_this(),
            "member_left" if event.data.contains(&self.user_needle) => {
                let data: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
                if data["user_id"].as_str() == Some(self.slot.user.as_str()) {
                    self.ending = Some(match data["reason"].as_str() {
                        Some("kicked") => "kicked",
                        Some("lapsed") => "lapsed",
                        Some("moved") => "moved",
                        _ => "left",
                    });
                }
            }
            _ => {}
        }
        Some(RoomEventMessage::from(event))
    }

    fn done_after_this(&mut self) {
        self.done = true;
    }

    /// Checks that the watcher may still watch (the carrier does that for a member's stream: a
    /// call per stream here would cost more than the presence itself).
    async fn recheck_watcher(&mut self) {
        match self.events.may_watch(&self.live_id, &self.slot.user).await {
            Ok(_) => {}
            Err(StoreError::NotMember) => self.ending = Some("not_member"),
            Err(StoreError::NotFound) => self.ending = Some("deleted"),
            Err(_) => {} // Redis away: look again next time
        }
    }

    fn final_message(&self, reason: &str) -> RoomEventMessage {
        let data = serde_json::json!({
            "live_id": self.live_id.as_str(),
            "type": "stream_ended",
            "at": now_ms(),
            "reason": reason,
        });
        RoomEventMessage {
            id: String::new(),
            event: "stream_ended".into(),
            data: data.to_string(),
        }
    }
}

/// The spec's names of one message of the stream and of its `data` (see `super::spec`).
pub const MESSAGE_SCHEMA: &str = "RoomEventMessage";
pub const EVENT_SCHEMA: &str = "RoomEvent";

/// 直播间事件类型 — the type of a room event (the message's `event:`, the data's `type`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum RoomEventType {
    /// The live started (0 -> 1). 开始直播
    LiveStarted,
    /// The live ended (`reason`). 直播结束
    LiveEnded,
    /// The anchor's presence began. 主播上线
    AnchorOnline,
    /// The anchor's presence lapsed. 主播离线
    AnchorOffline,
    /// A new visit (`user_id`). 用户加入
    MemberJoined,
    /// A member left (`user_id`, `reason`). 用户离开
    MemberLeft,
    /// The room's extends were replaced (`extends`, or `extends_bytes` when over 1 KiB). 扩展信息更新
    ExtendsUpdated,
    /// The count of members online changed (`online_count`), at most once a second. 在线人数
    OnlineCount,
    /// A member asks for a co-host seat of an `apply` room (`user_id`, `mic`, `camera`). 申请连麦
    SeatRequested,
    /// A member took a co-host seat (`user_id`, `seat`, `mic`, `camera`). 上麦
    SeatTaken,
    /// A co-host seat was freed (`user_id`, `seat`, `reason`: left | removed | lapsed | kicked |
    /// room_ended). 下麦
    SeatLeft,
    /// A seat's mic or camera changed (`user_id`, `seat`, `mic`, `camera`). 麦位更新
    SeatUpdated,
    /// The room's likes total (`total`), at most once a second per room. 点赞
    Likes,
    /// This room is invited to a PK (`pk_id`, `user_id`: the inviting anchor, the rooms). PK邀请
    PkInvited,
    /// The PK started: the room shows its `pk_id` (`extends`, the rooms). PK开始
    PkStarted,
    /// The PK's extends were replaced (`extends`). PK更新
    PkUpdated,
    /// The PK ended (`reason`: stopped | rejected | expired | room_ended | admin). PK结束
    PkEnded,
    /// The stream ends here (`reason`: left | kicked | lapsed | moved | not_member |
    /// token_expired | lagged | deleted); the last message of a stream, sent without `id:`, so
    /// that a client resuming with `Last-Event-ID` gets every event it missed (after
    /// `lagged`: reconnect at once). 流结束
    StreamEnded,
}

/// 直播间事件 — one room event: the JSON `data` of a message of the event stream, and the body
/// of a webhook (which adds `event_id`).
#[derive(Object, Debug)]
// the example leaves out what a member_joined event does not carry, as the server does
#[oai(example, skip_serializing_if_is_none)]
pub struct RoomEvent {
    /// 直播间ID
    pub live_id: String,
    #[oai(rename = "type")]
    pub kind: RoomEventType,
    /// When it happened, unix ms (Redis's clock).
    pub at: i64,
    /// live_ended: stopped | anchor_offline | deleted | admin; member_left: left | lapsed |
    /// moved | room_ended | kicked; seat_left: left | removed | lapsed | kicked | room_ended;
    /// pk_ended: stopped | rejected | expired | room_ended | admin; stream_ended: why the
    /// stream ends
    pub reason: Option<String>,
    /// member_joined, member_left, seat_*; pk_invited: the inviting anchor
    pub user_id: Option<String>,
    /// online_count
    pub online_count: Option<u64>,
    /// extends_updated: the new extends, when they are 1 KiB of JSON or less; pk_started,
    /// pk_updated: the PK's extends
    pub extends: Option<Extends>,
    /// likes: the room's likes total
    pub total: Option<u64>,
    /// pk_*: the PK
    pub pk_id: Option<String>,
    /// pk_*: the inviting room
    pub init_live_id: Option<String>,
    /// pk_*: the invited room
    pub target_live_id: Option<String>,
    /// extends_updated with extends over 1 KiB: their size in bytes, and no `extends` (the
    /// room's info has them), so that events stay small
    pub extends_bytes: Option<u64>,
    /// seat_taken, seat_left, seat_updated: the co-host seat, from 1
    pub seat: Option<u32>,
    /// seat_requested, seat_taken, seat_updated: the seat's mic on
    pub mic: Option<bool>,
    /// seat_requested, seat_taken, seat_updated: the seat's camera on
    pub camera: Option<bool>,
}

impl poem_openapi::types::Example for RoomEvent {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            kind: RoomEventType::MemberJoined,
            at: 1_656_315_406_000,
            reason: None,
            user_id: Some("user_2".into()),
            online_count: None,
            total: None,
            pk_id: None,
            init_live_id: None,
            target_live_id: None,
            extends: None,
            extends_bytes: None,
            seat: None,
            mic: None,
            camera: None,
        }
    }
}

/// One message of the event stream as Server-Sent Events frame it: `id:`, `event:`, `data:`.
#[derive(Object, Debug)]
pub struct RoomEventMessage {
    /// The event's position in the room's log (`1700000000000-0`): send it back as
    /// `Last-Event-ID` to resume after it.
    pub id: String,
    /// The event's type, one of `RoomEventType`.
    pub event: String,
    /// The event, a `RoomEvent` as JSON.
    pub data: String,
}

impl RoomEventMessage {
    /// As Server-Sent Events frame it; a message without an id (the final `stream_ended`) has
    /// no `id:` line.
    fn into_event(self) -> Event {
        let event = Event::message(self.data).event_type(self.event);
        if self.id.is_empty() {
            event
        } else {
            event.id(self.id)
        }
    }
}

impl From<StoredEvent> for RoomEventMessage {
    fn from(e: StoredEvent) -> Self {
        Self {
            id: e.id,
            event: e.kind,
            data: e.data,
        }
    }
}

/// The answer of the events endpoint: `text/event-stream`, one `RoomEventMessage` per event,
/// and a comment after `LIVEROOM_SSE_KEEPALIVE_SECS` of silence, so that proxies in between keep
/// the connection (under their idle timeouts: docs/operations.md, *Edge limits*).
///
/// Framed here rather than by poem's `SSE`, which an open stream pays for all its life: poem
/// boxes the stream twice more and reads it back through a `StreamReader` into a
/// `ReaderStream`, whose 4 KiB buffer stays with the stream. Here a message is formatted once,
/// into the bytes hyper writes (the same bytes: poem's `Event` formats them).
pub struct RoomEventStream {
    messages: BoxStream<'static, RoomEventMessage>,
    /// Silence after which a comment goes out.
    period: Duration,
    keep_alive: tokio::time::Interval,
    /// When the last message went out, if one did since the timer was last set: the timer is
    /// moved when it goes off rather than at every message, which keeps a busy stream's messages
    /// free of timer work.
    sent_at: Option<tokio::time::Instant>,
}

impl RoomEventStream {
    fn new(messages: BoxStream<'static, RoomEventMessage>, period: Duration) -> Self {
        let first = tokio::time::Instant::now() + period;
        let mut keep_alive = tokio::time::interval_at(first, period);
        // a replica that stalled sends one comment, not one for every period missed
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            messages,
            period,
            keep_alive,
            sent_at: None,
        }
    }
}

impl futures_util::Stream for RoomEventStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(message) = self.messages.poll_next_unpin(cx) {
            if message.is_some() {
                self.sent_at = Some(tokio::time::Instant::now());
            }
            return Poll::Ready(message.map(|m| Ok(Bytes::from(m.into_event().to_string()))));
        }
        // a comment only after a whole period without a message: a watched room's events
        // (online_count, likes) keep its streams open without one, and a keep-alive is a write
        // and a wake-up per stream (docs/operations.md, *Edge limits*)
        loop {
            std::task::ready!(self.keep_alive.poll_tick(cx));
            match self.sent_at.take() {
                Some(at) if at.elapsed() < self.period => {
                    let due = at + self.period;
                    self.keep_alive.reset_at(due); // and poll again, to wait for it
                }
                _ => return Poll::Ready(Some(Ok(Bytes::from_static(b":\n\n")))),
            }
        }
    }
}

impl IntoResponse for RoomEventStream {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type("text/event-stream")
            .header("X-Accel-Buffering", "no")
            .header("Cache-Control", "no-cache")
            .body(poem::Body::from_bytes_stream(self))
    }
}

impl ApiResponse for RoomEventStream {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The room's events from now on (or after `Last-Event-ID`), one \
                              message each; a comment after 45 s without one keeps the \
                              connection alive (LIVEROOM_SSE_KEEPALIVE_SECS); the stream ends \
                              after `live_ended`, or with a final `stream_ended` saying why (the watcher left, was kicked or \
                              lapsed, its token expired, it fell behind).",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "text/event-stream",
                    schema: RoomEventMessage::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        RoomEventMessage::register(registry);
    }
}

/// `ms-seq`, both parts 64-bit numbers as Redis's stream ids are (a bigger one would end the
/// stream at once with Redis's error).
/// How far ahead of Redis's clock a `Last-Event-ID` may be: the clocks of a cluster's nodes (the
/// log's, and the one `TIME` asks) may differ a little.
const FUTURE_ID_LEEWAY_MS: u64 = 1000;

fn is_stream_id(raw: &str) -> bool {
    let number = |s: &str| s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok();
    raw.split_once('-')
        .is_some_and(|(ms, seq)| number(ms) && number(seq))
}

#[cfg(test)]
#[test]
fn stream_ids_are_two_64_bit_numbers() {
    assert!(is_stream_id("1700000000000-0"));
    assert!(is_stream_id("18446744073709551615-18446744073709551615"));
    for bad in [
        "",
        "-",
        "1-",
        "-1",
        "1",
        "1-2-3",
        "+1-0",
        "1-0 ",
        "18446744073709551616-0",
    ] {
        assert!(!is_stream_id(bad), "{bad:?}");
    }
}

pub struct EventsApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::Presence")]
impl EventsApi {
    /// 直播间事件 — the room's events as Server-Sent Events (members and the anchor only).
    /// Resumes after `Last-Event-ID`; ends after `live_ended`, or after the watcher's own kick.
    #[oai(
        path = "/client/live/room/events/:live_id",
        method = "get",
        operation_id = "roomEvents"
    )]
    async fn events(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        /// The `id:` of the last event received (`1700000000000-0`), to resume after it.
        #[oai(name = "Last-Event-ID", validator(pattern = r"^[0-9]+-[0-9]+$"))]
        last_event_id: Header<Option<String>>,
        req: &poem::Request,
    ) -> Result<RoomEventStream, ApiError> {
        // poem-openapi reads a header that is not visible ASCII as absent: refuse it instead of
        // replaying from now, which would hide the client's bug
        if let Some(raw) = req.headers().get("last-event-id")
            && raw.to_str().is_err()
        {
            return Err(ApiError::BadRequest(
                "Last-Event-ID must be an event id such as 1700000000000-0 (got non-ASCII bytes)"
                    .into(),
            ));
        }
        let id = live_id.0;
        let (events, user) = (self.state.store.events(), caller.user_id());
        // the room of members that holds the user's presence, which the stream carries
        let members_room = events.may_watch(&id, user).await?;
        let last = match last_event_id.0.as_deref().map(str::trim) {
            Some(raw) if is_stream_id(raw) => {
                // an id from the future would skip every event until then: refused
                let now = events.redis_now_ms().await?;
                let ms = raw
                    .split_once('-')
                    .and_then(|(ms, _)| ms.parse::<u64>().ok())
                    .unwrap_or(u64::MAX);
                if ms > now.saturating_add(FUTURE_ID_LEEWAY_MS) {
                    return Err(ApiError::BadRequest(format!(
                        "Last-Event-ID {raw} is from the future (Redis's clock is at {now} ms): \
                         resume with an id the stream sent, or without the header"
                    )));
                }
                raw.to_owned()
            }
            Some(raw) => {
                return Err(ApiError::BadRequest(format!(
                    "Last-Event-ID must be an event id such as 1700000000000-0 (got {raw:?})"
                )));
            }
            None => events.last_event_id(&id).await?,
        };
        let hub = &self.state.watching;
        let Some(open) = hub.open_stream() else {
            return Err(ApiError::Busy {
                why: format!(
                    "this server has {} event streams open, its limit (LIVEROOM_SSE_MAX)",
                    hub.max_open()
                ),
                retry_after: 5,
            });
        };
        let slot = StreamSlot::take(&events, hub, user).await?;
        let subscription = hub.subscribe(&id).await?;
        let carrying = hub.carry(&members_room, user, caller.0.looks.to_json());
        let expires = token_exp(req).map(|exp| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            tokio::time::Instant::now() + Duration::from_secs(exp.saturating_sub(now))
        });
        let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let follow = Follow {
            events,
            live_id: id,
            user_needle: format!("\"user_id\":{}", serde_json::Value::from(user.as_str())),
            last,
            backlog: VecDeque::new(),
            caught_up: false,
            ending: None,
            done: false,
            subscription,
            expires,
            recheck,
            _open: open,
            slot,
            carrying,
            gone: false,
        };
        let messages = stream::unfold(follow, |mut f| async move {
            let message = f.next().await?;
            Some((message, f))
        });
        Ok(RoomEventStream::new(messages.boxed(), hub.keep_alive()))
    }
}
