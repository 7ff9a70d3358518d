//! `user_imid.lua`: the user's im_userid, given the first time the user is seen.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::UserId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the bucket of the user's pointer. ARGV: the user id, then a fresh number from the
/// im_userid counter, then the user's im_userid and seq in the layout before the buckets.
pub struct UserImid<'a> {
    pub user: &'a UserId,
    pub fresh: i64,
    /// What the user's own hash of the older layout held (keys.rs `legacy_user`).
    pub legacy: LegacyUser,
}

/// A user's im_userid and seq in the layout before the shared buckets (none when never seen).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegacyUser {
    pub im_userid: Option<i64>,
    pub seq: Option<i64>,
}

/// `{im_userid, shift}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserImidReply {
    pub im_userid: i64,
    /// How far the user's seqs moved up (the legacy seq, the first time a user carried over
    /// from the older layout is seen; else 0): a seq taken before this call moves up as much.
    pub shift: i64,
}

impl ScriptCall for UserImid<'_> {
    /// The user's im_userid (the first allocation wins a race).
    type Reply = UserImidReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.user_imid
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("users", keys.user_pointers(self.user.as_str()))
            .arg(self.user.as_str())
            .arg(self.fresh)
            .arg(
                self.legacy
                    .im_userid
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
            )
            .arg(self.legacy.seq.map(|s| s.to_string()).unwrap_or_default());
    }

    fn reply(answer: Value) -> StoreResult<UserImidReply> {
        let parts = array(&answer).ok_or_else(|| bad("user_imid"))?;
        let field = |i: usize| parts.get(i).and_then(int).ok_or_else(|| bad("user_imid"));
        Ok(UserImidReply {
            im_userid: field(0)?,
            shift: field(1)?,
        })
    }
}
