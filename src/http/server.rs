//! The server API (CONTRACT section 13), for the platform's own backend: admin tokens only
//! (`"admin": true`); any other token is 403/40300. Every action is logged with the admin's `sub`.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::registry::Registry;
use poem_openapi::types::Example;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, Object, OpenApi};

use super::auth::Caller;
use super::body::JsonBody;
use super::envelope::{Envelope, RoomPageEnvelope, current_request_id};
use super::error::ApiError;
use super::model::{LiveStatusParam, PageNum, PageSize};
use super::moderation::{
    KickEnvelope, KickTarget, ban_ms, kick_answer, kick_target, log_admin, room_page, status_filter,
};
use super::{ApiTags, AppState, live_id};
use crate::domain::page::PageRequest;
use crate::domain::room::MEMBER_SHARDS_MAX;
use crate::domain::search::Keyword;
use crate::store::RoomStats;

/// A caller whose token says `"admin": true`; anyone else is 403/40300.
pub struct Admin(pub Caller);

impl<'a> ApiExtractor<'a> for Admin {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        Caller::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        Caller::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut poem::RequestBody,
        opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        let caller = Caller::from_request(req, body, opts).await?;
        if !caller.is_admin() {
            return Err(ApiError::NotAdmin.into());
        }
        Ok(Self(caller))
    }
}

/// 直播统计 — a room's figures.
#[derive(Object, Debug)]
#[oai(example)]
pub struct StatsData {
    /// 直播间ID — the room.
    pub live_id: String,
    /// 直播间状态 — 0 created, 1 live, 2 ended.
    pub live_status: i32,
    /// 在线人数 — members online now.
    pub online_count: u64,
    /// 最高在线 — the highest online count while the room was live.
    pub peak_online: u64,
    /// 访问次数 — joins.
    pub pv: u64,
    /// 访问人数 — distinct users who ever joined.
    pub uv: u64,
    /// 点赞数 — likes the room has received.
    pub likes: u64,
    /// 开始时间 — the actual start, unix seconds (before the live: the planned one, 0 when none).
    pub start_time: i64,
    /// 结束时间 — the actual end, unix seconds (before the end: the planned one, 0 when none).
    pub end_time: i64,
    /// 直播时长 — seconds live: from the start to the end (or to now while live); 0 before.
    pub live_seconds: i64,
    /// 结束原因 — why the live ended: `stopped`, `anchor_offline`, `admin`; "" while not ended.
    pub ended_reason: String,
}

impl Example for StatsData {
    fn example() -> Self {
        Self {
            live_id: "live_0192f0c4a1b27c3d8e9f0a1b2c3d4e5f".into(),
            live_status: 2,
            online_count: 0,
            peak_online: 812,
            pv: 1003,
            uv: 934,
            likes: 52_000,
            start_time: 1_764_690_000,
            end_time: 1_764_697_200,
            live_seconds: 7200,
            ended_reason: "stopped".into(),
        }
    }
}

/// A room's figures.
#[derive(Object, Debug)]
pub struct StatsEnvelope {
    /// Request id (the caller's `X-Request-Id`, or one made by the server).
    pub request_id: String,
    /// 0 on success.
    pub code: i32,
    pub message: String,
    pub data: StatsData,
}

/// 成员分片 — over how many rooms of members (hash tags, and so Redis Cluster masters) a room's
/// members are spread (docs/architecture.md, *Members over S hash tags*).
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct MemberShards {
    /// 分片数 — 1 (the room alone, the default) to 16.
    #[oai(validator(minimum(value = "1"), maximum(value = "16")))]
    pub member_shards: u32,
}

impl Example for MemberShards {
    fn example() -> Self {
        Self { member_shards: 3 }
    }
}

pub struct ServerApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::Server")]
impl ServerApi {
    /// 直播间列表（平台） — every room not deleted, newest created first, by anchor and/or status.
    ///
    /// Served from the index: `anchor_id` reads that anchor's own list (every status, or one
    /// with `live_status`); without it, every room (or those of one status).
    #[oai(
        path = "/server/live/rooms",
        method = "get",
        operation_id = "serverRooms"
    )]
    async fn rooms(
        &self,
        admin: Admin,
        /// 主播ID — only this anchor's rooms.
        anchor_id: Query<Option<String>>,
        /// 直播间状态 — only rooms of this status: 0 created, 1 live, 2 ended.
        live_status: Query<Option<LiveStatusParam>>,
        /// 页码 — the page: 1 or more (default 1).
        page_num: Query<Option<PageNum>>,
        /// 分页数量 — rooms per page: 1–100 (default 20).
        page_size: Query<Option<PageSize>>,
    ) -> Result<Json<RoomPageEnvelope>, ApiError> {
        let page = PageRequest::parse(page_num.0.map(|p| p.0), page_size.0.map(|p| p.0))?;
        let status = status_filter(live_status.0)?;
        let store = &self.state.store;
        let rooms = match anchor_id.0.as_deref().filter(|a| !a.is_empty()) {
            Some(anchor) => {
                let anchor = kick_target(anchor).map_err(|_| {
                    ApiError::BadRequest(
                        "anchor_id must be 1 to 128 bytes without control characters".into(),
                    )
                })?;
                store
                    .discovery()
                    .anchor_rooms(&anchor, status, page)
                    .await?
            }
            None => {
                store
                    .discovery()
                    .search(&Keyword::parse(None)?, None, status, page)
                    .await?
            }
        };
        // push_url stays with the anchor (`mine`): a credential is not handed round in lists
        Ok(room_page(&self.state, rooms, admin.0.user_id().as_str()))
    }

    /// 强制停播 — end a live room (`live_ended` with `reason: admin`).
    #[oai(
        path = "/server/live/room/:live_id/stop",
        method = "post",
        operation_id = "serverStopLive"
    )]
    async fn stop(
        &self,
        admin: Admin,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<Envelope>, ApiError> {
        let id = live_id.0;
        self.state
            .store
            .rooms()
            .stop_as(&id, admin.0.user_id(), true)
            .await?;
        log_admin(&admin.0, "stop", &id);
        Ok(Envelope::ok())
    }

    /// 成员分片 — spread a room's members over several rooms of members, for a room expected to
    /// outgrow one Redis node: each member's heartbeats, joins and memory go to the shard of
    /// their user id. Only before the room's first member joined (40900 after: the shards are
    /// fixed then); the same count again is a no-op.
    #[oai(
        path = "/server/live/room/:live_id/shards",
        method = "put",
        operation_id = "serverSetMemberShards"
    )]
    async fn set_member_shards(
        &self,
        admin: Admin,
        /// 直播间ID
        live_id: live_id::Path,
        body: JsonBody<MemberShards>,
    ) -> Result<Json<Envelope>, ApiError> {
        let id = live_id.0;
        let shards = body.0.member_shards;
        if !(1..=MEMBER_SHARDS_MAX).contains(&shards) {
            return Err(ApiError::BadRequest(format!(
                "member_shards must be 1 to {MEMBER_SHARDS_MAX}"
            )));
        }
        self.state
            .store
            .rooms()
            .set_member_shards(&id, shards)
            .await?;
        log_admin(&admin.0, "shards", &id);
        Ok(Envelope::ok())
    }

    /// 强制删除 — delete any room, whatever its state.
    #[oai(
        path = "/server/live/room/:live_id",
        method = "delete",
        operation_id = "serverDeleteRoom"
    )]
    async fn delete(
        &self,
        admin: Admin,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<Envelope>, ApiError> {
        let id = live_id.0;
        self.state
            .store
            .rooms()
            .delete_as(&id, admin.0.user_id(), true)
            .await?;
        log_admin(&admin.0, "delete", &id);
        Ok(Envelope::ok())
    }

    /// 踢出用户（平台） — as `POST /client/live/room/kick`, in any room.
    #[oai(
        path = "/server/live/room/:live_id/kick",
        method = "post",
        operation_id = "serverKickUser"
    )]
    async fn kick(
        &self,
        admin: Admin,
        /// 直播间ID
        live_id: live_id::Path,
        body: JsonBody<KickTarget>,
    ) -> Result<Json<KickEnvelope>, ApiError> {
        let id = live_id.0;
        let target = kick_target(&body.0.user_id)?;
        let ban = ban_ms(body.0.ban_secs)?;
        let kicked = self
            .state
            .store
            .moderation()
            .kick(&id, admin.0.user_id(), true, &target, ban)
            .await?;
        log_admin(&admin.0, "kick", &id);
        Ok(kick_answer(&id, target.as_str().to_owned(), kicked))
    }

    /// 直播统计 — a room's figures: online now, peak while live, pv, uv, times, why it ended.
    #[oai(
        path = "/server/live/room/:live_id/stats",
        method = "get",
        operation_id = "serverRoomStats"
    )]
    async fn stats(
        &self,
        _admin: Admin,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<StatsEnvelope>, ApiError> {
        let id = live_id.0;
        let s: RoomStats = self.state.store.moderation().stats(&id).await?;
        Ok(Json(StatsEnvelope {
            request_id: current_request_id(),
            code: 0,
            message: "success".into(),
            data: StatsData {
                live_id: id.to_string(),
                live_status: s.live_status.code(),
                online_count: s.online_count,
                peak_online: s.peak_online,
                pv: s.pv,
                uv: s.uv,
                likes: s.likes,
                start_time: s.start_time,
                end_time: s.end_time,
                live_seconds: s.live_seconds,
                ended_reason: s.ended_reason,
            },
        }))
    }
}
