//! Moderation (CONTRACT section 12) and the caller's own rooms: kick and ban, the room's bans,
//! `mine`. The server API (section 13) is in `server.rs` and shares the shapes here.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};

use super::auth::Caller;
use super::body::JsonBody;
use super::envelope::{Envelope, RoomPageEnvelope, current_request_id};
use super::error::ApiError;
use super::model::{LiveStatusParam, PageNum, PageSize, RoomData, RoomPage};
use super::{ApiTags, AppState, live_id};
use crate::domain::ids::LiveId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::profile::UserId;
use crate::domain::room::{LiveStatus, Room};
use crate::store::{Ban, Kicked};

/// The longest ban: 30 days.
pub const MAX_BAN_SECS: i64 = 30 * 24 * 3600;

const EXAMPLE_LIVE_ID: &str = "live_0192f0c4a1b27c3d8e9f0a1b2c3d4e5f";

/// 踢出用户 — who to remove from which room, and for how long to keep them out.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct KickRequest {
    /// 直播间ID — the room.
    pub live_id: String,
    /// 用户ID — the user to remove: 1–128 bytes, not the room's anchor.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub user_id: String,
    /// 封禁秒数 — keep the user out this long (0 or absent: no ban, the user may join again at
    /// once); at most 2592000 (30 days).
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "2592000")))]
    pub ban_secs: Option<i64>,
}

impl Example for KickRequest {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            user_id: "user_2".into(),
            ban_secs: Some(600),
        }
    }
}

/// 踢出用户 — who to remove, and for how long to keep them out (the room is in the path).
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct KickTarget {
    /// 用户ID — the user to remove: 1–128 bytes, not the room's anchor.
    #[oai(validator(min_length = 1, max_length = 128))]
    pub user_id: String,
    /// 封禁秒数 — keep the user out this long (0 or absent: no ban, the user may join again at
    /// once); at most 2592000 (30 days).
    #[oai(nullable, validator(minimum(value = "0"), maximum(value = "2592000")))]
    pub ban_secs: Option<i64>,
}

impl Example for KickTarget {
    fn example() -> Self {
        Self {
            user_id: "user_2".into(),
            ban_secs: Some(600),
        }
    }
}

/// 踢出结果 — what the kick did.
#[derive(Object, Debug)]
#[oai(example)]
pub struct KickData {
    /// 直播间ID — the room.
    pub live_id: String,
    /// 用户ID — the user kicked.
    pub user_id: String,
    /// 是否移出 — the user was a member and has been removed (false: was not in the room).
    pub removed: bool,
    /// 封禁结束时间 — end of the ban, unix seconds (0: no ban).
    pub ban_end_time: i64,
}

impl Example for KickData {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            user_id: "user_2".into(),
            removed: true,
            ban_end_time: 1_764_700_000,
        }
    }
}

/// The answer of a kick.
#[derive(Object, Debug)]
pub struct KickEnvelope {
    /// Request id (the caller's `X-Request-Id`, or one made by the server).
    pub request_id: String,
    /// 0 on success.
    pub code: i32,
    pub message: String,
    pub data: KickData,
}

/// 封禁 — one running ban.
#[derive(Object, Debug)]
#[oai(example)]
pub struct BanData {
    /// 用户ID — the banned user.
    pub user_id: String,
    /// 封禁结束时间 — end of the ban, unix seconds.
    pub end_time: i64,
}

impl Example for BanData {
    fn example() -> Self {
        Self {
            user_id: "user_2".into(),
            end_time: 1_764_700_000,
        }
    }
}

/// 封禁列表 — a page of the room's running bans, soonest to end first.
#[derive(Object, Debug)]
pub struct BanPage {
    /// 总数 — running bans in all pages.
    pub total_count: u64,
    /// 总页数 — ceil(total_count / page_size), 0 when empty.
    pub page_total: u64,
    /// 当前是否最后一页 — page_num >= page_total.
    pub end_page: bool,
    pub list: Vec<BanData>,
}

/// A page of bans.
#[derive(Object, Debug)]
pub struct BanPageEnvelope {
    /// Request id (the caller's `X-Request-Id`, or one made by the server).
    pub request_id: String,
    /// 0 on success.
    pub code: i32,
    pub message: String,
    pub data: BanPage,
}

fn secs_up(ms: i64) -> i64 {
    ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) > 0)
}

/// The user to kick: the token's rules for `sub` (1–128 bytes, no control characters).
pub fn kick_target(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw)
        .map_err(|e| ApiError::BadRequest(format!("user_id: {}", e.0.replace("sub ", ""))))
}

/// `ban_secs` as milliseconds: 0–30 days.
pub fn ban_ms(ban_secs: Option<i64>) -> Result<u64, ApiError> {
    match ban_secs.unwrap_or(0) {
        s @ 0..=MAX_BAN_SECS => Ok(s as u64 * 1000),
        s => Err(ApiError::BadRequest(format!(
            "ban_secs must be 0 to {MAX_BAN_SECS} (30 days) (got {s})"
        ))),
    }
}

pub fn kick_answer(id: &LiveId, user_id: String, kicked: Kicked) -> Json<KickEnvelope> {
    Json(KickEnvelope {
        request_id: current_request_id(),
        code: 0,
        message: "success".into(),
        data: KickData {
            live_id: id.to_string(),
            user_id,
            removed: kicked.removed,
            ban_end_time: if kicked.ban_end_ms > 0 {
                secs_up(kicked.ban_end_ms)
            } else {
                0
            },
        },
    })
}

pub fn ban_answer(page: Page<Ban>) -> Json<BanPageEnvelope> {
    let page = page.map(|b| BanData {
        user_id: b.user_id,
        end_time: secs_up(b.end_ms),
    });
    Json(BanPageEnvelope {
        request_id: current_request_id(),
        code: 0,
        message: "success".into(),
        data: BanPage {
            total_count: page.total_count,
            page_total: page.page_total,
            end_page: page.end_page,
            list: page.list,
        },
    })
}

pub fn status_filter(raw: Option<LiveStatusParam>) -> Result<Option<LiveStatus>, ApiError> {
    match raw.map(|s| s.0) {
        None => Ok(None),
        Some(code) => LiveStatus::from_code(code).map(Some).ok_or_else(|| {
            ApiError::BadRequest(format!("live_status must be 0, 1 or 2 (got {code})"))
        }),
    }
}

pub fn room_page(state: &AppState, page: Page<Room>, viewer: &str) -> Json<RoomPageEnvelope> {
    let page = page.map(|room| {
        let urls = state.streams.urls(&room, viewer);
        RoomData::new(room, urls)
    });
    RoomPageEnvelope::ok(RoomPage::new(page))
}

/// Logs an admin's action (its `sub`), at info: who did what to which room.
pub fn log_admin(caller: &Caller, action: &str, id: &LiveId) {
    if caller.is_admin() {
        tracing::info!(
            target: "liveroom::admin",
            admin = caller.user_id().as_str(),
            action,
            live_id = %id,
            request_id = %current_request_id(),
            "admin action"
        );
    }
}

pub struct ModerationApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::Moderation")]
impl ModerationApi {
    /// 踢出用户 — remove a user from the room at once and, with `ban_secs`, keep them out.
    ///
    /// The room's anchor (or an admin) removes the user: `member_left` with `reason: kicked`, and
    /// the user's next heartbeat is 409/40901. With `ban_secs` > 0 the user's joins are 403/40301
    /// until the ban ends; a user not in the room is banned all the same. The anchor cannot kick
    /// itself (400).
    #[oai(
        path = "/client/live/room/kick",
        method = "post",
        operation_id = "kickUser"
    )]
    async fn kick(
        &self,
        caller: Caller,
        body: JsonBody<KickRequest>,
    ) -> Result<Json<KickEnvelope>, ApiError> {
        let id = live_id::parse(&body.0.live_id)?;
        let target = kick_target(&body.0.user_id)?;
        let ban = ban_ms(body.0.ban_secs)?;
        let kicked = self
            .state
            .store
            .moderation()
            .kick(&id, caller.user_id(), caller.is_admin(), &target, ban)
            .await?;
        log_admin(&caller, "kick", &id);
        Ok(kick_answer(&id, target.as_str().to_owned(), kicked))
    }

    /// 解除封禁 — lift a user's ban (anchor or admin); success also when there was none.
    #[oai(
        path = "/client/live/room/ban/:live_id/:user_id",
        method = "delete",
        operation_id = "unbanUser"
    )]
    async fn unban(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        /// 用户ID — the banned user.
        user_id: Path<String>,
    ) -> Result<Json<Envelope>, ApiError> {
        let id = live_id.0;
        let target = kick_target(&user_id)?;
        self.state
            .store
            .moderation()
            .unban(&id, caller.user_id(), caller.is_admin(), &target)
            .await?;
        log_admin(&caller, "unban", &id);
        Ok(Envelope::ok())
    }

    /// 封禁列表 — the room's running bans, soonest to end first (anchor or admin).
    #[oai(
        path = "/client/live/room/ban/:live_id",
        method = "get",
        operation_id = "listBans"
    )]
    async fn bans(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        /// 页码 — the page: 1 or more (default 1).
        page_num: Query<Option<PageNum>>,
        /// 分页数量 — bans per page: 1–100 (default 20).
        page_size: Query<Option<PageSize>>,
    ) -> Result<Json<BanPageEnvelope>, ApiError> {
        let page = PageRequest::parse(page_num.0.map(|p| p.0), page_size.0.map(|p| p.0))?;
        let id = live_id.0;
        let bans = self
            .state
            .store
            .moderation()
            .bans(&id, caller.user_id(), caller.is_admin(), page)
            .await?;
        Ok(ban_answer(bans))
    }

    /// 我的直播间 — the caller's own rooms as anchor, of every status, newest created first.
    ///
    /// Unstarted, live and ended rooms (not deleted), with `push_url` (the caller is their
    /// anchor); `live_status` keeps one status.
    #[oai(
        path = "/client/live/room/mine",
        method = "get",
        operation_id = "myRooms"
    )]
    async fn mine(
        &self,
        caller: Caller,
        /// 直播间状态 — only rooms of this status: 0 created, 1 live, 2 ended.
        live_status: Query<Option<LiveStatusParam>>,
        /// 页码 — the page: 1 or more (default 1).
        page_num: Query<Option<PageNum>>,
        /// 分页数量 — rooms per page: 1–100 (default 20).
        page_size: Query<Option<PageSize>>,
    ) -> Result<Json<RoomPageEnvelope>, ApiError> {
        let page = PageRequest::parse(page_num.0.map(|p| p.0), page_size.0.map(|p| p.0))?;
        let status = status_filter(live_status.0)?;
        let rooms = self
            .state
            .store
            .discovery()
            .anchor_rooms(caller.user_id(), status, page)
            .await?;
        Ok(room_page(&self.state, rooms, caller.user_id().as_str()))
    }
}
