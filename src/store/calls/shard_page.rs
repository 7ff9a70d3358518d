//! `shard_page.lua`: what a page of a sharded room's members reads of one room of members.

use redis::{Script, Value};

use super::members::person;
use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::profile::Person;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status, text};
use crate::store::scripts::Scripts;

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardPageRead {
    /// The join order's size, its tree's cap, the members present.
    Head { window_ms: u64 },
    /// The tree's counts over the nodes a descent from (pos, step) may read in its next
    /// `levels` levels, level by level.
    Nodes { pos: u64, step: u64, levels: u32 },
    /// Chunk `i`'s members.
    Chunk { i: u64, window_ms: u64 },
}

/// KEYS: the room of members' keys. ARGV: the op and its arguments.
pub struct ShardPage<'a> {
    pub room: &'a LiveId,
    pub read: ShardPageRead,
}

/// A member of a chunk: its join number, whether present, the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkMember {
    pub number: i64,
    pub present: bool,
    pub person: Person,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardPageReply {
    Head { size: u64, cap: u64, present: u64 },
    Nodes(Vec<u64>),
    Chunk(Vec<ChunkMember>),
}

impl ScriptCall for ShardPage<'_> {
    type Reply = ShardPageReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.shard_page
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        match self.read {
            ShardPageRead::Head { window_ms } => invocation.arg("head").arg(window_ms),
            ShardPageRead::Nodes { pos, step, levels } => {
                invocation.arg("nodes").arg(pos).arg(step).arg(levels)
            }
            ShardPageRead::Chunk { i, window_ms } => invocation.arg("chunk").arg(i).arg(window_ms),
        };
    }

    fn reply(answer: Value) -> StoreResult<ShardPageReply> {
        let (word, rest) = status(&answer, "shard_page")?;
        let n = |i: usize| rest.get(i).and_then(int).map(|n| n.max(0) as u64);
        if word == "NODES" {
            let counts = rest
                .first()
                .and_then(array)
                .ok_or_else(|| bad("shard_page"))?
                .iter()
                .map(|v| int(v).map_or(0, |n| n.max(0) as u64))
                .collect();
            return Ok(ShardPageReply::Nodes(counts));
        }
        match rest.len() {
            3 => Ok(ShardPageReply::Head {
                size: n(0).ok_or_else(|| bad("shard_page"))?,
                cap: n(1).ok_or_else(|| bad("shard_page"))?,
                present: n(2).ok_or_else(|| bad("shard_page"))?,
            }),
            _ => {
                let rows = rest
                    .first()
                    .and_then(array)
                    .ok_or_else(|| bad("shard_page"))?;
                let members = rows
                    .chunks(3)
                    .filter_map(|row| match row {
                        [user, entry, present] => {
                            let (user, entry) = (text(user)?, text(entry)?);
                            Some(ChunkMember {
                                number: join_number(&entry)?,
                                present: int(present)? > 0,
                                person: person(&user, &entry)?,
                            })
                        }
                        _ => None,
                    })
                    .collect();
                Ok(ShardPageReply::Chunk(members))
            }
        }
    }
}

/// The join number an entry keeps ("seq:number\t…", join.lua).
fn join_number(entry: &str) -> Option<i64> {
    let head = entry.split('\t').next()?;
    head.split_once(':')?.1.parse().ok()
}
