//! `seat_take.lua`: a member asks for a co-host seat (taken at once in a `free` room, pending
//! the anchor's answer in an `apply` room).

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::seat::{SeatAsk, SeatOutcome};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int, status};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys, then its seat requests. ARGV: user_id, the member window (ms), the
/// configured seat count, mic, camera ('1'/'0'), extends JSON, the request lapse (ms), the
/// most pending requests a room holds.
pub struct SeatTake<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
    pub window_ms: u64,
    pub seats: u32,
    pub ask: &'a SeatAsk,
    pub request_ms: u64,
    pub max_pending: u32,
}

/// `{'TAKEN', seat, since}` or `{'PENDING', asked}`; NOT_FOUND, CONFLICT, NOT_MEMBER, SEAT,
/// QUOTA become `StoreError`s.
impl ScriptCall for SeatTake<'_> {
    type Reply = SeatOutcome;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.seat_take
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::seat_keys(invocation, keys, self.room);
        invocation
            .arg(self.user.as_str())
            .arg(self.window_ms)
            .arg(self.seats)
            .arg(flag(self.ask.mic))
            .arg(flag(self.ask.camera))
            .arg(self.ask.extends.to_json())
            .arg(self.request_ms)
            .arg(self.max_pending);
    }

    fn reply(answer: Value) -> StoreResult<SeatOutcome> {
        let (word, rest) = status(&answer, "seat_take")?;
        let num = |i: usize| rest.get(i).and_then(int).ok_or_else(|| bad("seat_take"));
        match word.as_str() {
            "TAKEN" => Ok(SeatOutcome::Taken {
                seat: u32::try_from(num(0)?).map_err(|_| bad("seat_take"))?,
                since_ms: num(1)?,
                mic: true,
                camera: true,
            }),
            "PENDING" => Ok(SeatOutcome::Pending { asked_ms: num(0)? }),
            _ => Err(bad("seat_take")),
        }
    }
}

/// A switch on the wire.
pub(super) fn flag(on: bool) -> &'static str {
    if on { "1" } else { "0" }
}
