//! Cross-room PK (CONTRACT section 14): invite, accept, reject, stop, extends, read, and the
//! admin's stop.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};

use super::auth::Caller;
use super::body::JsonBody;
use super::envelope::{PkEnvelope, envelope};
use super::error::ApiError;
use super::model::{PkData, PkExtendsRequest, PkInviteRequest};
use super::server::Admin;
use super::{ApiTags, AppState, live_id};
use crate::domain::interaction::{Pk, PkId, PkStatus};
use crate::domain::room::Extends;
use crate::store::{StoreError, StoreResult};

pub struct PkApi {
    pub state: AppState,
}

/// PK的RTC令牌 — an anchor's token for the other room of its active PK.
#[derive(Object, Debug)]
#[oai(example)]
pub struct PkRtcData {
    /// PK会话ID
    pub pk_id: String,
    /// 对方直播间ID — the other room (the RTC room's name).
    pub live_id: String,
    /// RTC地址 — the RTC server ("" without the RTC settings).
    pub rtc_url: String,
    /// RTC令牌 — a LiveKit access token for the other room, HS256, valid 6 hours ("" without
    /// the RTC settings).
    pub rtc_token: String,
}

impl Example for PkRtcData {
    fn example() -> Self {
        Self {
            pk_id: "pk_0190f3c2a1b27c3e9d4f5a6b7c8d9e0f".into(),
            live_id: super::model::EXAMPLE_LIVE_ID.into(),
            rtc_url: "wss://rtc.example.com".into(),
            rtc_token: "eyJhbGciOiJIUzI1NiJ9.…".into(),
        }
    }
}

envelope!(
    /// An RTC token for a PK's other room.
    PkRtcEnvelope,
    PkRtcData
);

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

    /// PK的RTC令牌 — an anchor of an active PK gets a token for the other room.
    ///
    /// 跨房PK中，主播获取对方直播间的RTC令牌（连麦互通）。
    ///
    /// Only the two anchors of the PK (anyone else 403/40300), and only while it is active
    /// (inviting or ended: 409/40903). The token is for the *other* room: `live_id` names it.
    /// Without the RTC settings `rtc_url` and `rtc_token` are `""`.
    #[oai(
        path = "/client/live/room/pk/:pk_id/rtc",
        method = "get",
        operation_id = "pkRtcToken"
    )]
    async fn rtc(
        &self,
        caller: Caller,
        /// PK会话ID
        pk_id: Path<String>,
    ) -> Result<Json<PkRtcEnvelope>, ApiError> {
        let id = self::pk_id(&pk_id.0)?;
        let pk = match self.state.store.pks().read(&id).await {
            Ok(pk) => pk,
            Err(StoreError::NotFound) => return Err(no_such_pk()),
            Err(e) => return Err(e.into()),
        };
        let me = &caller.0;
        let other = if me.user_id.as_str() == pk.init_anchor_id {
            &pk.target_live_id
        } else if me.user_id.as_str() == pk.target_anchor_id {
            &pk.init_live_id
        } else {
            return Err(ApiError::NotAnchor);
        };
        if pk.status != PkStatus::Active {
            return Err(ApiError::PkConflict(format!(
                "the PK is {}, not active: RTC tokens are for an active PK",
                pk.status.as_str()
            )));
        }
        let (rtc_url, rtc_token) = super::seats::rtc_for(
            &self.state,
            other.as_str(),
            me.user_id.as_str(),
            &me.looks.nick,
        )?;
        Ok(PkRtcEnvelope::ok(PkRtcData {
            pk_id: id.as_str().to_owned(),
            live_id: other.to_string(),
            rtc_url,
            rtc_token,
        }))
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
