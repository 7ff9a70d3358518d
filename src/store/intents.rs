//! Changes that span slots (docs/architecture.md, "Changes that span slots"). A room's own
//! change is one script in its slot; what follows it lives in other slots (the index, lists
//! and cards in `{rooms}`, the anchor's open-rooms slot, the sweep schedule, the online total).
//! The request writes the room's intent in `{rooms}` first (intent.lua), then runs the room's
//! script, then the follow-ups, and removes the intent when they are done. A replica that dies
//! (or fails) on the way leaves the intent due: the sweep of any replica claims it
//! (claim.lua) and replays the follow-ups from the room's current state. Each follow-up
//! converges its slot to the room as it is (the index by the room's version, the anchor's slot
//! by its status), so replaying one, or replaying it twice, changes nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::calls::{self, IntentOp, Owed, Share};
use super::core::Core;
use super::keys::{member_shard, shard_room};
use super::{StoreError, StoreResult};
use crate::domain::ids::LiveId;
use crate::domain::room::{LiveStatus, Room};

/// How long after its intent the sweep replays a change's follow-ups if nobody removed the
/// intent: a request's own follow-ups take a few round trips, far less than this.
const FOLLOW_UP_GRACE_MS: u64 = 5_000;

/// What the room is after its own change: the follow-ups converge the other slots to it.
pub(super) enum After<'a> {
    Room(&'a Room),
    /// Deleted (or never created).
    Gone,
}

/// An intent this process wrote: removed when its follow-ups are done.
pub(super) struct Owing {
    room: LiveId,
    token: String,
    anchor: String,
    /// The room's member shards (store/shards.rs) when the intent was written.
    shards: u32,
}

impl Owing {
    /// The anchor as the room's script answered it (an admin's change learns it there).
    pub(super) fn with_anchor(mut self, anchor: Option<String>) -> Self {
        if let Some(anchor) = anchor {
            self.anchor = anchor;
        }
        self
    }
}

impl Core {
    /// The first step of every change that spans slots: the room's follow-ups are owed from now
    /// on. `anchor`: the room's anchor, '' when it is only known after the room's script (a
    /// replay of a room gone by then finds it in the index's owners).
    pub(super) async fn intend(self: &Arc<Self>, id: &LiveId, anchor: &str) -> StoreResult<Owing> {
        self.intend_kick(id, anchor, "").await
    }

    /// As `intend`, for the room's creation: a room not made yet has no shards to read.
    pub(super) async fn intend_new(
        self: &Arc<Self>,
        id: &LiveId,
        anchor: &str,
    ) -> StoreResult<Owing> {
        self.write_intent(id, anchor, "", 1).await
    }

    /// As `intend`, for a kick of `kicked`: a replay also takes the kicked member off the
    /// online total (once) and releases its pointer, when the kick removed it (`kicked_seq`).
    pub(super) async fn intend_kick(
        self: &Arc<Self>,
        id: &LiveId,
        anchor: &str,
        kicked: &str,
    ) -> StoreResult<Owing> {
        // a deleted room's replay has no room to read its shards from: the intent keeps them
        let shards = self.layout(id).await?.map_or(1, |layout| layout.shards);
        self.write_intent(id, anchor, kicked, shards).await
    }

    async fn write_intent(
        self: &Arc<Self>,
        id: &LiveId,
        anchor: &str,
        kicked: &str,
        shards: u32,
    ) -> StoreResult<Owing> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.call(&calls::Intent {
            room: id,
            token: &token,
            op: IntentOp::Add {
                anchor,
                delay_ms: FOLLOW_UP_GRACE_MS,
                kicked,
                shards,
            },
        })
        .await?;
        Ok(Owing {
            room: id.clone(),
            token,
            anchor: anchor.to_owned(),
            shards,
        })
    }

    /// The request's follow-ups of its change, then the intent goes. `held`: the members the
    /// change set aside (they are released by the room's sweep; the room owes them to the
    /// online total, which the follow-ups settle);
    /// `sweep_in`: the room comes due on the sweep schedule within that many ms. A failure is
    /// logged, not answered (the room's change has happened): the sweep replays the intent.
    pub(super) async fn settle(
        self: &Arc<Self>,
        owing: Owing,
        after: After<'_>,
        held: i64,
        sweep_in: Option<i64>,
    ) {
        if self.abandon_follow_ups.load(Ordering::Relaxed) {
            // the test hook: this "process" dies right after the room's script
            return;
        }
        let sweep_in = if held > 0 { Some(0) } else { sweep_in };
        let done = async {
            self.follow_up(&owing.room, &owing.anchor, owing.shards, after, sweep_in)
                .await?;
            self.intent_done(&owing.room, &owing.token).await
        };
        if let Err(e) = done.await {
            tracing::warn!(live_id = %owing.room, error = %e, "follow-ups failed; the sweep replays them");
        }
    }

    /// A kick's follow-ups, once its script removed `user` (whose entry had `seq`): the room's
    /// share of the online total (`share`), its pointer released (if it still names the
    /// room at `seq`), the room's card shows the count, and the room comes due in `sweep_in`
    /// ms. Then the intent goes. A failure is logged: the sweep replays the intent.
    /// `members_room`: the room of members the kick removed the user from (the room, or one
    /// of its shard rooms: store/shards.rs).
    pub(super) async fn settle_kick(
        self: &Arc<Self>,
        owing: Owing,
        members_room: &LiveId,
        (user, seq): (&str, i64),
        share: Option<Share>,
        sweep_in: Option<i64>,
    ) {
        if self.abandon_follow_ups.load(Ordering::Relaxed) {
            return;
        }
        let done = async {
            if let Some(share) = share {
                self.report_online(members_room, share).await?;
            }
            self.kick_follow_up(members_room, user, seq).await?;
            if let Some(delay) = sweep_in {
                self.schedule_sweep(members_room, delay).await?;
            }
            self.intent_done(&owing.room, &owing.token).await
        };
        if let Err(e) = done.await {
            tracing::warn!(live_id = %owing.room, error = %e, "a kick's follow-ups failed; the sweep replays them");
        }
    }

    /// What a kick of `user` (entry `seq`) owes beyond the room's slot and the online total
    /// (which a replay leaves to the room's sweep, scheduled at once); each step idempotent.
    /// `id`: the room of members the kick removed the user from.
    async fn kick_follow_up(
        self: &Arc<Self>,
        id: &LiveId,
        user: &str,
        seq: i64,
    ) -> StoreResult<()> {
        self.try_release_users(id, &[(user.to_owned(), seq)])
            .await?;
        match self.read_room_over_shards(&id.room()).await {
            Ok(room) => self.write_card(&room).await,
            Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The seq of `user`'s entry when a kick removed it and it has not come back since (kick.lua
    /// leaves the entry `seq TAB kicked`); `None` otherwise (the kick removed nothing, or the user
    /// joined again, which replaced the entry).
    async fn kicked_seq(self: &Arc<Self>, id: &LiveId, user: &str) -> StoreResult<Option<i64>> {
        // the entry's bucket is the script's to find (lib.lua, the entries over buckets)
        self.call(&calls::Kicked { room: id, user }).await
    }

    /// The room's script failed: when it refused (it changed nothing), no follow-ups are owed
    /// and the intent goes; when Redis did not answer, the script may have run: the intent
    /// stays, for the sweep to replay. Hands the error back.
    pub(super) async fn failed(self: &Arc<Self>, owing: Owing, error: StoreError) -> StoreError {
        if !matches!(error, StoreError::Unavailable(_) | StoreError::Internal(_)) {
            self.forgo(owing).await;
        }
        error
    }

    /// The intent was written but the room's script changed nothing (it refused, or there was
    /// nothing to do): no follow-ups are owed by this change.
    pub(super) async fn forgo(self: &Arc<Self>, owing: Owing) {
        if let Err(e) = self.intent_done(&owing.room, &owing.token).await {
            tracing::warn!(live_id = %owing.room, error = %e, "removing an intent failed; the sweep replays it");
        }
    }

    /// The sweep's replay of an owed intent, from the room's current state; the intent goes
    /// when done (unless a newer one replaced it).
    pub(super) async fn replay(self: &Arc<Self>, owed: &Owed) -> StoreResult<()> {
        let room = match self.read_room(&owed.room).await {
            Ok(room) => Some(room),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
        if let Some(user) = &owed.kicked {
            // the kick's room of members: the user's shard (never the anchor's: not kickable)
            let members_room = shard_room(&owed.room, member_shard(user, owed.shards), owed.shards);
            if let Some(seq) = self.kicked_seq(&members_room, user).await? {
                self.kick_follow_up(&members_room, user, seq).await?;
                self.schedule_sweep(&members_room, 0).await?;
            }
        }
        let after = room.as_ref().map_or(After::Gone, After::Room);
        // members set aside by an ended room, the anchor's presence: the room's sweep looks
        self.follow_up(&owed.room, &owed.anchor, owed.shards, after, Some(0))
            .await?;
        self.intent_done(&owed.room, &owed.token).await
    }

    /// Converges every slot the room's changes touch beyond its own to what the room is.
    /// `shards`: the room's member shards as the intent knew them (a room that is still there
    /// says its own).
    async fn follow_up(
        self: &Arc<Self>,
        id: &LiveId,
        anchor: &str,
        shards: u32,
        after: After<'_>,
        sweep_in: Option<i64>,
    ) -> StoreResult<()> {
        let ended = match &after {
            After::Room(room) => room.live_status == LiveStatus::Ended,
            After::Gone => true,
        };
        // the shard rooms first: their members are released like the room's own
        match &after {
            After::Room(room) if ended => {
                self.end_shard_rooms(id, room.member_shards, false).await?
            }
            After::Room(room) => self.mirror_shard_rooms(id, room.member_shards).await?,
            After::Gone => self.end_shard_rooms(id, shards, true).await?,
        }
        if ended {
            self.settle_online(id).await?;
        }
        match after {
            After::Room(room) => {
                self.try_open_rooms_changed(&room.anchor.user_id, id, !ended)
                    .await?;
                self.try_sync_index(room).await?;
            }
            After::Gone => {
                // the anchor's slot first: the index's owner of the room goes with its entry
                let anchor = match anchor {
                    "" => self.indexed_owner(id).await?,
                    known => Some(known.to_owned()),
                };
                if let Some(anchor) = anchor {
                    self.try_open_rooms_changed(&anchor, id, false).await?;
                }
                self.try_unindex(id).await?;
            }
        }
        if ended {
            // after the index (what clients see first): likes need a live room, so the likers'
            // totals are of no more use (store/likes.rs); a room that ended ends its PK
            // (store/pk.rs)
            self.forget_likes(id).await?;
            self.end_pk_of(id).await?;
        }
        if let Some(delay) = sweep_in {
            self.schedule_sweep(id, delay).await?;
        }
        Ok(())
    }

    /// An ended (or gone) room's share leaves the online total for good (online_set.lua;
    /// idempotent: a replay, or a late report of the room, changes nothing).
    async fn settle_online(self: &Arc<Self>, id: &LiveId) -> StoreResult<()> {
        self.report_online(id, Share::ENDED).await
    }

    async fn intent_done(self: &Arc<Self>, id: &LiveId, token: &str) -> StoreResult<()> {
        self.call(&calls::Intent {
            room: id,
            token,
            op: IntentOp::Done,
        })
        .await
        .map(|_still_ours| ())
    }

    /// The room's anchor as the index knows it (the per-anchor lists' owner).
    async fn indexed_owner(self: &Arc<Self>, id: &LiveId) -> StoreResult<Option<String>> {
        let [.., owner] = self.keys().index();
        self.command(redis::cmd("HGET").arg(owner).arg(id.as_str()).clone())
            .await
    }
}
