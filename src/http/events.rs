//! Room events as Server-Sent Events, for the room's members and anchor, from any replica.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use futures_util::stream::{self, BoxStream, StreamExt};
use poem::web::sse::Event;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::EventStream;
use poem_openapi::{Object, OpenApi};

use super::auth::Caller;
use super::error::ApiError;
use super::{ApiTags, AppState, live_id};
use crate::store::{StoredEvent, Watcher};

/// How long one blocking read of the log waits (keep-alive comments flow meanwhile).
const BLOCK: Duration = Duration::from_secs(10);
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// One room event, the `data:` of an SSE message (`event:` is its type, `id:` its position in
/// the room's log, for `Last-Event-ID`).
#[derive(Object, Debug, Default)]
pub struct RoomEvent {
    pub live_id: String,
    /// live_started, live_ended, anchor_online, anchor_offline, member_joined, member_left,
    /// extends_updated, online_count
    #[oai(rename = "type")]
    pub kind: String,
    /// unix ms
    pub at: i64,
    /// live_ended: stopped | anchor_offline | deleted; member_left: left | lapsed | moved | room_ended
    pub reason: Option<String>,
    /// member_joined, member_left
    pub user_id: Option<String>,
    /// online_count
    pub online_count: Option<u64>,
    /// extends_updated
    pub extends: Option<BTreeMap<String, String>>,
    #[oai(skip)]
    stored: Option<StoredEvent>,
}

struct Follow {
    watcher: Watcher,
    last: String,
    buffered: VecDeque<StoredEvent>,
    ended: bool,
}

fn is_stream_id(raw: &str) -> bool {
    raw.split_once('-').is_some_and(|(ms, seq)| {
        !ms.is_empty() && !seq.is_empty() && ms.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit())
    })
}

pub struct EventsApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::Presence")]
impl EventsApi {
    /// 直播间事件 — the room's events as Server-Sent Events (members and the anchor only).
    /// Resumes after `Last-Event-ID`; ends after `live_ended`.
    #[oai(path = "/client/live/room/events/:live_id", method = "get", operation_id = "roomEvents")]
    async fn events(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: Path<String>,
        /// The `id:` of the last event received, to resume after it.
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> Result<EventStream<BoxStream<'static, RoomEvent>>, ApiError> {
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
        let follow = Follow { watcher, last, buffered: VecDeque::new(), ended: false };
        let events = stream::unfold(follow, |mut f| async move {
            loop {
                if let Some(event) = f.buffered.pop_front() {
                    f.last = event.id.clone();
                    if event.kind == "live_ended" {
                        f.ended = true;
                    }
                    let item = RoomEvent { stored: Some(event), ..RoomEvent::default() };
                    return Some((item, f));
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
        Ok(EventStream::new(events.boxed()).keep_alive(KEEP_ALIVE).to_event(|item| {
            let stored = item.stored.unwrap_or_else(|| StoredEvent {
                id: String::new(),
                kind: String::new(),
                data: String::new(),
            });
            Event::message(stored.data).id(stored.id).event_type(stored.kind)
        }))
    }
}
