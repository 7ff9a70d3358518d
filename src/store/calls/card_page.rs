//! The page that `list.lua` and `search.lua` answer: `{total, {live_id, …}, {card or false, …}}`.

use redis::Value;

use crate::domain::ids::LiveId;
use crate::domain::room::Room;
use crate::store::StoreResult;
use crate::store::cards;
use crate::store::reply::{array, bad, int, text};

/// A page of rooms by id, each with its card when it has one (a room indexed before cards
/// existed has none: the caller reads it).
pub struct CardPage {
    pub total: u64,
    pub rows: Vec<(LiveId, Option<Room>)>,
}

pub(super) fn decode(answer: &Value, what: &str) -> StoreResult<CardPage> {
    let parts = array(answer).ok_or_else(|| bad(what))?;
    let total = parts.first().and_then(int).ok_or_else(|| bad(what))?.max(0) as u64;
    let ids = parts.get(1).and_then(array).ok_or_else(|| bad(what))?;
    let cards = parts.get(2).and_then(array).unwrap_or_default();
    let rows = ids
        .iter()
        .enumerate()
        .filter_map(|(i, raw)| {
            let id = LiveId::parse(&text(raw)?)?;
            let card = cards
                .get(i)
                .and_then(text)
                .and_then(|c| cards::decode(id.clone(), &c));
            Some((id, card))
        })
        .collect();
    Ok(CardPage { total, rows })
}
