//! Discovery: the live list and keyword search. Two round trips each: the index page, then the
//! page's rooms read together.

use redis::Value;

use super::reply::{array, bad, int, text};
use super::{Store, StoreResult};
use crate::domain::ids::LiveId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::room::{LiveStatus, Room};
use crate::domain::search::Keyword;

fn id_page(answer: &Value, what: &str) -> StoreResult<(u64, Vec<String>)> {
    let parts = array(answer).ok_or_else(|| bad(what))?;
    let total = parts.first().and_then(int).ok_or_else(|| bad(what))?.max(0) as u64;
    let ids = parts.get(1).and_then(array).ok_or_else(|| bad(what))?;
    Ok((total, ids.iter().filter_map(text).collect()))
}

impl Store {
    /// Live rooms, most recently started first.
    pub async fn live_rooms(&self, page: PageRequest) -> StoreResult<Page<Room>> {
        let keys = [self.keys().live()];
        let args = [page.offset().to_string(), page.size.to_string()];
        let answer: Value = self.eval(&self.scripts().page, &keys, &args).await?;
        let (total, ids) = id_page(&answer, "live page")?;
        let rooms = self.rooms(&ids).await?;
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
        let args = [
            self.keys().gram_prefix(),
            keyword.folded().to_owned(),
            live_status
                .map(|s| s.code().to_string())
                .unwrap_or_default(),
            page.offset().to_string(),
            page.size.to_string(),
            exact_id.map(LiveId::to_string).unwrap_or_default(),
        ];
        let answer: Value = self
            .eval(&self.scripts().search, &self.keys().index(), &args)
            .await?;
        let (total, ids) = id_page(&answer, "search")?;
        let rooms = self.rooms(&ids).await?;
        Ok(Page::new(page, total, rooms))
    }
}
