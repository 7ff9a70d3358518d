//! Discovery: the live list, keyword search and an anchor's rooms. One script in the `{rooms}`
//! slot answers a page with each room's card (issue 18, store/cards.rs); only a room without a
//! card (indexed before cards existed) is read from its own slot. Hot pages are kept a moment
//! by each replica above the store (`src/pages.rs`), which asks `generation` whether this
//! replica changed the index since.

use super::StoreResult;
use super::calls::{self, CardPage};
use super::core::handle;
use crate::domain::ids::{LiveId, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::room::{LiveStatus, Room};
use crate::domain::search::Keyword;

/// A page's rooms by id, each with its card when it has one.
type Rows = Vec<(LiveId, Option<Room>)>;

handle! {
    /// The live list, keyword search and an anchor's rooms.
    Discovery
}

impl Discovery {
    /// Live rooms, most recently started first.
    pub async fn live_rooms(&self, page: PageRequest) -> StoreResult<Page<Room>> {
        let CardPage { total, rows } = self
            .call(&calls::List {
                offset: page.offset(),
                count: page.size as u64,
            })
            .await?;
        let rooms = self.fill(rows).await?;
        Ok(Page::new(page, total, rooms))
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
        Ok(Page::new(page, total, rooms))
    }

    /// One anchor's rooms of every status (or of one), newest created first: a page of the
    /// per-anchor list, then the page's rooms read together.
    pub async fn anchor_rooms(
        &self,
        anchor: &UserId,
        live_status: Option<LiveStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Room>> {
        let anchor = anchor.as_str();
        let list = self
            .keys()
            .anchor_rooms(anchor, live_status.map(|s| i64::from(s.code())));
        let calls::PageReply { total, members } = self
            .call(&calls::Page {
                set: &list,
                offset: page.offset(),
                count: page.size,
            })
            .await?;
        let rooms = self.read_rooms(&members).await?;
        Ok(Page::new(page, total, rooms))
    }

    /// How many changes this replica has made to the indexes (create, start, stop, delete,
    /// close, purge, a nick or extends change, a stream's status): a page read before the count
    /// moved may show what is no longer so. Take it before the read.
    pub fn generation(&self) -> u64 {
        self.index_changes()
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
        let mut read = self.read_rooms(&missing).await?.into_iter().peekable();
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
