//! `pk_intent.lua`: a PK's intents, its release once both rooms show its end, and the poke of
//! a room's PK when the room ends.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::interaction::PkId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int, text};
use crate::store::scripts::Scripts;

/// What to do.
pub enum PkIntentOp<'a> {
    /// A change of the PK is under way: the sweep finishes it after `grace_ms`.
    Add {
        pk: &'a PkId,
        token: &'a str,
        grace_ms: u64,
    },
    /// The change's rooms are converged; an inviting PK stays due at its expiry (`next_due_ms`).
    Done {
        pk: &'a PkId,
        token: &'a str,
        next_due_ms: i64,
    },
    /// The PK ended and both rooms show it: its reservations and schedule go.
    Release { pk: &'a PkId },
    /// The room ended: its PK, if any, is due now.
    Poke { room: &'a LiveId },
}

/// KEYS: the PK index keys. ARGV: op, then the op's arguments (pk_intent.lua).
pub struct PkIntent<'a> {
    pub op: PkIntentOp<'a>,
}

/// `Add`/`Done`/`Release`: done (or, for a PK released or held by a newer intent, nothing to
/// do); `Poke`: the room's PK, if it is in one.
pub enum PkIntentReply {
    Applied,
    Poked(Option<PkId>),
}

impl ScriptCall for PkIntent<'_> {
    type Reply = PkIntentReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.pk_intent
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation.keys(keys.pk_index_named());
        match self.op {
            PkIntentOp::Add {
                pk,
                token,
                grace_ms,
            } => invocation
                .arg("add")
                .arg(pk.as_str())
                .arg(token)
                .arg(grace_ms),
            PkIntentOp::Done {
                pk,
                token,
                next_due_ms,
            } => invocation
                .arg("done")
                .arg(pk.as_str())
                .arg(token)
                .arg(next_due_ms.max(0)),
            PkIntentOp::Release { pk } => invocation.arg("release").arg(pk.as_str()),
            PkIntentOp::Poke { room } => invocation.arg("poke").arg(room.as_str()),
        };
    }

    fn reply(answer: Value) -> StoreResult<PkIntentReply> {
        match answer {
            Value::Nil => Ok(PkIntentReply::Poked(None)),
            Value::Int(_) => Ok(PkIntentReply::Applied),
            other => {
                let raw = text(&other).ok_or_else(|| bad("pk_intent"))?;
                match int(&other) {
                    Some(_) => Ok(PkIntentReply::Applied),
                    None => Ok(PkIntentReply::Poked(PkId::parse(&raw))),
                }
            }
        }
    }
}
