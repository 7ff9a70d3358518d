//! Co-host seats (连麦, CONTRACT section 14): take or ask, the anchor's answer, leave or
//! removal, mic and camera, the seat list. Every change is one script in the room's slot (the
//! seats are fields of the room's hash, the pending requests a key beside it): nothing spans
//! slots, so nothing needs an intent. The seat is freed by the scripts that see its holder go
//! (leave, move, kick, the sweep's lapse, a heartbeat that finds its sender lapsed) and by the
//! room's end, in the same step (lua/lib.lua, "Co-host seats").

use super::calls::{self, Authority};
use super::core::{Core, handle};
use super::{StoreError, StoreResult};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::seat::{SeatAsk, SeatList, SeatOutcome};

pub use super::calls::Switched;

/// Pending seat requests one room holds at once (CONTRACT: what a client can make the server
/// store is capped); one more is 429/42900 until the anchor answers some or they lapse.
pub const MAX_SEAT_REQUESTS_PER_ROOM: u32 = 32;

handle! {
    /// Co-host seats.
    Seats
}

impl Core {
    /// Co-host seats are not offered in a sharded room (store/shards.rs): a seat holder's
    /// presence is in their shard, another slot than the seats, and the seat scripts free a
    /// seat in the same step as its holder goes. Refused before anything is written.
    async fn refuse_sharded(&self, id: &LiveId) -> StoreResult<()> {
        match self.layout(id).await? {
            Some(layout) if layout.sharded() => Err(StoreError::Conflict(
                "co-host seats are not available in a room whose members are sharded".into(),
            )),
            _ => Ok(()),
        }
    }
}

impl Seats {
    /// A member asks for a seat: taken at once in a `free` room, pending in an `apply` room.
    pub async fn take(
        &self,
        id: &LiveId,
        user: &UserId,
        ask: &SeatAsk,
    ) -> StoreResult<SeatOutcome> {
        let t = self.timings();
        self.refuse_sharded(id).await?;
        let outcome = self
            .call(&calls::SeatTake {
                room: id,
                user,
                window_ms: self.window(),
                seats: t.seats_per_room,
                ask,
                request_ms: t.seat_request_ms,
                max_pending: MAX_SEAT_REQUESTS_PER_ROOM,
            })
            .await?;
        self.note_events(id);
        Ok(match outcome {
            SeatOutcome::Taken { seat, since_ms, .. } => SeatOutcome::Taken {
                seat,
                since_ms,
                mic: ask.mic,
                camera: ask.camera,
            },
            pending => pending,
        })
    }

    /// The anchor accepts (`Some`: the seat taken) or rejects (`None`) a pending request.
    pub async fn decide(
        &self,
        id: &LiveId,
        anchor: &UserId,
        asker: &UserId,
        accept: bool,
    ) -> StoreResult<Option<SeatOutcome>> {
        let t = self.timings();
        let decided = self
            .call(&calls::SeatDecide {
                room: id,
                actor: anchor,
                target: asker,
                accept,
                window_ms: self.window(),
                seats: t.seats_per_room,
                request_ms: t.seat_request_ms,
            })
            .await?;
        self.note_events(id);
        Ok(decided)
    }

    /// `target` leaves its seat (`actor` = `target`; a pending request is withdrawn instead
    /// when it holds none), or the anchor or an admin takes it off. The seat freed (0: a
    /// request withdrawn).
    pub async fn leave(
        &self,
        id: &LiveId,
        actor: &UserId,
        admin: bool,
        target: &UserId,
    ) -> StoreResult<u32> {
        let seat = self
            .call(&calls::SeatLeave {
                room: id,
                actor,
                authority: Authority::of(admin),
                target,
            })
            .await?;
        self.note_events(id);
        Ok(seat)
    }

    /// A seat's mic and camera (`None`: unchanged).
    pub async fn switch(
        &self,
        id: &LiveId,
        actor: &UserId,
        target: &UserId,
        mic: Option<bool>,
        camera: Option<bool>,
    ) -> StoreResult<Switched> {
        let switched = self
            .call(&calls::SeatSwitch {
                room: id,
                actor,
                target,
                mic,
                camera,
            })
            .await?;
        self.note_events(id);
        Ok(switched)
    }

    /// The taken seats, by seat number, with their holders' profiles: one round trip.
    pub async fn list(&self, id: &LiveId) -> StoreResult<SeatList> {
        self.call(&calls::Seats {
            room: id,
            window_ms: self.window(),
        })
        .await
    }
}
