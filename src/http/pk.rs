//! Cross-room PK (CONTRACT section 14): invite, accept, reject, stop, extends, read, and the
//! admin's stop.

use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;

use super::auth::Caller;
use super::body::JsonBody;
use super::envelope::PkEnvelope;
use super::error::ApiError;
use super::model::{PkData, PkExtendsRequest, PkInviteRequest};
use super::server::Admin;
use super::{ApiTags, AppState, live_id};
use crate::domain::interaction::{Pk, PkId};
use crate::domain::room::Extends;
use crate::store::{StoreError, StoreResult};

pub struct PkApi {
    pub state: AppState,
}

/// A pk_id not of the server's form names no PK: 404 without asking Redis.
fn pk_id(raw: &str) -> Result<PkId, ApiError> {
    PkId::parse(raw.trim()).ok_or_else(no_such_pk)
}

fn no_such_pk() -> ApiError {
    ApiError::NotFound("no such PK (or it ended more than an hour ago)".into())
}

/// The PK's answer; a missing PK is "no such PK", not "no such room".
fn answer(pk: StoreResult<Pk>) -> Result<Json<PkEnvelope>, ApiError> {
    match pk {
        Ok(pk) => Ok(PkEnvelope::ok(PkData::from(pk))),
        Err(StoreError::NotFound) => Err(no_such_pk()),
        Err(e) => Err(e.into()),
    }
}

#[OpenApi(tag = "ApiTags::Interaction")]
impl PkApi {
    /// 发起跨房PK — invite another live room's anchor to a PK (anchor of `live_id`).
    ///
    /// 主播邀请另一个直播中的直播间进行跨房PK。
    ///
    /// Creates `pk_<id>` in status `inviting` and sends `pk_invited` to the target room. Both
    /// rooms live (409/40900) and different (400); either already in a PK, inviting or active:
    /// 409/40903. Unanswered after `LIVEROOM_PK_INVITE_SECS` it ends (`reason: expired`).
    #[oai(
        path = "/client/live/room/pk",
        method = "post",
        operation_id = "invitePk"
    )]
    async fn invite(
        &self,
        caller: Caller,
        body: JsonBody<PkInviteRequest>,
    ) -> Result<Json<PkEnvelope>, ApiError> {
        let init = live_id::parse(&body.0.live_id)?;
        let target = live_id::parse(&body.0.target_live_id)?;
        let pk = self
            .state
            .store
            .pks()
            .invite(&init, &target, caller.user_id())
            .await?;
        Ok(PkEnvelope::ok(PkData::from(pk)))
    }

    /// 接受跨房PK — accept (the invited room's anchor): both rooms show the PK.
    ///
    /// 被邀请方主播接受PK邀请。
    ///
    /// Status `active`; both rooms' `pk_id` set, `pk_started` in both. Not inviting (or
    /// expired): 409/40903; not the invited anchor: 403.
    #[oai(
        path = "/client/live/room/pk/:pk_id/accept",
        method = "post",
        operation_id = "acceptPk"
    )]
    async fn accept(
        &self,
        caller: Caller,
        /// PK会话ID
        pk_id: Path<String>,
    ) -> Result<Json<PkEnvelope>, ApiError> {
        let id = self::pk_id(&pk_id.0)?;
        answer(self.state.store.pks().accept(&id, caller.user_id()).await)
    }

    /// 拒绝跨房PK — reject (the invited room's anchor).
    ///
    /// 被邀请方主播拒绝PK邀请。
    ///
    /// Status `ended`, `pk_ended` (`reason: rejected`) in both rooms. Not inviting: 409/40903.
    #[oai(
        path = "/client/live/room/pk/:pk_id/reject",
        method = "post",
        operation_id = "rejectPk"
    )]
    async fn reject(
        &self,
        caller: Caller,
        /// PK会话ID
        pk_id: Path<String>,
    ) -> Result<Json<PkEnvelope>, ApiError> {
        let id = self::pk_id(&pk_id.0)?;
        answer(self.state.store.pks().reject(&id, caller.user_id()).await)
    }

    /// 结束跨房PK — stop (either anchor).
    ///
    /// 任一方主播结束PK。
    ///
    /// Status `ended`, both rooms' `pk_id` back to "", `pk_ended` (`reason: stopped`) in both.
    /// Already ended: 409/40903.
    #[oai(
        path = "/client/live/room/pk/:pk_id/stop",
        method = "post",
        operation_id = "stopPk"
    )]
    async fn stop(
        &self,
        caller: Caller,
        /// PK会话ID
        pk_id: Path<String>,
    ) -> Result<Json<PkEnvelope>, ApiError> {
        let id = self::pk_id(&pk_id.0)?;
        answer(
            self.state
                .store
                .pks()
                .stop(&id, caller.user_id(), false)
                .await,
        )
    }

    /// 更新PK扩展 — replace the PK's extends (either anchor, while active).
    ///
    /// 更新PK的扩展信息（比分、主题等）。
    ///
    /// `pk_updated` with the new extends in both rooms. Limits as a room's extends; not active:
    /// 409/40903.
    #[oai(
        path = "/client/live/room/pk/:pk_id/extends",
        method = "put",
        operation_id = "updatePkExtends"
    )]
    async fn extends(
        &self,
        caller: Caller,
        /// PK会话ID
        pk_id: Path<String>,
        body: JsonBody<PkExtendsRequest>,
    ) -> Result<Json<PkEnvelope>, ApiError> {
        let id = self::pk_id(&pk_id.0)?;
        let extends = Extends::parse("extends", body.0.extends.0)?;
        answer(
            self.state
                .store
                .pks()
                .set_extends(&id, caller.user_id(), &extends)
                .await,
        )
    }

    /// 查询跨房PK — one PK, readable for an hour after it ends.
    ///
    /// 查询跨房PK会话。
    #[oai(
        path = "/client/live/room/pk/:pk_id",
        method = "get",
        operation_id = "getPk"
    )]
    async fn read(
        &self,
        _caller: Caller,
        /// PK会话ID
        pk_id: Path<String>,
    ) -> Result<Json<PkEnvelope>, ApiError> {
        let id = self::pk_id(&pk_id.0)?;
        answer(self.state.store.pks().read(&id).await)
    }

    /// 结束跨房PK（管理员） — an admin stops any PK (`reason: admin`).
    ///
    /// 管理员结束任意PK。
    #[oai(
        path = "/server/live/pk/:pk_id/stop",
        method = "post",
        operation_id = "serverStopPk",
        tag = "ApiTags::Server"
    )]
    async fn admin_stop(
        &self,
        admin: Admin,
        /// PK会话ID
        pk_id: Path<String>,
    ) -> Result<Json<PkEnvelope>, ApiError> {
        let id = self::pk_id(&pk_id.0)?;
        answer(
            self.state
                .store
                .pks()
                .stop(&id, admin.0.user_id(), true)
                .await,
        )
    }
}
