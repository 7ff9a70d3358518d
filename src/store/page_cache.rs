//! The replica-local cache of hot pages (issue 18, CONTRACT section 7): live list pages,
//! empty-keyword search and keywords searched more than once, each kept at most
//! `LIVEROOM_LIST_CACHE_MS` (0: no cache).
//!
//! Consistency: a replica's own changes show at once in its own reads, because every change of
//! the index this replica makes (create, start, stop, delete, close, purge, a nick or extends
//! change) bumps a generation and an entry of an older generation is never served (nor stored:
//! a read that began before the change cannot store what it read). Other replicas' changes show
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::domain::page::Page;
use crate::domain::room::Room;

const MAX_ENTRIES: usize = 1024;
const MAX_ROWS: usize = 20_000;
/// Keywords remembered as searched once; the set is cleared when full.
const MAX_SEEN: usize = 4096;

/// What a cached page is the answer to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum PageKey {
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
struct Pages {
    entries: HashMap<PageKey, Entry>,
    rows: usize,
    seen: HashSet<u64>,
}

pub(super) struct PageCache {
    ttl: Duration,
    generation: AtomicU64,
    pages: Mutex<Pages>,
}

impl PageCache {
    pub(super) fn new(ttl_ms: u64) -> Self {
        Self {
            ttl: Duration::from_millis(ttl_ms),
            generation: AtomicU64::new(0),
            pages: Mutex::new(Pages::default()),
        }
    }

    fn on(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// This replica changed the index: what it cached before is not served again.
    pub(super) fn changed(&self) {
        if self.on() {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// The generation to read under (take it before reading Redis).
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(super) fn get(&self, key: &PageKey, generation: u64) -> Option<Arc<SharedPage>> {
        if !self.on() {
            return None;
        }
        let pages = self.pages.lock().ok()?;
        let entry = pages.entries.get(key)?;
        (entry.generation == generation && entry.at.elapsed() < self.ttl)
            .then(|| entry.page.clone())
    }

    /// Keeps a page read under `generation` (nothing when the index changed meanwhile).
    pub(super) fn put(&self, key: PageKey, generation: u64, page: &Arc<SharedPage>) {
        if !self.on() || generation != self.generation() {
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
            let (ttl, now) = (self.ttl, self.generation());
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
        let g = cache.generation();
        cache.put(key.clone(), g, &page());
        assert!(cache.get(&key, g).is_some());
        cache.changed();
        assert!(cache.get(&key, cache.generation()).is_none());
        // a read that began before the change is not stored
        cache.put(key.clone(), g, &page());
        assert!(cache.get(&key, cache.generation()).is_none());

        let off = PageCache::new(0);
        off.put(key.clone(), 0, &page());
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
        cache.put(key.clone(), 0, &page());
        assert!(cache.get(&key, 0).is_none());
        cache.put(key.clone(), 0, &page());
        assert!(cache.get(&key, 0).is_some());
    }
}
