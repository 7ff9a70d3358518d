//! `user_imid.lua`: the user's im_userid, given the first time the user is seen.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::UserId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the user's hash. ARGV: a fresh number from the im_userid counter.
pub struct UserImid<'a> {
    pub user: &'a UserId,
    pub fresh: i64,
}

impl ScriptCall for UserImid<'_> {
    /// The user's im_userid (the first allocation wins a race).
    type Reply = i64;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.user_imid
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("user", keys.user(self.user.as_str()))
            .arg(self.fresh);
    }

    fn reply(answer: Value) -> StoreResult<i64> {
        int(&answer).ok_or_else(|| bad("user_imid"))
    }
}
