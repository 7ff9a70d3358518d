//! `pk_reserve.lua`: both rooms reserved for a new PK, and its intent, in one step in `{rooms}`.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::interaction::PkId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the PK index keys, the inviting anchor's invitations this hour. ARGV: pk_id, init
/// live_id, target live_id, token, grace (ms), invitations per hour at most, the counter's
/// lifetime (ms).
pub struct PkReserve<'a> {
    pub pk: &'a PkId,
    pub init: &'a LiveId,
    pub target: &'a LiveId,
    pub anchor: &'a str,
    /// Unix hours: the invitations counter's window.
    pub hour: u64,
    pub token: &'a str,
    pub grace_ms: u64,
    pub invites_per_hour: u32,
}

impl ScriptCall for PkReserve<'_> {
    /// `PK_CONFLICT` and `QUOTA` become errors.
    type Reply = ();

    fn script(scripts: &Scripts) -> &Script {
        &scripts.pk_reserve
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .keys(keys.pk_index_named())
            .key("pk_invites", keys.pk_invites(self.anchor, self.hour));
        invocation
            .arg(self.pk.as_str())
            .arg(self.init.as_str())
            .arg(self.target.as_str())
            .arg(self.token)
            .arg(self.grace_ms)
            .arg(self.invites_per_hour)
            .arg(2 * 3_600_000u64);
    }

    fn reply(answer: Value) -> StoreResult<()> {
        status(&answer, "pk_reserve").map(|_| ())
    }
}
