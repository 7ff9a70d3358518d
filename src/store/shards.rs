//! A room's members over shard rooms (issue 27; docs/architecture.md, *Members over S hash
//! tags*). A room of S shards keeps the members of shard s (the user's bucket modulo S; the
//! anchor's is 0) in a room of members of its own: shard 0 is the room itself, shard s ≥ 1 a
//! *shard room* `<live_id>#<n>` in another hash tag (keys.rs `shard_room`), which every
//! per-room script runs on as on any room. What is here is the routing: which room of members
//! a user's join, heartbeat or leave goes to, the making of a shard room the first time a
//! member is routed to it, and the room's counts added up over its shards.

use std::sync::Arc;

use super::calls::{self, ChunkMember, JoinNumberReply, ShardPageRead, ShardPageReply, Share};
use super::core::Core;
use super::keys::shard_room;
use super::layout::{Layout, SHARD_COUNTS_FRESH, ShardCounts};
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::profile::Person;
use crate::domain::room::Room;

/// The fields of a room that its shard rooms mirror: what the per-room scripts read of a room
/// (status, anchor) and what a room view needs to decode (calls/view.rs).
const MIRRORED: [&str; 8] = [
    "live_id",
    "anchor_id",
    "anchor_imid",
    "anchor_profile",
    "extends",
    "live_status",
    "shards",
    "created_ms",
];

/// Levels of a page's Fenwick descent read in one round (2^8 − 1 nodes a shard a round).
const DESCENT_LEVELS: u32 = 8;

/// What `Core::layout` reads of a room: live_status, shards, anchor_id, pv, jn.
type LayoutFields = (
    Option<String>,
    Option<u32>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

impl Core {
    /// Room `id`'s layout (`None`: no such room). Remembered once it is fixed (a member has
    /// joined: shards.lua refuses a change from then on); read while it is not.
    pub(super) async fn layout(&self, id: &LiveId) -> StoreResult<Option<Layout>> {
        if let Some(layout) = self.layouts.get(id) {
            return Ok(Some(layout));
        }
        let [room, ..] = self.keys().room(id);
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(room)
            .arg(&["live_status", "shards", "anchor_id", "pv", "jn"]);
        let (status, shards, anchor, pv, jn): LayoutFields = self.command(cmd).await?;
        if status.is_none() {
            return Ok(None);
        }
        let layout = Layout {
            shards: shards.unwrap_or(1).max(1),
            anchor: anchor.unwrap_or_default(),
        };
        if pv.unwrap_or(0) > 0 || jn.unwrap_or(0) > 0 {
            self.layouts.insert(id.clone(), layout.clone());
        }
        Ok(Some(layout))
    }

    /// Room `id`'s layout was not what a script found: read it again next time.
    pub(super) fn forget_layout(&self, id: &LiveId) {
        self.layouts.remove(id);
    }

    /// A join into a sharded room's shard takes the room's next join number first, which fixes
    /// its shards (join_number.lua). `Shards`: routed by a stale count.
    pub(super) async fn take_join_number(&self, id: &LiveId, layout: &Layout) -> StoreResult<i64> {
        match self
            .call(&calls::JoinNumber {
                room: id,
                shards: layout.shards,
            })
            .await?
        {
            JoinNumberReply::Number(n) => Ok(n),
            JoinNumberReply::Shards(_) => Err(self.shards_changed(id)),
        }
    }

    /// A join was routed by shards the room no longer has (shards.lua changed them between
    /// this replica's read and the join): the layout is read again, and the user joins again.
    pub(super) fn shards_changed(&self, id: &LiveId) -> StoreError {
        self.forget_layout(id);
        StoreError::Conflict("the room's shards changed while joining; join again".into())
    }

    /// Makes `shard` (a shard room of `id`) if it is not made yet, from the room's fields
    /// (shard_init.lua; idempotent).
    pub(super) async fn init_shard_room(&self, id: &LiveId, shard: &LiveId) -> StoreResult<()> {
        let [room, ..] = self.keys().room(id);
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(room).arg(&MIRRORED);
        let values: Vec<Option<String>> = self.command(cmd).await?;
        let fields: Vec<(String, String)> = MIRRORED
            .iter()
            .zip(values)
            .filter_map(|(field, value)| value.map(|v| ((*field).to_owned(), v)))
            .collect();
        if !fields.iter().any(|(field, _)| field == "live_status") {
            return Err(StoreError::NotFound);
        }
        self.call(&calls::ShardInit {
            shard_room: shard,
            fields: &fields,
        })
        .await
    }

    /// What a shard room's NOT_FOUND means to a user: a room they are not a member of when the
    /// room is there (no member was routed to this shard yet), no such room when it is gone.
    pub(super) async fn shard_not_found(&self, shard: &LiveId) -> StoreError {
        let [room, ..] = self.keys().room(&shard.room());
        let exists: StoreResult<i64> = self.command(redis::cmd("EXISTS").arg(room).clone()).await;
        match exists {
            Ok(1) => StoreError::NotMember,
            Ok(_) => StoreError::NotFound,
            Err(e) => e,
        }
    }

    /// Room `id` as it is now, its counts added up over its shard rooms.
    pub(super) async fn read_room_over_shards(&self, id: &LiveId) -> StoreResult<Room> {
        let room = self.read_room(id).await?;
        self.add_shards_counts(room).await
    }

    /// `room` as read from the room itself, with its shard rooms' counts added (one read each,
    /// side by side; nothing for a room of one shard).
    pub(super) async fn add_shards_counts(&self, mut room: Room) -> StoreResult<Room> {
        if room.member_shards <= 1 {
            return Ok(room);
        }
        let counts = self
            .read_shards_counts(&room.live_id, room.member_shards)
            .await?;
        room.online_count += counts.online;
        room.uv += counts.uv;
        room.pv += counts.pv;
        Ok(room)
    }

    /// As `add_shards_counts`, with the shard rooms' counts as this replica read them within
    /// the last `SHARD_COUNTS_FRESH` (a join's answer: a crowd joining does not read every
    /// shard for every join; `info` is exact).
    pub(super) async fn add_recent_shards_counts(&self, mut room: Room) -> StoreResult<Room> {
        if room.member_shards <= 1 {
            return Ok(room);
        }
        let counts = match self.shard_counts.get(&room.live_id) {
            Some(counts) if counts.read_at.elapsed() <= SHARD_COUNTS_FRESH => counts,
            _ => {
                self.read_shards_counts(&room.live_id, room.member_shards)
                    .await?
            }
        };
        room.online_count += counts.online;
        room.uv += counts.uv;
        room.pv += counts.pv;
        Ok(room)
    }

    /// The shard rooms' counts of room `id` over `shards` added up (all but the room itself),
    /// read now and remembered.
    pub(super) async fn read_shards_counts(
        &self,
        id: &LiveId,
        shards: u32,
    ) -> StoreResult<ShardCounts> {
        let shards: Vec<LiveId> = (1..shards).map(|s| shard_room(id, s, shards)).collect();
        let read_at = std::time::Instant::now();
        let reads = futures_util::future::join_all(shards.iter().map(|r| self.read_room(r))).await;
        let mut counts = ShardCounts {
            read_at,
            online: 0,
            pv: 0,
            uv: 0,
        };
        for shard in reads {
            match shard {
                Ok(shard) => {
                    counts.online += shard.online_count;
                    counts.uv += shard.uv;
                    counts.pv += shard.pv;
                }
                // a shard room no member was routed to yet
                Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        self.shard_counts.insert(id.clone(), counts);
        Ok(counts)
    }

    /// The end's follow-up in a sharded room (store/intents.rs, replayed under the room's
    /// intent): each shard room ends too (O(1) each; `gone`: deleted, its keys going as the
    /// room's did), its share leaves the online total, and its sweep releases its members.
    /// Idempotent: an ended or missing shard room is left as it is.
    pub(super) async fn end_shard_rooms(
        self: &Arc<Self>,
        id: &LiveId,
        shards: u32,
        gone: bool,
    ) -> StoreResult<()> {
        // the room's delete was authorised; its shard rooms follow it as the service's own
        let system = UserId::parse("liveroom").map_err(|e| StoreError::Internal(e.to_string()))?;
        for s in 1..shards {
            let shard = shard_room(id, s, shards);
            let sweep = if gone {
                match self
                    .call(&calls::Delete {
                        room: &shard,
                        user: &system,
                        log_ttl_ms: self.deleted_log_ttl_ms(),
                        authority: calls::Authority::of(true),
                    })
                    .await
                {
                    Ok(deleted) => deleted.held > 0 || deleted.sweep,
                    Err(StoreError::NotFound) => false,
                    Err(e) => return Err(e),
                }
            } else {
                self.call(&calls::ShardEnd {
                    shard_room: &shard,
                    reason: "stopped",
                })
                .await?
                    > 0
            };
            self.report_online(&shard, Share::ENDED).await?;
            if sweep {
                self.schedule_sweep(&shard, 0).await?;
            }
        }
        Ok(())
    }

    /// A started room's shard rooms follow its status (shard_init.lua; a missing one is made).
    pub(super) async fn mirror_shard_rooms(&self, id: &LiveId, shards: u32) -> StoreResult<()> {
        for s in 1..shards {
            self.init_shard_room(id, &shard_room(id, s, shards)).await?;
        }
        Ok(())
    }

    /// A page of a sharded room's members, most recent joiner first, in the order of the
    /// room's join numbers: one Fenwick descent over the shards' trees together (a round of S
    /// reads per level), then the chunks it lands in, read from every shard and merged by
    /// number. Bounded: O(S · (log chunks + page)) calls of O(chunk) each.
    pub(super) async fn members_over_shards(
        &self,
        id: &LiveId,
        layout: &Layout,
        page: PageRequest,
    ) -> StoreResult<Page<Person>> {
        let rooms: Vec<LiveId> = (0..layout.shards)
            .map(|s| shard_room(id, s, layout.shards))
            .collect();
        let window_ms = self.window();
        let heads = self
            .read_shards(&rooms, ShardPageRead::Head { window_ms })
            .await?;
        let (mut size, mut cap, mut total) = (0u64, 0u64, 0u64);
        for head in heads.into_iter().flatten() {
            if let ShardPageReply::Head {
                size: n,
                cap: c,
                present,
            } = head
            {
                size += n;
                cap = cap.max(c);
                total += present;
            }
        }
        let mut members = Vec::new();
        // the rank, from the first joiner, of the page's first (most recent) member
        let Some(mut rank) = size.checked_sub(1 + page.offset()) else {
            return Ok(Page::new(page, total, members));
        };
        let mut wanted = page.size as usize;
        'page: while wanted > 0 {
            let (mut chunk, mut place) = self.descend(&rooms, cap, rank).await?;
            let mut descended = true;
            loop {
                let mut rows: Vec<ChunkMember> = Vec::new();
                let reads = self
                    .read_shards(
                        &rooms,
                        ShardPageRead::Chunk {
                            i: chunk,
                            window_ms,
                        },
                    )
                    .await?;
                for read in reads.into_iter().flatten() {
                    if let ShardPageReply::Chunk(chunk_rows) = read {
                        rows.extend(chunk_rows);
                    }
                }
                if rows.is_empty() {
                    if descended {
                        // the trees counted members the chunk no longer has (a change between
                        // the reads): the page ends here
                        break 'page;
                    }
                    // an empty chunk (its members all gone): descend again for the next rank
                    break;
                }
                descended = false;
                rows.sort_by(|a, b| {
                    (a.number, &a.person.user_id).cmp(&(b.number, &b.person.user_id))
                });
                let from = match place {
                    Some(p) if p < rows.len() => p,
                    // the counts moved meanwhile: from the chunk's newest
                    _ => rows.len() - 1,
                };
                for row in rows.into_iter().take(from + 1).rev() {
                    if row.present {
                        members.push(row.person);
                    }
                    wanted -= 1;
                    if wanted == 0 || rank == 0 {
                        break 'page;
                    }
                    rank -= 1;
                }
                if chunk <= 1 {
                    break 'page;
                }
                chunk -= 1;
                place = None;
            }
        }
        Ok(Page::new(page, total, members))
    }

    /// The chunk that holds the member of rank `rank` (from the first joiner) over all the
    /// shards' join orders, and its place there: a Fenwick descent over the trees together,
    /// each round of reads giving the nodes of up to `DESCENT_LEVELS` levels (two rounds for a
    /// room of 1 000 000).
    async fn descend(
        &self,
        rooms: &[LiveId],
        cap: u64,
        mut rank: u64,
    ) -> StoreResult<(u64, Option<usize>)> {
        let (mut pos, mut step) = (0u64, cap);
        while step >= 1 {
            let levels = DESCENT_LEVELS.min(step.ilog2() + 1);
            let reads = self
                .read_shards(rooms, ShardPageRead::Nodes { pos, step, levels })
                .await?;
            // the shards' counts added up, node by node
            let mut sums = vec![0u64; (1usize << levels) - 1];
            for read in reads.into_iter().flatten() {
                if let ShardPageReply::Nodes(counts) = read {
                    for (sum, n) in sums.iter_mut().zip(counts) {
                        *sum += n;
                    }
                }
            }
            let base = pos;
            for level in 0..levels {
                let s = step >> level;
                let at = pos + s;
                // level `level`'s nodes are base + (2i + 1)·s, i from 0
                let i = ((at - base) / s - 1) / 2;
                let here = sums
                    .get((1usize << level) - 1 + i as usize)
                    .copied()
                    .unwrap_or(0);
                if here <= rank {
                    pos = at;
                    rank -= here;
                }
            }
            step >>= levels;
        }
        Ok((pos + 1, usize::try_from(rank).ok()))
    }

    /// One read of each room of members, side by side; `None` for a shard room that no member
    /// was routed to yet (the room itself must be there).
    async fn read_shards(
        &self,
        rooms: &[LiveId],
        read: ShardPageRead,
    ) -> StoreResult<Vec<Option<ShardPageReply>>> {
        let reads = futures_util::future::join_all(
            rooms
                .iter()
                .map(|room| async move { self.call(&calls::ShardPage { room, read }).await }),
        )
        .await;
        reads
            .into_iter()
            .enumerate()
            .map(|(s, read)| match read {
                Ok(reply) => Ok(Some(reply)),
                Err(StoreError::NotFound) if s > 0 => Ok(None),
                Err(e) => Err(e),
            })
            .collect()
    }

    /// Says a sharded room's online count (the sum over its shards) in the room's log, when
    /// one of its rooms of members announced its own (say_count.lua; coalesced as any
    /// online_count). A count coalesced away is said once more when the second ends, by this
    /// replica (a replica that dies meanwhile leaves it to the room's next change).
    pub(super) async fn say_count(self: &Arc<Self>, room: &Room) {
        let said = self
            .call(&calls::SayCount {
                room: &room.live_id,
                count: room.online_count,
            })
            .await;
        match said {
            Ok(reply) => {
                if reply.said {
                    self.note_events(&room.live_id);
                }
                if let Some(again_in) = reply.again_in_ms {
                    let store = self.clone();
                    let id = room.live_id.clone();
                    tokio::spawn(async move {
                        // (a few ms late rather than early: Redis's clock decides)
                        let again_in = std::time::Duration::from_millis(again_in + 5);
                        tokio::time::sleep(again_in).await;
                        store.refresh_card_of(&id);
                    });
                }
            }
            Err(e) => {
                tracing::warn!(live_id = %room.live_id, error = %e, "saying the room's count failed")
            }
        }
    }
}
