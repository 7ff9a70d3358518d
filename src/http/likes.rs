//! Likes (CONTRACT section 14).

use poem_openapi::OpenApi;
use poem_openapi::payload::Json;

use super::auth::Caller;
use super::body::OptionalJsonBody;
use super::envelope::LikeEnvelope;
use super::error::ApiError;
use super::model::{LikeData, LikeRequest};
use super::{ApiTags, AppState, live_id};
use crate::domain::interaction::like_count;

pub struct LikesApi {
    pub state: AppState,
}

#[OpenApi(tag = "ApiTags::Interaction")]
impl LikesApi {
    /// 点赞 — like the room: a member of a live room, or its anchor.
    ///
    /// 直播间内的用户（或主播）给直播间点赞。
    ///
    /// Adds `count` likes (1–100, default 1; the body may be left out) to the room. Answers the
    /// room's total and the caller's own total in this room, both including these; the likes
    /// are stored before the answer. Not live: 409/40900 (checked first); not a member:
    /// 409/40901. Watchers get a `likes` event with the total at most once a second.
    #[oai(
        path = "/client/live/room/:live_id/like",
        method = "put",
        operation_id = "likeRoom"
    )]
    async fn like(
        &self,
        caller: Caller,
        /// 直播间ID
        live_id: live_id::Path,
        body: OptionalJsonBody<LikeRequest>,
    ) -> Result<Json<LikeEnvelope>, ApiError> {
        let count = like_count(body.0.count)?;
        let liked = self
            .state
            .store
            .likes()
            .like(&live_id, caller.user_id(), count)
            .await?;
        Ok(LikeEnvelope::ok(LikeData {
            total: liked.total,
            count: liked.own,
        }))
    }
}
