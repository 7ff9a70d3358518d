//! Presence: join, leave, heartbeat and the member list.
//!
//! A user is a member of at most one room. The user's pointer (room, seq: the user's field of
//! a bucket `users:{bN}`) lives in another cluster slot than the rooms, so a room hop cannot be
//! one script. Instead every join
//! and leave of a user takes the next number of the user's own `seq` (atomically with moving the
//! pointer), and each room remembers, per user, the seq of the last join or leave it applied.
//! A room applies a join or an eviction only if its seq is newer than what it has seen. The
//! pointer's history is totally ordered by seq, and each join evicts the room the pointer named
//! before it, so whatever order the room scripts of racing requests run in, the user ends up a
//! member of exactly the room of the highest seq. See docs/architecture.md ("Presence across
//! slots").

use super::calls::{
    self, CarryAnswer, EvictReason, EvictReply, HeartbeatReply, JoinAnswer, JoinReply,
    MembersReply, UserAbortJoinReply, UserJoinReply, WentAway,
};
use super::reply::bad;
use std::sync::Arc;

use super::core::{Core, handle};
use super::layout::Layout;
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::profile::{Person, Profile};
use crate::domain::room::{LiveStatus, Room};

/// What a heartbeat tells the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    pub live_status: LiveStatus,
}

handle! {
    /// Members: join, leave, heartbeat and the member list.
    Presence
}

/// Members (to carry or to let go) in one call of `Presence::carry`: a bound on the call's
/// work whatever the room's crowd (50 000 streams starting at once are 100 calls).
pub const CARRY_CALL_MAX: usize = 500;

/// What one renewal of a replica's lease in a room found (`Presence::carry`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    /// The room ended or is gone: every stream of it ends.
    pub ended: bool,
    /// The replica carries afresh (its lease had run out): whatever it marked before is void.
    pub fresh: bool,
    /// Members that went since the last renewal (or were taken over by another replica).
    pub went: Vec<WentAway>,
    /// One answer per member to carry, in order.
    pub answers: Vec<CarryAnswer>,
}

impl Presence {
    /// Joins the room, leaving the user's previous room. Round trips: the user's pointer, the
    /// room, and the previous room when there is one (plus two the first time a user is seen,
    /// and the room's layout while this replica does not know it: store/shards.rs).
    /// In a sharded room (store/shards.rs) the user joins the room of members of their shard,
    /// after taking the room's next join number, and the answer adds up the shards' counts
    /// (the other shards' as this replica read them within the last second).
    pub async fn join(&self, id: &LiveId, who: &Profile) -> StoreResult<Room> {
        let user = &who.user_id;
        let layout = self.layout(id).await?.ok_or(StoreError::NotFound)?;
        let members_room = layout.member_room(id, user.as_str());
        // every join into a sharded room, its own shard's too, is numbered by the room: the
        // shards' join orders share the numbers (user_list's order over them)
        let number = if layout.sharded() {
            Some(self.take_join_number(id, &layout).await?)
        } else {
            None
        };
        let room = self
            .join_members_room(&members_room, &layout, who, number)
            .await?;
        if layout.sharded() {
            // the room as the room itself says it, with its shards' counts as this replica
            // read them within the last second (store/shards.rs)
            let room = self.read_room(id).await?;
            return self.add_recent_shards_counts(room).await;
        }
        Ok(room)
    }

    /// The join, in the room of members that holds the user's membership (`id`: the room
    /// itself, or one of its shard rooms).
    async fn join_members_room(
        &self,
        id: &LiveId,
        layout: &Layout,
        who: &Profile,
        number: Option<i64>,
    ) -> StoreResult<Room> {
        let user = &who.user_id;
        // The room is put on the sweep schedule (due when this member could lapse, unless it
        // is due sooner) before the member exists, alongside the user's side of the join: a
        // replica dying right after the join leaves no member that nothing will ever trim.
        let user_side = calls::UserJoin { user, room: id };
        let (pointer, ()) = tokio::try_join!(
            self.call(&user_side),
            self.schedule_sweep(id, self.window() as i64)
        )?;
        let UserJoinReply {
            mut seq,
            previous,
            im_userid,
        } = pointer;
        let im_userid = match im_userid {
            Some(imid) => imid,
            None => {
                // first seen in the pointer buckets: a user carried over from the older layout
                // moves their seqs up (rooms.rs `allocate_im_userid`), this join's with them
                let given = self.allocate_im_userid(&who.user_id).await?;
                seq += given.shift;
                given.im_userid
            }
        };

        let profile = who.looks.to_json();
        let join = calls::Join {
            room: id,
            user,
            seq,
            im_userid,
            profile: &profile,
            window_ms: self.window(),
            shards: layout.shards,
            number,
        };
        let mut joined = self.call(&join).await;
        if matches!(joined, Err(StoreError::NotFound)) && id.is_shard_room() {
            // the first member routed to this shard: the shard room is made, then joined
            joined = match self.init_shard_room(&id.room(), id).await {
                Ok(()) => self.call(&join).await,
                Err(e) => Err(e),
            };
        }
        let joined = match joined {
            Ok(JoinAnswer::Joined(joined)) => Ok(*joined),
            Ok(JoinAnswer::Shards(_)) => Err(self.shards_changed(&id.room())),
            Err(e) => Err(e),
        };
        let JoinReply {
            room,
            first_member,
            fresh_visit,
            due_in_ms,
            announced,
            share,
        } = match joined {
            Ok(joined) => joined,
            Err(e @ (StoreError::NotFound | StoreError::Conflict(_) | StoreError::Banned(_))) => {
                self.abort_join(id, user, seq, previous.as_ref()).await;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        self.note_events(id);
        if fresh_visit {
            self.note_online(id, share);
        }
        if announced {
            // the online count was said: the room's card in the index follows (issue 18),
            // counted over the room's shards when it has some
            if layout.sharded() {
                self.refresh_card_of(id);
            } else {
                self.refresh_card(room.clone());
            }
        }
        // Once more after the member exists, when it made the room non-empty: a sweep that saw
        // the room empty just before this join then looks again instead of parking it.
        let window = self.window();
        let due = match (first_member, due_in_ms) {
            (true, Some(due_in)) => Some(due_in.min(window)),
            (true, None) => Some(window),
            (false, due_in) => due_in,
        };
        let previous = previous.filter(|p| p != id);
        let reschedule = async {
            match due {
                Some(delay) => self.schedule_sweep(id, delay as i64).await,
                None => Ok(()),
            }
        };
        let leave_previous = async {
            match &previous {
                Some(previous) => self.evict(previous, user, seq).await.map(|_| ()),
                None => Ok(()),
            }
        };
        tokio::try_join!(reschedule, leave_previous)?;
        Ok(room)
    }

    /// Leaves the room. Final: a late heartbeat does not bring the member back.
    /// Round trips: the user's pointer, the room.
    pub async fn leave(&self, id: &LiveId, user: &UserId) -> StoreResult<()> {
        // the room of members that holds the user's membership (store/shards.rs)
        let members_room = match self.layout(id).await? {
            Some(layout) => layout.member_room(id, user.as_str()),
            None => id.clone(),
        };
        let id = &members_room;
        let pointer = self.call(&calls::UserLeave { user, room: id }).await?;
        let mut seq = pointer.seq;
        if !pointer.known {
            // first seen in the pointer buckets: a user of the older layout is carried over
            // (their seqs move above the rooms' records of them), this leave's seq with them
            seq += self.allocate_im_userid(user).await?.shift;
        }
        let evicted = self
            .call(&calls::Evict {
                room: id,
                user,
                seq,
                reason: EvictReason::Left,
                window_ms: self.window(),
            })
            .await;
        let evicted = match evicted {
            Ok(evicted) => evicted,
            // a shard room that no member was routed to yet: the user was not a member
            Err(StoreError::NotFound) if id.is_shard_room() => {
                return match self.shard_not_found(id).await {
                    StoreError::NotMember => Ok(()),
                    e => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        self.note_events(id);
        self.member_removed(id, evicted).await;
        Ok(())
    }

    /// A member's or the anchor's heartbeat: one round trip (the index is touched only when the
    /// anchor's nick changed, which search follows).
    pub async fn heartbeat(&self, id: &LiveId, who: &Profile) -> StoreResult<Heartbeat> {
        // The room of members that holds the user's membership (store/shards.rs): known once
        // the room's layout is fixed; until this replica knows it, the room itself, and where
        // that finds no member, the layout is read (a sharded room's member the first time).
        let user = who.user_id.as_str();
        let known = self.layouts.get(id);
        let mut members_room = known
            .as_ref()
            .map_or_else(|| id.clone(), |layout| layout.member_room(id, user));
        let mut reply = self
            .beat(&members_room, &who.user_id, who.looks.to_json())
            .await;
        if known.is_none()
            && matches!(reply, Ok(HeartbeatReply::NotMember { dropped: false, .. }))
            && let Some(layout) = self.layout(id).await?
            && layout.member_room(id, user) != members_room
        {
            members_room = layout.member_room(id, user);
            reply = self
                .beat(&members_room, &who.user_id, who.looks.to_json())
                .await;
        }
        let reply = match reply {
            Ok(reply) => reply,
            // a shard room that no member was routed to yet: the user is not a member
            Err(StoreError::NotFound) if members_room.is_shard_room() => {
                return Err(self.shard_not_found(&members_room).await);
            }
            Err(e) => return Err(e),
        };
        let id = &members_room;
        match reply {
            HeartbeatReply::NotMember {
                dropped,
                due_in_ms,
                share,
            } => {
                // a member that lapsed unswept: the heartbeat took it out
                if dropped {
                    self.note_events(id);
                    self.note_online(id, share);
                }
                if let Some(delay) = due_in_ms {
                    self.schedule_sweep_after(id, delay as i64).await;
                }
                Err(StoreError::NotMember)
            }
            HeartbeatReply::Beat {
                live_status,
                anchor_profile_changed,
                events_written,
                lapsed_dropped,
                due_in_ms,
                share,
            } => {
                let live_status =
                    LiveStatus::from_code(live_status).ok_or_else(|| bad("heartbeat"))?;
                if events_written {
                    self.note_events(id);
                }
                if lapsed_dropped {
                    self.note_online(id, share);
                }
                if let Some(delay) = due_in_ms {
                    // the anchor's presence began (or an online count went unsaid)
                    self.schedule_sweep_after(id, delay as i64).await;
                }
                if anchor_profile_changed {
                    match self.read_room(id).await {
                        Ok(room) => self.sync_index(&room).await,
                        Err(e) => {
                            tracing::warn!(live_id = %id, error = %e, "reading room for index failed")
                        }
                    }
                }
                Ok(Heartbeat { live_status })
            }
        }
    }

    /// Presence carried by open event streams (docs/architecture.md): renews this replica's
    /// lease in the room (`token`), lets go of `release` (their last stream here closed: their
    /// window runs from the last renewal) and marks `members` as carried by it (user, profile
    /// JSON), never bringing back one that is not a member. O(1) for the renewal, O(1) per
    /// member, in calls of at most `CARRY_CALL_MAX` members.
    pub async fn carry(
        &self,
        id: &LiveId,
        token: &str,
        takeover: std::time::Duration,
        release: &[UserId],
        members: &[(UserId, String)],
    ) -> StoreResult<Carried> {
        let mut carried = Carried::default();
        let (mut release, mut members) = (release, members);
        loop {
            let let_go = release.len().min(CARRY_CALL_MAX);
            let take = members.len().min(CARRY_CALL_MAX - let_go);
            let reply = self
                .call(&calls::Carry {
                    room: id,
                    window_ms: self.window(),
                    takeover_ms: u64::try_from(takeover.as_millis()).unwrap_or(u64::MAX),
                    token,
                    release: &release[..let_go],
                    members: &members[..take],
                })
                .await;
            let reply = match reply {
                Err(StoreError::NotFound | StoreError::Conflict(_)) => {
                    carried.ended = true;
                    return Ok(carried);
                }
                other => other?,
            };
            if reply.events_written {
                self.note_events(id);
            }
            if reply.dropped {
                self.note_online(id, reply.share);
            }
            if let Some(delay) = reply.due_in_ms {
                self.schedule_sweep_after(id, delay as i64).await;
            }
            carried.fresh |= reply.fresh;
            carried.went.extend(reply.went);
            carried.answers.extend(reply.answers);
            release = &release[let_go..];
            members = &members[take..];
            if release.is_empty() && members.is_empty() {
                return Ok(carried);
            }
        }
    }

    /// A page of the room's current members, most recent joiner first: one round trip (a
    /// sharded room's: store/shards.rs `members_over_shards`).
    pub async fn members(&self, id: &LiveId, page: PageRequest) -> StoreResult<Page<Person>> {
        if let Some(layout) = self.layout(id).await?
            && layout.sharded()
        {
            return self.members_over_shards(id, &layout, page).await;
        }
        let MembersReply { total, members } = self
            .call(&calls::Members {
                room: id,
                window_ms: self.window(),
                offset: page.offset(),
                count: page.size,
            })
            .await?;
        Ok(Page::new(page, total, members))
    }
}

impl Core {
    /// The room refused the join (gone or ended): put the pointer back, or, when the user has
    /// joined or left something since, leave the previous room as that later request could not.
    async fn abort_join(
        self: &Arc<Self>,
        id: &LiveId,
        user: &UserId,
        seq: i64,
        previous: Option<&LiveId>,
    ) {
        let restored = self
            .call(&calls::UserAbortJoin {
                user,
                room: id,
                seq,
                previous,
            })
            .await;
        if let (Ok(UserAbortJoinReply::Superseded), Some(previous)) = (restored, previous)
            && let Err(e) = self.evict(previous, user, seq).await
        {
            tracing::warn!(live_id = %previous, error = %e, "leaving the previous room failed");
        }
    }

    /// The user joined another room: out of this one, unless the room has seen a later join.
    async fn evict(self: &Arc<Self>, id: &LiveId, user: &UserId, seq: i64) -> StoreResult<bool> {
        let evicted = self
            .call(&calls::Evict {
                room: id,
                user,
                seq,
                reason: EvictReason::Moved,
                window_ms: self.window(),
            })
            .await;
        match evicted {
            Ok(evicted) => {
                self.note_events(id);
                Ok(self.member_removed(id, evicted).await)
            }
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// After an evict: the online total, and the unsaid online count scheduled. Says whether a
    /// member was removed.
    async fn member_removed(self: &Arc<Self>, id: &LiveId, evicted: EvictReply) -> bool {
        if evicted.removed {
            self.note_online(id, evicted.share);
        }
        if let Some(due_in) = evicted.due_in_ms {
            self.schedule_sweep_after(id, due_in as i64).await;
        }
        if evicted.announced {
            // the online count was said: the room's card in the index follows (issue 18)
            self.refresh_card_of(id);
        }
        evicted.removed
    }
}
