//! The request and response bodies of the API, as the original document names their fields.

use std::collections::BTreeMap;

use poem_openapi::Object;

use crate::domain::page::Page;
use crate::domain::profile::Person;
use crate::domain::room::Room;
use crate::streams::StreamUrls;

/// 创建直播间 — a room to create.
#[derive(Object, Debug, serde::Deserialize)]
pub struct CreateRoomRequest {
    /// 直播标题: 1–128 characters after trimming.
    pub title: String,
    /// 直播公告: at most 1024 characters.
    pub notice: Option<String>,
    /// Cover image, an http(s) URL of at most 2048 characters.
    pub cover_url: Option<String>,
    /// 扩展信息: at most 32 pairs; keys 1–64 characters, values at most 1024.
    pub extends: Option<BTreeMap<String, String>>,
    /// 直播开始时间: "YYYY-MM-DD HH:MM:SS" in the service's zone (default +08:00), or RFC 3339.
    pub start_at: Option<String>,
    /// 直播结束时间: as start_at; must be after it.
    pub end_at: Option<String>,
    /// 自定义推流地址Token过期时间: as start_at.
    pub publish_expire_at: Option<String>,
}

/// 更新直播扩展 — the room's new extends, replacing the old.
#[derive(Object, Debug, serde::Deserialize)]
pub struct UpdateExtendsRequest {
    /// 直播间ID
    pub live_id: String,
    /// 扩展信息: at most 32 pairs; keys 1–64 characters, values at most 1024.
    pub extends: BTreeMap<String, String>,
}

/// 主播信息 — the room's anchor.
#[derive(Object, Debug)]
pub struct AnchorInfo {
    /// 主播用户ID
    pub user_id: String,
    /// 主播的IM 用户ID
    pub im_userid: i64,
    /// 主播昵称
    pub nick: String,
    /// 主播用户头像
    pub avatar: String,
    /// 主播用户扩展信息
    pub extends: BTreeMap<String, String>,
}

/// 直播间 — a room.
#[derive(Object, Debug)]
pub struct RoomData {
    /// 直播间ID
    pub live_id: String,
    /// 直播间标题
    pub title: String,
    /// 直播间公告
    pub notice: String,
    pub cover_url: String,
    pub extends: BTreeMap<String, String>,
    pub anchor_info: AnchorInfo,
    /// 主播状态: 0 offline, 1 online
    pub anchor_status: i32,
    /// 跨房会话ID ("" unless in a cross-room PK)
    pub pk_id: String,
    /// 在线用户数
    pub online_count: u64,
    /// 开始直播时间 (unix seconds): planned until the live starts, then actual
    pub start_time: i64,
    /// 结束直播时间 (unix seconds): planned until the live ends, then actual
    pub end_time: i64,
    /// 聊天室ID
    pub chat_id: i64,
    /// 推流地址: shown to the anchor only ("" for everyone else)
    pub push_url: String,
    /// hls 拉流URL
    pub hls_url: String,
    /// rtmp 拉流URL
    pub rtmp_url: String,
    /// flv 拉流URL
    pub flv_url: String,
    /// PV: number of joins
    pub pv: u64,
    /// UV: distinct users who ever joined
    pub uv: u64,
    /// 直播间状态: 0 created, 1 live, 2 ended
    pub live_status: i32,
    /// 推流状态: 0 idle, 1 publishing (as the media server reports it through the hooks)
    pub stream_status: i32,
}

impl RoomData {
    pub fn new(room: Room, urls: StreamUrls) -> Self {
        Self {
            live_id: room.live_id.to_string(),
            title: room.title,
            notice: room.notice,
            cover_url: room.cover_url,
            extends: room.extends,
            anchor_info: AnchorInfo {
                user_id: room.anchor.user_id,
                im_userid: room.anchor.im_userid,
                nick: room.anchor.looks.nick,
                avatar: room.anchor.looks.avatar,
                extends: room.anchor.looks.extends,
            },
            anchor_status: i32::from(room.anchor_online),
            pk_id: room.pk_id,
            online_count: room.online_count,
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

/// A page of rooms.
#[derive(Object, Debug)]
pub struct RoomPage {
    /// 总数
    pub total_count: u64,
    /// 总页数
    pub page_total: u64,
    /// 当前是否最后一页
    pub end_page: bool,
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

/// 房间用户 — a member of a room.
#[derive(Object, Debug)]
pub struct MemberData {
    /// 用户ID
    pub user_id: String,
    /// 用户的IM 账号ID
    pub im_userid: i64,
    /// IM用户名 (the user id)
    pub im_username: String,
    /// 昵称
    pub nick: String,
    /// 用户头像
    pub avatar: String,
    /// 用户扩展信息
    pub extends: BTreeMap<String, String>,
}

impl From<Person> for MemberData {
    fn from(p: Person) -> Self {
        Self {
            im_username: p.user_id.clone(),
            user_id: p.user_id,
            im_userid: p.im_userid,
            nick: p.looks.nick,
            avatar: p.looks.avatar,
            extends: p.looks.extends,
        }
    }
}

/// A page of members.
#[derive(Object, Debug)]
pub struct MemberPage {
    pub total_count: u64,
    pub page_total: u64,
    pub end_page: bool,
    pub list: Vec<MemberData>,
}

impl From<Page<Person>> for MemberPage {
    fn from(page: Page<Person>) -> Self {
        let page = page.map(MemberData::from);
        Self {
            total_count: page.total_count,
            page_total: page.page_total,
            end_page: page.end_page,
            list: page.list,
        }
    }
}

/// 心跳 — what the room says to a heartbeat.
#[derive(Object, Debug)]
pub struct HeartbeatData {
    pub live_id: String,
    /// 0 created, 1 live, 2 ended (the client should leave)
    pub live_status: i32,
}
