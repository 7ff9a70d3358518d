//! Moderation and the platform's own view of rooms: kick and ban, the room's bans, per-anchor
//! room lists (served from the index `index_sync.lua` keeps), and a room's figures.

use redis::Value;

use super::reply::{array, bad, int, status, text};
use super::{Store, StoreResult};
use crate::domain::ids::LiveId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::room::{LiveStatus, Room};

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
    pub start_time: i64,
    pub end_time: i64,
    pub live_seconds: i64,
    pub ended_reason: String,
}

fn flag(admin: bool) -> String {
    if admin { "1" } else { "0" }.to_owned()
}

impl Store {
    /// Removes `target` from the room at once and, with `ban_ms` > 0, keeps it out until then.
    /// By the room's anchor (`actor`), or any room by an admin. O(1) in the room's crowd: one
    /// script on the room, then the release of the user's pointer (compare-and-release).
    pub async fn kick(
        &self,
        id: &LiveId,
        actor: &str,
        admin: bool,
        target: &str,
        ban_ms: u64,
    ) -> StoreResult<Kicked> {
        let args = [
            actor.to_owned(),
            flag(admin),
            target.to_owned(),
            ban_ms.to_string(),
            self.window().to_string(),
            MAX_BANS_PER_ROOM.to_string(),
        ];
        let answer: Value = self
            .eval(&self.scripts().kick, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "kick")?;
        let num = |i: usize| rest.get(i).and_then(int).unwrap_or(0);
        let removed = num(0) == 1;
        let kicked = Kicked {
            removed,
            ban_end_ms: num(2),
            anchor: rest.get(4).and_then(text).unwrap_or_default(),
        };
        if removed {
            self.note_events(id);
            self.count_online(-1);
            // the count may have been said: the room's card follows (issue 18; kicks are rare)
            self.refresh_card_of(id);
            let due_in = rest.get(3).and_then(int).unwrap_or(-1);
            if due_in >= 0 {
                self.schedule_sweep_after(id, due_in).await;
            }
            // The pointer names the room with the join's seq: released unless the user moved on.
            // A failure leaves a pointer to a room the user is not in, which the user's next
            // join or leave replaces.
            if let Err(e) = self
                .try_release_users(id, &[(target.to_owned(), num(1))])
                .await
            {
                tracing::warn!(live_id = %id, error = %e, "releasing a kicked user's pointer failed");
            }
        }
        Ok(kicked)
    }

    /// Lifts a ban (anchor or admin). Says whether there was one.
    pub async fn unban(
        &self,
        id: &LiveId,
        actor: &str,
        admin: bool,
        target: &str,
    ) -> StoreResult<bool> {
        let args = [actor.to_owned(), flag(admin), target.to_owned()];
        let answer: Value = self
            .eval(&self.scripts().unban, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "unban")?;
        Ok(rest.first().and_then(int) == Some(1))
    }

    /// The room's running bans, soonest to end first (anchor or admin).
    pub async fn bans(
        &self,
        id: &LiveId,
        actor: &str,
        admin: bool,
        page: PageRequest,
    ) -> StoreResult<Page<Ban>> {
        let args = [
            actor.to_owned(),
            flag(admin),
            page.offset().to_string(),
            page.size.to_string(),
        ];
        let answer: Value = self
            .eval(&self.scripts().bans, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "bans")?;
        let total = rest
            .first()
            .and_then(int)
            .ok_or_else(|| bad("bans"))?
            .max(0) as u64;
        let rows = rest.get(1).and_then(array).ok_or_else(|| bad("bans"))?;
        let list = rows
            .chunks(2)
            .filter_map(|pair| match pair {
                [u, e] => Some(Ban {
                    user_id: text(u)?,
                    end_ms: int(e)?,
                }),
                _ => None,
            })
            .collect();
        Ok(Page::new(page, total, list))
    }

    /// One anchor's rooms of every status (or of one), newest created first: a page of the
    /// per-anchor list, then the page's rooms read together.
    pub async fn anchor_rooms(
        &self,
        anchor: &str,
        live_status: Option<LiveStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Room>> {
        let keys = [self
            .keys()
            .anchor_rooms(anchor, live_status.map(|s| i64::from(s.code())))];
        let args = [page.offset().to_string(), page.size.to_string()];
        let answer: Value = self.eval(&self.scripts().page, &keys, &args).await?;
        let parts = array(&answer).ok_or_else(|| bad("anchor rooms"))?;
        let total = parts
            .first()
            .and_then(int)
            .ok_or_else(|| bad("anchor rooms"))?;
        let ids: Vec<String> = parts
            .get(1)
            .and_then(array)
            .ok_or_else(|| bad("anchor rooms"))?
            .iter()
            .filter_map(text)
            .collect();
        let rooms = self.rooms(&ids).await?;
        Ok(Page::new(page, total.max(0) as u64, rooms))
    }

    /// A room's figures: one read.
    pub async fn stats(&self, id: &LiveId) -> StoreResult<RoomStats> {
        let args = [self.window().to_string()];
        let answer: Value = self
            .eval(&self.scripts().stats, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "stats")?;
        let num = |i: usize| rest.get(i).and_then(int).unwrap_or(0);
        let live_status = LiveStatus::from_code(num(0)).ok_or_else(|| bad("stats"))?;
        let (started_ms, ended_ms, now_ms) = (num(4), num(5), num(10));
        let online = num(8).max(0) as u64;
        let mut peak = num(7).max(0) as u64;
        if live_status == LiveStatus::Live {
            peak = peak.max(online);
        }
        let live_seconds = match (started_ms, live_status) {
            (0, _) => 0,
            (s, LiveStatus::Ended) => (ended_ms - s).max(0) / 1000,
            (s, _) => (now_ms - s).max(0) / 1000,
        };
        Ok(RoomStats {
            live_status,
            online_count: online,
            peak_online: peak,
            pv: num(1).max(0) as u64,
            uv: num(9).max(0) as u64,
            start_time: num(2),
            end_time: num(3),
            live_seconds,
            ended_reason: rest.get(6).and_then(text).unwrap_or_default(),
        })
    }
}
