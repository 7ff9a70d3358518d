//! The sweeper's operations, by schedule rather than by walking rooms (CONTRACT section 6):
//! rooms come due when something about them can (a member's lapse, the anchor's presence, an
//! online count a burst left unsaid, members to release after the room ended), deadlines come
//! due for anchor-offline closes and retention purges. A replica claims what is due in one call
//! (the claim moves the entry a lease ahead, so replicas share the work instead of repeating
//! it, and what a dead replica claimed comes due again), then works through each room in
//! bounded steps. A quiet platform costs one call per tick per replica, whatever its size.

use futures_util::stream::{self, StreamExt};

use super::calls::{self, CloseOfflineReply, NextDue, PurgeReply, Share, SweepPhase};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::StoreResult;
use super::core::{Core, handle};
use super::intents::After;
use crate::domain::ids::LiveId;
use crate::metrics::Gauges;

/// What one sweep did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub closed: usize,
    pub purged: usize,
    pub lapsed: usize,
    pub released: usize,
    /// Owed follow-ups replayed (store/intents.rs).
    pub replayed: usize,
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

/// How long the online total remembers that a room ended (online_set.lua): a report of the room
/// older than its end, arriving late, is ignored meanwhile.
const ONLINE_ENDED_KEPT_MS: u64 = 3 * 24 * 3_600_000;

handle! {
    /// The background sweep of what came due (lapses, closes, purges) and the gauges.
    Sweep
}

impl Sweep {
    /// Claims what is due and does it: sweeps, closes, purges.
    pub async fn run(&self, token: &str) -> StoreResult<SweepReport> {
        let calls::Claimed {
            rooms,
            closes,
            purges,
            owed,
            pks,
        } = self
            .call(&calls::Claim {
                lease_ms: CLAIM_LEASE_MS,
                max: CLAIM_MAX,
                token,
            })
            .await?;
        let mut report = SweepReport {
            full: [rooms.len(), closes.len(), purges.len(), owed.len()]
                .iter()
                .any(|&claimed| claimed >= CLAIM_MAX),
            ..SweepReport::default()
        };
        // Claimed rooms are independent: their steps go out side by side on the multiplexed
        // connection (a bounded number at a time), so that a burst of lapses across many rooms
        // is announced in the time of a few round trips, not one room after another.
        // Follow-ups a replica owed and did not finish (it died, or Redis failed it): replayed
        // from each room's current state (store/intents.rs).
        let mut replaying = stream::iter(
            owed.into_iter()
                .map(|owed| async move { self.replay(&owed).await }),
        )
        .buffer_unordered(ROOMS_IN_FLIGHT);
        while let Some(replayed) = replaying.next().await {
            replayed?;
            report.replayed += 1;
        }
        // PKs cut short or whose invitation expired: finished from their record (store/pk.rs)
        let mut finishing = stream::iter(
            pks.into_iter()
                .map(|due| async move { self.replay_pk(&due).await }),
        )
        .buffer_unordered(ROOMS_IN_FLIGHT);
        while let Some(finished) = finishing.next().await {
            finished?;
            report.replayed += 1;
        }
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

impl Core {
    /// Works through one claimed room in bounded steps. Says how many members lapsed and how
    /// many were released after the room ended.
    async fn sweep_room(self: &Arc<Self>, id: &LiveId, token: &str) -> StoreResult<(usize, usize)> {
        // the users of the previous step whose pointers are released: the next step finishes them
        let mut done: Vec<String> = Vec::new();
        let (mut lapsed, mut released) = (0, 0);
        // (a claim that runs out of steps leaves the room due at once: the next claim goes on)
        let mut next = NextDue::AT_ONCE;
        let mut said = false;
        // the room's share of the online total as the last step saw it: reported at every visit
        let mut share = None;
        for _ in 0..STEPS_PER_CLAIM {
            let step = self
                .call(&calls::SweepRoom {
                    room: id,
                    window_ms: self.window(),
                    batch: STEP_MEMBERS,
                    released: &done,
                })
                .await?;
            lapsed += step.removed.max(0) as usize;
            share = step.share.or(share);
            if step.events_written {
                self.note_events(id);
                said = true;
            }
            let users = match step.phase {
                SweepPhase::Release(users) => {
                    released += users.len();
                    users
                }
                SweepPhase::Lapsed(users) => users,
                SweepPhase::Done(at) => {
                    next = at;
                    break;
                }
            };
            self.try_release_users(id, &users).await?;
            done = users.into_iter().map(|(user, _)| user).collect();
        }
        if let Some(share) = share {
            self.report_online(id, share).await?;
        }
        if said {
            // an online count said, members lapsed or the anchor gone offline: the room's card
            // in the index follows (issue 18), once per claim of the room
            self.refresh_card_of(id);
        }
        // (false: another replica claimed the room since, this one's lease having run out; that
        // replica decides when the room comes due)
        let _still_ours = self
            .call(&calls::Reschedule {
                room: id,
                token,
                next,
            })
            .await?;
        Ok((lapsed, released))
    }

    /// Brings the room's next sweep forward to at most `delay_ms` from now.
    pub(super) async fn schedule_sweep(
        self: &Arc<Self>,
        id: &LiveId,
        delay_ms: i64,
    ) -> StoreResult<()> {
        self.call(&calls::Schedule {
            room: id,
            delay_ms: delay_ms.max(0).unsigned_abs(),
        })
        .await
    }

    /// `schedule_sweep` after the request's own change: a failure is logged, not answered (the
    /// room's change has happened; what it left due is found at the room's next due time).
    pub(super) async fn schedule_sweep_after(self: &Arc<Self>, id: &LiveId, delay_ms: i64) {
        if let Err(e) = self.schedule_sweep(id, delay_ms).await {
            tracing::warn!(live_id = %id, error = %e, "scheduling the room's sweep failed");
        }
    }

    /// Reports the room's share of the platform's online total (online_set.lua): the total
    /// takes it only when its membership version is newer than what it has, so a late or
    /// replayed report changes nothing.
    pub(super) async fn report_online(
        self: &Arc<Self>,
        id: &LiveId,
        share: Share,
    ) -> StoreResult<()> {
        self.call(&calls::OnlineSet {
            room: id,
            share,
            keep_ms: ONLINE_ENDED_KEPT_MS,
        })
        .await
        .map(|_taken| ())
    }

    /// `report_online` after a request's change, off the request's path. A lost report is made
    /// good at the room's next sweep visit (at most a member window away while it has members).
    pub(super) fn note_online(self: &Arc<Self>, id: &LiveId, share: Option<Share>) {
        let Some(share) = share else {
            return;
        };
        if self.abandon_follow_ups.load(Ordering::Relaxed) {
            // the test hook: this "process" dies right after the room's script
            return;
        }
        let store = self.clone();
        let id = id.clone();
        tokio::spawn(async move {
            if let Err(e) = store.report_online(&id, share).await {
                tracing::warn!(live_id = %id, error = %e, "reporting the room's online share failed");
            }
        });
    }

    /// Closes a live room whose anchor has been silent past the close delay; says whether.
    async fn close_offline(self: &Arc<Self>, id: &LiveId) -> StoreResult<usize> {
        let t = self.timings();
        let closing = calls::CloseOffline {
            room: id,
            window_ms: t.member_window_ms,
            close_ms: t.anchor_close_ms,
        };
        // the anchor is learnt from the room (a replay of a room gone since finds it in the index)
        let owing = self.intend(id, "").await?;
        let closed = match self.call(&closing).await {
            Ok(closed) => closed,
            Err(e) => return Err(self.failed(owing, e).await),
        };
        if !matches!(closed, CloseOfflineReply::Closed { .. }) {
            self.forgo(owing).await;
            return self.not_closed(id, closed).await;
        }
        if let CloseOfflineReply::Closed { room, held } = closed {
            self.note_events(id);
            self.settle(owing, After::Room(&room), held, None).await;
            tracing::info!(live_id = %id, "closed: anchor offline");
        }
        Ok(1)
    }

    /// A close that found the room not to close: its deadline moves or goes.
    async fn not_closed(
        self: &Arc<Self>,
        id: &LiveId,
        reply: CloseOfflineReply,
    ) -> StoreResult<usize> {
        match reply {
            CloseOfflineReply::Later { deadline_ms } => {
                // The anchor came back: the deadline moves (XX: never re-add a room that a
                // concurrent stop or delete has just taken out).
                let cmd = redis::cmd("ZADD")
                    .arg(self.keys().close_at())
                    .arg("XX")
                    .arg(deadline_ms)
                    .arg(id.as_str())
                    .clone();
                let _: i64 = self.command(cmd).await?;
                Ok(0)
            }
            CloseOfflineReply::Closed { .. } => Ok(1),
            CloseOfflineReply::NotLive => {
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

    async fn purge(self: &Arc<Self>, id: &LiveId) -> StoreResult<usize> {
        let owing = self.intend(id, "").await?;
        let purged = match self.call(&calls::Purge { room: id }).await {
            Ok(purged) => purged,
            Err(e) => return Err(self.failed(owing, e).await),
        };
        if purged == PurgeReply::Kept {
            self.forgo(owing).await;
            // not ended (cannot happen: only ended rooms get a purge deadline); let it be
            let cmd = redis::cmd("ZREM")
                .arg(self.keys().purge_at())
                .arg(id.as_str())
                .clone();
            let _: i64 = self.command(cmd).await?;
            return Ok(0);
        }
        // members still set aside are released by the room's sweep, which outlives the room
        self.settle(owing, After::Gone, 0, Some(0)).await;
        Ok(1)
    }
}
