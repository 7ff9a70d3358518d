//! The room lifecycle: create, read, start, stop, delete, extends (the global index that follows
//! each room after its own atomic change is `index`).

use super::calls;
use std::sync::Arc;

use super::core::{Core, handle};
use super::intents::After;
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::profile::Profile;
use crate::domain::room::{Extends, LiveStatus, NewRoom, Room};

/// How long an open-rooms reservation holds the anchor's slot when its create never finishes
/// (the create's own failure path, or the replay of its follow-ups, releases it sooner).
const OPEN_RESERVATION_TTL_MS: u64 = 60_000;

handle! {
    /// A room's life: create, read, start, stop, delete, extends, and the media server's
    /// hooks on its stream.
    Rooms
}

impl Rooms {
    /// Creates a room with the caller as its anchor. Round trips: the anchor's quota slot, the
    /// intent, the room (`create_reserved`), its follow-ups (the slot, the index) and the intent's
    /// removal (store/intents.rs).
    pub async fn create(&self, new: NewRoom, anchor: &Profile) -> StoreResult<Room> {
        let id = LiveId::generate();
        let anchor_id = anchor.user_id.as_str();
        // the anchor's slot is taken before the room exists (CONTRACT section 8)
        let reserved = self.reserve_open_room(anchor_id, &id).await?;
        // then the intent: whatever happens next, the reservation and the index follow the room
        let owing = match self.intend_new(&id, anchor_id).await {
            Ok(owing) => owing,
            Err(e) => {
                if reserved {
                    self.open_rooms_changed(anchor_id, &id, false).await;
                }
                return Err(e);
            }
        };
        let created = self.create_reserved(&id, new, anchor).await;
        match &created {
            Ok(room) => self.settle(owing, After::Room(room), 0, None).await,
            // Redis did not answer: the room may exist; the sweep replays from what it finds
            Err(StoreError::Unavailable(_) | StoreError::Internal(_)) => {}
            // refused: the room does not exist, its reservation goes
            Err(_) => self.settle(owing, After::Gone, 0, None).await,
        }
        created
    }

    /// The room itself, once its slot is reserved. Round trips: the chat_id counter and the
    /// anchor's im_userid in parallel (plus two the first time a user is seen), the room.
    async fn create_reserved(
        &self,
        id: &LiveId,
        new: NewRoom,
        anchor: &Profile,
    ) -> StoreResult<Room> {
        let chat_id = redis::cmd("INCR")
            .arg(self.keys().chat_id_counter())
            .clone();
        let (chat_id, imid) = tokio::try_join!(
            self.command::<i64>(chat_id),
            self.im_userid(&anchor.user_id)
        )?;
        let mut fields: Vec<(&'static str, String)> = Vec::with_capacity(16);
        let mut field = |k: &'static str, v: String| fields.push((k, v));
        field("live_id", id.to_string());
        field("title", new.title.as_str().to_owned());
        field("notice", new.notice);
        field("cover_url", new.cover_url);
        field("extends", new.extends.to_json());
        field("anchor_id", anchor.user_id.as_str().to_owned());
        field("anchor_imid", imid.to_string());
        field("anchor_profile", anchor.looks.to_json());
        field("start_time", new.start_at.to_string());
        field("end_time", new.end_at.to_string());
        // The push URL expires at publish_expire_at, by default at the planned end (and without
        // either a day after creation: `streams::push_url_expiry`).
        let publish_expire_at = match new.publish_expire_at {
            0 => new.end_at,
            at => at,
        };
        field("publish_expire_at", publish_expire_at.to_string());
        field("chat_id", chat_id.to_string());
        field("pk_id", String::new());
        field("seat_mode", new.seat_mode.as_str().to_owned());
        // the room keeps the seat count it was created with (store/seats.rs)
        field("seats", self.timings().seats_per_room.to_string());
        self.call(&calls::Create {
            room: id,
            window_ms: self.window(),
            fields: &fields,
        })
        .await
    }

    /// One room as it is now: one round trip (and one per shard room of a sharded room, side
    /// by side: store/shards.rs).
    pub async fn room(&self, id: &LiveId) -> StoreResult<Room> {
        self.read_room_over_shards(id).await
    }

    /// Spreads the room's members over `shards` rooms of members (issue 27, store/shards.rs),
    /// before its first member: Conflict once a member joined or the room ended.
    pub async fn set_member_shards(&self, id: &LiveId, shards: u32) -> StoreResult<u32> {
        self.call(&calls::SetShards { room: id, shards }).await
    }

    /// Starts the live (anchor only). On a live room it answers the room, as a heartbeat.
    pub async fn start(&self, id: &LiveId, user: &UserId) -> StoreResult<Room> {
        let t = self.timings();
        let owing = self.intend(id, user.as_str()).await?;
        let started = self
            .call(&calls::Start {
                room: id,
                user,
                window_ms: t.member_window_ms,
                close_ms: t.anchor_close_ms,
            })
            .await;
        let calls::StartReply { room, due_in_ms } = match started {
            Ok(reply) => reply,
            Err(e) => return Err(self.failed(owing, e).await),
        };
        self.note_events(id);
        // the anchor's presence began: the room comes due when it may lapse
        let sweep_in = due_in_ms.map(|due_in| due_in as i64);
        self.settle(owing, After::Room(&room), 0, sweep_in).await;
        Ok(room)
    }

    /// Stops the live (anchor only, only while live). O(1) whatever the crowd: the members are
    /// released in the background by whichever replica sweeps the room next.
    pub async fn stop(&self, id: &LiveId, user: &UserId) -> StoreResult<Room> {
        self.stop_as(id, user, false).await
    }

    /// Stops the live as its anchor, or (`admin`) any live room, with `reason: admin`.
    pub async fn stop_as(&self, id: &LiveId, user: &UserId, admin: bool) -> StoreResult<Room> {
        // (an admin does not know the anchor before the script: a replay finds it)
        let owing = self
            .intend(id, if admin { "" } else { user.as_str() })
            .await?;
        let stopped = self
            .call(&calls::Stop {
                room: id,
                user,
                window_ms: self.window(),
                authority: calls::Authority::of(admin),
            })
            .await;
        let calls::StopReply { room, held } = match stopped {
            Ok(reply) => reply,
            Err(e) => return Err(self.failed(owing, e).await),
        };
        self.note_events(id);
        self.settle(owing, After::Room(&room), held, None).await;
        Ok(room)
    }

    /// Deletes the room (anchor only), whatever its state: every key of the room goes, but for
    /// its event log, which stays 60 s (with webhooks: until delivered) so that watchers and
    /// receivers learn of the delete.
    pub async fn delete(&self, id: &LiveId, user: &UserId) -> StoreResult<()> {
        self.delete_as(id, user, false).await
    }

    /// Deletes the room as its anchor, or (`admin`) any room.
    pub async fn delete_as(&self, id: &LiveId, user: &UserId, admin: bool) -> StoreResult<()> {
        let owing = self
            .intend(id, if admin { "" } else { user.as_str() })
            .await?;
        let deleted = self
            .call(&calls::Delete {
                room: id,
                user,
                log_ttl_ms: self.deleted_log_ttl_ms(),
                authority: calls::Authority::of(admin),
            })
            .await;
        let calls::DeleteReply {
            held,
            anchor,
            sweep,
        } = match deleted {
            Ok(reply) => reply,
            Err(e) => return Err(self.failed(owing, e).await),
        };
        self.note_events(id);
        let owing = owing.with_anchor(anchor);
        // entries set aside in buckets (lib.lua set_entries_aside) are unlinked by the sweep
        self.settle(owing, After::Gone, held, sweep.then_some(0))
            .await;
        Ok(())
    }

    /// Replaces the room's extends (anchor only).
    pub async fn set_extends(
        &self,
        id: &LiveId,
        user: &UserId,
        extends: &Extends,
    ) -> StoreResult<Room> {
        let owing = self.intend(id, user.as_str()).await?;
        let changed = self
            .call(&calls::Extends {
                room: id,
                user,
                window_ms: self.window(),
                extends_json: &extends.to_json(),
            })
            .await;
        let room = match changed {
            Ok(room) => room,
            Err(e) => return Err(self.failed(owing, e).await),
        };
        self.note_events(id);
        // list rows show the extends: the index (the room's card) follows
        self.settle(owing, After::Room(&room), 0, None).await;
        Ok(room)
    }
}

impl Core {
    /// One room as it is now: one round trip.
    pub(super) async fn read_room(&self, id: &LiveId) -> StoreResult<Room> {
        self.call(&calls::Read {
            room: id,
            window_ms: self.window(),
        })
        .await
    }

    /// The open-rooms quota (CONTRACT section 8): takes a slot for `id` in the anchor's slot
    /// before the room exists (open_slot.lua: the rooms not ended plus the reservations of
    /// creates under way, atomically, so that concurrent creates over any number of replicas
    /// never pass the limit). Says whether a slot was taken (false: no limit).
    ///
    /// The set can hold a room that ended while the replica that ended it died and before its
    /// follow-ups ran (they are replayed by the sweep, store/intents.rs); when the anchor is at
    /// the limit, each of the (at most `limit`) rooms is looked at and the ended or gone ones
    /// leave the set, and the reservation is tried once more.
    async fn reserve_open_room(self: &Arc<Self>, anchor: &str, id: &LiveId) -> StoreResult<bool> {
        let limit = self.timings().open_rooms_per_anchor;
        if limit == 0 {
            return Ok(false);
        }
        let reserve = calls::OpenSlot {
            anchor,
            room: id,
            change: calls::SlotChange::Reserve {
                limit: u64::from(limit),
                ttl_ms: OPEN_RESERVATION_TTL_MS,
            },
        };
        let refused = match self.call(&reserve).await {
            Err(StoreError::QuotaExceeded(_)) => {
                self.clear_ended_open_rooms(anchor, limit as usize).await? == 0
                    || match self.call(&reserve).await {
                        Err(StoreError::QuotaExceeded(_)) => true,
                        other => other.map(|()| false)?,
                    }
            }
            other => other.map(|()| false)?,
        };
        if refused {
            return Err(StoreError::QuotaExceeded(format!(
                "an anchor may have at most {limit} rooms that have not ended \
                 (LIVEROOM_MAX_OPEN_ROOMS_PER_USER); stop or delete one first"
            )));
        }
        Ok(true)
    }

    /// Takes the ended or deleted rooms out of the anchor's open set (at most `limit` + 1 looked
    /// at); says how many left.
    async fn clear_ended_open_rooms(
        self: &Arc<Self>,
        anchor: &str,
        limit: usize,
    ) -> StoreResult<usize> {
        let key = self.keys().open_rooms(anchor);
        let open: Vec<String> = self
            .command(redis::cmd("SRANDMEMBER").arg(&key).arg(limit + 1).clone())
            .await?;
        let mut cleared = 0;
        for raw in &open {
            let ended = match LiveId::parse(raw) {
                Some(id) => match self.read_room(&id).await {
                    Ok(room) => room.live_status == LiveStatus::Ended,
                    Err(StoreError::NotFound) => true,
                    Err(e) => return Err(e),
                },
                None => true,
            };
            if ended {
                let srem = redis::cmd("SREM").arg(&key).arg(raw).clone();
                let _: i64 = self.command(srem).await?;
                cleared += 1;
            }
        }
        Ok(cleared)
    }

    /// Keeps the anchor's slot for the room in line with it (open: a member of the open set;
    /// not: neither member nor reserved); idempotent. A failure leaves the slot as it was, until
    /// the room's follow-ups are replayed (store/intents.rs) or the quota's check clears it.
    pub(super) async fn open_rooms_changed(
        self: &Arc<Self>,
        anchor: &str,
        id: &LiveId,
        open: bool,
    ) {
        if let Err(e) = self.try_open_rooms_changed(anchor, id, open).await {
            tracing::warn!(live_id = %id, error = %e, "updating the anchor's open rooms failed");
        }
    }

    pub(super) async fn try_open_rooms_changed(
        self: &Arc<Self>,
        anchor: &str,
        id: &LiveId,
        open: bool,
    ) -> StoreResult<()> {
        if self.timings().open_rooms_per_anchor == 0 {
            return Ok(());
        }
        self.call(&calls::OpenSlot {
            anchor,
            room: id,
            change: if open {
                calls::SlotChange::Open
            } else {
                calls::SlotChange::Closed
            },
        })
        .await
    }

    /// The user's im_userid, allocated the first time the user is seen.
    pub(super) async fn im_userid(self: &Arc<Self>, user: &UserId) -> StoreResult<i64> {
        let key = self.keys().user_pointers(user.as_str());
        let record: Option<String> = self
            .command(redis::cmd("HGET").arg(&key).arg(user.as_str()).clone())
            .await?;
        // the pointer's record: "seq TAB im_userid TAB live_id" (lua/user_join.lua)
        let known = record
            .as_deref()
            .and_then(|r| r.split('\t').nth(1))
            .and_then(|imid| imid.parse().ok());
        match known {
            Some(imid) => Ok(imid),
            None => Ok(self.allocate_im_userid(user).await?.im_userid),
        }
    }

    /// Gives the user an im_userid the first time the pointer buckets see them. A user of the
    /// older layout (a hash of their own, keys.rs `legacy_user`) keeps their im_userid and seq:
    /// read here once, carried over by `user_imid.lua`, then unlinked.
    pub(super) async fn allocate_im_userid(
        self: &Arc<Self>,
        user: &UserId,
    ) -> StoreResult<calls::UserImidReply> {
        let legacy_key = self.keys().legacy_user(user.as_str());
        let fresh = redis::cmd("INCR")
            .arg(self.keys().im_userid_counter())
            .clone();
        let old = redis::cmd("HMGET")
            .arg(&legacy_key)
            .arg("imid")
            .arg("seq")
            .clone();
        let (fresh, (im_userid, seq)) = tokio::try_join!(
            self.command::<i64>(fresh),
            self.command::<(Option<i64>, Option<i64>)>(old)
        )?;
        let legacy = calls::LegacyUser { im_userid, seq };
        let given = self
            .call(&calls::UserImid {
                user,
                fresh,
                legacy,
            })
            .await?;
        if legacy != calls::LegacyUser::default() {
            // carried over: nothing reads the old hash again
            self.command::<i64>(redis::cmd("UNLINK").arg(&legacy_key).clone())
                .await?;
        }
        Ok(given)
    }

    /// Rooms by id, in that order, skipping any deleted meanwhile. The reads go out together, so
    /// on one multiplexed connection they cost one round trip.
    pub(super) async fn read_rooms(self: &Arc<Self>, ids: &[String]) -> StoreResult<Vec<Room>> {
        let reads = ids
            .iter()
            .filter_map(|raw| LiveId::parse(raw))
            .map(|id| async move {
                match self.read_room(&id).await {
                    Ok(room) => Ok(Some(room)),
                    Err(StoreError::NotFound) => Ok(None),
                    Err(e) => Err(e),
                }
            });
        let rooms = futures_util::future::try_join_all(reads).await?;
        Ok(rooms.into_iter().flatten().collect())
    }

    /// Clears the user pointers of members a room let go, unless they have moved on since
    /// (compare-and-release: doing it twice is harmless). One batch, sent together.
    pub(super) async fn try_release_users(
        self: &Arc<Self>,
        id: &LiveId,
        users: &[(String, i64)],
    ) -> StoreResult<()> {
        let releases = users.iter().map(|(user, seq)| async move {
            self.call(&calls::UserRelease {
                user,
                room: id,
                seq: *seq,
            })
            .await
        });
        futures_util::future::try_join_all(releases).await?;
        Ok(())
    }
}
