//! Cross-room PK (CONTRACT section 14; docs/architecture.md, "Cross-room PK"). A PK's record
//! lives in its own slot (`pk:{pk_…}`) and decides what the PK is; its two rooms, each in its
//! own slot, follow it (`pk_room.lua`: what a room shows is only ever made newer); the rooms'
//! reservations (a room is in at most one PK), the PK's intents and its schedule live in
//! `{rooms}`. Every change goes: intent (or, for an invitation, the reservation with the
//! intent) → the record → each room → the intent done (or, once ended, the reservations
//! released). A replica that dies between any two steps leaves the PK due: the sweep of any
//! replica finishes it from the record (`replay`), so both rooms end up showing the PK or
//! neither.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::calls::{
    self, PkChange, PkDue, PkIntent, PkIntentOp, PkRecord, PkRoom, PkRoomReply, PkRoomState,
};
use super::core::{Core, handle};
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::interaction::{Pk, PkId, PkStatus};
use crate::domain::room::{Extends, LiveStatus};

/// How long after its intent the sweep finishes a PK change nobody finished: a request's own
/// steps take a few round trips, far less than this.
const PK_GRACE_MS: u64 = 5_000;
/// Invitations one anchor may send an hour: each makes a record, kept an hour after its end.
pub const PK_INVITES_PER_HOUR: u32 = 60;

handle! {
    /// Cross-room PK: invite, accept, reject, stop, extends, read; finished by the sweep.
    Pks
}

/// The steps of one flow, for the test hook `Store::abandon_pk_after`: the flow stops (as if its
/// replica died) once that many of its Redis steps are done.
struct Steps {
    done: usize,
    stop_after: usize,
}

impl Steps {
    fn new(core: &Core) -> Self {
        Self {
            done: 0,
            stop_after: core.abandon_pk_after.load(Ordering::Relaxed),
        }
    }

    /// The sweep's own replays are never abandoned.
    fn unhooked() -> Self {
        Self {
            done: 0,
            stop_after: 0,
        }
    }

    fn next(&mut self) -> StoreResult<()> {
        self.done += 1;
        if self.stop_after > 0 && self.done >= self.stop_after {
            return Err(StoreError::Unavailable(format!(
                "abandoned after step {} (test hook)",
                self.done
            )));
        }
        Ok(())
    }
}

impl Pks {
    /// `caller`, the anchor of `init`, invites the anchor of `target` (both live, different).
    /// Either room already in a PK: 409/40903.
    pub async fn invite(&self, init: &LiveId, target: &LiveId, caller: &UserId) -> StoreResult<Pk> {
        if init == target {
            return Err(StoreError::Invalid(
                "target_live_id must be another room than live_id".into(),
            ));
        }
        let (a, b) = tokio::try_join!(self.read_room(init), self.read_room(target))?;
        if a.anchor.user_id != caller.as_str() {
            return Err(StoreError::NotAnchor);
        }
        if a.live_status != LiveStatus::Live {
            return Err(StoreError::Conflict("live_id is not live".into()));
        }
        if b.live_status != LiveStatus::Live {
            return Err(StoreError::Conflict("target_live_id is not live".into()));
        }
        let id = PkId::generate();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut steps = Steps::new(self);
        let hour = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() / 3600)
            .unwrap_or_default();
        // 1. both rooms reserved, atomically, with the PK's intent (in `{rooms}`)
        self.call(&calls::PkReserve {
            pk: &id,
            init,
            target,
            anchor: caller.as_str(),
            hour,
            token: &token,
            grace_ms: PK_GRACE_MS,
            invites_per_hour: PK_INVITES_PER_HOUR,
        })
        .await?;
        steps.next()?;
        // 2. the record
        let pk = self
            .call(&PkRecord {
                pk: &id,
                user: caller.as_str(),
                change: PkChange::Create {
                    init,
                    init_anchor: &a.anchor.user_id,
                    target,
                    target_anchor: &b.anchor.user_id,
                    invite_ms: self.timings().pk_invite_ms,
                },
            })
            .await?;
        steps.next()?;
        // 3–5. the rooms, then the intent becomes the invitation's expiry
        self.converge(pk, &token, &mut steps).await
    }

    /// The target's anchor accepts: active, both rooms show it.
    pub async fn accept(&self, id: &PkId, caller: &UserId) -> StoreResult<Pk> {
        self.change(id, caller.as_str(), PkChange::Accept).await
    }

    /// The target's anchor rejects: ended, `rejected`.
    pub async fn reject(&self, id: &PkId, caller: &UserId) -> StoreResult<Pk> {
        self.change(id, caller.as_str(), PkChange::Reject).await
    }

    /// Either anchor (or, `admin`, an admin) stops it: ended, `stopped` (`admin`).
    pub async fn stop(&self, id: &PkId, caller: &UserId, admin: bool) -> StoreResult<Pk> {
        self.change(id, caller.as_str(), PkChange::Stop { admin })
            .await
    }

    /// Either anchor replaces the PK's extends (active only): `pk_updated` in both rooms.
    pub async fn set_extends(
        &self,
        id: &PkId,
        caller: &UserId,
        extends: &Extends,
    ) -> StoreResult<Pk> {
        let json = extends.to_json();
        self.change(id, caller.as_str(), PkChange::Extends { json: &json })
            .await
    }

    /// The PK as its record is now (readable an hour after it ended).
    pub async fn read(&self, id: &PkId) -> StoreResult<Pk> {
        self.read_pk(id).await?.ok_or(StoreError::NotFound)
    }

    /// A change of an existing PK: intent, record, rooms, intent done.
    async fn change(&self, id: &PkId, user: &str, change: PkChange<'_>) -> StoreResult<Pk> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut steps = Steps::new(self);
        // 1. the intent (a released PK is over: nothing is owed, the record refuses)
        self.call(&PkIntent {
            op: PkIntentOp::Add {
                pk: id,
                token: &token,
                grace_ms: PK_GRACE_MS,
            },
        })
        .await?;
        steps.next()?;
        // 2. the record decides (a refusal leaves the intent to the sweep, which finds
        //    nothing to change and puts the PK back on its schedule)
        let pk = self
            .call(&PkRecord {
                pk: id,
                user,
                change,
            })
            .await?;
        steps.next()?;
        // 3–5. the rooms follow
        self.converge(pk, &token, &mut steps).await
    }
}

impl Core {
    async fn read_pk(self: &Arc<Self>, id: &PkId) -> StoreResult<Option<Pk>> {
        let hash: redis::Value = self
            .command(redis::cmd("HGETALL").arg(self.keys().pk(id)).clone())
            .await?;
        match &hash {
            redis::Value::Array(items) if items.is_empty() => Ok(None),
            redis::Value::Map(items) if items.is_empty() => Ok(None),
            other => calls::decode_pk(other).map(Some),
        }
    }

    /// Brings both rooms to what the record says, then settles the intent: an inviting PK stays
    /// due at its expiry, an active one is no longer due, an ended one releases its rooms'
    /// reservations. A room that cannot be in the PK (not live, deleted) ends it (`room_ended`).
    async fn converge(
        self: &Arc<Self>,
        mut pk: Pk,
        token: &str,
        steps: &mut Steps,
    ) -> StoreResult<Pk> {
        loop {
            let rooms = [pk.init_live_id.clone(), pk.target_live_id.clone()];
            match pk.status {
                PkStatus::Inviting | PkStatus::Active => {
                    let state = if pk.status == PkStatus::Active {
                        PkRoomState::Active
                    } else {
                        PkRoomState::Invited
                    };
                    let mut gone = false;
                    for room in &rooms {
                        let reply = self
                            .call(&PkRoom {
                                room,
                                pk: &pk,
                                state,
                                reason: "",
                            })
                            .await?;
                        match reply {
                            PkRoomReply::Gone => gone = true,
                            PkRoomReply::Converged { changed } => self.shown(room, changed),
                        }
                        steps.next()?;
                        if gone {
                            break;
                        }
                    }
                    if gone {
                        pk = self
                            .call(&PkRecord {
                                pk: &pk.pk_id,
                                user: "",
                                change: PkChange::RoomEnded,
                            })
                            .await?;
                        steps.next()?;
                        continue;
                    }
                    let next_due_ms = match pk.status {
                        PkStatus::Inviting => pk.expires_ms,
                        _ => 0,
                    };
                    self.call(&PkIntent {
                        op: PkIntentOp::Done {
                            pk: &pk.pk_id,
                            token,
                            next_due_ms,
                        },
                    })
                    .await?;
                    return Ok(pk);
                }
                PkStatus::Ended => {
                    for room in &rooms {
                        let reply = self
                            .call(&PkRoom {
                                room,
                                pk: &pk,
                                state: PkRoomState::Ended,
                                reason: &pk.ended_reason,
                            })
                            .await?;
                        if let PkRoomReply::Converged { changed } = reply {
                            self.shown(room, changed);
                        }
                        steps.next()?;
                    }
                    self.call(&PkIntent {
                        op: PkIntentOp::Release { pk: &pk.pk_id },
                    })
                    .await?;
                    return Ok(pk);
                }
            }
        }
    }

    /// A room's PK changed what it shows: webhooks and the list's card follow.
    fn shown(self: &Arc<Self>, room: &LiveId, changed: bool) {
        if changed {
            self.note_events(room);
            self.refresh_card_of(room);
        }
    }

    /// The sweep's finish of a PK that came due: a change cut short, or an invitation's expiry.
    pub(super) async fn replay_pk(self: &Arc<Self>, due: &PkDue) -> StoreResult<()> {
        let mut steps = Steps::unhooked();
        match self.read_pk(&due.pk).await? {
            Some(pk) => {
                let pk = if pk.status == PkStatus::Inviting {
                    // ended 'expired' when past its expiry; as it is otherwise
                    self.call(&PkRecord {
                        pk: &due.pk,
                        user: "",
                        change: PkChange::Expire,
                    })
                    .await?
                } else {
                    pk
                };
                self.converge(pk, &due.token, &mut steps).await.map(|_| ())
            }
            None => {
                // reserved, and the replica died before the record: no room ever showed it
                if let Some((init, target)) = &due.rooms {
                    let never = Pk {
                        pk_id: due.pk.clone(),
                        status: PkStatus::Ended,
                        init_live_id: init.clone(),
                        init_anchor_id: String::new(),
                        target_live_id: target.clone(),
                        target_anchor_id: String::new(),
                        created_ms: 0,
                        expires_ms: 0,
                        start_ms: 0,
                        end_ms: 0,
                        ended_reason: "expired".into(),
                        extends: Default::default(),
                        version: 0,
                    };
                    return self
                        .converge(never, &due.token, &mut steps)
                        .await
                        .map(|_| ());
                }
                self.call(&PkIntent {
                    op: PkIntentOp::Release { pk: &due.pk },
                })
                .await
                .map(|_| ())
            }
        }
    }

    /// The room ended (or is gone): its PK, if any, ends with it (`room_ended`). A follow-up of
    /// the room's end (replayed under its intent): the PK is made due first, so that a replica
    /// dying here leaves it to the sweep.
    pub(super) async fn end_pk_of(self: &Arc<Self>, room: &LiveId) -> StoreResult<()> {
        let poked = self
            .call(&PkIntent {
                op: PkIntentOp::Poke { room },
            })
            .await?;
        let calls::PkIntentReply::Poked(Some(id)) = poked else {
            return Ok(());
        };
        let Some(pk) = self.read_pk(&id).await? else {
            return Ok(()); // the sweep, due now, releases it
        };
        let pk = match pk.status {
            PkStatus::Ended => pk,
            _ => {
                self.call(&PkRecord {
                    pk: &id,
                    user: "",
                    change: PkChange::RoomEnded,
                })
                .await?
            }
        };
        self.converge(pk, "-", &mut Steps::unhooked())
            .await
            .map(|_| ())
    }
}
