//! `search.lua`: a page of the rooms matching a folded keyword, newest first.

use redis::{Script, Value};

use super::card_page::{self, CardPage};
use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::room::LiveStatus;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::scripts::Scripts;

/// KEYS: the index keys. ARGV: the gram prefix, the folded keyword ('' = every room), the
/// status filter ('' or the status code), offset, count, a live_id to match exactly ('').
pub struct Search<'a> {
    pub folded: &'a str,
    pub status: Option<LiveStatus>,
    pub offset: u64,
    pub count: u64,
    pub exact_id: Option<&'a LiveId>,
}

impl ScriptCall for Search<'_> {
    type Reply = CardPage;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.search
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::index_keys(invocation, keys);
        invocation.arg(keys.gram_prefix()).arg(self.folded);
        match self.status {
            Some(status) => invocation.arg(status.code()),
            None => invocation.arg(""),
        };
        invocation
            .arg(self.offset)
            .arg(self.count)
            .arg(self.exact_id.map_or("", LiveId::as_str));
    }

    fn reply(answer: Value) -> StoreResult<CardPage> {
        card_page::decode(&answer, "search")
    }
}
