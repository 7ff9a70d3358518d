//! Presence: join, leave, heartbeat and the member list.
//!
//! A user is a member of at most one room. The user's pointer (`user:{id}`: room, seq) lives in
//! another cluster slot than the rooms, so a room hop cannot be one script. Instead every join
//! and leave of a user takes the next number of the user's own `seq` (atomically with moving the
//! pointer), and each room remembers, per user, the seq of the last join or leave it applied.
//! A room applies a join or an eviction only if its seq is newer than what it has seen. The
//! pointer's history is totally ordered by seq, and each join evicts the room the pointer named
//! before it, so whatever order the room scripts of racing requests run in, the user ends up a
//! member of exactly the room of the highest seq. See the README ("Presence across slots").

use redis::Value;

use super::calls::HeartbeatReply;
use super::reply::{array, bad, int, status, text};
use super::rooms::decode_view;
use super::{Store, StoreError, StoreResult};
use crate::domain::ids::LiveId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::profile::{Looks, Person, Profile};
use crate::domain::room::{LiveStatus, Room};

/// What a heartbeat tells the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    pub live_status: LiveStatus,
}

impl Store {
    /// Joins the room, leaving the user's previous room. Round trips: the user's pointer, the
    /// room, and the previous room when there is one (plus two the first time a user is seen).
    pub async fn join(&self, id: &LiveId, who: &Profile) -> StoreResult<Room> {
        let user = who.user_id.as_str();
        let user_key = self.keys().user(user);
        // The room is put on the sweep schedule (due when this member could lapse, unless it
        // is due sooner) before the member exists, alongside the user's side of the join: a
        // replica dying right after the join leaves no member that nothing will ever trim.
        let room_arg = [id.to_string()];
        let (answer, ()) = tokio::try_join!(
            self.eval::<Value>(
                &self.scripts().user_join,
                std::slice::from_ref(&user_key),
                &room_arg,
            ),
            self.schedule_sweep(id, self.window() as i64)
        )?;
        let parts = array(&answer).ok_or_else(|| bad("user_join"))?;
        let seq = parts
            .first()
            .and_then(int)
            .ok_or_else(|| bad("user_join"))?;
        let prev = parts.get(1).and_then(text).unwrap_or_default();
        let imid = match parts.get(2).and_then(int) {
            Some(imid) => imid,
            None => self.allocate_im_userid(&user_key).await?,
        };

        let args = [
            user.to_owned(),
            seq.to_string(),
            format!("{imid}\t{}", who.looks.to_json()),
            self.window().to_string(),
        ];
        let answer: Result<Value, StoreError> = self
            .eval(&self.scripts().join, &self.keys().room(id), &args)
            .await;
        let joined = answer.and_then(|a| {
            let (_, rest) = status(&a, "join")?;
            let flag = |i: usize| rest.get(i).and_then(int).unwrap_or(0);
            Ok((
                decode_view(rest)?,
                flag(4) == 1,
                flag(5),
                flag(6),
                flag(7) == 1,
            ))
        });
        let (room, first_member, fresh, due_in, announced) = match joined {
            Ok(ok) => ok,
            Err(e @ (StoreError::NotFound | StoreError::Conflict(_) | StoreError::Banned(_))) => {
                self.abort_join(id, &user_key, user, seq, &prev).await;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        self.note_events(id);
        self.count_online(fresh);
        if announced {
            // the online count was said: the room's card in the index follows (issue 18)
            self.refresh_card(room.clone());
        }
        // Once more after the member exists, when it made the room non-empty: a sweep that saw
        // the room empty just before this join then looks again instead of parking it.
        let window = self.window() as i64;
        let due = match (first_member, due_in >= 0) {
            (true, true) => Some(due_in.min(window)),
            (true, false) => Some(window),
            (false, true) => Some(due_in),
            (false, false) => None,
        };
        let prev = LiveId::parse(&prev).filter(|p| p != id);
        let reschedule = async {
            match due {
                Some(delay) => self.schedule_sweep(id, delay).await,
                None => Ok(()),
            }
        };
        let leave_prev = async {
            match &prev {
                Some(prev) => self.evict(prev, user, seq).await.map(|_| ()),
                None => Ok(()),
            }
        };
        tokio::try_join!(reschedule, leave_prev)?;
        Ok(room)
    }

    /// The room refused the join (gone or ended): put the pointer back, or, when the user has
    /// joined or left something since, leave the previous room as that later request could not.
    async fn abort_join(&self, id: &LiveId, user_key: &str, user: &str, seq: i64, prev: &str) {
        let keys = [user_key.to_owned()];
        let args = [id.to_string(), seq.to_string(), prev.to_owned()];
        let restored = self
            .eval::<i64>(&self.scripts().user_abort_join, &keys, &args)
            .await;
        if let (Ok(0), Some(prev)) = (restored, LiveId::parse(prev))
            && let Err(e) = self.evict(&prev, user, seq).await
        {
            tracing::warn!(live_id = %prev, error = %e, "leaving the previous room failed");
        }
    }

    async fn evict(&self, id: &LiveId, user: &str, seq: i64) -> StoreResult<bool> {
        let args = [
            user.to_owned(),
            seq.to_string(),
            "moved".into(),
            self.window().to_string(),
        ];
        let answer: Value = self
            .eval(&self.scripts().evict, &self.keys().room(id), &args)
            .await?;
        match status(&answer, "evict") {
            Ok((_, rest)) => {
                self.note_events(id);
                Ok(self.member_removed(id, rest).await)
            }
            Err(StoreError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Leaves the room. Final: a late heartbeat does not bring the member back.
    /// Round trips: the user's pointer, the room.
    pub async fn leave(&self, id: &LiveId, user: &str) -> StoreResult<()> {
        let keys = [self.keys().user(user)];
        let seq: i64 = self
            .eval(&self.scripts().user_leave, &keys, &[id.to_string()])
            .await?;
        let args = [
            user.to_owned(),
            seq.to_string(),
            "left".into(),
            self.window().to_string(),
        ];
        let answer: Value = self
            .eval(&self.scripts().evict, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "leave")?;
        self.note_events(id);
        self.member_removed(id, rest).await;
        Ok(())
    }

    /// After an evict: the online total, and the unsaid online count scheduled. Says whether a
    /// member was removed.
    async fn member_removed(&self, id: &LiveId, rest: &[Value]) -> bool {
        let removed = rest.first().and_then(int) == Some(1);
        if removed {
            self.count_online(-1);
        }
        if let Some(due_in) = rest.get(1).and_then(int).filter(|d| *d >= 0) {
            self.schedule_sweep_after(id, due_in).await;
        }
        if rest.get(2).and_then(int) == Some(1) {
            // the online count was said: the room's card in the index follows (issue 18)
            self.refresh_card_of(id);
        }
        removed
    }

    /// A member's or the anchor's heartbeat: one round trip (the index is touched only when the
    /// anchor's nick changed, which search follows).
    pub async fn heartbeat(&self, id: &LiveId, who: &Profile) -> StoreResult<Heartbeat> {
        let reply = self
            .beat(id, who.user_id.as_str(), who.looks.to_json())
            .await?;
        match reply {
            HeartbeatReply::NotMember { dropped, due_in_ms } => {
                // a member that lapsed unswept: the heartbeat took it out
                if dropped {
                    self.note_events(id);
                    self.count_online(-1);
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
            } => {
                let live_status =
                    LiveStatus::from_code(live_status).ok_or_else(|| bad("heartbeat"))?;
                if events_written {
                    self.note_events(id);
                }
                if lapsed_dropped {
                    self.count_online(-1);
                }
                if let Some(delay) = due_in_ms {
                    // the anchor's presence began (or an online count went unsaid)
                    self.schedule_sweep_after(id, delay as i64).await;
                }
                if anchor_profile_changed {
                    match self.room(id).await {
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

    /// A page of the room's current members, most recent joiner first: one round trip.
    pub async fn members(&self, id: &LiveId, page: PageRequest) -> StoreResult<Page<Person>> {
        let args = [
            self.window().to_string(),
            page.offset().to_string(),
            page.size.to_string(),
        ];
        let answer: Value = self
            .eval(&self.scripts().members, &self.keys().room(id), &args)
            .await?;
        let (_, rest) = status(&answer, "members")?;
        let total = rest
            .first()
            .and_then(int)
            .ok_or_else(|| bad("members"))?
            .max(0) as u64;
        let rows = rest.get(1).and_then(array).ok_or_else(|| bad("members"))?;
        let list = rows
            .chunks(2)
            .filter_map(|pair| match pair {
                [user, entry] => person(&text(user)?, &text(entry)?),
                _ => None,
            })
            .collect();
        Ok(Page::new(page, total, list))
    }
}

/// A member entry is "seq\tim_userid\tprofile json".
fn person(user_id: &str, entry: &str) -> Option<Person> {
    let mut parts = entry.splitn(3, '\t');
    let _seq = parts.next()?;
    let im_userid = parts.next()?.parse().ok()?;
    let looks = Looks::from_json(parts.next()?)?;
    Some(Person {
        user_id: user_id.to_owned(),
        im_userid,
        looks,
    })
}
