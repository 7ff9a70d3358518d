//! `members.lua`: a page of the room's current members, most recent joiner first.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::profile::{Looks, Person};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the member window (ms), the page's offset, its size.
pub struct Members<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
    pub offset: u64,
    pub count: u32,
}

/// `{'OK', total, {user, entry, user, entry, …}}`; `'NOT_FOUND'` becomes `StoreError::NotFound`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersReply {
    /// Members present now, over all pages.
    pub total: u64,
    /// This page's members (an entry that does not read as one is left out).
    pub members: Vec<Person>,
}

impl ScriptCall for Members<'_> {
    type Reply = MembersReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.members
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.window_ms)
            .arg(self.offset)
            .arg(self.count);
    }

    fn reply(answer: Value) -> StoreResult<MembersReply> {
        let (_, rest) = status(&answer, "members")?;
        let total = rest
            .first()
            .and_then(int)
            .ok_or_else(|| bad("members"))?
            .max(0) as u64;
        let rows = rest.get(1).and_then(array).ok_or_else(|| bad("members"))?;
        let members = rows
            .chunks(2)
            .filter_map(|pair| match pair {
                [user, entry] => person(&text(user)?, &text(entry)?),
                _ => None,
            })
            .collect();
        Ok(MembersReply { total, members })
    }
}

/// A member entry is "seq:pv\tim_userid\tprofile" (join.lua writes it), the profile its JSON,
/// or `=X` for `{"nick":"X"}` (lib.lua `stored_profile`).
pub(super) fn person(user_id: &str, entry: &str) -> Option<Person> {
    let mut parts = entry.splitn(3, '\t');
    let _seq = parts.next()?;
    let im_userid = parts.next()?.parse().ok()?;
    let profile = parts.next()?;
    let looks = match profile.strip_prefix('=') {
        Some(nick) => Looks::from_json(&format!("{{\"nick\":\"{nick}\"}}"))?,
        None => Looks::from_json(profile)?,
    };
    Some(Person {
        user_id: user_id.to_owned(),
        im_userid,
        looks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nick_alone_is_stored_without_its_json_frame_and_read_back_whole() {
        let p = person("u", "3:17\t42\t=Ann \\\"the\\\" 主播").expect("a person");
        assert_eq!(
            (p.im_userid, p.looks.nick.as_str()),
            (42, "Ann \"the\" 主播")
        );
        let full = r#"{"nick":"Bo","avatar":"https://a/b.png"}"#;
        let p = person("u", &format!("3:17\t42\t{full}")).expect("a person");
        assert_eq!(
            (p.looks.nick.as_str(), p.looks.avatar.as_str()),
            ("Bo", "https://a/b.png")
        );
        // what lib.lua's stored_profile makes of that profile (`=` + the bytes between the frame)
        let p = person("u", "3:17\t42\t=Bo\",\"avatar\":\"https://a/b.png").expect("a person");
        assert_eq!(p.looks.avatar, "https://a/b.png");
        assert!(person("u", "3").is_none());
    }
}
