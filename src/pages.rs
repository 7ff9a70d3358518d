//! The replica-local cache of hot pages (issue 18, CONTRACT section 7): live list pages,
//! empty-keyword search and keywords searched more than once, each kept at most
//! `LIVEROOM_LIST_CACHE_MS` (0: no cache).
//!
//! It sits above the store (the store is what talks to Redis; this is what a replica remembers
//! of its answers), and the HTTP handlers of the live list and search read through it.
//!
//! Consistency: a replica's own changes show at once in its own reads, because every change of
//! the index this replica makes (create, start, stop, delete, close, purge, a nick or extends
//! change) moves the store's generation (`Discovery::generation`) and an entry of an older
//! generation is never served (nor stored: a read that began before the change cannot store
//! what it read). Other replicas' changes show
//! within the bound, when the entry expires. Online counts are not changes of the index: a page
//! shows them as last announced, at most the bound older.
//!
//! What is cached is the rooms, never an answer: the per-caller part (`push_url`, shown to the
//! room's anchor only, and signed play URLs) is made for each caller from the cached room.
//!
//! Bounded memory: at most `MAX_ENTRIES` pages and `MAX_ROWS` rooms in all; when full, expired
//! entries go, and if that is not enough the page is not cached. A keyword is only cached on its
//! second search within a while (a bounded set of hashes remembers the first), so that a long
//! tail of one-off keywords does not take the room of the hot ones.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::domain::ids::LiveId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::room::{LiveStatus, Room};
use crate::domain::search::Keyword;
use crate::store::{Discovery, Store, StoreResult};

const MAX_ENTRIES: usize = 1024;
const MAX_ROWS: usize = 20_000;
/// Keywords remembered as searched once; the set is cleared when full.
const MAX_SEEN: usize = 4096;

/// What a cached page is the answer to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PageKey {
    Live {
        offset: u64,
        size: u32,
    },
    Search {
        /// The folded keyword ('' lists every room).
        keyword: String,
        exact: bool,
        status: Option<i32>,
        offset: u64,
        size: u32,
    },
}

impl PageKey {
    /// Whether the page is always worth caching (the home page and the empty search), or only
    /// once it has been asked for twice.
    fn hot(&self) -> bool {
        match self {
            Self::Live { .. } => true,
            Self::Search { keyword, .. } => keyword.is_empty(),
        }
    }
}

/// A page of rooms, shared by every read of a cached page. `memo` is a slot for a reader that
/// turns the page into the same bytes for many callers (the HTTP layer, for callers who are the
/// anchor of none of its rooms, when playback URLs are not signed); the store never fills it.
#[derive(Debug)]
pub struct SharedPage {
    pub page: Page<Room>,
    pub memo: OnceLock<Vec<u8>>,
}

impl SharedPage {
    pub fn new(page: Page<Room>) -> Arc<Self> {
        Arc::new(Self {
            page,
            memo: OnceLock::new(),
        })
    }
}

struct Entry {
    at: Instant,
    generation: u64,
    page: Arc<SharedPage>,
}

#[derive(Default)]
struct Cached {
    entries: HashMap<PageKey, Entry>,
    rows: usize,
    seen: HashSet<u64>,
}

struct PageCache {
    ttl: Duration,
    pages: Mutex<Cached>,
}

impl PageCache {
    fn new(ttl_ms: u64) -> Self {
        Self {
            ttl: Duration::from_millis(ttl_ms),
            pages: Mutex::new(Cached::default()),
        }
    }

    fn on(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The page, if it was read under the store's generation `now` and is young enough.
    fn get(&self, key: &PageKey, generation: u64) -> Option<Arc<SharedPage>> {
        if !self.on() {
            return None;
        }
        let pages = self.pages.lock().ok()?;
        let entry = pages.entries.get(key)?;
        (entry.generation == generation && entry.at.elapsed() < self.ttl)
            .then(|| entry.page.clone())
    }

    /// Keeps a page read under `generation` (nothing when the index changed meanwhile: the
    /// generation is `now`).
    fn put(&self, key: PageKey, generation: u64, now: u64, page: &Arc<SharedPage>) {
        if !self.on() || generation != now {
            return;
        }
        let Ok(mut pages) = self.pages.lock() else {
            return;
        };
        if !key.hot() {
            let mut h = DefaultHasher::new();
            key.hash(&mut h);
            let h = h.finish();
            if pages.seen.len() >= MAX_SEEN {
                pages.seen.clear();
            }
            if pages.seen.insert(h) {
                // first time: remembered, not cached
                return;
            }
        }
        let rows = page.page.list.len();
        if let Some(old) = pages.entries.remove(&key) {
            pages.rows -= old.page.page.list.len();
        }
        if pages.entries.len() >= MAX_ENTRIES || pages.rows + rows > MAX_ROWS {
            let ttl = self.ttl;
            pages
                .entries
                .retain(|_, e| e.generation == now && e.at.elapsed() < ttl);
            pages.rows = pages.entries.values().map(|e| e.page.page.list.len()).sum();
            if pages.entries.len() >= MAX_ENTRIES || pages.rows + rows > MAX_ROWS {
                return;
            }
        }
        pages.rows += rows;
        pages.entries.insert(
            key,
            Entry {
                at: Instant::now(),
                generation,
                page: page.clone(),
            },
        );
    }
}

/// The live list and search as the handlers read them: through this replica's cache of hot
/// pages, else from the store.
pub struct Pages {
    discovery: Discovery,
    cache: PageCache,
}

impl Pages {
    /// `ttl_ms`: how long a page may be kept (`LIVEROOM_LIST_CACHE_MS`; 0: no cache).
    pub fn new(store: &Store, ttl_ms: u64) -> Self {
        Self {
            discovery: store.discovery(),
            cache: PageCache::new(ttl_ms),
        }
    }

    /// Live rooms, most recently started first (`Discovery::live_rooms`).
    pub async fn live_rooms(&self, page: PageRequest) -> StoreResult<Arc<SharedPage>> {
        let key = PageKey::Live {
            offset: page.offset(),
            size: page.size,
        };
        self.cached(key, self.discovery.live_rooms(page)).await
    }

    /// Rooms matching a keyword (`Discovery::search`).
    pub async fn search(
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
        let read = self.discovery.search(keyword, exact_id, live_status, page);
        self.cached(key, read).await
    }

    /// The cached page, or the read's, kept when the index did not change during the read.
    async fn cached(
        &self,
        key: PageKey,
        read: impl Future<Output = StoreResult<Page<Room>>>,
    ) -> StoreResult<Arc<SharedPage>> {
        // taken before the read: a change during it means the read may be stale already
        let generation = self.discovery.generation();
        if let Some(hit) = self.cache.get(&key, generation) {
            return Ok(hit);
        }
        let page = SharedPage::new(read.await?);
        let now = self.discovery.generation();
        self.cache.put(key, generation, now, &page);
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::page::PageRequest;

    fn page() -> Arc<SharedPage> {
        let request = PageRequest::parse(None, None).expect("default page");
        SharedPage::new(Page::new(request, 0, Vec::new()))
    }

    #[test]
    fn own_changes_and_the_bound_end_an_entry() {
        let cache = PageCache::new(60_000);
        let key = PageKey::Live {
            offset: 0,
            size: 20,
        };
        cache.put(key.clone(), 0, 0, &page());
        assert!(cache.get(&key, 0).is_some());
        // this replica changed the index: generation 1
        assert!(cache.get(&key, 1).is_none());
        // a read that began before the change is not stored
        cache.put(key.clone(), 0, 1, &page());
        assert!(cache.get(&key, 1).is_none());

        let off = PageCache::new(0);
        off.put(key.clone(), 0, 0, &page());
        assert!(off.get(&key, 0).is_none());
    }

    #[test]
    fn a_keyword_is_cached_on_its_second_search() {
        let cache = PageCache::new(60_000);
        let key = PageKey::Search {
            keyword: "abc".into(),
            exact: false,
            status: None,
            offset: 0,
            size: 20,
        };
        cache.put(key.clone(), 0, 0, &page());
        assert!(cache.get(&key, 0).is_none());
        cache.put(key.clone(), 0, 0, &page());
        assert!(cache.get(&key, 0).is_some());
    }
}
