//! `pk_record.lua`: a PK's record, the one place that decides what the PK is.

use std::collections::BTreeMap;

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::interaction::{Pk, PkId, PkStatus};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, fields, status};
use crate::store::scripts::Scripts;

/// A change of the record.
pub enum PkChange<'a> {
    Create {
        init: &'a LiveId,
        init_anchor: &'a str,
        target: &'a LiveId,
        target_anchor: &'a str,
        invite_ms: u64,
    },
    Accept,
    Reject,
    Stop {
        admin: bool,
    },
    Expire,
    RoomEnded,
    Extends {
        json: &'a str,
    },
}

/// KEYS: the PK's record. ARGV: op, the acting user ('' for the service), the op's arguments.
pub struct PkRecord<'a> {
    pub pk: &'a PkId,
    pub user: &'a str,
    pub change: PkChange<'a>,
}

impl ScriptCall for PkRecord<'_> {
    /// The record after the change; `NOT_FOUND`, `FORBIDDEN`, `PK_CONFLICT` become errors.
    type Reply = Pk;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.pk_record
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation.key("pk", keys.pk(self.pk));
        let op = match self.change {
            PkChange::Create { .. } => "create",
            PkChange::Accept => "accept",
            PkChange::Reject => "reject",
            PkChange::Stop { .. } => "stop",
            PkChange::Expire => "expire",
            PkChange::RoomEnded => "room_ended",
            PkChange::Extends { .. } => "extends",
        };
        invocation.arg(op).arg(self.user);
        match self.change {
            PkChange::Create {
                init,
                init_anchor,
                target,
                target_anchor,
                invite_ms,
            } => {
                invocation
                    .arg(self.pk.as_str())
                    .arg(init.as_str())
                    .arg(init_anchor)
                    .arg(target.as_str())
                    .arg(target_anchor)
                    .arg(invite_ms);
            }
            PkChange::Stop { admin } => {
                invocation.arg(if admin { "1" } else { "0" });
            }
            PkChange::Extends { json } => {
                invocation.arg(json);
            }
            _ => {}
        }
    }

    fn reply(answer: Value) -> StoreResult<Pk> {
        let (_, rest) = status(&answer, "pk_record")?;
        decode_pk(&Value::Array(rest.to_vec()))
    }
}

/// A PK's record from its hash (HGETALL's flat answer).
pub fn decode_pk(hash: &Value) -> StoreResult<Pk> {
    let what = "pk record";
    let h = fields(hash).ok_or_else(|| bad(what))?;
    let get = |k: &str| h.get(k).cloned().unwrap_or_default();
    let num = |k: &str| h.get(k).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let extends: BTreeMap<String, String> =
        serde_json::from_str(&get("extends")).map_err(|_| bad(what))?;
    Ok(Pk {
        pk_id: PkId::parse(&get("pk_id")).ok_or_else(|| bad(what))?,
        status: PkStatus::parse(&get("status")).ok_or_else(|| bad(what))?,
        init_live_id: LiveId::parse(&get("init_live_id")).ok_or_else(|| bad(what))?,
        init_anchor_id: get("init_anchor_id"),
        target_live_id: LiveId::parse(&get("target_live_id")).ok_or_else(|| bad(what))?,
        target_anchor_id: get("target_anchor_id"),
        created_ms: num("created_ms"),
        expires_ms: num("expires_ms"),
        start_ms: num("start_ms"),
        end_ms: num("end_ms"),
        ended_reason: get("ended_reason"),
        extends,
        version: num("ver"),
    })
}
