//! The sweeper's operations: close rooms whose anchor went silent, purge ended rooms past their
//! retention, trim lapsed members. Every step is a conditional script, so any number of replicas
//! may sweep at once: each room is closed once, with one end_time.

use redis::Value;

use super::reply::{self, array, bad, int, status, text};
use super::rooms::decode_view;
use super::{Store, StoreResult};
use crate::domain::ids::LiveId;

/// Room and member gauges.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Gauges {
    pub live: u64,
    pub members_online: u64,
}

/// What one sweep did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub closed: usize,
    pub purged: usize,
    pub lapsed: usize,
}

const BATCH: usize = 200;

/// Where the sweeper's walks over the occupied and the live rooms stand.
#[derive(Debug, Default, Clone, Copy)]
pub struct SweepCursors {
    occupied: usize,
    live: usize,
}

impl Store {
    /// Everything that is due: offline closes (every due room, batch after batch) and purges.
    pub async fn sweep_deadlines(&self) -> StoreResult<SweepReport> {
        let mut closed = 0;
        // a full batch may hide more due rooms behind it: go on (bounded) until one is not full
        for _ in 0..50 {
            let (done, batch_full) = self.close_offline_rooms().await?;
            closed += done;
            if !batch_full {
                break;
            }
        }
        let purged = self.purge_ended_rooms().await?;
        Ok(SweepReport {
            closed,
            purged,
            lapsed: 0,
        })
    }

    /// One step of the walk over rooms: lapsed members trimmed, anchor lapses announced.
    pub async fn sweep_rooms(&self, cursors: &mut SweepCursors) -> StoreResult<usize> {
        // Rooms with members (lapsed ones to trim), then live rooms (an anchor whose presence
        // lapsed is announced even when nobody is in the room).
        Ok(self
            .pass_over_rooms(self.keys().occupied(), &mut cursors.occupied, true)
            .await?
            + self
                .pass_over_rooms(self.keys().live(), &mut cursors.live, false)
                .await?)
    }

    async fn due(&self, key: String) -> StoreResult<Vec<LiveId>> {
        let ids: Vec<String> = self
            .eval(&self.scripts().due, &[key], &[BATCH.to_string()])
            .await?;
        Ok(ids.iter().filter_map(|raw| LiveId::parse(raw)).collect())
    }

    /// Closes the due rooms of one batch; says how many, and whether the batch was full.
    async fn close_offline_rooms(&self) -> StoreResult<(usize, bool)> {
        let mut closed = 0;
        let due = self.due(self.keys().close_at()).await?;
        let batch_full = due.len() >= BATCH;
        for id in due {
            let t = self.timings();
            let args = [
                t.member_window_ms.to_string(),
                t.anchor_close_ms.to_string(),
            ];
            let answer: Value = self
                .eval(&self.scripts().close_offline, &self.keys().room(&id), &args)
                .await?;
            let parts = array(&answer).ok_or_else(|| bad("close_offline"))?;
            match parts.first().and_then(text).as_deref() {
                Some("LATER") => {
                    // The anchor came back: the deadline moves (XX: never re-add a room that
                    // a concurrent stop or delete has just taken out).
                    let deadline = parts
                        .get(1)
                        .and_then(int)
                        .ok_or_else(|| bad("close_offline"))?;
                    let cmd = redis::cmd("ZADD")
                        .arg(self.keys().close_at())
                        .arg("XX")
                        .arg(deadline)
                        .arg(id.as_str())
                        .clone();
                    let _: i64 = self.command(cmd).await?;
                }
                Some("OK") => {
                    let (_, rest) = status(&answer, "close_offline")?;
                    let room = decode_view(rest)?;
                    self.sync_index(&room).await;
                    self.release_users(&id, reply::released(rest.get(4))).await;
                    tracing::info!(live_id = %id, "closed: anchor offline");
                    self.note_events(&id);
                    closed += 1;
                }
                _ => {
                    // not live any more: its own change already updated (or will update) the index
                    let cmd = redis::cmd("ZREM")
                        .arg(self.keys().close_at())
                        .arg(id.as_str())
                        .clone();
                    let _: i64 = self.command(cmd).await?;
                }
            }
        }
        Ok((closed, batch_full))
    }

    async fn purge_ended_rooms(&self) -> StoreResult<usize> {
        let mut purged = 0;
        for id in self.due(self.keys().purge_at()).await? {
            let answer: Value = self
                .eval(&self.scripts().purge, &self.keys().room(&id), &[])
                .await?;
            if status(&answer, "purge")?.0 == "OK" {
                self.unindex(&id).await;
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// Runs `trim.lua` over one batch of the rooms of `set` per sweep, walking it with a cursor.
    /// On the occupied set, a room left without members leaves the set.
    async fn pass_over_rooms(
        &self,
        set: String,
        cursor: &mut usize,
        is_occupied_set: bool,
    ) -> StoreResult<usize> {
        let occupied = set;
        let range = redis::cmd("ZRANGE")
            .arg(&occupied)
            .arg(*cursor)
            .arg(*cursor + BATCH - 1)
            .clone();
        let ids: Vec<String> = self.command(range).await?;
        *cursor = if ids.len() < BATCH {
            0
        } else {
            *cursor + ids.len()
        };
        let mut lapsed = 0;
        let mut counts: Vec<String> = Vec::with_capacity(ids.len() * 2);
        let window = [self.window().to_string()];
        for id in ids.iter().filter_map(|raw| LiveId::parse(raw)) {
            let answer: Value = self
                .eval(&self.scripts().trim, &self.keys().room(&id), &window)
                .await?;
            let (_, rest) = status(&answer, "trim")?;
            let left = rest.first().and_then(int).unwrap_or(0);
            let removed = reply::released(rest.get(1));
            if rest.get(2).and_then(int).is_some_and(|n| n > 0) {
                self.note_events(&id);
            }
            lapsed += removed.len();
            counts.push(id.to_string());
            counts.push(left.max(0).to_string());
            self.release_users(&id, removed).await;
            if left == 0 && is_occupied_set {
                // Take the room out, then look again: a join that raced this sweep either saw
                // the room empty (and re-adds it itself) or is seen here and put back.
                let rem = redis::cmd("ZREM").arg(&occupied).arg(id.as_str()).clone();
                let _: i64 = self.command(rem).await?;
                let card = redis::cmd("ZCARD").arg(&self.keys().room(&id)[1]).clone();
                let still: i64 = self.command(card).await?;
                if still > 0 {
                    let add = redis::cmd("ZADD")
                        .arg(&occupied)
                        .arg("NX")
                        .arg(0)
                        .arg(id.as_str())
                        .clone();
                    let _: i64 = self.command(add).await?;
                }
            }
        }
        if !counts.is_empty() {
            let _: i64 = self
                .eval(
                    &self.scripts().online_sync,
                    &self.keys().online_counts(),
                    &counts,
                )
                .await?;
        }
        Ok(lapsed)
    }

    /// Gauges for /metrics: live rooms, members online (as the sweepers last counted them).
    pub async fn gauges(&self) -> StoreResult<Gauges> {
        let live = redis::cmd("ZCARD").arg(self.keys().live()).clone();
        let members = redis::cmd("GET")
            .arg(&self.keys().online_counts()[1])
            .clone();
        let (live, members): (u64, Option<i64>) =
            tokio::try_join!(self.command(live), self.command(members))?;
        Ok(Gauges {
            live,
            members_online: members.unwrap_or(0).max(0) as u64,
        })
    }
}
