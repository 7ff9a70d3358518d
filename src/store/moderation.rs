//! Moderation and the platform's own view of a room: kick and ban, the room's bans, and a
//! room's figures.

use super::StoreError;
use super::StoreResult;
use super::calls::{self, Authority};
use super::core::handle;
use super::keys::shard_room;
use crate::domain::ids::{LiveId, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::room::LiveStatus;

/// Bans one room may hold at once (CONTRACT: what a client can make the server store is capped).
pub const MAX_BANS_PER_ROOM: u32 = 10_000;

/// What a kick did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kicked {
    /// The user was a member and is not any more.
    pub removed: bool,
    /// End of the ban, unix ms (0: no ban).
    pub ban_end_ms: i64,
    /// The room's anchor (for the log of admin actions).
    pub anchor: String,
}

/// One running ban.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub user_id: String,
    /// End of the ban, unix ms.
    pub end_ms: i64,
}

/// A room's figures (server API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomStats {
    pub live_status: LiveStatus,
    pub online_count: u64,
    pub peak_online: u64,
    pub pv: u64,
    pub uv: u64,
    /// Likes the room has received.
    pub likes: u64,
    pub start_time: i64,
    pub end_time: i64,
    pub live_seconds: i64,
    pub ended_reason: String,
}

handle! {
    /// Kicks, bans and a room's stats.
    Moderation
}

impl Moderation {
    /// Removes `target` from the room at once and, with `ban_ms` > 0, keeps it out until then.
    /// By the room's anchor (`actor`), or any room by an admin. O(1) in the room's crowd: one
    /// script on the room, then the release of the user's pointer (compare-and-release).
    pub async fn kick(
        &self,
        id: &LiveId,
        actor: &UserId,
        admin: bool,
        target: &UserId,
        ban_ms: u64,
    ) -> StoreResult<Kicked> {
        // the intent first: a replica that dies after the kick's script leaves the member's
        // leaving of the online total, its pointer, the card and the sweep to any replica's sweep
        let owing = self
            .intend_kick(id, if admin { "" } else { actor.as_str() }, target.as_str())
            .await?;
        // the kick (and the ban) goes to the target's room of members (store/shards.rs); a
        // sharded room's bans are capped per shard, so that they stay capped in all
        let (members_room, max_bans, anchor) = match self.layout(id).await {
            Ok(Some(layout)) => (
                layout.member_room(id, target.as_str()),
                MAX_BANS_PER_ROOM / layout.shards.max(1),
                layout.anchor,
            ),
            Ok(None) => (id.clone(), MAX_BANS_PER_ROOM, String::new()),
            Err(e) => return Err(self.failed(owing, e).await),
        };
        let kick = calls::Kick {
            room: &members_room,
            actor,
            authority: Authority::of(admin),
            target,
            ban_ms,
            window_ms: self.window(),
            max_bans,
        };
        let mut kicked = self.call(&kick).await;
        if matches!(kicked, Err(StoreError::NotFound)) && members_room.is_shard_room() {
            // a ban of a user whose shard room no member was routed to yet: the shard room is
            // made (it keeps the ban), then the kick runs there; for the anchor or an admin
            // only (anyone else is refused, and nothing is made)
            kicked = if admin || actor.as_str() == anchor {
                match self.init_shard_room(id, &members_room).await {
                    Ok(()) => self.call(&kick).await,
                    Err(e) => Err(e),
                }
            } else {
                Err(StoreError::NotAnchor)
            };
        }
        let reply = match kicked {
            Ok(reply) => reply,
            Err(e) => return Err(self.failed(owing, e).await),
        };
        let kicked = Kicked {
            removed: reply.removed_seq.is_some(),
            ban_end_ms: reply.ban_end_ms,
            anchor: reply.anchor.clone(),
        };
        match reply.removed_seq {
            Some(seq) => {
                self.note_events(&members_room);
                // O(1) each: the room's share of the online total, the pointer released unless
                // the user moved on, the card (issue 18), the sweep's schedule
                let sweep_in = reply.due_in_ms.map(|delay| delay as i64);
                self.settle_kick(
                    owing,
                    &members_room,
                    (target.as_str(), seq),
                    reply.share,
                    sweep_in,
                )
                .await;
            }
            None => self.forgo(owing).await,
        }
        Ok(kicked)
    }

    /// Lifts a ban (anchor or admin). Says whether there was one.
    pub async fn unban(
        &self,
        id: &LiveId,
        actor: &UserId,
        admin: bool,
        target: &UserId,
    ) -> StoreResult<bool> {
        let members_room = match self.layout(id).await? {
            Some(layout) => layout.member_room(id, target.as_str()),
            None => id.clone(),
        };
        let unbanned = self
            .call(&calls::Unban {
                room: &members_room,
                actor,
                authority: Authority::of(admin),
                target,
            })
            .await;
        match unbanned {
            // a shard room that no member was routed to yet holds no ban; the room's anchor
            // (or an admin) is checked on the room itself
            Err(StoreError::NotFound) if members_room.is_shard_room() => {
                self.call(&calls::Unban {
                    room: id,
                    actor,
                    authority: Authority::of(admin),
                    target,
                })
                .await
            }
            other => other,
        }
    }

    /// The room's running bans, soonest to end first (anchor or admin).
    pub async fn bans(
        &self,
        id: &LiveId,
        actor: &UserId,
        admin: bool,
        page: PageRequest,
    ) -> StoreResult<Page<Ban>> {
        let shards = self.layout(id).await?.map_or(1, |layout| layout.shards);
        if shards <= 1 {
            let calls::BansPage { total, bans } = self
                .call(&calls::Bans {
                    room: id,
                    actor,
                    authority: Authority::of(admin),
                    offset: page.offset(),
                    count: page.size,
                })
                .await?;
            return Ok(Page::new(page, total, bans));
        }
        // A sharded room's bans are its shards' (each user's in their shard's): the page is
        // merged from each shard's first offset + size, soonest to end first. Bounded by the
        // bans' cap (MAX_BANS_PER_ROOM in all).
        let upto = u32::try_from(page.offset() + u64::from(page.size)).unwrap_or(u32::MAX);
        let reads = futures_util::future::join_all((0..shards).map(|s| {
            let room = shard_room(id, s, shards);
            async move {
                self.call(&calls::Bans {
                    room: &room,
                    actor,
                    authority: Authority::of(admin),
                    offset: 0,
                    count: upto,
                })
                .await
            }
        }))
        .await;
        let (mut total, mut bans) = (0, Vec::new());
        for (s, read) in reads.into_iter().enumerate() {
            match read {
                Ok(shard) => {
                    total += shard.total;
                    bans.extend(shard.bans);
                }
                // a shard room that no member was routed to yet
                Err(StoreError::NotFound) if s > 0 => {}
                Err(e) => return Err(e),
            }
        }
        bans.sort_by(|a, b| (a.end_ms, &a.user_id).cmp(&(b.end_ms, &b.user_id)));
        let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let bans = bans
            .into_iter()
            .skip(skip)
            .take(page.size as usize)
            .collect();
        Ok(Page::new(page, total, bans))
    }

    /// A room's figures: one read (and one per shard room of a sharded room, whose peak is the
    /// highest of its counts as said: store/shards.rs `say_count`).
    pub async fn stats(&self, id: &LiveId) -> StoreResult<RoomStats> {
        let mut s = self
            .call(&calls::Stats {
                room: id,
                window_ms: self.window(),
            })
            .await?;
        if let Some(layout) = self.layout(id).await?
            && layout.sharded()
        {
            let shards = self.read_shards_counts(id, layout.shards).await?;
            s.online += shards.online as i64;
            s.pv += shards.pv as i64;
            s.uv += shards.uv as i64;
        }
        let online = s.online.max(0) as u64;
        let mut peak = s.peak.max(0) as u64;
        if s.live_status == LiveStatus::Live {
            // the peak is written as members join: never say fewer than are present now
            peak = peak.max(online);
        }
        let live_seconds = match (s.started_ms, s.live_status) {
            (0, _) => 0,
            (started, LiveStatus::Ended) => (s.ended_ms - started).max(0) / 1000,
            (started, _) => (s.now_ms - started).max(0) / 1000,
        };
        Ok(RoomStats {
            live_status: s.live_status,
            online_count: online,
            peak_online: peak,
            pv: s.pv.max(0) as u64,
            uv: s.uv.max(0) as u64,
            likes: s.likes.max(0) as u64,
            start_time: s.start_time,
            end_time: s.end_time,
            live_seconds,
            ended_reason: s.ended_reason,
        })
    }
}
