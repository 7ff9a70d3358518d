//! Endpoints 8, 9, 10 and 12: join, leave, heartbeat, user list.

use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;

use super::auth::Caller;
use super::envelope::{Envelope, HeartbeatEnvelope, MemberPageEnvelope, RoomEnvelope};
use super::error::ApiError;
use super::model::{HeartbeatData, RoomData};
use super::{ApiTags, AppState, live_id};
use crate::domain::page::PageRequest;

pub struct PresenceApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::Presence")]
impl PresenceApi {
    /// 加入直播 — join the room; the caller first leaves the room it was in.
    #[oai(
        path = "/client/live/room/user/:live_id",
        method = "post",
        operation_id = "joinRoom"
    )]
    async fn join(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: Path<String>,
    ) -> Result<Json<RoomEnvelope>, ApiError> {
        let room = self
            .state
            .store
            .join(&live_id::parse(&live_id)?, &caller.0)
            .await?;
        let urls = self.state.streams.urls(&room, caller.user_id());
        Ok(RoomEnvelope::ok(RoomData::new(room, urls)))
    }

    /// 离开直播 — leave the room. Final: a late heartbeat does not bring the member back.
    #[oai(
        path = "/client/live/room/user/:live_id",
        method = "delete",
        operation_id = "leaveRoom"
    )]
    async fn leave(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: Path<String>,
    ) -> Result<Json<Envelope>, ApiError> {
        self.state
            .store
            .leave(&live_id::parse(&live_id)?, caller.user_id())
            .await?;
        Ok(Envelope::ok())
    }

    /// 心跳 — a member's (or the anchor's) heartbeat, every 5 s. 40901 means: join again.
    #[oai(
        path = "/client/live/room/heartbeat/:live_id",
        method = "get",
        operation_id = "heartbeat"
    )]
    async fn heartbeat(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: Path<String>,
    ) -> Result<Json<HeartbeatEnvelope>, ApiError> {
        let id = live_id::parse(&live_id)?;
        let beat = self.state.store.heartbeat(&id, &caller.0).await?;
        Ok(HeartbeatEnvelope::ok(HeartbeatData {
            live_id: id.to_string(),
            live_status: beat.live_status.code(),
        }))
    }

    /// 房间用户列表 — the room's current members, most recent joiner first.
    #[oai(
        path = "/client/live/room/user_list",
        method = "get",
        operation_id = "listMembers"
    )]
    async fn user_list(
        &self,
        _caller: Caller,
        /// 直播间ID
        live_id: Query<String>,
        /// 页码 (>= 1, default 1)
        page_num: Query<Option<i64>>,
        /// 分页数量 (1–100, default 20)
        page_size: Query<Option<i64>>,
    ) -> Result<Json<MemberPageEnvelope>, ApiError> {
        let page = PageRequest::parse(page_num.0, page_size.0)?;
        let members = self
            .state
            .store
            .members(&live_id::parse(&live_id)?, page)
            .await?;
        Ok(MemberPageEnvelope::ok(members.into()))
    }
}
