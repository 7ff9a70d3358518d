//! The sweeper's operations, by schedule rather than by walking rooms (CONTRACT section 6):
//! rooms come due when something about them can (a member's lapse, the anchor's presence, an
//! online count a burst left unsaid, members to release after the room ended), deadlines come
//! due for anchor-offline closes and retention purges. A replica claims what is due in one call
//! (the claim moves the entry a lease ahead, so replicas share the work instead of repeating
//! it, and what a dead replica claimed comes due again), then works through each room in
//! bounded steps. A quiet platform costs one call per tick per replica, whatever its size.

use futures_util::stream::{self, StreamExt};
use redis::Value;

use super::reply::{self, array, bad, int, status, text};
use super::rooms::decode_view;
use super::{Store, StoreResult};
use crate::domain::ids::LiveId;
use crate::metrics::Gauges;

/// What one sweep did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub closed: usize,
    pub purged: usize,
    pub lapsed: usize,
    pub released: usize,
    /// A schedule had more due than one claim takes: sweep again without waiting for the tick.
    pub full: bool,
}

/// At most this many entries of each schedule per claim.
const CLAIM_MAX: usize = 200;
/// Claimed rooms swept at the same time (each is a few round trips of bounded scripts).
const ROOMS_IN_FLIGHT: usize = 32;
/// Members handled by one step of a room's sweep: the longest script stays well under a
/// millisecond whatever the crowd.
const STEP_MEMBERS: usize = 100;
/// Steps one claim of a room may take before it lets the room come due again (so that one
/// huge release does not hold a replica's sweep from every other room).
const STEPS_PER_CLAIM: usize = 50;
/// How long a claim keeps other replicas off; a replica that dies leaves its claims to come
/// due again after this.
const CLAIM_LEASE_MS: u64 = 5_000;

/// How a sweep step of a room ended.
enum Step {
    /// Members whose pointers to release before the next step.
    Members(Vec<(String, i64)>, bool),
    /// Done: the room's next due time (-1: nothing can come due; it leaves the schedule).
    Next(i64),
}

impl Store {
    /// Claims what is due and does it: sweeps, closes, purges.
    pub async fn sweep(&self, token: &str) -> StoreResult<SweepReport> {
        let [schedule, claims] = self.keys().sweep_schedule();
        let keys = [
            schedule,
            claims,
            self.keys().close_at(),
            self.keys().purge_at(),
        ];
        let args = [
            CLAIM_LEASE_MS.to_string(),
            CLAIM_MAX.to_string(),
            token.to_owned(),
        ];
        let answer: Value = self.eval(&self.scripts().claim, &keys, &args).await?;
        let lists = array(&answer).ok_or_else(|| bad("claim"))?;
        let ids = |i: usize| -> Vec<LiveId> {
            lists
                .get(i)
                .and_then(array)
                .unwrap_or_default()
                .iter()
                .filter_map(text)
                .filter_map(|raw| LiveId::parse(&raw))
                .collect()
        };
        let (rooms, closes, purges) = (ids(0), ids(1), ids(2));
        let mut report = SweepReport {
            full: [&rooms, &closes, &purges]
                .iter()
                .any(|claimed| claimed.len() >= CLAIM_MAX),
            ..SweepReport::default()
        };
        // Claimed rooms are independent: their steps go out side by side on the multiplexed
        // connection (a bounded number at a time), so that a burst of lapses across many rooms
        // is announced in the time of a few round trips, not one room after another.
        let mut closing = stream::iter(
            closes
                .into_iter()
                .map(|id| async move { self.close_offline(&id).await }),
        )
        .buffer_unordered(ROOMS_IN_FLIGHT);
        while let Some(closed) = closing.next().await {
            report.closed += closed?;
        }
        let mut purging = stream::iter(
            purges
                .into_iter()
                .map(|id| async move { self.purge(&id).await }),
        )
        .buffer_unordered(ROOMS_IN_FLIGHT);
        while let Some(purged) = purging.next().await {
            report.purged += purged?;
        }
        let mut sweeping = stream::iter(
            rooms
                .into_iter()
                .map(|id| async move { self.sweep_room(&id, token).await }),
        )
        .buffer_unordered(ROOMS_IN_FLIGHT);
        while let Some(swept) = sweeping.next().await {
            let (lapsed, released) = swept?;
            report.lapsed += lapsed;
            report.released += released;
        }
        Ok(report)
    }

    /// Works through one claimed room in bounded steps. Says how many members lapsed and how
    /// many were released after the room ended.
    async fn sweep_room(&self, id: &LiveId, token: &str) -> StoreResult<(usize, usize)> {
        let keys = self.keys().room(id);
        let mut done: Vec<String> = Vec::new();
        let (mut lapsed, mut released) = (0, 0);
        let mut next = 0;
        let mut said = false;
        for _ in 0..STEPS_PER_CLAIM {
            let mut args = vec![self.window().to_string(), STEP_MEMBERS.to_string()];
            args.append(&mut done);
            let answer: Value = self.eval(&self.scripts().sweep_room, &keys, &args).await?;
            let (word, rest) = status(&answer, "sweep_room")?;
            let removed = rest.first().and_then(int).unwrap_or(0);
            lapsed += removed.max(0) as usize;
            self.count_online(-removed);
            if rest.get(2).and_then(int).is_some_and(|n| n > 0) {
                self.note_events(id);
                said = true;
            }
            let step = match word.as_str() {
                "RELEASE" => Step::Members(reply::released(rest.get(1)), true),
                "LAPSED" => Step::Members(reply::released(rest.get(1)), false),
                _ => Step::Next(rest.get(1).and_then(int).unwrap_or(-1)),
            };
            match step {
                Step::Members(users, is_release) => {
                    if is_release {
                        released += users.len();
                    }
                    self.try_release_users(id, &users).await?;
                    done = users.into_iter().map(|(user, _)| user).collect();
                }
                Step::Next(at) => {
                    next = at;
                    break;
                }
            }
        }
        if said {
            // an online count said, members lapsed or the anchor gone offline: the room's card
            // in the index follows (issue 18), once per claim of the room
            self.refresh_card_of(id);
        }
        // (a claim that ran out of steps leaves `next` at 0: the room comes due again at once)
        let [schedule, claims] = self.keys().sweep_schedule();
        let args = [id.to_string(), token.to_owned(), next.to_string()];
        let _: i64 = self
            .eval(&self.scripts().reschedule, &[schedule, claims], &args)
            .await?;
        Ok((lapsed, released))
    }

    /// Brings the room's next sweep forward to at most `delay_ms` from now.
    pub(super) async fn schedule_sweep(&self, id: &LiveId, delay_ms: i64) -> StoreResult<()> {
        let args = [id.to_string(), delay_ms.max(0).to_string()];
        let _: i64 = self
            .eval(
                &self.scripts().schedule,
                &self.keys().sweep_schedule(),
                &args,
            )
            .await?;
        Ok(())
    }

    /// `schedule_sweep` after the request's own change: a failure is logged, not answered (the
    /// room's change has happened; what it left due is found at the room's next due time).
    pub(super) async fn schedule_sweep_after(&self, id: &LiveId, delay_ms: i64) {
        if let Err(e) = self.schedule_sweep(id, delay_ms).await {
            tracing::warn!(live_id = %id, error = %e, "scheduling the room's sweep failed");
        }
    }

    /// The room ended (stop, delete, close): its members, set aside by the script, are
    /// released by whichever replica sweeps it next; `held` leave the online total now.
    pub(super) async fn room_ended(&self, id: &LiveId, held: i64) {
        self.count_online(-held);
        if held > 0 {
            self.schedule_sweep_after(id, 0).await;
        }
    }

    /// Adjusts the platform's online total, off the request's path (a lost update only skews
    /// a gauge).
    pub(super) fn count_online(&self, delta: i64) {
        if delta == 0 {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            let cmd = redis::cmd("INCRBY")
                .arg(store.keys().online_total())
                .arg(delta)
                .clone();
            if let Err(e) = store.command::<i64>(cmd).await {
                tracing::warn!(error = %e, delta, "updating the online total failed");
            }
        });
    }

    /// Closes a live room whose anchor has been silent past the close delay; says whether.
    async fn close_offline(&self, id: &LiveId) -> StoreResult<usize> {
        let t = self.timings();
        let args = [
            t.member_window_ms.to_string(),
            t.anchor_close_ms.to_string(),
        ];
        let answer: Value = self
            .eval(&self.scripts().close_offline, &self.keys().room(id), &args)
            .await?;
        let parts = array(&answer).ok_or_else(|| bad("close_offline"))?;
        match parts.first().and_then(text).as_deref() {
            Some("LATER") => {
                // The anchor came back: the deadline moves (XX: never re-add a room that a
                // concurrent stop or delete has just taken out).
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
                Ok(0)
            }
            Some("OK") => {
                let (_, rest) = status(&answer, "close_offline")?;
                let room = decode_view(rest)?;
                self.note_events(id);
                self.sync_index(&room).await;
                self.room_ended(id, rest.get(4).and_then(int).unwrap_or(0))
                    .await;
                self.open_rooms_changed(&room.anchor.user_id, id, false)
                    .await;
                tracing::info!(live_id = %id, "closed: anchor offline");
                Ok(1)
            }
            _ => {
                // not live any more: its own change already updated (or will update) the index
                let cmd = redis::cmd("ZREM")
                    .arg(self.keys().close_at())
                    .arg(id.as_str())
                    .clone();
                let _: i64 = self.command(cmd).await?;
                Ok(0)
            }
        }
    }

    async fn purge(&self, id: &LiveId) -> StoreResult<usize> {
        let answer: Value = self
            .eval(&self.scripts().purge, &self.keys().room(id), &[])
            .await?;
        if status(&answer, "purge")?.0 != "OK" {
            // not ended (cannot happen: only ended rooms get a purge deadline); let it be
            let cmd = redis::cmd("ZREM")
                .arg(self.keys().purge_at())
                .arg(id.as_str())
                .clone();
            let _: i64 = self.command(cmd).await?;
            return Ok(0);
        }
        self.unindex(id).await;
        // members still set aside are released by the room's sweep, which outlives the room
        self.schedule_sweep_after(id, 0).await;
        Ok(1)
    }

    /// Gauges for /metrics: live rooms, members online.
    pub async fn gauges(&self) -> StoreResult<Gauges> {
        let live = redis::cmd("ZCARD").arg(self.keys().live()).clone();
        let members = redis::cmd("GET").arg(self.keys().online_total()).clone();
        let (live, members): (u64, Option<i64>) =
            tokio::try_join!(self.command(live), self.command(members))?;
        Ok(Gauges {
            live,
            members_online: members.unwrap_or(0).max(0) as u64,
        })
    }
}
