//! `seat_switch.lua`: a seat's mic and camera.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys, then its seat requests. ARGV: the actor, the seated user, mic and
/// camera ('1', '0', or '' for unchanged).
pub struct SeatSwitch<'a> {
    pub room: &'a LiveId,
    pub actor: &'a UserId,
    pub target: &'a UserId,
    pub mic: Option<bool>,
    pub camera: Option<bool>,
}

/// The seat and its mic and camera now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switched {
    pub seat: u32,
    pub mic: bool,
    pub camera: bool,
}

/// `{'OK', seat, mic, camera}`.
impl ScriptCall for SeatSwitch<'_> {
    type Reply = Switched;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.seat_switch
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        let wire = |v: Option<bool>| v.map_or("", super::seat_take::flag);
        super::seat_keys(invocation, keys, self.room);
        invocation
            .arg(self.actor.as_str())
            .arg(self.target.as_str())
            .arg(wire(self.mic))
            .arg(wire(self.camera));
    }

    fn reply(answer: Value) -> StoreResult<Switched> {
        let (_, rest) = status(&answer, "seat_switch")?;
        let on = |i: usize| rest.get(i).and_then(text).is_some_and(|t| t == "1");
        Ok(Switched {
            seat: rest
                .first()
                .and_then(int)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad("seat_switch"))?,
            mic: on(1),
            camera: on(2),
        })
    }
}
