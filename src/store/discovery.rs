//! Discovery: the live list and keyword search. One script in the `{rooms}` slot answers a
//! page with each room's card (issue 18, store/cards.rs); only a room without a card (indexed
//! before cards existed) is read from its own slot. Hot pages are kept a moment by this replica
//! (store/page_cache.rs).

use std::sync::Arc;

use super::calls::{self, CardPage};
use super::page_cache::{PageKey, SharedPage};
use super::{Store, StoreResult};
use crate::domain::ids::LiveId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::room::{LiveStatus, Room};
use crate::domain::search::Keyword;

/// A page's rooms by id, each with its card when it has one.
type Rows = Vec<(LiveId, Option<Room>)>;

impl Store {
    /// Live rooms, most recently started first.
    pub async fn live_rooms(&self, page: PageRequest) -> StoreResult<Page<Room>> {
        Ok(self.live_rooms_shared(page).await?.page.clone())
    }

    /// As `live_rooms`, shared with other reads of the same cached page.
    pub async fn live_rooms_shared(&self, page: PageRequest) -> StoreResult<Arc<SharedPage>> {
        let key = PageKey::Live {
            offset: page.offset(),
            size: page.size,
        };
        let generation = self.pages().generation();
        if let Some(hit) = self.pages().get(&key, generation) {
            return Ok(hit);
        }
        let CardPage { total, rows } = self
            .call(&calls::List {
                offset: page.offset(),
                count: page.size as u64,
            })
            .await?;
        let rooms = self.fill(rows).await?;
        let page = SharedPage::new(Page::new(page, total, rooms));
        self.pages().put(key, generation, &page);
        Ok(page)
    }

    /// Rooms whose title or anchor nick contains the keyword (or whose id is the keyword),
    /// newest created first, optionally of one status.
    pub async fn search(
        &self,
        keyword: &Keyword,
        exact_id: Option<&LiveId>,
        live_status: Option<LiveStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Room>> {
        let shared = self
            .search_shared(keyword, exact_id, live_status, page)
            .await?;
        Ok(shared.page.clone())
    }

    /// As `search`, shared with other reads of the same cached page.
    pub async fn search_shared(
        &self,
        keyword: &Keyword,
        exact_id: Option<&LiveId>,
        live_status: Option<LiveStatus>,
        page: PageRequest,
    ) -> StoreResult<Arc<SharedPage>> {
        let key = PageKey::Search {
            keyword: keyword.folded().to_owned(),
            exact: exact_id.is_some(),
            status: live_status.map(LiveStatus::code),
            offset: page.offset(),
            size: page.size,
        };
        let generation = self.pages().generation();
        if let Some(hit) = self.pages().get(&key, generation) {
            return Ok(hit);
        }
        let CardPage { total, rows } = self
            .call(&calls::Search {
                folded: keyword.folded(),
                status: live_status,
                offset: page.offset(),
                count: page.size as u64,
                exact_id,
            })
            .await?;
        let rooms = self.fill(rows).await?;
        let page = SharedPage::new(Page::new(page, total, rooms));
        self.pages().put(key, generation, &page);
        Ok(page)
    }

    /// The page's rooms: the cards, and a read of each room that had none (skipped when it is
    /// gone meanwhile).
    async fn fill(&self, rows: Rows) -> StoreResult<Vec<Room>> {
        let missing: Vec<String> = rows
            .iter()
            .filter(|(_, card)| card.is_none())
            .map(|(id, _)| id.to_string())
            .collect();
        if missing.is_empty() {
            return Ok(rows.into_iter().filter_map(|(_, card)| card).collect());
        }
        let mut read = self.rooms(&missing).await?.into_iter().peekable();
        let mut out = Vec::with_capacity(rows.len());
        for (id, card) in rows {
            match card {
                Some(room) => out.push(room),
                None => {
                    if read.peek().is_some_and(|r| r.live_id == id) {
                        out.extend(read.next());
                    }
                }
            }
        }
        Ok(out)
    }
}
