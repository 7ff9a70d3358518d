//! The bodies of the like endpoint.

use poem_openapi::Object;
use poem_openapi::types::Example;

/// 点赞 — likes to send.
#[derive(Object, Debug, Default, serde::Deserialize)]
#[oai(example)]
pub struct LikeRequest {
    /// 点赞数 — 1–100 (null or absent: 1).
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "100")))]
    pub count: Option<i64>,
}

// The validator above takes literals: keep them the domain's limit.
const _: () = assert!(crate::domain::interaction::MAX_LIKES_PER_CALL == 100);

impl Example for LikeRequest {
    fn example() -> Self {
        Self { count: Some(5) }
    }
}

/// 点赞结果 — the room's likes total and the caller's own.
#[derive(Object, Debug)]
#[oai(example)]
pub struct LikeData {
    /// 直播间点赞总数 — the room's likes, these included.
    pub total: u64,
    /// 我的点赞数 — the caller's own likes in this room, these included.
    pub count: u64,
}

impl Example for LikeData {
    fn example() -> Self {
        Self {
            total: 52_000,
            count: 15,
        }
    }
}
