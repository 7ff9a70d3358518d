//! Shared watching (CONTRACT section 11): a replica reads each watched room's event log once, on
//! one connection of its own per room (a blocking `XREAD`), and fans the events out in process
//! to every watcher of that room through a `tokio::sync::broadcast` channel. The reader starts
//! with the room's first watcher on this replica and stops with its last, so Redis connections
//! grow with the rooms watched here, not with the watchers.
//!
//! A watcher first reads what it missed from the log (after its `Last-Event-ID`) on the shared
//! connection, then follows the channel, skipping what it already had. The channel holds a
//! bounded number of events: a watcher that falls that far behind is cut off (it resumes with
//! `Last-Event-ID`), never buffered without bound.
//!
//! The hub also keeps this replica's count of open streams (`LIVEROOM_SSE_MAX`).
//!
//! **Presence carried by the streams** (CONTRACT section 6: an open stream counts as its member's
//! heartbeats), as a lease per replica per room (docs/architecture.md, lib.lua): a member's
//! stream registers the member with the hub (`carry`); once per heartbeat interval one task per
//! replica sends per room one `Presence::carry`, which renews this replica's lease (O(1)
//! whatever the crowd), lets go of the members whose last stream here closed (their window runs
//! from the last renewal), marks the members whose streams started, and answers who went since
//! the last renewal. A member that went, or whose room ended, has its streams told to end
//! (`CarriedMember::gone`). A replica that dies renews nothing more, so its viewers lapse by the
//! normal rule, swept by the other replicas.
//!
//! The hub also keeps the replica's lease (`replica:{token}`, every carry period) and renews its
//! streams' slots (`LIVEROOM_SSE_PER_USER`) together, every `SLOT_RENEW`; a user at the cap gets
//! the slots of a replica whose lease is gone back at once (`Hub::reap_dead_slots`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Notify, broadcast, watch};

use crate::domain::ids::{LiveId, UserId};
use crate::store::{
    Carried, CarryAnswer, Store, StoreError, StoreResult, StoredEvent, Watcher, WentAway,
};

/// How often this replica renews its open streams' slots (`LIVEROOM_SSE_PER_USER`), all in
/// a few calls (`EventLog::renew_stream_slots`). Rarely: a replica that died is found by its
/// lease (`LEASE_PERIODS` carry periods), not by its slots lapsing, so the renewal only bounds
/// how long a slot whose close failed (Redis away at that moment) is held.
pub const SLOT_RENEW: Duration = Duration::from_secs(20 * 60);
/// A slot not renewed for this long lapses: three renewals, so a slot survives two failed ones.
pub const SLOT_TTL: Duration = Duration::from_secs(60 * 60);
/// The replica's lease lives this many carry periods: it survives two failed renewals.
const LEASE_PERIODS: u32 = 3;

/// Rooms refreshed side by side by the carrier.
const CARRY_ROOMS_AT_ONCE: usize = 16;

/// How long one blocking read of a log waits before it is sent again.
const BLOCK: Duration = Duration::from_secs(5);
/// Pause before a reader that lost Redis tries again.
const RETRY: Duration = Duration::from_millis(500);

/// Where a room's reader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReaderState {
    /// Fixing where it starts.
    Starting,
    /// Reading: every event after its start goes to the channel.
    Reading,
    /// Could not start (Redis unavailable).
    Failed,
}

struct Feed {
    tx: broadcast::Sender<Arc<StoredEvent>>,
    state: watch::Receiver<ReaderState>,
    stop: Notify,
}

struct Entry {
    feed: Arc<Feed>,
    watchers: usize,
}

pub struct Hub {
    store: Store,
    feeds: Mutex<HashMap<LiveId, Entry>>,
    /// The members this replica's open streams keep present, per room.
    carried: Mutex<HashMap<LiveId, RoomCarry>>,
    /// This replica's carrier token (lib.lua `cr@<token>`): one per process, so a restarted
    /// replica carries afresh and its predecessor's lease lapses.
    token: String,
    /// The number of the next carried stream.
    next_carried: std::sync::atomic::AtomicU64,
    /// How often the carried members are refreshed.
    carry_period: Duration,
    /// The slots of this replica's open streams (`LIVEROOM_SSE_PER_USER`), by stream: user and
    /// the slot's id, renewed together every `SLOT_RENEW` (`renew_slots`).
    slots: Mutex<HashMap<u64, (UserId, String)>>,
    /// Streams open on this replica.
    open: AtomicUsize,
    /// At most this many (0: no limit).
    max_open: usize,
    /// Streams one user may hold open over all replicas (0: no limit).
    per_user: u32,
    /// Events a watcher may fall behind its room's reader before it is cut off.
    buffer: usize,
    /// Silence after which a stream gets a keep-alive comment.
    keep_alive: Duration,
}

/// A watcher's place in the fan-out of one room; leaving drops it.
pub struct Subscription {
    hub: Arc<Hub>,
    id: LiveId,
    feed: Arc<Feed>,
    pub rx: broadcast::Receiver<Arc<StoredEvent>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.id, &self.feed);
    }
}

/// A member kept present by an open stream of it on this replica.
pub struct CarriedMember {
    user: UserId,
    /// The profile JSON a heartbeat of the member would send.
    profile: String,
    /// Notified once when a refresh found the member gone or its room ended: the stream ends.
    pub gone: Notify,
    /// Still refreshed: false once a refresh found the user to be the room's anchor.
    refreshed: std::sync::atomic::AtomicBool,
    /// Notified once when the member stops being refreshed: its stream checks for itself.
    pub unrefreshed: Notify,
}

impl CarriedMember {
    /// Whether the carrier refreshes (and so checks) this member: its stream need not check
    /// membership itself.
    pub fn is_refreshed(&self) -> bool {
        self.refreshed.load(Ordering::Relaxed)
    }
}

/// This replica's carrying in one room. Kept so that a renewal costs nothing per carried
/// member: it asks for the members in `unasked` and lets go of those in `released`, both filled
/// as streams open and close, never by scanning the room's streams.
#[derive(Default)]
struct RoomCarry {
    /// The open streams of members, by stream.
    streams: HashMap<u64, Arc<CarriedMember>>,
    /// Each user's open streams here (a few: `LIVEROOM_SSE_PER_USER`), so that a close or a
    /// member gone finds them without scanning the room's streams.
    users: HashMap<UserId, Vec<u64>>,
    /// Users with a stream here whom the next renewal asks to mark: not marked yet, or told
    /// `ELSEWHERE` or refreshed one by one (asked again every renewal), never the anchor.
    unasked: HashSet<UserId>,
    /// The members that hold this replica's mark (as of its last renewal).
    marked: HashSet<UserId>,
    /// Marked members whose last stream here closed: let go at the next renewal.
    released: HashSet<UserId>,
}

impl RoomCarry {
    fn streams_of(&self, user: &UserId) -> bool {
        self.users.contains_key(user)
    }

    fn add(&mut self, key: u64, member: Arc<CarriedMember>) {
        let user = member.user.clone();
        self.users.entry(user.clone()).or_default().push(key);
        self.streams.insert(key, member);
        // a stream that reopens before the renewal: the mark stays
        if self.released.remove(&user) {
            self.marked.insert(user);
        } else if !self.marked.contains(&user) {
            self.unasked.insert(user);
        }
    }

    fn remove(&mut self, key: u64) {
        let Some(member) = self.streams.remove(&key) else {
            return;
        };
        let user = &member.user;
        let last = match self.users.get_mut(user) {
            Some(keys) => {
                keys.retain(|k| *k != key);
                keys.is_empty()
            }
            None => true,
        };
        if last {
            self.users.remove(user);
            self.unasked.remove(user);
            // the member's last stream here: its mark goes at the next renewal (one call per
            // room for all that closed meanwhile), and its window runs from the last renewal
            if self.marked.remove(user) {
                self.released.insert(user.clone());
            }
        }
    }

    /// The profile a heartbeat of `user` would send (its first stream's).
    fn profile_of(&self, user: &UserId) -> String {
        self.users
            .get(user)
            .and_then(|keys| keys.first())
            .and_then(|key| self.streams.get(key))
            .map(|m| m.profile.clone())
            .unwrap_or_default()
    }

    /// Ends the streams of `user` (it is no member) and forgets it.
    fn end_streams_of(&mut self, user: &UserId) {
        for key in self.users.remove(user).unwrap_or_default() {
            if let Some(member) = self.streams.remove(&key) {
                member.gone.notify_one();
            }
        }
        self.marked.remove(user);
        self.unasked.remove(user);
    }

    /// `user` holds no mark of this replica (taken over, or all marks forgotten): asked again
    /// at the next renewal while a stream of it here is refreshed.
    fn ask_again(&mut self, user: &UserId) {
        let refreshed = self.users.get(user).is_some_and(|keys| {
            keys.iter()
                .filter_map(|k| self.streams.get(k))
                .any(|m| m.is_refreshed())
        });
        if refreshed {
            self.unasked.insert(user.clone());
        }
    }

    /// Every mark forgotten (the lease ran out, or the list of who went was cut short): all
    /// the room's refreshed members are asked again. O(members), and rare.
    fn ask_all_again(&mut self) {
        self.marked.clear();
        let users: Vec<UserId> = self.users.keys().cloned().collect();
        for user in &users {
            self.ask_again(user);
        }
    }

    /// `user` is the room's anchor, whom presence does not carry: its streams check for
    /// themselves.
    fn not_carried(&mut self, user: &UserId) {
        self.unasked.remove(user);
        for key in self.users.get(user).map(Vec::as_slice).unwrap_or_default() {
            if let Some(member) = self.streams.get(key) {
                member.refreshed.store(false, Ordering::Relaxed);
                member.unrefreshed.notify_one();
            }
        }
    }

    fn is_idle(&self) -> bool {
        self.streams.is_empty() && self.released.is_empty()
    }
}

/// A stream's registration with the carrier; dropping it stops carrying at once.
pub struct Carrying {
    hub: Arc<Hub>,
    id: LiveId,
    key: u64,
    pub member: Arc<CarriedMember>,
}

impl Drop for Carrying {
    fn drop(&mut self) {
        if let Ok(mut carried) = self.hub.carried.lock()
            && let Some(room) = carried.get_mut(&self.id)
        {
            room.remove(self.key);
            if room.is_idle() {
                carried.remove(&self.id);
            }
        }
    }
}

/// A stream's slot renewed by the hub while it lives; dropping it stops the renewal (the
/// stream frees the slot itself).
pub struct RenewedSlot {
    hub: Arc<Hub>,
    key: u64,
}

impl Drop for RenewedSlot {
    fn drop(&mut self) {
        if let Ok(mut slots) = self.hub.slots.lock() {
            slots.remove(&self.key);
        }
    }
}

/// One open stream counted against `LIVEROOM_SSE_MAX`; dropping it frees the place at once.
pub struct OpenStream {
    hub: Arc<Hub>,
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.hub.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    /// A hub of `max_open` streams at most (0: no limit), `per_user` per user over all replicas
    /// (0: no limit), each cut off `buffer` events behind and kept alive after `keep_alive` of
    /// silence; carried members refreshed every `carry_period`.
    pub fn new(
        store: Store,
        max_open: usize,
        per_user: u32,
        buffer: usize,
        keep_alive: Duration,
        carry_period: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            feeds: Mutex::new(HashMap::new()),
            carried: Mutex::new(HashMap::new()),
            token: uuid::Uuid::new_v4().simple().to_string(),
            next_carried: std::sync::atomic::AtomicU64::new(0),
            carry_period,
            slots: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            max_open,
            per_user,
            buffer: buffer.max(1),
            keep_alive,
        })
    }

    /// The silence after which a stream gets a keep-alive comment.
    pub fn keep_alive(&self) -> Duration {
        self.keep_alive
    }

    /// The cap of streams per user (0: none).
    pub fn per_user(&self) -> u32 {
        self.per_user
    }

    /// Counts a stream against this replica's cap; `None` when it is full.
    pub fn open_stream(self: &Arc<Self>) -> Option<OpenStream> {
        let before = self.open.fetch_add(1, Ordering::Relaxed);
        let guard = OpenStream { hub: self.clone() };
        if self.max_open > 0 && before >= self.max_open {
            return None; // the guard gives the place back
        }
        Some(guard)
    }

    /// The cap of open streams on this replica (0: none).
    pub fn max_open(&self) -> usize {
        self.max_open
    }

    /// Streams open on this replica now.
    pub fn open_streams(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The lines of /metrics.
    pub fn render(&self) -> String {
        format!(
            "# HELP liveroom_sse_streams Event streams open on this replica.\n\
             # TYPE liveroom_sse_streams gauge\nliveroom_sse_streams {}\n\
             # HELP liveroom_sse_rooms_read Rooms whose event log this replica reads (one Redis connection each).\n\
             # TYPE liveroom_sse_rooms_read gauge\nliveroom_sse_rooms_read {}\n\
             # HELP liveroom_presence_carried Members kept present by their open event streams on this replica.\n\
             # TYPE liveroom_presence_carried gauge\nliveroom_presence_carried {}\n",
            self.open_streams(),
            self.rooms_read(),
            self.carried_streams()
        )
    }

    /// Streams on this replica that carry their member's presence.
    pub fn carried_streams(&self) -> usize {
        self.carried
            .lock()
            .map(|c| c.values().map(|room| room.streams.len()).sum())
            .unwrap_or(0)
    }

    /// A new stream's id, `<carrier token>.<n>`: the slot names its replica, so that the
    /// replica's lease tells whether it still holds the slot.
    pub fn stream_id(&self) -> String {
        let n = self.next_carried.fetch_add(1, Ordering::Relaxed);
        format!("{}.{n}", self.token)
    }

    /// How long this replica's lease lives unrenewed: the longest a user at the cap waits for
    /// the slots of a replica that died.
    pub fn lease_ttl(&self) -> Duration {
        self.carry_period * LEASE_PERIODS
    }

    /// Frees the slots among `holders` (a user's streams, from a refused open) whose replica's
    /// lease is gone; answers whether any was freed. One call per other replica named, then
    /// one to free: bounded by the slots a user may hold.
    pub async fn reap_dead_slots(&self, user: &UserId, holders: &[String]) -> StoreResult<bool> {
        let events = self.store.events();
        let mut dead_replicas: HashMap<&str, bool> = HashMap::new();
        let mut dead = Vec::new();
        for stream in holders {
            // older replicas' ids name no replica: their slots lapse by their time to live
            let Some((token, _)) = stream.split_once('.') else {
                continue;
            };
            if token == self.token {
                continue;
            }
            let is_dead = match dead_replicas.get(token) {
                Some(known) => *known,
                None => {
                    let gone = !events.replica_alive(token).await?;
                    dead_replicas.insert(token, gone);
                    gone
                }
            };
            if is_dead {
                dead.push(stream.clone());
            }
        }
        Ok(events.reap_stream_slots(user, &dead).await? > 0)
    }

    /// Renews this replica's lease; when it had lapsed (Redis away for a while, or the first
    /// time), takes its streams' slots again at once, since other replicas may have freed them.
    async fn keep_lease(&self) {
        match self
            .store
            .events()
            .keep_replica_lease(&self.token, self.lease_ttl())
            .await
        {
            Ok(true) => self.renew_slots().await,
            Ok(false) => {}
            Err(e) => tracing::info!(error = %e, "renewing the replica's lease failed"),
        }
    }

    /// Renews the stream's slot with the others every `SLOT_RENEW` while the answer lives.
    pub fn renew_slot(self: &Arc<Self>, user: &UserId, stream: &str) -> RenewedSlot {
        let key = self.next_carried.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut slots) = self.slots.lock() {
            slots.insert(key, (user.clone(), stream.to_owned()));
        }
        RenewedSlot {
            hub: self.clone(),
            key,
        }
    }

    /// One renewal of every open stream's slot, in calls of many streams.
    pub async fn renew_slots(&self) {
        let slots: Vec<(UserId, String)> = match self.slots.lock() {
            Ok(slots) => slots.values().cloned().collect(),
            Err(_) => return,
        };
        if slots.is_empty() {
            return;
        }
        if let Err(e) = self
            .store
            .events()
            .renew_stream_slots(&slots, SLOT_TTL)
            .await
        {
            // the slots hold SLOT_TTL: the next renewal comes well before
            tracing::info!(error = %e, "renewing the event streams' slots failed");
        }
    }

    /// Keeps `user` present in the room while the answer lives (an open stream of a member).
    pub fn carry(self: &Arc<Self>, id: &LiveId, user: &UserId, profile: String) -> Carrying {
        let key = self.next_carried.fetch_add(1, Ordering::Relaxed);
        let member = Arc::new(CarriedMember {
            user: user.clone(),
            profile,
            gone: Notify::new(),
            refreshed: std::sync::atomic::AtomicBool::new(true),
            unrefreshed: Notify::new(),
        });
        if let Ok(mut carried) = self.carried.lock() {
            carried
                .entry(id.clone())
                .or_default()
                .add(key, member.clone());
        }
        Carrying {
            hub: self.clone(),
            id: id.clone(),
            key,
            member,
        }
    }

    /// Refreshes the carried members every `carry_period` until `stop` turns true.
    pub async fn carry_presence(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.carry_period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renew =
            tokio::time::interval_at(tokio::time::Instant::now() + SLOT_RENEW, SLOT_RENEW);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tick.tick() => {
                    self.keep_lease().await;
                    self.refresh_carried().await;
                }
                _ = renew.tick() => self.renew_slots().await,
            }
        }
    }

    /// One renewal of this replica's lease in every room it carries: one O(1) call per room,
    /// which also lets go of the members whose streams closed and marks the members whose
    /// streams started (more calls only for a room above `CARRY_CALL_MAX` of those), rooms
    /// side by side.
    pub async fn refresh_carried(&self) {
        type Work = (LiveId, Vec<UserId>, Vec<(UserId, String)>);
        let rooms: Vec<Work> = match self.carried.lock() {
            Ok(mut carried) => carried
                .iter_mut()
                .map(|(id, room)| {
                    // O(what changed since the last renewal), not O(the room's streams)
                    let release: Vec<UserId> = room.released.drain().collect();
                    let mut members: Vec<(UserId, String)> = room
                        .unasked
                        .iter()
                        .map(|user| (user.clone(), room.profile_of(user)))
                        .collect();
                    members.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
                    (id.clone(), release, members)
                })
                .collect(),
            Err(_) => return,
        };
        // about 1.5 intervals: a live carrier renews every interval, so one that missed a renewal
        // (a dead or stalled replica) hands its members over before their window ends
        let takeover = self.carry_period + self.carry_period / 2;
        futures_util::stream::iter(rooms)
            .for_each_concurrent(CARRY_ROOMS_AT_ONCE, |(id, release, members)| async move {
                let answer = self
                    .store
                    .presence()
                    .carry(&id, &self.token, takeover, &release, &members)
                    .await;
                match answer {
                    Ok(carried) => self.apply_carried(&id, &members, carried),
                    // Redis away: the next renewal tries again (within the members' window);
                    // the members to let go are let go then
                    Err(e) => {
                        if let Ok(mut rooms) = self.carried.lock() {
                            let room = rooms.entry(id.clone()).or_default();
                            for user in release {
                                if !room.streams_of(&user) {
                                    room.released.insert(user);
                                }
                            }
                        }
                        tracing::info!(live_id = %id, error = %e, "renewing stream-carried presence failed")
                    }
                }
            })
            .await;
    }

    /// What a renewal answered: members gone end their streams, new marks are noted.
    fn apply_carried(&self, id: &LiveId, asked: &[(UserId, String)], carried: Carried) {
        let Ok(mut rooms) = self.carried.lock() else {
            return;
        };
        if carried.ended {
            if let Some(room) = rooms.remove(id) {
                for member in room.streams.values() {
                    member.gone.notify_one();
                }
            }
            return;
        }
        // (the room's last stream may have closed while the call was out: a member marked
        // meanwhile is let go at the next renewal)
        let room = rooms.entry(id.clone()).or_default();
        if carried.fresh {
            // the lease had run out: nothing is marked any more, the members are asked again
            room.ask_all_again();
        }
        for went in carried.went {
            match went {
                WentAway::Left(user) => room.end_streams_of(&user),
                WentAway::TakenOver(user) => {
                    room.marked.remove(&user);
                    room.ask_again(&user);
                }
                WentAway::Unknown => room.ask_all_again(),
            }
        }
        for ((user, _), answer) in asked.iter().zip(carried.answers) {
            match answer {
                CarryAnswer::Carried => {
                    room.unasked.remove(user);
                    if room.streams_of(user) {
                        room.marked.insert(user.clone());
                    } else {
                        // its stream closed while the call was out
                        room.released.insert(user.clone());
                    }
                }
                // asked again at the next renewal (still in `unasked`)
                CarryAnswer::Elsewhere | CarryAnswer::Refreshed => {}
                CarryAnswer::Anchor => room.not_carried(user),
                CarryAnswer::Gone => room.end_streams_of(user),
            }
        }
        if room.is_idle() {
            rooms.remove(id);
        }
    }

    /// Rooms this replica reads (one Redis connection each).
    pub fn rooms_read(&self) -> usize {
        self.feeds.lock().map(|f| f.len()).unwrap_or(0)
    }

    /// Joins the fan-out of the room (starting its reader when this is the first watcher here).
    /// Answers once the reader's start is fixed: every event after that reaches the channel,
    /// so the caller reads the log after its own position and misses nothing.
    pub async fn subscribe(self: &Arc<Self>, id: &LiveId) -> StoreResult<Subscription> {
        let (feed, rx) = {
            let mut feeds = self
                .feeds
                .lock()
                .map_err(|_| StoreError::Internal("fan-out lock poisoned".into()))?;
            let entry = feeds.entry(id.clone()).or_insert_with(|| {
                let (tx, _) = broadcast::channel(self.buffer);
                let (state_tx, state) = watch::channel(ReaderState::Starting);
                let feed = Arc::new(Feed {
                    tx,
                    state,
                    stop: Notify::new(),
                });
                tokio::spawn(read_room(self.clone(), id.clone(), feed.clone(), state_tx));
                Entry { feed, watchers: 0 }
            });
            entry.watchers += 1;
            (entry.feed.clone(), entry.feed.tx.subscribe())
        };
        let sub = Subscription {
            hub: self.clone(),
            id: id.clone(),
            feed,
            rx,
        };
        let mut state = sub.feed.state.clone();
        let started = tokio::time::timeout(
            Duration::from_secs(5),
            state.wait_for(|s| *s != ReaderState::Starting),
        )
        .await;
        match started {
            Ok(Ok(s)) if *s == ReaderState::Reading => Ok(sub),
            _ => Err(StoreError::Unavailable(
                "the room's event reader could not start".into(),
            )),
        }
    }

    fn unsubscribe(&self, id: &LiveId, feed: &Arc<Feed>) {
        let Ok(mut feeds) = self.feeds.lock() else {
            return;
        };
        let Some(entry) = feeds.get_mut(id) else {
            return;
        };
        if !Arc::ptr_eq(&entry.feed, feed) {
            return; // a reader that failed was replaced meanwhile
        }
        entry.watchers = entry.watchers.saturating_sub(1);
        if entry.watchers == 0
            && let Some(entry) = feeds.remove(id)
        {
            entry.feed.stop.notify_one();
        }
    }

    /// A reader that could not start leaves the map, so the next watcher starts a new one.
    fn forget(&self, id: &LiveId, feed: &Arc<Feed>) {
        if let Ok(mut feeds) = self.feeds.lock()
            && feeds.get(id).is_some_and(|e| Arc::ptr_eq(&e.feed, feed))
        {
            feeds.remove(id);
        }
    }
}

/// The room's one reader on this replica: from the log's newest event on, every event to the
/// channel, until the last watcher leaves.
async fn read_room(hub: Arc<Hub>, id: LiveId, feed: Arc<Feed>, state: watch::Sender<ReaderState>) {
    let store = hub.store.clone();
    let started = async {
        let last = store.events().last_event_id(&id).await?;
        let watcher = store.events().watcher(&id, BLOCK).await?;
        Ok::<(String, Watcher), StoreError>((last, watcher))
    };
    let (mut last, mut watcher) = tokio::select! {
        _ = feed.stop.notified() => return,
        started = started => match started {
            Ok(started) => started,
            Err(e) => {
                tracing::warn!(live_id = %id, error = %e, "event reader could not start");
                hub.forget(&id, &feed);
                let _ = state.send(ReaderState::Failed);
                return;
            }
        },
    };
    let _ = state.send(ReaderState::Reading);
    loop {
        tokio::select! {
            _ = feed.stop.notified() => return,
            read = watcher.next(&last, BLOCK) => match read {
                Ok(events) => {
                    for event in events {
                        last = event.id.clone();
                        // no receiver left: the stop notice follows
                        let _ = feed.tx.send(Arc::new(event));
                    }
                }
                Err(e) => {
                    tracing::info!(live_id = %id, error = %e, "event reader lost redis; retrying");
                    tokio::select! {
                        _ = feed.stop.notified() => return,
                        _ = tokio::time::sleep(RETRY) => {}
                    }
                    if let Ok(fresh) = store.events().watcher(&id, BLOCK).await {
                        watcher = fresh;
                    }
                }
            },
        }
    }
}
