//! `seat_decide.lua`: the anchor accepts or rejects a pending seat request.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::seat::SeatOutcome;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys, then its seat requests. ARGV: the anchor, the asker, '1' accept /
/// '0' reject, the member window (ms), the configured seat count, the request lapse (ms).
pub struct SeatDecide<'a> {
    pub room: &'a LiveId,
    pub actor: &'a UserId,
    pub target: &'a UserId,
    pub accept: bool,
    pub window_ms: u64,
    pub seats: u32,
    pub request_ms: u64,
}

/// `{'TAKEN', seat, since, mic, camera}` (accepted: `Some`) or `{'REJECTED'}` (`None`).
impl ScriptCall for SeatDecide<'_> {
    type Reply = Option<SeatOutcome>;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.seat_decide
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::seat_keys(invocation, keys, self.room);
        invocation
            .arg(self.actor.as_str())
            .arg(self.target.as_str())
            .arg(super::seat_take::flag(self.accept))
            .arg(self.window_ms)
            .arg(self.seats)
            .arg(self.request_ms);
    }

    fn reply(answer: Value) -> StoreResult<Option<SeatOutcome>> {
        let (word, rest) = status(&answer, "seat_decide")?;
        let num = |i: usize| rest.get(i).and_then(int).ok_or_else(|| bad("seat_decide"));
        let on = |i: usize| rest.get(i).and_then(text).is_some_and(|t| t == "1");
        match word.as_str() {
            "TAKEN" => Ok(Some(SeatOutcome::Taken {
                seat: u32::try_from(num(0)?).map_err(|_| bad("seat_decide"))?,
                since_ms: num(1)?,
                mic: on(2),
                camera: on(3),
            })),
            "REJECTED" => Ok(None),
            _ => Err(bad("seat_decide")),
        }
    }
}
