//! `online_set.lua`: a room's share of the platform's online total, by the version of its
//! membership.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// A room's members as its script saw them (lib.lua `online_share`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// Members in the room's members set; -1 once the room ended or is gone.
    pub count: i64,
    /// The version of the room's membership.
    pub version: i64,
}

impl Share {
    /// The room ended or is gone: its share leaves the total for good.
    pub const ENDED: Share = Share {
        count: -1,
        version: 0,
    };

    /// The share a script appended at `at` (count, version) in its answer's `rest`.
    pub fn at(rest: &[Value], at: usize) -> Option<Share> {
        Some(Share {
            count: rest.get(at).and_then(int)?,
            version: rest.get(at + 1).and_then(int)?,
        })
    }
}

/// KEYS: the online total, the rooms' counts, their versions, the rooms that ended.
/// ARGV: live_id, count (-1: ended), version, keep ms.
pub struct OnlineSet<'a> {
    pub room: &'a LiveId,
    pub share: Share,
    /// How long the record that the room ended is kept (a late report of it is ignored).
    pub keep_ms: u64,
}

impl ScriptCall for OnlineSet<'_> {
    /// Whether the total took the report (false: it had a newer one).
    type Reply = bool;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.online_set
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("online_total", keys.online_total())
            .key("online_rooms", keys.online_rooms())
            .key("online_vers", keys.online_vers())
            .key("online_ended", keys.online_ended());
        invocation
            .arg(self.room.as_str())
            .arg(self.share.count)
            .arg(self.share.version)
            .arg(self.keep_ms);
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        int(&answer).map(|n| n > 0).ok_or_else(|| bad("online_set"))
    }
}
