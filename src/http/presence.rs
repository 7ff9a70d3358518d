//! Endpoints 8, 9, 10 and 12: join, leave, heartbeat, user list.

use poem_openapi::OpenApi;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;

use super::auth::Caller;
use super::envelope::{
    Envelope, HeartbeatEnvelope, HeartbeatJson, MemberPageEnvelope, RoomEnvelope,
};
use super::error::ApiError;
use super::model::{HeartbeatData, PageNum, PageSize, RoomData};
use super::{ApiTags, AppState, live_id};
use crate::domain::page::PageRequest;

pub struct PresenceApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::Presence")]
impl PresenceApi {
    /// 加入直播 — join the room; the caller first leaves the room it was in.
    ///
    /// 用户加入一个直播间。一个用户在同一个时间，只能加入一个直播间。加入第二个直播间，会主动从第一个
    /// 直播间退出。
    ///
    /// The caller joins the room. A user is in one room at a time: joining a second one leaves the
    /// first. Joining the room one is in is a heartbeat; joining an ended room is 409/40900.
    #[oai(
        path = "/client/live/room/user/:live_id",
        method = "post",
        operation_id = "joinRoom"
    )]
    async fn join(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<RoomEnvelope>, ApiError> {
        let room = self
            .state
            .store
            .presence()
            .join(&live_id, &caller.0)
            .await?;
        let urls = self.state.streams.urls(&room, caller.user_id().as_str());
        Ok(RoomEnvelope::ok(RoomData::new(room, urls)))
    }

    /// 离开直播 — leave the room. Final: a late heartbeat does not bring the member back.
    ///
    /// 直播间内的用户离开直播间。
    ///
    /// The caller leaves the room (success also when it was not in it).
    #[oai(
        path = "/client/live/room/user/:live_id",
        method = "delete",
        operation_id = "leaveRoom"
    )]
    async fn leave(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<Envelope>, ApiError> {
        self.state
            .store
            .presence()
            .leave(&live_id, caller.user_id())
            .await?;
        Ok(Envelope::ok())
    }

    /// 心跳 — a member's (or the anchor's) heartbeat, every 5 s. 40901 means: join again.
    ///
    /// 用户加入直播间后，需要通过心跳，确认自己还在直播间。用户加入直播间后，每5秒需要发送一个心跳。
    /// 服务端在连续丢失3个心跳后，会认为用户已经离开直播间。如果主播心跳丢失，会在直播间内提示主播
    /// 离线。主播离线10分钟，会关闭直播间。
    ///
    /// After joining, a member sends a heartbeat every 5 seconds; after 3 missed heartbeats the
    /// server considers it gone (its next heartbeat answers 409/40901). When the anchor's
    /// heartbeats stop the room shows the anchor offline; after 10 minutes offline the live ends.
    #[oai(
        path = "/client/live/room/heartbeat/:live_id",
        method = "get",
        operation_id = "heartbeat"
    )]
    async fn heartbeat(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<HeartbeatJson, ApiError> {
        let id = live_id.0;
        let beat = self
            .state
            .store
            .presence()
            .heartbeat(&id, &caller.0)
            .await?;
        Ok(HeartbeatEnvelope::fast(HeartbeatData {
            live_id: id.to_string(),
            live_status: beat.live_status.code(),
        }))
    }

    /// 房间用户列表 — the room's current members, most recent joiner first.
    ///
    /// 获取直播间内的用户列表。
    ///
    /// The members present now (heartbeat within the member window), one page.
    #[oai(
        path = "/client/live/room/user_list",
        method = "get",
        operation_id = "listMembers"
    )]
    async fn user_list(
        &self,
        _caller: Caller,
        /// 直播间ID — the room.
        live_id: Query<String>,
        /// 页码 — the page: 1 or more (default 1).
        page_num: Query<Option<PageNum>>,
        /// 分页数量 — members per page: 1–100 (default 20).
        page_size: Query<Option<PageSize>>,
    ) -> Result<Json<MemberPageEnvelope>, ApiError> {
        let page = PageRequest::parse(page_num.0.map(|p| p.0), page_size.0.map(|p| p.0))?;
        let members = self
            .state
            .store
            .presence()
            .members(&live_id::parse(&live_id)?, page)
            .await?;
        Ok(MemberPageEnvelope::ok(members.into()))
    }
}
