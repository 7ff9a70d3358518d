//! The request and response bodies of the API, as the original document names their fields,
//! with its descriptions (Chinese) beside ours (English) and its examples.
//!
//! Request bodies are parsed by serde (`body.rs`); the `Object` derive only describes them, so
//! the limits declared here (`validator`) are the ones the domain enforces, for the spec. A limit
//! the domain counts after trimming (title, cover_url, keyword) is in words only: a schema's
//! `maxLength` counts the untrimmed string, and the server would accept some strings longer than
//! it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use poem_openapi::Object;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{
    Example, ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::{Value, json};

use crate::domain::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
use crate::domain::room::{MAX_EXTENDS_PAIRS, MAX_EXTENDS_VALUE_CHARS, MAX_NOTICE_CHARS, Room};
use crate::streams::StreamUrls;

mod likes;
mod members;
mod pk;
pub use likes::{LikeData, LikeRequest};
pub use members::{HeartbeatData, MemberData, MemberPage};
pub use pk::{PkData, PkExtendsRequest, PkInviteRequest};

/// A live_id of the server's form, for examples (the document's `live_123` is not one).
pub const EXAMPLE_LIVE_ID: &str = "live_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b";

/// Key/value pairs whose JSON is an object of strings: a named schema of their own, or inline
/// (where the field is `nullable`: OpenAPI 3.0 cannot add that to a reference).
macro_rules! string_map {
    ($(#[$doc:meta])* $name:ident, $named:literal, $description:literal, $max_pairs:expr, $max_value:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub BTreeMap<String, String>);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                if $named {
                    MetaSchemaRef::Reference(stringify!($name).into())
                } else {
                    MetaSchemaRef::Inline(Box::new(Self::schema()))
                }
            }

            fn register(registry: &mut Registry) {
                if $named {
                    registry.create_schema::<Self, _>(stringify!($name).into(), |_| MetaSchema {
                        title: Some(stringify!($name).into()),
                        ..Self::schema()
                    });
                }
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl $name {
            fn schema() -> MetaSchema {
                MetaSchema {
                    description: Some($description),
                    additional_properties: Some(Box::new(MetaSchemaRef::Inline(Box::new(
                        MetaSchema {
                            max_length: $max_value,
                            ..MetaSchema::new("string")
                        },
                    )))),
                    max_properties: $max_pairs,
                    example: Some(json!({"age": "18"})),
                    ..MetaSchema::new("object")
                }
            }
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                serde_json::from_value(value.unwrap_or_default())
                    .map(Self)
                    .map_err(ParseError::custom)
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                serde_json::to_value(&self.0).ok()
            }
        }

        impl From<BTreeMap<String, String>> for $name {
            fn from(map: BTreeMap<String, String>) -> Self {
                Self(map)
            }
        }
    };
}

string_map!(
    /// The room's extends: checked at create and update, so they keep the limits.
    Extends,
    true,
    "扩展信息, key value 结构 — the room's extension pairs: at most 32, keys 1–64 characters, \
     values at most 1024 characters.",
    Some(MAX_EXTENDS_PAIRS),
    Some(MAX_EXTENDS_VALUE_CHARS)
);

string_map!(
    /// The extends of a room to create (inline: the field is nullable).
    NewExtends,
    false,
    "扩展信息, key value 结构 — the room's extension pairs: at most 32, keys 1–64 characters, \
     values at most 1024 characters.",
    Some(MAX_EXTENDS_PAIRS),
    Some(MAX_EXTENDS_VALUE_CHARS)
);

string_map!(
    /// A user's extends, from the `extends` claim of the user's token (not limited here).
    ProfileExtends,
    true,
    "用户扩展信息 — the user's extension pairs, from the `extends` claim of the user's token.",
    None,
    None
);

/// An integer query parameter with its bounds in the spec. The value is parsed as any integer;
/// the domain checks the bounds, so that its message names the parameter and the limit.
macro_rules! int_param {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $default:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub i64);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = i64;
            type RawElementValueType = i64;

            fn name() -> Cow<'static, str> {
                "integer(int64)".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    minimum: Some($min as f64),
                    maximum: Some($max as f64),
                    default: $default.map(|d: i64| json!(d)),
                    ..MetaSchema::new_with_format("integer", "int64")
                }))
            }

            fn as_raw_value(&self) -> Option<&i64> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a i64> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                value.parse().map(Self).map_err(ParseError::custom)
            }
        }
    };
}

int_param!(
    /// 页码: >= 1 (default 1).
    PageNum,
    1,
    u32::MAX,
    Some(1)
);
int_param!(
    /// 分页数量: 1–100 (default 20).
    PageSize,
    1,
    MAX_PAGE_SIZE,
    Some(i64::from(DEFAULT_PAGE_SIZE))
);
int_param!(
    /// 直播间状态: 0 created, 1 live, 2 ended.
    LiveStatusParam,
    0,
    2,
    None::<i64>
);

/// 创建直播间 — a room to create.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct CreateRoomRequest {
    /// 直播标题 — the title: 1–128 characters after trimming.
    #[oai(validator(min_length = 1))]
    pub title: String,
    /// 直播公告 — the notice: at most 1024 characters.
    #[oai(nullable, validator(max_length = 1024))]
    pub notice: Option<String>,
    /// 封面, URL 地址 — the cover image: an http(s) URL of at most 2048 characters after
    /// trimming; "" for none.
    #[oai(nullable)]
    pub cover_url: Option<String>,
    #[oai(nullable)]
    pub extends: Option<NewExtends>,
    /// 直播开始时间 — the planned start: "YYYY-MM-DD HH:MM:SS" in the service's zone (default
    /// +08:00), or RFC 3339; "" for none.
    #[oai(nullable)]
    pub start_at: Option<String>,
    /// 直播结束时间 — the planned end, as start_at; after start_at when both are given.
    #[oai(nullable)]
    pub end_at: Option<String>,
    /// 自定义推流地址Token过期时间 — when the push URL expires, as start_at (default: end_at,
    /// else 24 hours after creation).
    #[oai(nullable)]
    pub publish_expire_at: Option<String>,
    /// 连麦模式 — how members get a co-host seat: "free" (default: a member takes the lowest
    /// free seat at once) or "apply" (the anchor accepts or rejects each request).
    #[oai(nullable)]
    pub seat_mode: Option<String>,
}

// The validators above take literals: keep them the domain's limits.
const _: () = assert!(MAX_NOTICE_CHARS == 1024);

impl Example for CreateRoomRequest {
    fn example() -> Self {
        Self {
            title: "XXX直播".into(),
            notice: Some("直播预告".into()),
            cover_url: Some("https://xxx.com/avator.png".into()),
            extends: Some(NewExtends(example_extends().0)),
            start_at: Some("2021-12-02 11:11:11".into()),
            end_at: Some("2021-12-02 13:11:11".into()),
            publish_expire_at: Some("2021-12-02 13:11:11".into()),
            seat_mode: Some("apply".into()),
        }
    }
}

pub(super) fn example_extends() -> Extends {
    Extends(BTreeMap::from([("age".to_owned(), "18".to_owned())]))
}

/// 更新直播扩展 — the room's new extends, replacing the old.
#[derive(Object, Debug, serde::Deserialize)]
#[oai(example)]
pub struct UpdateExtendsRequest {
    /// 直播间ID — the room.
    pub live_id: String,
    pub extends: Extends,
}

impl Example for UpdateExtendsRequest {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            extends: example_extends(),
        }
    }
}

/// 主播信息 — the room's anchor, as its latest token describes it.
#[derive(Object, Debug)]
#[oai(example)]
pub struct AnchorInfo {
    /// 主播用户ID — the anchor's user id (`sub` of its token).
    pub user_id: String,
    /// 主播的IM 用户ID — the anchor's IM user id.
    pub im_userid: i64,
    /// 主播昵称 — the anchor's nick.
    pub nick: String,
    /// 主播用户头像 — the anchor's avatar URL ("" when none).
    pub avatar: String,
    pub extends: ProfileExtends,
}

impl Example for AnchorInfo {
    fn example() -> Self {
        Self {
            user_id: "user_1".into(),
            im_userid: 9_000_990,
            nick: "主播1".into(),
            avatar: String::new(),
            extends: ProfileExtends(example_extends().0),
        }
    }
}

/// 直播间 — a room.
#[derive(Object, Debug)]
#[oai(example)]
pub struct RoomData {
    /// 直播间ID — `live_` and 32 hex digits.
    pub live_id: String,
    /// 直播间标题 — the title.
    pub title: String,
    /// 直播间公告 — the notice.
    pub notice: String,
    /// 封面 — the cover image URL ("" when none).
    pub cover_url: String,
    pub extends: Extends,
    pub anchor_info: AnchorInfo,
    /// 主播状态: 0, 离线; 1, 在线 — 0 offline, 1 online (heartbeats within the member window).
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    pub anchor_status: i32,
    /// 跨房会话ID, 跨房PK 时有效 — the cross-room PK session ("" unless in one).
    pub pk_id: String,
    /// 连麦模式 — "free" (a member takes a free co-host seat at once) or "apply" (the anchor
    /// accepts each request).
    pub seat_mode: String,
    /// 在线用户数 — members whose last heartbeat is within the member window.
    pub online_count: u64,
    /// 点赞数 — likes the room has received (`PUT /client/live/room/{live_id}/like`).
    pub likes: u64,
    /// 开始直播时间, 秒级时间戳 — unix seconds: the planned start until the live starts, then
    /// the actual start (0 when none).
    pub start_time: i64,
    /// 结束直播时间, 秒级时间戳 — unix seconds: the planned end until the live ends, then the
    /// actual end (0 when none).
    pub end_time: i64,
    /// 聊天室ID — the chat room.
    pub chat_id: i64,
    /// 推流地址 — the (signed) publish URL: shown to the room's anchor only ("" for everyone
    /// else).
    pub push_url: String,
    /// hls 拉流URL — HLS playback.
    pub hls_url: String,
    /// rtmp 拉流URL — RTMP playback.
    pub rtmp_url: String,
    /// flv 拉流URL — HTTP-FLV playback.
    pub flv_url: String,
    /// PV — number of joins.
    pub pv: u64,
    /// UV — distinct users who ever joined.
    pub uv: u64,
    /// 直播间状态: 0, 已创建; 1, 直播中; 2, 已结束 — 0 created, 1 live, 2 ended.
    #[oai(validator(minimum(value = "0"), maximum(value = "2")))]
    pub live_status: i32,
    /// 推流状态 — 0 idle, 1 publishing (as the media server reports it through the hooks).
    #[oai(validator(minimum(value = "0"), maximum(value = "1")))]
    pub stream_status: i32,
}

impl RoomData {
    pub fn new(room: Room, urls: StreamUrls) -> Self {
        Self {
            live_id: room.live_id.to_string(),
            title: room.title,
            notice: room.notice,
            cover_url: room.cover_url,
            extends: room.extends.into(),
            anchor_info: AnchorInfo {
                user_id: room.anchor.user_id,
                im_userid: room.anchor.im_userid,
                nick: room.anchor.looks.nick,
                avatar: room.anchor.looks.avatar,
                extends: room.anchor.looks.extends.into(),
            },
            anchor_status: i32::from(room.anchor_online),
            pk_id: room.pk_id,
            seat_mode: room.seat_mode.as_str().to_owned(),
            online_count: room.online_count,
            likes: room.likes,
            start_time: room.start_time,
            end_time: room.end_time,
            chat_id: room.chat_id,
            push_url: urls.push_url,
            hls_url: urls.hls_url,
            rtmp_url: urls.rtmp_url,
            flv_url: urls.flv_url,
            pv: room.pv,
            uv: room.uv,
            live_status: room.live_status.code(),
            stream_status: room.stream_status.code(),
        }
    }
}

impl Example for RoomData {
    fn example() -> Self {
        let id = EXAMPLE_LIVE_ID;
        Self {
            live_id: id.into(),
            title: "XXX直播".into(),
            notice: "直播间公告".into(),
            cover_url: "https://xxx.png".into(),
            extends: example_extends(),
            anchor_info: AnchorInfo::example(),
            anchor_status: 1,
            pk_id: String::new(),
            seat_mode: "free".into(),
            online_count: 3,
            likes: 520,
            start_time: 1_656_315_406,
            end_time: 1_656_315_406,
            chat_id: 19_903_902,
            push_url: format!("rtmp://127.0.0.1:1935/live/{id}"),
            hls_url: format!("http://127.0.0.1:8080/live/{id}.m3u8"),
            rtmp_url: format!("rtmp://127.0.0.1:1935/live/{id}"),
            flv_url: format!("http://127.0.0.1:8080/live/{id}.flv"),
            pv: 1003,
            uv: 934,
            live_status: 1,
            stream_status: 0,
        }
    }
}

/// 直播间列表 — a page of rooms.
#[derive(Object, Debug)]
#[oai(example)]
pub struct RoomPage {
    /// 总数 — rooms in all pages.
    pub total_count: u64,
    /// 总页数 — ceil(total_count / page_size), 0 when empty.
    pub page_total: u64,
    /// 当前是否最后一页 — page_num >= page_total.
    pub end_page: bool,
    /// 直播间 — the rooms of this page.
    pub list: Vec<RoomData>,
}

impl RoomPage {
    pub fn new(page: Page<RoomData>) -> Self {
        Self {
            total_count: page.total_count,
            page_total: page.page_total,
            end_page: page.end_page,
            list: page.list,
        }
    }
}

impl Example for RoomPage {
    fn example() -> Self {
        Self {
            total_count: 100,
            page_total: 5,
            end_page: false,
            list: vec![RoomData::example()],
        }
    }
}
