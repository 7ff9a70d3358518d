//! Endpoints 6 and 7: search and the live list.

use std::sync::Arc;

use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::auth::Caller;
use super::envelope::RoomPageJson;
use super::error::ApiError;
use super::model::{LiveStatusParam, PageNum, PageSize, RoomData, RoomPage};
use super::{ApiTags, AppState};
use crate::domain::ids::LiveId;
use crate::domain::page::PageRequest;
use crate::domain::room::LiveStatus;
use crate::domain::search::Keyword;
use crate::pages::SharedPage;

pub struct DiscoveryApi {
    pub state: AppState,
}

impl DiscoveryApi {
    /// The page's answer for this caller. A caller who is the anchor of none of the page's rooms
    /// gets what every such caller gets (no `push_url`; playback URLs the same for all when they
    /// are not signed): that is serialized once per shared page (issue 18). The room's anchor
    /// gets its `push_url`, made for it, never from a shared page's bytes.
    fn answer(&self, shared: Arc<SharedPage>, caller: &Caller) -> RoomPageJson {
        let streams = &self.state.streams;
        let render = |viewer: &str| {
            let page = shared.page.clone().map(|room| {
                let urls = streams.urls(&room, viewer);
                RoomData::new(room, urls)
            });
            RoomPageJson::data_of(&RoomPage::new(page))
        };
        let anchor_here = shared
            .page
            .list
            .iter()
            .any(|room| room.anchor.user_id == caller.user_id().as_str());
        if anchor_here || !streams.play_key.is_empty() {
            return RoomPageJson::new(render(caller.user_id().as_str()));
        }
        // "": no room's anchor (user ids are never empty)
        RoomPageJson::new(shared.memo.get_or_init(|| render("")).clone())
    }
}

#[OpenApi(tag = "ApiTags::Discovery")]
impl DiscoveryApi {
    /// 搜索直播 — rooms whose title or anchor nick contains the keyword (full-width/half-width
    /// and case insensitive), or whose live_id is the keyword; newest created first.
    ///
    /// 直播间搜索。
    ///
    /// Rooms not deleted, of any status unless `live_status` says which; an empty keyword lists
    /// them all.
    #[oai(
        path = "/client/live/room",
        method = "get",
        operation_id = "searchRooms"
    )]
    async fn search(
        &self,
        caller: Caller,
        /// 页码 — the page: 1 or more (default 1).
        page_num: Query<Option<PageNum>>,
        /// 分页数量 — rooms per page: 1–100 (default 20).
        page_size: Query<Option<PageSize>>,
        /// 搜索关键字 — the keyword: at most 64 characters after trimming; empty: every room.
        keyword: Query<Option<String>>,
        /// 直播间状态 — only rooms of this status: 0 created, 1 live, 2 ended.
        live_status: Query<Option<LiveStatusParam>>,
    ) -> Result<RoomPageJson, ApiError> {
        let page = PageRequest::parse(page_num.0.map(|p| p.0), page_size.0.map(|p| p.0))?;
        let raw = keyword.0.as_deref();
        let kw = Keyword::parse(raw)?;
        let exact = raw.map(str::trim).and_then(LiveId::parse);
        let status = match live_status.0.map(|s| s.0) {
            None => None,
            Some(code) => Some(LiveStatus::from_code(code).ok_or_else(|| {
                ApiError::BadRequest(format!("live_status must be 0, 1 or 2 (got {code})"))
            })?),
        };
        let rooms = self
            .state
            .pages
            .search(&kw, exact.as_ref(), status, page)
            .await?;
        Ok(self.answer(rooms, &caller))
    }

    /// 直播列表 — rooms that are live now, most recently started first.
    ///
    /// 分页查看直播间列表。只会看到正在直播的直播间。
    ///
    /// The rooms that are live (status 1), one page.
    #[oai(
        path = "/client/live/room/list",
        method = "get",
        operation_id = "listLiveRooms"
    )]
    async fn list(
        &self,
        caller: Caller,
        /// 页码 — the page: 1 or more (default 1).
        page_num: Query<Option<PageNum>>,
        /// 分页数量 — rooms per page: 1–100 (default 20).
        page_size: Query<Option<PageSize>>,
    ) -> Result<RoomPageJson, ApiError> {
        let page = PageRequest::parse(page_num.0.map(|p| p.0), page_size.0.map(|p| p.0))?;
        let rooms = self.state.pages.live_rooms(page).await?;
        Ok(self.answer(rooms, &caller))
    }
}
