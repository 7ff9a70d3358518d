//! Room events as Server-Sent Events, for the room's members and anchor, from any replica.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use poem::web::sse::Event;
use poem::{IntoResponse, Response};
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::EventStream;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::auth::Caller;
use super::error::ApiError;
use super::model::{EXAMPLE_LIVE_ID, Extends};
use super::{ApiTags, AppState, live_id};
use crate::store::{StoredEvent, Watcher};

/// How long one blocking read of the log waits (keep-alive comments flow meanwhile).
const BLOCK: Duration = Duration::from_secs(10);
const KEEP_ALIVE: Duration = Duration::from_secs(15);

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
    /// The room's extends were replaced (`extends`). 扩展信息更新
    ExtendsUpdated,
    /// The count of members online changed (`online_count`), at most once a second. 在线人数
    OnlineCount,
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
    /// moved | room_ended | kicked
    pub reason: Option<String>,
    /// member_joined, member_left
    pub user_id: Option<String>,
    /// online_count
    pub online_count: Option<u64>,
    pub extends: Option<Extends>,
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
            extends: None,
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

impl From<StoredEvent> for RoomEventMessage {
    fn from(e: StoredEvent) -> Self {
        Self {
            id: e.id,
            event: e.kind,
            data: e.data,
        }
    }
}

/// The answer of the events endpoint: `text/event-stream`, one `RoomEventMessage` per event.
pub struct RoomEventStream(EventStream<BoxStream<'static, RoomEventMessage>>);

impl IntoResponse for RoomEventStream {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

impl ApiResponse for RoomEventStream {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The room's events from now on (or after `Last-Event-ID`), one \
                              message each; a comment every 15 s keeps the connection alive; \
                              the stream ends after `live_ended` (and after the watcher's \
                              own `member_left` with `reason: kicked`).",
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

struct Follow {
    watcher: Watcher,
    last: String,
    buffered: VecDeque<StoredEvent>,
    ended: bool,
    /// The watcher: its stream ends after its own kick, as after `live_ended`.
    me: String,
}

/// `member_left` with `reason: kicked` of `user`.
fn kicked(event: &StoredEvent, user: &str) -> bool {
    if event.kind != "member_left" {
        return false;
    }
    serde_json::from_str::<serde_json::Value>(&event.data)
        .is_ok_and(|d| d["reason"] == "kicked" && d["user_id"] == user)
}

/// `ms-seq`, both parts 64-bit numbers as Redis's stream ids are (a bigger one would end the
/// stream at once with Redis's error).
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
        live_id: Path<String>,
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
        let id = live_id::parse(&live_id)?;
        let store = &self.state.store;
        store.may_watch(&id, caller.user_id()).await?;
        let last = match last_event_id.0.as_deref().map(str::trim) {
            Some(raw) if is_stream_id(raw) => raw.to_owned(),
            Some(raw) => {
                return Err(ApiError::BadRequest(format!(
                    "Last-Event-ID must be an event id such as 1700000000000-0 (got {raw:?})"
                )));
            }
            None => store.last_event_id(&id).await?,
        };
        let watcher = store.watcher(&id, BLOCK).await?;
        let follow = Follow {
            watcher,
            last,
            buffered: VecDeque::new(),
            ended: false,
            me: caller.user_id().to_owned(),
        };
        let events = stream::unfold(follow, |mut f| async move {
            loop {
                if let Some(event) = f.buffered.pop_front() {
                    f.last = event.id.clone();
                    if event.kind == "live_ended" || kicked(&event, &f.me) {
                        f.ended = true;
                    }
                    return Some((RoomEventMessage::from(event), f));
                }
                if f.ended {
                    return None;
                }
                match f.watcher.next(&f.last, BLOCK).await {
                    Ok(events) => f.buffered.extend(events),
                    Err(e) => {
                        tracing::info!(error = %e, "event stream ends: redis");
                        return None;
                    }
                }
            }
        });
        let stream = EventStream::new(events.boxed())
            .keep_alive(KEEP_ALIVE)
            .to_event(|m| Event::message(m.data).id(m.id).event_type(m.event));
        Ok(RoomEventStream(stream))
    }
}
