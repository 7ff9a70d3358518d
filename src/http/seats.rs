//! Co-host seats (连麦) and RTC tokens (CONTRACT section 14): take or ask for a seat, the
//! anchor's answer, leave or removal, mic and camera, the seat list, the RTC token.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};

use super::auth::Caller;
use super::body::JsonBody;
use super::envelope::{Envelope, current_request_id, envelope};
use super::error::ApiError;
use super::model::{EXAMPLE_LIVE_ID, MemberData, NewExtends, example_extends};
use super::moderation::{kick_target, log_admin};
use super::{ApiTags, AppState, live_id};
use crate::domain::ids::LiveId;
use crate::domain::seat::{Seat, SeatAsk, SeatOutcome};

/// 申请连麦 — what a member asks for (every field optional: `{}` takes a seat with mic and
/// camera on).
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct SeatRequestBody {
    /// 麦克风 — the mic on (default true).
    #[oai(nullable)]
    pub mic: Option<bool>,
    /// 摄像头 — the camera on (default true).
    #[oai(nullable)]
    pub camera: Option<bool>,
    /// 扩展信息 — the seat's extension pairs, capped like the room's (at most 32, keys 1–64
    /// characters, values at most 1024) and at most 2048 bytes of JSON in all.
    #[oai(nullable)]
    pub extends: Option<NewExtends>,
}

impl Example for SeatRequestBody {
    fn example() -> Self {
        Self {
            mic: Some(true),
            camera: Some(false),
            extends: Some(NewExtends(example_extends().0)),
        }
    }
}

/// 处理连麦申请 — whose pending request the anchor answers.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct SeatDecisionBody {
    /// 用户ID — the member who asked.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub user_id: String,
}

impl Example for SeatDecisionBody {
    fn example() -> Self {
        Self {
            user_id: "user_2".into(),
        }
    }
}

/// 开关麦克风/摄像头 — a seat's mic and camera (absent: unchanged).
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct SeatSwitchBody {
    /// 用户ID — whose seat (default: the caller's own). The anchor names a seated user to turn
    /// its mic or camera off.
    #[oai(nullable, validator(min_length = 1, max_length = 128))]
    pub user_id: Option<String>,
    /// 麦克风 — on or off; the anchor may only turn it off.
    #[oai(nullable)]
    pub mic: Option<bool>,
    /// 摄像头 — on or off; the anchor may only turn it off.
    #[oai(nullable)]
    pub camera: Option<bool>,
}

impl Example for SeatSwitchBody {
    fn example() -> Self {
        Self {
            user_id: Some("user_2".into()),
            mic: Some(false),
            camera: None,
        }
    }
}

/// 连麦结果 — what a seat request came to, with the RTC token of a taken seat.
#[derive(Object, Debug)]
#[oai(example)]
pub struct SeatTakenData {
    /// 直播间ID — the room.
    pub live_id: String,
    /// 用户ID — the member on the seat (or asking).
    pub user_id: String,
    /// 状态 — "taken" (on the seat now) or "pending" (an `apply` room: the anchor decides).
    pub status: String,
    /// 麦位 — the seat, from 1 (0 while pending).
    pub seat: u32,
    /// 麦克风 — the mic on.
    pub mic: bool,
    /// 摄像头 — the camera on.
    pub camera: bool,
    /// 时间 — unix ms: since when the seat is taken, or when the request was made.
    pub since: i64,
    /// RTC地址 — the RTC server to connect to ("" without the RTC settings, while pending, and
    /// in the anchor's accept answer: the seated user asks `GET /client/live/room/rtc/{live_id}`).
    pub rtc_url: String,
    /// RTC令牌 — the caller's LiveKit access token for this room ("" as `rtc_url`).
    pub rtc_token: String,
}

impl Example for SeatTakenData {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            user_id: "user_2".into(),
            status: "taken".into(),
            seat: 1,
            mic: true,
            camera: false,
            since: 1_764_700_000_000,
            rtc_url: "wss://rtc.example.com".into(),
            rtc_token: "eyJhbGciOiJIUzI1NiJ9.e30.x".into(),
        }
    }
}

/// 麦位 — a taken seat.
#[derive(Object, Debug)]
#[oai(example)]
pub struct SeatData {
    /// 麦位 — the seat, from 1.
    pub seat: u32,
    /// 用户 — the holder, as the member list shows it.
    pub user: MemberData,
    /// 麦克风 — the mic on.
    pub mic: bool,
    /// 摄像头 — the camera on.
    pub camera: bool,
    pub extends: NewExtends,
    /// 上麦时间 — since when, unix ms.
    pub since: i64,
}

impl Example for SeatData {
    fn example() -> Self {
        Self {
            seat: 1,
            user: MemberData::example(),
            mic: true,
            camera: false,
            extends: NewExtends(example_extends().0),
            since: 1_764_700_000_000,
        }
    }
}

impl From<Seat> for SeatData {
    fn from(s: Seat) -> Self {
        Self {
            seat: s.seat,
            user: s.user.into(),
            mic: s.mic,
            camera: s.camera,
            extends: NewExtends(s.extends),
            since: s.since_ms,
        }
    }
}

/// 麦位列表 — the room's taken seats, by seat number.
#[derive(Object, Debug)]
#[oai(example)]
pub struct SeatListData {
    /// 直播间ID — the room.
    pub live_id: String,
    /// 麦位 — the taken seats only, by seat number.
    pub list: Vec<SeatData>,
}

impl Example for SeatListData {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            list: vec![SeatData::example()],
        }
    }
}

/// 麦克风/摄像头 — a seat's mic and camera now.
#[derive(Object, Debug)]
#[oai(example)]
pub struct SeatSwitchData {
    /// 直播间ID — the room.
    pub live_id: String,
    /// 用户ID — the seated user.
    pub user_id: String,
    /// 麦位 — the seat.
    pub seat: u32,
    /// 麦克风 — the mic on.
    pub mic: bool,
    /// 摄像头 — the camera on.
    pub camera: bool,
}

impl Example for SeatSwitchData {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            user_id: "user_2".into(),
            seat: 1,
            mic: false,
            camera: true,
        }
    }
}

/// RTC令牌 — where to connect and with what.
#[derive(Object, Debug)]
#[oai(example)]
pub struct RtcData {
    /// 直播间ID — the room (the RTC room's name).
    pub live_id: String,
    /// RTC地址 — the RTC server ("" without the RTC settings).
    pub rtc_url: String,
    /// RTC令牌 — a LiveKit access token, HS256, valid 6 hours ("" without the RTC settings).
    pub rtc_token: String,
}

impl Example for RtcData {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            rtc_url: "wss://rtc.example.com".into(),
            rtc_token: "eyJhbGciOiJIUzI1NiJ9.e30.x".into(),
        }
    }
}

envelope!(
    #[doc = "A seat request's outcome."]
    SeatTakenEnvelope,
    SeatTakenData
);
envelope!(
    #[doc = "The room's taken seats."]
    SeatListEnvelope,
    SeatListData
);
envelope!(
    #[doc = "A seat's mic and camera."]
    SeatSwitchEnvelope,
    SeatSwitchData
);
envelope!(
    #[doc = "An RTC token."]
    RtcEnvelope,
    RtcData
);

pub struct SeatsApi {
    pub state: AppState,
}

/// `{rtc_url, rtc_token}` for `user_id` (shown as `nick`) in the RTC room `room` (a live_id):
/// "" without the settings. A token that cannot be signed is a bug (logged), never shown. Used
/// by the seats and by a PK's other room (pk.rs).
pub(super) fn rtc_for(
    state: &AppState,
    room: &str,
    user_id: &str,
    nick: &str,
) -> Result<(String, String), ApiError> {
    let Some(rtc) = state.rtc.as_deref() else {
        return Ok((String::new(), String::new()));
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let token = crate::rtc::mint(rtc, user_id, nick, room, now).map_err(|e| {
        tracing::error!(request_id = %current_request_id(), error = %e, "rtc token");
        ApiError::Internal
    })?;
    Ok((rtc.url.clone(), token))
}

impl SeatsApi {
    fn rtc(&self, id: &LiveId, user_id: &str, nick: &str) -> Result<(String, String), ApiError> {
        rtc_for(&self.state, id.as_str(), user_id, nick)
    }

    fn outcome(
        &self,
        id: &LiveId,
        caller_nick: &str,
        user_id: &str,
        outcome: SeatOutcome,
        asked: Option<&SeatAsk>,
    ) -> Result<Json<SeatTakenEnvelope>, ApiError> {
        // a seat taken at the caller's own request carries the caller's token; the anchor's
        // accept names the seat only (the token is its user's own: GET …/rtc/{live_id})
        let with_token = asked.is_some();
        let data = match outcome {
            SeatOutcome::Taken {
                seat,
                since_ms,
                mic,
                camera,
            } => {
                let (rtc_url, rtc_token) = if with_token {
                    self.rtc(id, user_id, caller_nick)?
                } else {
                    (String::new(), String::new())
                };
                SeatTakenData {
                    live_id: id.to_string(),
                    user_id: user_id.to_owned(),
                    status: "taken".into(),
                    seat,
                    mic,
                    camera,
                    since: since_ms,
                    rtc_url,
                    rtc_token,
                }
            }
            SeatOutcome::Pending { asked_ms } => SeatTakenData {
                live_id: id.to_string(),
                user_id: user_id.to_owned(),
                status: "pending".into(),
                seat: 0,
                mic: asked.is_none_or(|a| a.mic),
                camera: asked.is_none_or(|a| a.camera),
                since: asked_ms,
                rtc_url: String::new(),
                rtc_token: String::new(),
            },
        };
        Ok(SeatTakenEnvelope::ok(data))
    }
}

#[OpenApi(tag = "ApiTags::Seats")]
impl SeatsApi {
    /// 申请连麦 — take a co-host seat (`free` room) or ask the anchor for one (`apply` room).
    ///
    /// By a member of a live room (not its anchor). A `free` room seats the caller on the
    /// lowest free seat at once (`seat_taken`) and answers the RTC token; an `apply` room
    /// answers `status: "pending"` and tells the room (`seat_requested`) until the anchor
    /// accepts or rejects it, or it lapses (60 s). No free seat, already seated or already
    /// asking: 409/40902; not a member: 409/40901; the room not live: 409/40900; a room's
    /// pending requests are capped (429/42900).
    #[oai(
        path = "/client/live/room/seat/:live_id",
        method = "post",
        operation_id = "takeSeat"
    )]
    async fn take(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        body: JsonBody<SeatRequestBody>,
    ) -> Result<Json<SeatTakenEnvelope>, ApiError> {
        let id = live_id.0;
        let b = body.0;
        let ask = SeatAsk::parse(b.mic, b.camera, b.extends.map(|e| e.0))?;
        let outcome = self
            .state
            .store
            .seats()
            .take(&id, caller.user_id(), &ask)
            .await?;
        let me = &caller.0;
        self.outcome(
            &id,
            &me.looks.nick,
            me.user_id.as_str(),
            outcome,
            Some(&ask),
        )
    }

    /// 同意连麦 — the anchor accepts a pending seat request (`seat_taken`).
    ///
    /// The asker takes the lowest free seat with the mic and camera it asked for. No pending
    /// request of that user (never made, answered, lapsed, or the asker left the room), no free
    /// seat: 409/40902.
    /// The asker gets its RTC token from `GET /client/live/room/rtc/{live_id}`.
    #[oai(
        path = "/client/live/room/seat/:live_id/accept",
        method = "post",
        operation_id = "acceptSeat"
    )]
    async fn accept(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        body: JsonBody<SeatDecisionBody>,
    ) -> Result<Json<SeatTakenEnvelope>, ApiError> {
        let id = live_id.0;
        let asker = kick_target(&body.0.user_id)?;
        let decided = self
            .state
            .store
            .seats()
            .decide(&id, caller.user_id(), &asker, true)
            .await?
            .ok_or(ApiError::Internal)?;
        self.outcome(&id, "", asker.as_str(), decided, None)
    }

    /// 拒绝连麦 — the anchor rejects a pending seat request.
    ///
    /// No pending request of that user: 409/40902.
    #[oai(
        path = "/client/live/room/seat/:live_id/reject",
        method = "post",
        operation_id = "rejectSeat"
    )]
    async fn reject(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        body: JsonBody<SeatDecisionBody>,
    ) -> Result<Json<Envelope>, ApiError> {
        let id = live_id.0;
        let asker = kick_target(&body.0.user_id)?;
        self.state
            .store
            .seats()
            .decide(&id, caller.user_id(), &asker, false)
            .await?;
        Ok(Envelope::ok())
    }

    /// 下麦 — leave one's seat (`seat_left`, `reason: left`), or withdraw one's pending request.
    ///
    /// Not on a seat nor asking: 409/40902.
    #[oai(
        path = "/client/live/room/seat/:live_id",
        method = "delete",
        operation_id = "leaveSeat"
    )]
    async fn leave(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<Envelope>, ApiError> {
        let id = live_id.0;
        let me = caller.user_id();
        self.state.store.seats().leave(&id, me, false, me).await?;
        Ok(Envelope::ok())
    }

    /// 踢下麦 — the anchor (or an admin) takes a user off its seat (`seat_left`, `reason:
    /// removed`).
    ///
    /// The user stays in the room. Not on a seat: 409/40902.
    #[oai(
        path = "/client/live/room/seat/:live_id/:user_id",
        method = "delete",
        operation_id = "removeFromSeat"
    )]
    async fn remove(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        /// 用户ID — the seated user.
        user_id: Path<String>,
    ) -> Result<Json<Envelope>, ApiError> {
        let id = live_id.0;
        let target = kick_target(&user_id)?;
        self.state
            .store
            .seats()
            .leave(&id, caller.user_id(), caller.is_admin(), &target)
            .await?;
        log_admin(&caller, "remove from seat", &id);
        Ok(Envelope::ok())
    }

    /// 开关麦克风/摄像头 — a seat's mic and camera (`seat_updated`).
    ///
    /// The seated user sets its own; the anchor may turn a seated user's mic or camera off
    /// (turning one on is 400/40000: only its user does that). Not on a seat: 409/40902.
    #[oai(
        path = "/client/live/room/seat/:live_id/switch",
        method = "put",
        operation_id = "switchSeat"
    )]
    async fn switch(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        body: JsonBody<SeatSwitchBody>,
    ) -> Result<Json<SeatSwitchEnvelope>, ApiError> {
        let id = live_id.0;
        let b = body.0;
        let target = match b.user_id.as_deref() {
            Some(raw) => kick_target(raw)?,
            None => caller.user_id().clone(),
        };
        let switched = self
            .state
            .store
            .seats()
            .switch(&id, caller.user_id(), &target, b.mic, b.camera)
            .await?;
        Ok(SeatSwitchEnvelope::ok(SeatSwitchData {
            live_id: id.to_string(),
            user_id: target.as_str().to_owned(),
            seat: switched.seat,
            mic: switched.mic,
            camera: switched.camera,
        }))
    }

    /// 麦位列表 — the room's taken seats, by seat number, with each holder's profile.
    #[oai(
        path = "/client/live/room/seat/:live_id",
        method = "get",
        operation_id = "listSeats"
    )]
    async fn list(
        &self,
        _caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<SeatListEnvelope>, ApiError> {
        let id = live_id.0;
        let seats = self.state.store.seats().list(&id).await?;
        Ok(SeatListEnvelope::ok(SeatListData {
            live_id: id.to_string(),
            list: seats.seats.into_iter().map(SeatData::from).collect(),
        }))
    }

    /// RTC令牌 — a LiveKit access token for the room: its anchor, or a seated user.
    ///
    /// Anyone else: 403/40300. Without the RTC settings `rtc_url` and `rtc_token` are "".
    #[oai(
        path = "/client/live/room/rtc/:live_id",
        method = "get",
        operation_id = "rtcToken"
    )]
    async fn rtc_token(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<RtcEnvelope>, ApiError> {
        let id = live_id.0;
        let seats = self.state.store.seats().list(&id).await?;
        let me = &caller.0;
        if seats.anchor_id != me.user_id.as_str() && seats.seat_of(me.user_id.as_str()).is_none() {
            return Err(ApiError::NotSeated);
        }
        let (rtc_url, rtc_token) = self.rtc(&id, me.user_id.as_str(), &me.looks.nick)?;
        Ok(RtcEnvelope::ok(RtcData {
            live_id: id.to_string(),
            rtc_url,
            rtc_token,
        }))
    }
}
