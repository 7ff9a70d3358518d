//! Room cards (issue 18): the part of a room a list row shows, kept beside the search index in
//! the `{rooms}` slot, so that a page of the live list or of search is one script in one slot.
//!
//! A card is written by the index sync (ordered by the room's version, like the document) and
//! refreshed, at the same version, when the room's online count is announced (at most once a
//! second per room: a join or leave that announces, or the sweep). Its counts (online, pv, uv,
//! anchor presence, stream status) are those of that moment; everything else is the room as of
//! its version. Full room reads stay for `info`.
//!
//! The form is a JSON array in a fixed order (no field names: a card costs its values and a
//! few bytes) of what `RoomData` shows and its URLs need (the push URL's expiry); the room's
//! version and its start, end and anchor-seen instants in ms are not on it (a card's room has
//! them 0). An unreadable card is treated as missing and the room is read instead.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::domain::ids::LiveId;
use crate::domain::profile::{Looks, Person};
use crate::domain::room::{LiveStatus, Room, SeatMode, StreamStatus};

/// The card's form; a card of another form is read as missing.
const FORM: i64 = 1;

/// The card of a room, as stored.
pub(super) fn encode(room: &Room) -> String {
    json!([
        FORM,
        room.title,
        room.notice,
        room.cover_url,
        room.extends,
        room.anchor.user_id,
        room.anchor.im_userid,
        room.anchor.looks,
        u8::from(room.anchor_online),
        room.pk_id,
        room.online_count,
        room.start_time,
        room.end_time,
        room.chat_id,
        room.pv,
        room.uv,
        room.live_status.code(),
        room.stream_status.code(),
        room.created_ms,
        room.publish_expire_at,
        // after the form's first 20 values: a card written before seats reads as `free`
        room.seat_mode.as_str(),
        // after seat_mode: a card without it reads as 0 likes
        room.likes,
    ])
    .to_string()
}

/// A stored card back into the room it shows (None: unreadable or of another form).
pub(super) fn decode(live_id: LiveId, raw: &str) -> Option<Room> {
    let v: Vec<Value> = serde_json::from_str(raw).ok()?;
    if v.len() < 20 || v[0].as_i64() != Some(FORM) {
        return None;
    }
    let s = |i: usize| v[i].as_str().map(str::to_owned);
    let n = |i: usize| v[i].as_i64();
    let u = |i: usize| v[i].as_u64();
    let extends: BTreeMap<String, String> = serde_json::from_value(v[4].clone()).ok()?;
    let looks: Looks = serde_json::from_value(v[7].clone()).ok()?;
    Some(Room {
        live_id,
        title: s(1)?,
        notice: s(2)?,
        cover_url: s(3)?,
        extends,
        anchor: Person {
            user_id: s(5)?,
            im_userid: n(6)?,
            looks,
        },
        anchor_online: n(8)? == 1,
        pk_id: s(9)?,
        seat_mode: v
            .get(20)
            .and_then(Value::as_str)
            .map_or(SeatMode::Free, SeatMode::from_name),
        online_count: u(10)?,
        likes: v.get(21).and_then(Value::as_u64).unwrap_or(0),
        start_time: n(11)?,
        end_time: n(12)?,
        chat_id: n(13)?,
        pv: u(14)?,
        uv: u(15)?,
        live_status: LiveStatus::from_code(n(16)?)?,
        stream_status: StreamStatus::from_code(n(17)?),
        created_ms: n(18)?,
        publish_expire_at: n(19)?,
        // not on a card (a row does not show them): `info` reads the room
        started_ms: 0,
        ended_ms: 0,
        anchor_seen_ms: 0,
        version: 0,
        member_shards: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_reads_back_as_the_room() {
        let room = Room {
            live_id: LiveId::generate(),
            title: "周年庆典 \"live\"".into(),
            notice: "n".into(),
            cover_url: "https://c/x.png".into(),
            extends: BTreeMap::from([("k".into(), "v".into())]),
            anchor: Person {
                user_id: "u1".into(),
                im_userid: 7,
                looks: Looks {
                    nick: "月".into(),
                    avatar: "a".into(),
                    extends: BTreeMap::new(),
                },
            },
            anchor_online: true,
            pk_id: String::new(),
            seat_mode: SeatMode::Apply,
            online_count: 3,
            likes: 11,
            start_time: 10,
            end_time: 20,
            chat_id: 5,
            pv: 9,
            uv: 4,
            live_status: LiveStatus::Live,
            stream_status: StreamStatus::from_code(1),
            created_ms: 1,
            started_ms: 2,
            ended_ms: 0,
            anchor_seen_ms: 3,
            publish_expire_at: 4,
            version: 6,
            member_shards: 1,
        };
        let back = decode(room.live_id.clone(), &encode(&room)).expect("decodes");
        assert_eq!(encode(&back), encode(&room));
        assert_eq!(back.title, room.title);
        assert_eq!(back.anchor, room.anchor);
        assert!(decode(room.live_id.clone(), "[2]").is_none());
        assert!(decode(room.live_id, "not json").is_none());
    }
}
