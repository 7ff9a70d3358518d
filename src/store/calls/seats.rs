//! `seats.lua`: the room's taken seats, with their holders' profiles (a read).

use std::collections::BTreeMap;

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::profile::{Looks, Person};
use crate::domain::seat::{Seat, SeatList};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys, then its seat requests. ARGV: the member window (ms).
pub struct Seats<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
}

/// `{'OK', anchor_id, live_status, {seat, raw seat, member entry, …}}`.
impl ScriptCall for Seats<'_> {
    type Reply = SeatList;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.seats
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::seat_keys(invocation, keys, self.room);
        invocation.arg(self.window_ms);
    }

    fn reply(answer: Value) -> StoreResult<SeatList> {
        let (_, rest) = status(&answer, "seats")?;
        let anchor_id = rest.first().and_then(text).ok_or_else(|| bad("seats"))?;
        let rows = rest.get(2).and_then(array).ok_or_else(|| bad("seats"))?;
        let seats = rows
            .chunks(3)
            .filter_map(|row| match row {
                [n, raw, entry] => seat(int(n)?, &text(raw)?, &text(entry)?),
                _ => None,
            })
            .collect();
        Ok(SeatList { anchor_id, seats })
    }
}

/// A seat is "user\tmic\tcamera\tsince ms\textends json" (lua/seat_fn.lua), its holder's member
/// entry "seq:pv\tim_userid\tprofile" (members.rs reads it); a seat that does not read is left out.
fn seat(n: i64, raw: &str, entry: &str) -> Option<Seat> {
    let mut parts = raw.splitn(5, '\t');
    let user_id = parts.next()?.to_owned();
    let mic = parts.next()? == "1";
    let camera = parts.next()? == "1";
    let since_ms = parts.next()?.parse().ok()?;
    let extends: BTreeMap<String, String> = serde_json::from_str(parts.next()?).ok()?;
    // the holder's profile as user_list reads it (members.rs); a holder whose entry does not
    // read shows its id as its nick
    let user = super::members::person(&user_id, entry).unwrap_or_else(|| Person {
        user_id: user_id.clone(),
        im_userid: 0,
        looks: Looks {
            nick: user_id.clone(),
            avatar: String::new(),
            extends: BTreeMap::new(),
        },
    });
    Some(Seat {
        seat: u32::try_from(n).ok()?,
        user,
        mic,
        camera,
        extends,
        since_ms,
    })
}
