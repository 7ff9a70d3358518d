//! Endpoints 1–5 and 11: create, info, start, stop, delete, extends.

use poem_openapi::OpenApi;
use poem_openapi::payload::Json;

use super::auth::Caller;
use super::body::JsonBody;
use super::envelope::{Envelope, RoomEnvelope};
use super::error::ApiError;
use super::model::{CreateRoomRequest, RoomData, UpdateExtendsRequest};
use super::{ApiTags, AppState, live_id};
use crate::domain::room::{Extends, NewRoom, NewRoomInput, Room};

pub struct RoomsApi {
    pub state: AppState,
}

impl RoomsApi {
    fn answer(&self, room: Room, caller: &Caller) -> Json<RoomEnvelope> {
        let urls = self.state.streams.urls(&room, caller.user_id().as_str());
        RoomEnvelope::ok(RoomData::new(room, urls))
    }
}

#[OpenApi(tag = "ApiTags::Rooms")]
impl RoomsApi {
    /// 创建直播间 — create a room; the caller becomes its anchor (主播).
    ///
    /// 创建一个直播间。创建直播间的用户，作为直播间的主播。
    ///
    /// Creates a room. The user who creates it is its anchor. The room starts in status 0
    /// (created); `start` makes it live.
    #[oai(
        path = "/client/live/room/instance",
        method = "post",
        operation_id = "createRoom"
    )]
    async fn create(
        &self,
        caller: Caller,
        body: JsonBody<CreateRoomRequest>,
    ) -> Result<Json<RoomEnvelope>, ApiError> {
        let b = body.0;
        let input = NewRoomInput {
            title: b.title,
            notice: b.notice,
            cover_url: b.cover_url,
            extends: b.extends.map(|e| e.0),
            start_at: b.start_at,
            end_at: b.end_at,
            publish_expire_at: b.publish_expire_at,
            seat_mode: b.seat_mode,
        };
        let new = NewRoom::parse(input, self.state.zone)?;
        let room = self.state.store.rooms().create(new, &caller.0).await?;
        Ok(self.answer(room, &caller))
    }

    /// 查询直播间 — one room.
    ///
    /// 查询直播间信息。
    ///
    /// The room as it is now; `push_url` is shown to its anchor only.
    #[oai(
        path = "/client/live/room/info/:live_id",
        method = "get",
        operation_id = "getRoom"
    )]
    async fn info(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<RoomEnvelope>, ApiError> {
        let room = self.state.store.rooms().room(&live_id).await?;
        Ok(self.answer(room, &caller))
    }

    /// 开始直播 — start the live (anchor only): 0 -> 1. On a live room it answers the room.
    ///
    /// 开始直播间的直播。开始直播后，其他用户可以看到该直播间。只有直播间的主播，才能开始直播。
    /// 直播间关闭之后，不能调用该接口开始直播。
    ///
    /// Starts the room's live: others then see it in the live list. Only the room's anchor may
    /// start it (403); an ended room cannot be started again (409/40900).
    #[oai(
        path = "/client/live/room/:live_id",
        method = "put",
        operation_id = "startLive"
    )]
    async fn start(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<RoomEnvelope>, ApiError> {
        let room = self
            .state
            .store
            .rooms()
            .start(&live_id, caller.user_id())
            .await?;
        Ok(self.answer(room, &caller))
    }

    /// 停止直播 — stop the live (anchor only, only while live): 1 -> 2. Members are released.
    ///
    /// 停止直播。只有直播间的主播才能停止直播。只有直播间在直播状态，才能停止直播。
    ///
    /// Stops the live. Only the room's anchor may stop it (403), and only while it is live
    /// (409/40900).
    #[oai(
        path = "/client/live/room/:live_id",
        method = "post",
        operation_id = "stopLive"
    )]
    async fn stop(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<Envelope>, ApiError> {
        self.state
            .store
            .rooms()
            .stop(&live_id, caller.user_id())
            .await?;
        Ok(Envelope::ok())
    }

    /// 删除直播间 — delete the room (anchor only), whatever its state.
    ///
    /// 删除直播间。只有直播间的主播才能删除直播间。
    ///
    /// Deletes the room. Only the room's anchor may delete it (403); afterwards the room is 404
    /// everywhere.
    #[oai(
        path = "/client/live/room/instance/:live_id",
        method = "delete",
        operation_id = "deleteRoom"
    )]
    async fn delete(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
    ) -> Result<Json<Envelope>, ApiError> {
        self.state
            .store
            .rooms()
            .delete(&live_id, caller.user_id())
            .await?;
        Ok(Envelope::ok())
    }

    /// 更新直播扩展 — replace the room's extends (anchor only).
    ///
    /// 更新直播间的扩展信息。
    ///
    /// Replaces the room's extension pairs with the ones sent.
    #[oai(
        path = "/client/live/room/extends",
        method = "put",
        operation_id = "updateExtends"
    )]
    async fn update_extends(
        &self,
        caller: Caller,
        body: JsonBody<UpdateExtendsRequest>,
    ) -> Result<Json<Envelope>, ApiError> {
        let id = live_id::parse(&body.0.live_id)?;
        let extends = Extends::parse("extends", body.0.extends.0)?;
        self.state
            .store
            .rooms()
            .set_extends(&id, caller.user_id(), &extends)
            .await?;
        Ok(Envelope::ok())
    }
}
