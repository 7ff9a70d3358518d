//! `list.lua`: a page of the live list, with each room's card.

use redis::{Script, Value};

use super::card_page::{self, CardPage};
use super::{Invocation, ScriptCall};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::scripts::Scripts;

/// KEYS: the index keys (the live rooms first). ARGV: the gram prefix, offset, count.
pub struct List {
    pub offset: u64,
    pub count: u64,
}

impl ScriptCall for List {
    type Reply = CardPage;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.list
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::index_keys(invocation, keys);
        invocation
            .arg(keys.gram_prefix())
            .arg(self.offset)
            .arg(self.count);
    }

    fn reply(answer: Value) -> StoreResult<CardPage> {
        card_page::decode(&answer, "live page")
    }
}
