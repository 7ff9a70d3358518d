//! `bans.lua`: a page of a room's running bans, soonest to end first.

use redis::{Script, Value};

use super::{Authority, Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status, text};
use crate::store::scripts::Scripts;
use crate::store::{Ban, StoreResult};

/// KEYS: the room's keys (the bans the tenth). ARGV: actor user_id, its authority, offset, count.
pub struct Bans<'a> {
    pub room: &'a LiveId,
    pub actor: &'a UserId,
    pub authority: Authority,
    pub offset: u64,
    pub count: u32,
}

/// `{'OK', total, {user, end ms, …}}`; `NOT_FOUND` and `FORBIDDEN` become `StoreError`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BansPage {
    /// Bans still running in the room.
    pub total: u64,
    /// The page's bans (a pair that does not read is left out).
    pub bans: Vec<Ban>,
}

impl ScriptCall for Bans<'_> {
    type Reply = BansPage;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.bans
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.actor.as_str())
            .arg(self.authority)
            .arg(self.offset)
            .arg(self.count);
    }

    fn reply(answer: Value) -> StoreResult<BansPage> {
        let (_, rest) = status(&answer, "bans")?;
        let total = rest.first().and_then(int).ok_or_else(|| bad("bans"))?;
        let rows = rest.get(1).and_then(array).ok_or_else(|| bad("bans"))?;
        let bans = rows
            .chunks(2)
            .filter_map(|pair| match pair {
                [u, e] => Some(Ban {
                    user_id: text(u)?,
                    end_ms: int(e)?,
                }),
                _ => None,
            })
            .collect();
        Ok(BansPage {
            total: total.max(0) as u64,
            bans,
        })
    }
}
