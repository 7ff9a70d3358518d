//! `claim.lua`: what is due on the sweep schedule, the close and purge deadlines and the owed
//! follow-ups, claimed by one replica.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::interaction::PkId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, text};
use crate::store::scripts::Scripts;

/// KEYS: the sweep schedule, its claims, the close deadlines, the purge deadlines. ARGV: the
/// lease (ms: how long the claim keeps other replicas off), the most entries taken of each, the
/// replica's token (written into the claims, so that only this replica reschedules the rooms).
pub struct Claim<'a> {
    pub lease_ms: u64,
    pub max: usize,
    pub token: &'a str,
}

/// `{rooms to sweep, rooms to close, rooms to purge}`, each a list of live_ids (ids that do not
/// parse are left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claimed {
    /// Rooms to sweep: lapses, releases, the anchor's presence, unsaid online counts.
    pub rooms: Vec<LiveId>,
    /// Live rooms whose anchor-offline close deadline has passed.
    pub closes: Vec<LiveId>,
    /// Ended rooms whose retention has passed.
    pub purges: Vec<LiveId>,
    /// Rooms whose follow-ups are owed (a replica died or failed after the room's change).
    pub owed: Vec<Owed>,
    /// PKs due: a change cut short, or an invitation's expiry (store/pk.rs).
    pub pks: Vec<PkDue>,
}

/// A PK the sweep finishes: its id, the intent's token ('-' when none is owed) and its rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkDue {
    pub pk: PkId,
    pub token: String,
    /// The rooms as reserved (None when the PK's record of rooms is gone: it was released).
    pub rooms: Option<(LiveId, LiveId)>,
}

/// An intent the sweep replays: the room, and who wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub room: LiveId,
    /// The token of the intent: its `done` removes it only if no newer intent replaced it.
    pub token: String,
    /// The room's anchor as the intent knew it ('' when it did not).
    pub anchor: String,
    /// A kick's intent: the user it removes (store/moderation.rs).
    pub kicked: Option<String>,
    /// The room's member shards as the intent knew them (store/shards.rs).
    pub shards: u32,
}

impl ScriptCall for Claim<'_> {
    type Reply = Claimed;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.claim
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .keys(keys.sweep_schedule_named())
            .key("close_at", keys.close_at())
            .key("purge_at", keys.purge_at())
            .keys(keys.followups_named());
        let [_, pk_due, pk_of] = keys.pk_index_named();
        invocation.keys([pk_due, pk_of]);
        invocation.arg(self.lease_ms).arg(self.max).arg(self.token);
    }

    fn reply(answer: Value) -> StoreResult<Claimed> {
        let lists = array(&answer).ok_or_else(|| bad("claim"))?;
        // rooms of members: a room, or one of a sharded room's shard rooms (store/shards.rs)
        let ids = |i: usize| -> Vec<LiveId> {
            lists
                .get(i)
                .and_then(array)
                .unwrap_or_default()
                .iter()
                .filter_map(text)
                .filter_map(|raw| LiveId::parse_member_room(&raw))
                .collect()
        };
        let rooms = |i: usize| -> Vec<LiveId> {
            ids(i)
                .into_iter()
                .filter(|id| !id.is_shard_room())
                .collect()
        };
        Ok(Claimed {
            rooms: ids(0),
            closes: rooms(1),
            purges: rooms(2),
            owed: lists
                .get(3)
                .and_then(array)
                .unwrap_or_default()
                .chunks(2)
                .filter_map(|pair| {
                    let room = LiveId::parse(&text(pair.first()?)?)?;
                    let of = text(pair.get(1)?).unwrap_or_default();
                    let mut fields = of.splitn(4, '\t');
                    let token = fields.next().unwrap_or_default();
                    let anchor = fields.next().unwrap_or_default();
                    let kicked = fields.next().filter(|u| !u.is_empty());
                    let shards = fields.next().and_then(|n| n.parse().ok()).unwrap_or(1);
                    Some(Owed {
                        room,
                        token: token.to_owned(),
                        anchor: anchor.to_owned(),
                        kicked: kicked.map(str::to_owned),
                        shards,
                    })
                })
                .collect(),
            pks: lists
                .get(4)
                .and_then(array)
                .unwrap_or_default()
                .chunks(2)
                .filter_map(|pair| {
                    let pk = PkId::parse(&text(pair.first()?)?)?;
                    let of = text(pair.get(1)?).unwrap_or_default();
                    let mut fields = of.splitn(3, '\t');
                    let token = fields.next().unwrap_or_default().to_owned();
                    let init = fields.next().and_then(LiveId::parse);
                    let target = fields.next().and_then(LiveId::parse);
                    Some(PkDue {
                        pk,
                        token,
                        rooms: init.zip(target),
                    })
                })
                .collect(),
        })
    }
}
