//! The bodies of the presence endpoints: a member, a page of members, a heartbeat's answer.

use poem_openapi::Object;
use poem_openapi::types::Example;

use super::{EXAMPLE_LIVE_ID, ProfileExtends, example_extends};
use crate::domain::page::Page;
use crate::domain::profile::Person;

/// 房间用户 — a member of a room, as its latest token describes it.
#[derive(Object, Debug)]
#[oai(example)]
pub struct MemberData {
    /// 用户ID — the user id.
    pub user_id: String,
    /// 用户的IM 账号ID — the user's IM user id.
    pub im_userid: i64,
    /// IM用户名 — the IM user name (the user id).
    pub im_username: String,
    /// 昵称 — the nick.
    pub nick: String,
    /// 用户头像 — the avatar URL ("" when none).
    pub avatar: String,
    pub extends: ProfileExtends,
}

impl From<Person> for MemberData {
    fn from(p: Person) -> Self {
        Self {
            im_username: p.user_id.clone(),
            user_id: p.user_id,
            im_userid: p.im_userid,
            nick: p.looks.nick,
            avatar: p.looks.avatar,
            extends: p.looks.extends.into(),
        }
    }
}

impl Example for MemberData {
    fn example() -> Self {
        Self {
            user_id: "user_1".into(),
            im_userid: 9_000_990,
            im_username: "user_1".into(),
            nick: "主播1".into(),
            avatar: String::new(),
            extends: ProfileExtends(example_extends().0),
        }
    }
}

/// 房间用户列表 — a page of members.
#[derive(Object, Debug)]
#[oai(example)]
pub struct MemberPage {
    /// 总数 — members online in all pages.
    pub total_count: u64,
    /// 总页数 — ceil(total_count / page_size), 0 when empty.
    pub page_total: u64,
    /// 当前是否最后一页 — page_num >= page_total.
    pub end_page: bool,
    /// 用户 — the members of this page, most recent joiner first.
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

impl Example for MemberPage {
    fn example() -> Self {
        Self {
            total_count: 100,
            page_total: 5,
            end_page: false,
            list: vec![MemberData::example()],
        }
    }
}

/// 心跳 — what the room says to a heartbeat.
#[derive(Object, Debug)]
#[oai(example)]
pub struct HeartbeatData {
    /// 直播间ID — the room.
    pub live_id: String,
    /// 直播间状态 — 0 created, 1 live, 2 ended (the client should leave).
    #[oai(validator(minimum(value = "0"), maximum(value = "2")))]
    pub live_status: i32,
}

impl Example for HeartbeatData {
    fn example() -> Self {
        Self {
            live_id: EXAMPLE_LIVE_ID.into(),
            live_status: 1,
        }
    }
}
