//! The room lifecycle: create, read, start, stop, delete, extends; and the global index that
//! follows each room after its own atomic change.

use std::collections::BTreeMap;

use redis::Value;

use super::cards;
use super::reply::{bad, fields, int, status};
use super::{Store, StoreError, StoreResult};
use crate::domain::ids::LiveId;
use crate::domain::profile::{Looks, Person, Profile};
use crate::domain::room::{Extends, LiveStatus, NewRoom, Room, StreamStatus};
use crate::domain::search::room_text;

/// A room as a script's view answers it: {hash, online, uv, anchor present}.
pub(super) fn decode_view(v: &[Value]) -> StoreResult<Room> {
    let what = "room view";
    let h = v.first().and_then(fields).ok_or_else(|| bad(what))?;
    let get = |k: &str| h.get(k).cloned().unwrap_or_default();
    let num = |k: &str| h.get(k).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let live_id = LiveId::parse(&get("live_id")).ok_or_else(|| bad(what))?;
    let looks = Looks::from_json(&get("anchor_profile")).ok_or_else(|| bad(what))?;
    let extends: BTreeMap<String, String> =
        serde_json::from_str(&get("extends")).map_err(|_| bad(what))?;
    let live_status = LiveStatus::from_code(num("live_status")).ok_or_else(|| bad(what))?;
    let count = |i: usize| v.get(i).and_then(int).unwrap_or(0).max(0) as u64;
    Ok(Room {
        live_id,
        title: get("title"),
        notice: get("notice"),
        cover_url: get("cover_url"),
        extends,
        anchor: Person {
            user_id: get("anchor_id"),
            im_userid: num("anchor_imid"),
            looks,
        },
        anchor_online: count(3) == 1,
        pk_id: get("pk_id"),
        online_count: count(1),
        start_time: num("start_time"),
        end_time: num("end_time"),
        chat_id: num("chat_id"),
        pv: num("pv").max(0) as u64,
        uv: count(2),
        live_status,
        stream_status: StreamStatus::from_code(num("stream_status")),
        created_ms: num("created_ms"),
        started_ms: num("started_ms"),
        ended_ms: num("ended_ms"),
        anchor_seen_ms: num("anchor_seen"),
        publish_expire_at: num("publish_expire_at"),
        version: num("ver"),
    })
}

impl Store {
    /// Creates a room with the caller as its anchor. Round trips: the chat_id counter and the
    /// anchor's im_userid in parallel (plus two the first time a user is seen), the room, the index.
    pub async fn create_room(&self, new: NewRoom, anchor: &Profile) -> StoreResult<Room> {
        self.check_open_rooms(anchor.user_id.as_str()).await?;
        let chat_id = redis::cmd("INCR")
            .arg(self.keys().chat_id_counter())
            .clone();
        let (chat_id, imid) = tokio::try_join!(
            self.command::<i64>(chat_id),
            self.im_userid(anchor.user_id.as_str())
        )?;
        let id = LiveId::generate();
        let mut args = vec![self.window().to_string()];
        let mut field = |k: &str, v: String| {
            args.push(k.to_owned());
            args.push(v);
        };
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
        let answer: Value = self
            .eval(&self.scripts().create, &self.keys().room(&id), &args)
            .await?;
        let (_, view) = status(&answer, "create")?;
        let room = decode_view(view)?;
        self.sync_index(&room).await;
        self.open_rooms_changed(anchor.user_id.as_str(), &id, true)
            .await;
        Ok(room)
    }

    /// The open-rooms quota (CONTRACT section 8): the anchor's rooms not ended. The set can
    /// hold a room that ended while its replica died before taking it out; when the anchor is
    /// at the limit, each of the (at most `limit`) rooms is looked at and the ended or gone
    /// ones leave the set, so a stale entry never blocks the anchor for good. Two creates racing
    /// at the limit may both pass: the quota bounds what one anchor can store, not exactly.
    async fn check_open_rooms(&self, anchor: &str) -> StoreResult<()> {
        let limit = self.timings().open_rooms_per_anchor as usize;
        if limit == 0 {
            return Ok(());
        }
        let key = self.keys().open_rooms(anchor);
        let open: Vec<String> = self
            .command(redis::cmd("SRANDMEMBER").arg(&key).arg(limit + 1).clone())
            .await?;
        if open.len() < limit {
            return Ok(());
        }
        let mut still = 0;
        for raw in &open {
            let ended = match LiveId::parse(raw) {
                Some(id) => match self.room(&id).await {
                    Ok(room) => room.live_status == LiveStatus::Ended,
                    Err(StoreError::NotFound) => true,
                    Err(e) => return Err(e),
                },
                None => true,
            };
            if ended {
                let srem = redis::cmd("SREM").arg(&key).arg(raw).clone();
                let _: i64 = self.command(srem).await?;
            } else {
                still += 1;
            }
        }
        if still >= limit {
            return Err(StoreError::QuotaExceeded(format!(
                "an anchor may have at most {limit} rooms that have not ended \
                 (LIVEROOM_MAX_OPEN_ROOMS_PER_USER); stop or delete one first"
            )));
        }
        Ok(())
    }

    /// Keeps the anchor's set of rooms not ended in line; a failure only leaves a stale entry
    /// that `check_open_rooms` clears.
    pub(super) async fn open_rooms_changed(&self, anchor: &str, id: &LiveId, open: bool) {
        if self.timings().open_rooms_per_anchor == 0 {
            return;
        }
        let cmd = redis::cmd(if open { "SADD" } else { "SREM" })
            .arg(self.keys().open_rooms(anchor))
            .arg(id.as_str())
            .clone();
        if let Err(e) = self.command::<i64>(cmd).await {
            tracing::warn!(live_id = %id, error = %e, "updating the anchor's open rooms failed");
        }
    }

    /// The user's im_userid, allocated the first time the user is seen.
    pub(super) async fn im_userid(&self, user_id: &str) -> StoreResult<i64> {
        let key = self.keys().user(user_id);
        let known: Option<i64> = self
            .command(redis::cmd("HGET").arg(&key).arg("imid").clone())
            .await?;
        match known {
            Some(imid) => Ok(imid),
            None => self.allocate_im_userid(&key).await,
        }
    }

    pub(super) async fn allocate_im_userid(&self, user_key: &str) -> StoreResult<i64> {
        let fresh: i64 = self
            .command(
                redis::cmd("INCR")
                    .arg(self.keys().im_userid_counter())
                    .clone(),
            )
            .await?;
        let keys = [user_key.to_owned()];
        self.eval(&self.scripts().user_imid, &keys, &[fresh.to_string()])
            .await
    }

    /// One room as it is now: one round trip.
    pub async fn room(&self, id: &LiveId) -> StoreResult<Room> {
        let args = [self.window().to_string()];
        let answer: Value = self
            .eval(&self.scripts().read, &self.keys().room(id), &args)
            .await?;
        decode_view(status(&answer, "read")?.1)
    }

    /// Rooms by id, in that order, skipping any deleted meanwhile. The reads go out together, so
    /// on one multiplexed connection they cost one round trip.
    pub(super) async fn rooms(&self, ids: &[String]) -> StoreResult<Vec<Room>> {
        let reads = ids
            .iter()
            .filter_map(|raw| LiveId::parse(raw))
            .map(|id| async move {
                match self.room(&id).await {
                    Ok(room) => Ok(Some(room)),
                    Err(StoreError::NotFound) => Ok(None),
                    Err(e) => Err(e),
                }
            });
        let rooms = futures_util::future::try_join_all(reads).await?;
        Ok(rooms.into_iter().flatten().collect())
    }

    /// Starts the live (anchor only). On a live room it answers the room, as a heartbeat.
    pub async fn start(&self, id: &LiveId, user_id: &str) -> StoreResult<Room> {
        let t = self.timings();
        let args = [
            user_id.to_owned(),
            t.member_window_ms.to_string(),
            t.anchor_close_ms.to_string(),
        ];
        let answer: Value = self
            .eval(&self.scripts().start, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "start")?;
        let room = decode_view(rest)?;
        self.note_events(id);
        let due_in = rest.get(5).and_then(int).unwrap_or(-1);
        if due_in >= 0 {
            // the anchor's presence began: the room comes due when it may lapse
            self.schedule_sweep_after(id, due_in).await;
        }
        self.sync_index(&room).await;
        Ok(room)
    }

    /// Stops the live (anchor only, only while live). O(1) whatever the crowd: the members are
    /// released in the background by whichever replica sweeps the room next.
    pub async fn stop(&self, id: &LiveId, user_id: &str) -> StoreResult<Room> {
        self.stop_as(id, user_id, false).await
    }

    /// Stops the live as its anchor, or (`admin`) any live room, with `reason: admin`.
    pub async fn stop_as(&self, id: &LiveId, user_id: &str, admin: bool) -> StoreResult<Room> {
        let args = [
            user_id.to_owned(),
            self.window().to_string(),
            if admin { "1" } else { "0" }.to_owned(),
        ];
        let answer: Value = self
            .eval(&self.scripts().stop, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "stop")?;
        let room = decode_view(rest)?;
        self.note_events(id);
        self.sync_index(&room).await;
        self.room_ended(id, rest.get(4).and_then(int).unwrap_or(0))
            .await;
        self.open_rooms_changed(&room.anchor.user_id, id, false)
            .await;
        Ok(room)
    }

    /// Deletes the room (anchor only), whatever its state: every key of the room goes, but for
    /// its event log, which stays 60 s (with webhooks: until delivered) so that watchers and
    /// receivers learn of the delete.
    pub async fn delete(&self, id: &LiveId, user_id: &str) -> StoreResult<()> {
        self.delete_as(id, user_id, false).await
    }

    /// Deletes the room as its anchor, or (`admin`) any room.
    pub async fn delete_as(&self, id: &LiveId, user_id: &str, admin: bool) -> StoreResult<()> {
        let args = [
            user_id.to_owned(),
            self.deleted_log_ttl_ms().to_string(),
            if admin { "1" } else { "0" }.to_owned(),
        ];
        let answer: Value = self
            .eval(&self.scripts().delete, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "delete")?;
        self.note_events(id);
        self.unindex(id).await;
        self.room_ended(id, rest.first().and_then(int).unwrap_or(0))
            .await;
        let anchor = rest
            .get(1)
            .and_then(super::reply::text)
            .unwrap_or_else(|| user_id.to_owned());
        self.open_rooms_changed(&anchor, id, false).await;
        Ok(())
    }

    /// Replaces the room's extends (anchor only).
    pub async fn set_extends(
        &self,
        id: &LiveId,
        user_id: &str,
        extends: &Extends,
    ) -> StoreResult<Room> {
        let args = [
            user_id.to_owned(),
            self.window().to_string(),
            extends.to_json(),
        ];
        let answer: Value = self
            .eval(&self.scripts().extends, &self.keys().room(id), &args)
            .await?;
        let room = decode_view(status(&answer, "extends")?.1)?;
        self.note_events(id);
        // list rows show the extends: the index (the room's card) follows
        self.sync_index(&room).await;
        Ok(room)
    }

    /// Brings the global indexes in line with the room. A failure here must not undo the room's
    /// own change, which has happened: it is retried in the background until Redis answers.
    pub(super) async fn sync_index(&self, room: &Room) {
        if let Err(e) = self.try_sync_index(room).await {
            tracing::warn!(live_id = %room.live_id, error = %e, "index update failed; retrying");
            self.repair_index_later(room.live_id.clone());
        }
    }

    async fn try_sync_index(&self, room: &Room) -> StoreResult<()> {
        let t = self.timings();
        let close_at = room.anchor_seen_ms + t.anchor_close_ms as i64;
        let purge_at = if room.live_status == LiveStatus::Ended && t.ended_retention_ms > 0 {
            room.ended_ms + t.ended_retention_ms as i64
        } else {
            0
        };
        let args = [
            self.keys().gram_prefix(),
            room.live_id.to_string(),
            room.version.to_string(),
            room.live_status.code().to_string(),
            room.created_ms.to_string(),
            room.started_ms.to_string(),
            close_at.to_string(),
            purge_at.to_string(),
            room_text(&room.title, &room.anchor.looks.nick),
            self.keys().anchor_rooms_prefix(),
            room.anchor.user_id.clone(),
            cards::encode(room),
        ];
        let synced = self
            .eval::<i64>(&self.scripts().index_sync, &self.keys().index(), &args)
            .await;
        // this replica's own change shows at once in its own lists (store/page_cache.rs)
        self.pages().changed();
        synced?;
        Ok(())
    }

    /// Refreshes the room's card with the counts of `room` (its online count as just said),
    /// at the version the index has; off the request's path: a failure leaves the card's counts
    /// until the next announcement. At most once a second per room (lib.lua count_event).
    pub(super) fn refresh_card(&self, room: Room) {
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.write_card(&room).await {
                tracing::warn!(live_id = %room.live_id, error = %e, "refreshing the room's card failed");
            }
        });
    }

    /// Writes the room's card as `room` shows it, if the index holds the room at its version.
    pub(super) async fn write_card(&self, room: &Room) -> StoreResult<()> {
        let args = [
            self.keys().gram_prefix(),
            room.live_id.to_string(),
            room.version.to_string(),
            cards::encode(room),
        ];
        self.eval::<i64>(&self.scripts().card, &self.keys().index(), &args)
            .await
            .map(|_| ())
    }

    /// As `refresh_card`, reading the room first (when the caller has no view of it).
    pub(super) fn refresh_card_of(&self, id: &LiveId) {
        let store = self.clone();
        let id = id.clone();
        tokio::spawn(async move {
            match store.room(&id).await {
                Ok(room) => store.refresh_card(room),
                Err(StoreError::NotFound) => {}
                Err(e) => {
                    tracing::warn!(live_id = %id, error = %e, "reading the room for its card failed")
                }
            }
        });
    }

    pub(super) async fn unindex(&self, id: &LiveId) {
        if let Err(e) = self.try_unindex(id).await {
            tracing::warn!(live_id = %id, error = %e, "index removal failed; retrying");
            self.repair_index_later(id.clone());
        }
    }

    async fn try_unindex(&self, id: &LiveId) -> StoreResult<()> {
        let empty = String::new();
        let args = [
            self.keys().gram_prefix(),
            id.to_string(),
            "0".into(),
            "d".into(),
            empty.clone(),
            empty.clone(),
            "0".into(),
            "0".into(),
            empty.clone(),
            self.keys().anchor_rooms_prefix(),
            empty,
        ];
        let done = self
            .eval::<i64>(&self.scripts().index_sync, &self.keys().index(), &args)
            .await;
        self.pages().changed();
        done?;
        Ok(())
    }

    /// Re-reads the room and syncs the index from what it is then, until that works (a minute at
    /// most: the sweeper's reconciliation is not needed for correctness of reads, which skip
    /// rooms that are gone, but lists would show stale positions until the room changes again).
    fn repair_index_later(&self, id: LiveId) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut delay = std::time::Duration::from_millis(200);
            for _ in 0..12 {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(10));
                let done = match store.room(&id).await {
                    Ok(room) => store.try_sync_index(&room).await.is_ok(),
                    Err(StoreError::NotFound) => store.try_unindex(&id).await.is_ok(),
                    Err(_) => false,
                };
                if done {
                    tracing::info!(live_id = %id, "index repaired");
                    return;
                }
            }
            tracing::error!(live_id = %id, "index repair gave up");
        });
    }

    /// Clears the user pointers of members a room let go, unless they have moved on since
    /// (compare-and-release: doing it twice is harmless). One batch, sent together.
    pub(super) async fn try_release_users(
        &self,
        id: &LiveId,
        users: &[(String, i64)],
    ) -> StoreResult<()> {
        let releases = users.iter().map(|(user, seq)| {
            let keys = [self.keys().user(user)];
            let args = [id.to_string(), seq.to_string()];
            async move {
                self.eval::<i64>(&self.scripts().user_release, &keys, &args)
                    .await
            }
        });
        futures_util::future::try_join_all(releases).await?;
        Ok(())
    }
}
