//! Media-server hooks: the media server asks "may this stream publish?" and tells when it stops.
//! No token (media servers have none): the hook URL carries the shared `?secret=`
//! (`LIVEROOM_HOOK_SECRET`); without it, or with a wrong one, or with none configured, 403.
//!
//! A publish is allowed for an existing room that has not ended, with a push URL signature valid
//! for exactly that stream and not expired (any such room's stream when URLs are not signed).
//! While the stream publishes, the anchor counts as present: publish and the periodic update are
//! anchor heartbeats, and `stream_status` is 1; unpublish sets it to 0 and lets presence lapse.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Form, Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::body::JsonBody;
use super::error::{BodyRefused, FormRefused};
use super::{ApiTags, AppState};
use crate::domain::ids::LiveId;
use crate::store::StoreError;
use crate::streams::PublishArgs;

pub struct HooksApi {
    pub state: AppState,
}

/// An SRS HTTP callback (`http_hooks` of a vhost). Other fields SRS sends are ignored.
#[derive(Object, Debug, serde::Deserialize)]
pub struct SrsCallback {
    /// `on_publish` and `on_unpublish`; `on_hls` (each HLS segment of a publishing stream)
    /// refreshes the anchor's presence like an update. Other actions are answered code 0.
    pub action: String,
    /// The application (`live`).
    #[oai(nullable)]
    pub app: Option<String>,
    /// The stream name: the room's live_id.
    #[oai(nullable)]
    pub stream: Option<String>,
    /// The publish URL's query string, with its `?` (`?auth_key=...` or `?txSecret=...&txTime=...`).
    #[oai(nullable)]
    pub param: Option<String>,
    /// The virtual host (`__defaultVhost__`).
    #[oai(nullable)]
    pub vhost: Option<String>,
    /// The publisher's address.
    #[oai(nullable)]
    pub ip: Option<String>,
}

/// The answer SRS reads: HTTP 200 with code 0 allows, anything else refuses.
#[derive(Object, Debug)]
pub struct SrsAnswer {
    /// 0 allowed; otherwise why not: 40300 bad or missing signature (or hook secret), 40400 no
    /// such room, 40900 the live has ended or the push URL has expired, 50300 storage unavailable.
    pub code: i32,
    pub message: String,
}

#[derive(ApiResponse)]
pub enum SrsResponse {
    /// The decision: `code` 0 allows, non-zero refuses.
    #[oai(status = 200)]
    Decided(Json<SrsAnswer>),
    /// No or wrong `secret`, or no `LIVEROOM_HOOK_SECRET` configured.
    #[oai(status = 403)]
    Forbidden(Json<SrsAnswer>),
    /// A bug, logged.
    #[oai(status = 500)]
    Internal(Json<SrsAnswer>),
    /// Redis unreachable: the publish is refused; the media server may retry.
    #[oai(status = 503)]
    Unavailable(Json<SrsAnswer>),
}

/// Which nginx-rtmp notification (`on_publish`, `on_update`, `on_publish_done` directives).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NginxRtmpEvent {
    #[oai(rename = "on_publish")]
    Publish,
    #[oai(rename = "on_update")]
    Update,
    #[oai(rename = "on_publish_done")]
    PublishDone,
}

/// An nginx-rtmp notification: a form with the session's fields and the publish URL's query
/// arguments. Other fields nginx-rtmp sends (flashver, tcurl, clientid, time, ...) are ignored.
#[derive(Object, Debug, serde::Deserialize)]
pub struct NginxRtmpNotify {
    /// The application (`live`).
    pub app: Option<String>,
    /// The stream name: the room's live_id.
    pub name: Option<String>,
    /// `publish`, `update_publish`, `publish_done` (`update_play` for players, answered 200).
    pub call: Option<String>,
    /// The publisher's address.
    pub addr: Option<String>,
    /// Alibaba Cloud type A signature of the push URL.
    pub auth_key: Option<String>,
    /// Tencent Cloud signature of the push URL.
    #[oai(rename = "txSecret")]
    #[serde(rename = "txSecret")]
    pub tx_secret: Option<String>,
    /// Tencent Cloud expiry of the push URL (unix seconds, hex).
    #[oai(rename = "txTime")]
    #[serde(rename = "txTime")]
    pub tx_time: Option<String>,
}

#[derive(ApiResponse)]
pub enum NginxRtmpResponse {
    /// Allowed (or noted).
    #[oai(status = 200)]
    Allowed(PlainText<String>),
    /// Refused (nginx-rtmp drops the publisher), or no or wrong `secret`.
    #[oai(status = 403)]
    Refused(PlainText<String>),
    /// A bug, logged.
    #[oai(status = 500)]
    Internal(PlainText<String>),
    /// Redis unreachable: refused.
    #[oai(status = 503)]
    Unavailable(PlainText<String>),
}

/// What a hook decided.
enum Verdict {
    Allow,
    Refuse(i32, String),
    Unavailable,
    Internal,
}

const FORBIDDEN: &str = "wrong or missing hook secret";

impl HooksApi {
    fn authorized(&self, secret: Option<&str>) -> bool {
        self.state.streams.hook_secret_matches(secret)
    }

    /// May `stream` publish with these arguments of its push URL?
    async fn publish(&self, stream: Option<&str>, args: &PublishArgs) -> Verdict {
        let Some(id) = stream.map(str::trim).and_then(LiveId::parse) else {
            return refuse(stream, "publish", 40400, "no such room");
        };
        let expires_at = match self.state.streams.verify_publish(&id, args) {
            Ok(expiry) => expiry.unwrap_or(0),
            Err(why) => return refuse(stream, "publish", 40300, &why.to_string()),
        };
        let result = self
            .state
            .store
            .rooms()
            .stream_publish(&id, expires_at)
            .await;
        decide(&id, "publish", result)
    }

    /// The stream still publishes (checked at publish; now only the room's state counts).
    async fn update(&self, stream: Option<&str>) -> Verdict {
        let Some(id) = stream.map(str::trim).and_then(LiveId::parse) else {
            return refuse(stream, "update", 40400, "no such room");
        };
        let result = self.state.store.rooms().stream_publish(&id, 0).await;
        decide(&id, "update", result)
    }

    /// The stream stopped: always acknowledged.
    async fn unpublish(&self, stream: Option<&str>) -> Verdict {
        let Some(id) = stream.map(str::trim).and_then(LiveId::parse) else {
            return Verdict::Allow;
        };
        match self.state.store.rooms().stream_unpublish(&id).await {
            Err(StoreError::NotFound) => Verdict::Allow,
            result => decide(&id, "unpublish", result),
        }
    }
}

fn refuse(stream: Option<&str>, what: &str, code: i32, why: &str) -> Verdict {
    tracing::info!(
        stream = stream.unwrap_or(""),
        hook = what,
        reason = why,
        "stream refused"
    );
    Verdict::Refuse(code, why.to_owned())
}

fn decide(id: &LiveId, what: &str, result: Result<(), StoreError>) -> Verdict {
    match result {
        Ok(()) => Verdict::Allow,
        Err(StoreError::NotFound) => refuse(Some(id.as_str()), what, 40400, "no such room"),
        Err(StoreError::Conflict(why)) => refuse(Some(id.as_str()), what, 40900, &why),
        Err(StoreError::Unavailable(e)) => {
            tracing::warn!(live_id = %id, hook = what, error = %e, "redis unavailable");
            Verdict::Unavailable
        }
        Err(e) => {
            tracing::error!(live_id = %id, hook = what, error = %e, "hook failed");
            Verdict::Internal
        }
    }
}

fn srs(verdict: Verdict) -> SrsResponse {
    let answer = |code: i32, message: &str| {
        Json(SrsAnswer {
            code,
            message: message.to_owned(),
        })
    };
    match verdict {
        Verdict::Allow => SrsResponse::Decided(answer(0, "success")),
        Verdict::Refuse(code, why) => SrsResponse::Decided(answer(code, &why)),
        Verdict::Unavailable => SrsResponse::Unavailable(answer(50300, "storage unavailable")),
        Verdict::Internal => SrsResponse::Internal(answer(50000, "internal error")),
    }
}

fn nginx(verdict: Verdict) -> NginxRtmpResponse {
    match verdict {
        Verdict::Allow => NginxRtmpResponse::Allowed(PlainText("ok".into())),
        Verdict::Refuse(_, why) => NginxRtmpResponse::Refused(PlainText(why)),
        Verdict::Unavailable => {
            NginxRtmpResponse::Unavailable(PlainText("storage unavailable".into()))
        }
        Verdict::Internal => NginxRtmpResponse::Internal(PlainText("internal error".into())),
    }
}

#[OpenApi(tag = "ApiTags::Hooks")]
impl HooksApi {
    /// SRS HTTP callback: may this stream publish?
    ///
    /// `on_publish` (allowed: HTTP 200 `{"code":0}`; refused: a non-zero code) and
    /// `on_unpublish`; `on_hls` refreshes the anchor's presence. Configure
    /// `on_publish http://liveroom/hooks/srs?secret=...;` (and the same for the others).
    #[oai(path = "/hooks/srs", method = "post", operation_id = "srsCallback")]
    async fn srs(
        &self,
        /// The hook secret (`LIVEROOM_HOOK_SECRET`).
        secret: Query<Option<String>>,
        body: JsonBody<SrsCallback>,
    ) -> Result<SrsResponse, BodyRefused> {
        if !self.authorized(secret.0.as_deref()) {
            return Ok(SrsResponse::Forbidden(Json(SrsAnswer {
                code: 40300,
                message: FORBIDDEN.into(),
            })));
        }
        let cb = body.0;
        let stream = cb.stream.as_deref();
        let verdict = match cb.action.as_str() {
            "on_publish" => {
                let args = PublishArgs::from_query(cb.param.as_deref().unwrap_or(""));
                self.publish(stream, &args).await
            }
            "on_hls" => self.update(stream).await,
            "on_unpublish" => self.unpublish(stream).await,
            _ => Verdict::Allow,
        };
        Ok(srs(verdict))
    }

    /// nginx-rtmp notification: may this stream publish?
    ///
    /// `on_publish` (2xx allows, 403 refuses), `on_update` (every `notify_update_timeout`:
    /// refreshes the anchor's presence; 403 once the room has ended or is gone, which drops the
    /// publisher) and `on_publish_done`. Configure
    /// `on_publish http://liveroom/hooks/nginx-rtmp/on_publish?secret=...;` and the others alike.
    #[oai(
        path = "/hooks/nginx-rtmp/:event",
        method = "post",
        operation_id = "nginxRtmpNotify"
    )]
    async fn nginx_rtmp(
        &self,
        /// `on_publish`, `on_update` or `on_publish_done`.
        event: Path<NginxRtmpEvent>,
        /// The hook secret (`LIVEROOM_HOOK_SECRET`).
        secret: Query<Option<String>>,
        form: Form<NginxRtmpNotify>,
    ) -> Result<NginxRtmpResponse, FormRefused> {
        if !self.authorized(secret.0.as_deref()) {
            return Ok(NginxRtmpResponse::Refused(PlainText(FORBIDDEN.into())));
        }
        let n = form.0;
        let stream = n.name.as_deref();
        let call = n.call.as_deref().unwrap_or("");
        let verdict = match event.0 {
            NginxRtmpEvent::Publish => {
                let args = PublishArgs {
                    auth_key: n.auth_key,
                    tx_secret: n.tx_secret,
                    tx_time: n.tx_time,
                };
                self.publish(stream, &args).await
            }
            // on_update is sent for players too: nothing to decide for them
            NginxRtmpEvent::Update if call.contains("play") => Verdict::Allow,
            NginxRtmpEvent::Update => self.update(stream).await,
            NginxRtmpEvent::PublishDone => self.unpublish(stream).await,
        };
        Ok(nginx(verdict))
    }
}
