//! `page.lua`: a page of a sorted set, highest score first (one anchor's list of rooms).

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, text};
use crate::store::scripts::Scripts;

/// KEYS: the sorted set (any one: the script is not tied to a slot). ARGV: offset, count.
pub struct Page<'a> {
    pub set: &'a str,
    pub offset: u64,
    pub count: u32,
}

/// `{total, {member, …}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReply {
    /// Members of the whole set.
    pub total: u64,
    /// The page's members, highest score first.
    pub members: Vec<String>,
}

impl ScriptCall for Page<'_> {
    type Reply = PageReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.page
    }

    fn keys_and_args(&self, _keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("set", self.set)
            .arg(self.offset)
            .arg(self.count);
    }

    fn reply(answer: Value) -> StoreResult<PageReply> {
        let parts = array(&answer).ok_or_else(|| bad("page"))?;
        let total = parts.first().and_then(int).ok_or_else(|| bad("page"))?;
        let members = parts
            .get(1)
            .and_then(array)
            .ok_or_else(|| bad("page"))?
            .iter()
            .filter_map(text)
            .collect();
        Ok(PageReply {
            total: total.max(0) as u64,
            members,
        })
    }
}
