//! The bodies of the cross-room PK endpoints.

use poem_openapi::Object;
use poem_openapi::types::Example;

use super::{EXAMPLE_LIVE_ID, Extends, example_extends};
use crate::domain::interaction::Pk;

/// 发起跨房PK — the invitation: the caller's room and the room it invites.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct PkInviteRequest {
    /// 发起方直播间ID — the caller's room (the caller is its anchor).
    pub live_id: String,
    /// 被邀请方直播间ID — the invited room (another live room).
    pub target_live_id: String,
}

impl Example for PkInviteRequest {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            target_live_id: "live_0192f0c4a1b27c3d8e9f0a1b2c3d4e60".into(),
        }
    }
}

/// 更新PK扩展 — the PK's new extends (scores, theme), replacing the old.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct PkExtendsRequest {
    pub extends: Extends,
}

impl Example for PkExtendsRequest {
    fn example() -> Self {
        Self {
            extends: example_extends(),
        }
    }
}

/// 跨房PK — a cross-room PK session.
#[derive(Object, Debug)]
#[oai(example)]
pub struct PkData {
    /// 会话ID — `pk_` and 32 hex digits.
    pub pk_id: String,
    /// 状态 — `inviting` (waiting for the invited anchor), `active`, `ended`.
    pub status: String,
    /// 发起方直播间ID
    pub init_live_id: String,
    /// 发起方主播ID
    pub init_anchor_id: String,
    /// 被邀请方直播间ID
    pub target_live_id: String,
    /// 被邀请方主播ID
    pub target_anchor_id: String,
    /// 创建时间 — the invitation, unix seconds.
    pub created_at: i64,
    /// 开始时间 — the accept, unix seconds (0 before).
    pub start_time: i64,
    /// 结束时间 — the end, unix seconds (0 before).
    pub end_time: i64,
    /// 结束原因 — `rejected`, `expired`, `stopped`, `admin` or `room_ended`; "" until it ends.
    pub ended_reason: String,
    pub extends: Extends,
}

impl From<Pk> for PkData {
    fn from(pk: Pk) -> Self {
        Self {
            pk_id: pk.pk_id.to_string(),
            status: pk.status.as_str().to_owned(),
            init_live_id: pk.init_live_id.to_string(),
            init_anchor_id: pk.init_anchor_id,
            target_live_id: pk.target_live_id.to_string(),
            target_anchor_id: pk.target_anchor_id,
            created_at: pk.created_ms / 1000,
            start_time: pk.start_ms / 1000,
            end_time: pk.end_ms / 1000,
            ended_reason: pk.ended_reason,
            extends: pk.extends.into(),
        }
    }
}

impl Example for PkData {
    fn example() -> Self {
        Self {
            pk_id: "pk_0192f0c4a1b27c3d8e9f0a1b2c3d4e61".into(),
            status: "active".into(),
            init_live_id: EXAMPLE_LIVE_ID.into(),
            init_anchor_id: "user_1".into(),
            target_live_id: "live_0192f0c4a1b27c3d8e9f0a1b2c3d4e60".into(),
            target_anchor_id: "user_2".into(),
            created_at: 1_656_315_406,
            start_time: 1_656_315_410,
            end_time: 0,
            ended_reason: String::new(),
            extends: example_extends(),
        }
    }
}
