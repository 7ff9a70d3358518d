//! The room view that per-room scripts answer (`lib.lua` `room_view`): the room hash, the
//! members online, the uv estimate and whether the anchor is present. Shared by the calls whose
//! script answers it (create, read, start, stop, extends, join, close_offline).

use std::collections::BTreeMap;

use redis::Value;

use crate::domain::ids::LiveId;
use crate::domain::profile::{Looks, Person};
use crate::domain::room::{LiveStatus, Room, SeatMode, StreamStatus};
use crate::store::StoreResult;
use crate::store::reply::{bad, fields, int};

/// A room as a script's view answers it: {hash, online, uv, anchor present}.
pub(in crate::store) fn decode_view(v: &[Value]) -> StoreResult<Room> {
    let what = "room view";
    let h = v.first().and_then(fields).ok_or_else(|| bad(what))?;
    let get = |k: &str| h.get(k).cloned().unwrap_or_default();
    let num = |k: &str| h.get(k).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let live_id = LiveId::parse(&get("live_id")).ok_or_else(|| bad(what))?;
    let looks = Looks::from_json(&get("anchor_profile")).ok_or_else(|| bad(what))?;
    let extends: BTreeMap<String, String> =
        serde_json::from_str(&get("extends")).map_err(|_| bad(what))?;
    let live_status = LiveStatus::from_code(num("live_status")).ok_or_else(|| bad(what))?;
    let count = |i: usize| v.get(i).and_then(int).unwrap_or(0).max(0) as u64;
    Ok(Room {
        live_id,
        title: get("title"),
        notice: get("notice"),
        cover_url: get("cover_url"),
        extends,
        anchor: Person {
            user_id: get("anchor_id"),
            im_userid: num("anchor_imid"),
            looks,
        },
        anchor_online: count(3) == 1,
        pk_id: get("pk_id"),
        seat_mode: SeatMode::from_name(&get("seat_mode")),
        online_count: count(1),
        likes: num("likes").max(0) as u64,
        start_time: num("start_time"),
        end_time: num("end_time"),
        chat_id: num("chat_id"),
        pv: num("pv").max(0) as u64,
        uv: count(2),
        live_status,
        stream_status: StreamStatus::from_code(num("stream_status")),
        created_ms: num("created_ms"),
        started_ms: num("started_ms"),
        ended_ms: num("ended_ms"),
        anchor_seen_ms: num("anchor_seen"),
        publish_expire_at: num("publish_expire_at"),
        version: num("ver"),
        member_shards: u32::try_from(num("shards")).unwrap_or(1).max(1),
    })
}
