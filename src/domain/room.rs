use std::collections::BTreeMap;

use super::ids::LiveId;
use super::profile::Person;
use super::time::Zone;
use super::{Invalid, refuse_control_characters};

pub const MAX_TITLE_CHARS: usize = 128;
pub const MAX_NOTICE_CHARS: usize = 1024;
pub const MAX_COVER_URL_CHARS: usize = 2048;
pub const MAX_EXTENDS_PAIRS: usize = 32;
pub const MAX_EXTENDS_KEY_CHARS: usize = 64;
pub const MAX_EXTENDS_VALUE_CHARS: usize = 1024;

/// 0 created, 1 live, 2 ended.
/// The most rooms of members one room's members may be spread over (issue 27): the cluster
/// that serves 1 000 000 viewers needs 8 (docs/architecture.md); a member's shard is read from
/// nothing, so every replica must agree on the count, which is fixed per room.
pub const MEMBER_SHARDS_MAX: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStatus {
    Created = 0,
    Live = 1,
    Ended = 2,
}

impl LiveStatus {
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(Self::Created),
            1 => Some(Self::Live),
            2 => Some(Self::Ended),
            _ => None,
        }
    }

    pub fn code(self) -> i32 {
        self as i32
    }
}

/// How a member gets a co-host seat (CONTRACT section 14): `free` takes the lowest free seat at
/// once, `apply` asks the anchor, who accepts or rejects. Set at creation; a room stored before
/// seats existed has none and is `free`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeatMode {
    #[default]
    Free,
    Apply,
}

impl SeatMode {
    /// The create body's `seat_mode` (absent or "": `free`).
    pub fn parse(raw: Option<&str>) -> Result<Self, Invalid> {
        match raw.map(str::trim) {
            None | Some("") | Some("free") => Ok(Self::Free),
            Some("apply") => Ok(Self::Apply),
            Some(other) => Err(Invalid::new(format!(
                "seat_mode must be \"free\" or \"apply\" (got {other:?})"
            ))),
        }
    }

    /// As stored and answered; anything unknown reads as `free`.
    pub fn from_name(name: &str) -> Self {
        if name == "apply" {
            Self::Apply
        } else {
            Self::Free
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Apply => "apply",
        }
    }
}

/// Whether the room's stream is being published: 0 idle, 1 publishing (the media-server hooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamStatus {
    #[default]
    Idle = 0,
    Publishing = 1,
}

impl StreamStatus {
    /// Anything but 1 (absent included) is idle.
    pub fn from_code(code: i64) -> Self {
        if code == 1 {
            Self::Publishing
        } else {
            Self::Idle
        }
    }

    pub fn code(self) -> i32 {
        self as i32
    }
}

/// Characters that show nothing: a title of only these looks empty (CONTRACT section 8).
const INVISIBLE: [char; 5] = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// Without leading and trailing Unicode whitespace and invisible format characters.
pub fn trim(raw: &str) -> &str {
    raw.trim_matches(|c: char| c.is_whitespace() || INVISIBLE.contains(&c))
}

/// A room title: 1–128 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let t = trim(raw);
        refuse_control_characters("title", t)?;
        let n = t.chars().count();
        if n == 0 {
            return Err(Invalid::new("title is required and must not be blank"));
        }
        if n > MAX_TITLE_CHARS {
            return Err(Invalid::new(format!(
                "title must be at most {MAX_TITLE_CHARS} characters (got {n})"
            )));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn at_most(field: &str, raw: &str, max: usize) -> Result<String, Invalid> {
    refuse_control_characters(field, raw)?;
    let n = raw.chars().count();
    if n > max {
        return Err(Invalid::new(format!(
            "{field} must be at most {max} characters (got {n})"
        )));
    }
    Ok(raw.to_owned())
}

/// An http(s) URL of at most 2048 characters; empty means none.
pub fn parse_cover_url(raw: &str) -> Result<String, Invalid> {
    let raw = at_most("cover_url", raw.trim(), MAX_COVER_URL_CHARS)?;
    if raw.is_empty() {
        return Ok(raw);
    }
    match url::Url::parse(&raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(raw),
        _ => Err(Invalid::new(format!(
            "cover_url must be an http(s) URL (got {raw:?})"
        ))),
    }
}

/// Extension pairs: at most 32, keys 1–64 characters, values at most 1024.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extends(BTreeMap<String, String>);

impl Extends {
    pub fn parse(field: &str, raw: BTreeMap<String, String>) -> Result<Self, Invalid> {
        if raw.len() > MAX_EXTENDS_PAIRS {
            return Err(Invalid::new(format!(
                "{field} must have at most {MAX_EXTENDS_PAIRS} pairs (got {})",
                raw.len()
            )));
        }
        for (k, v) in &raw {
            refuse_control_characters(&format!("{field} keys"), k)?;
            refuse_control_characters(&format!("{field}.{k}"), v)?;
            let kn = k.chars().count();
            if kn == 0 || kn > MAX_EXTENDS_KEY_CHARS {
                return Err(Invalid::new(format!(
                    "{field} keys must be 1 to {MAX_EXTENDS_KEY_CHARS} characters (got {kn})"
                )));
            }
            let vn = v.chars().count();
            if vn > MAX_EXTENDS_VALUE_CHARS {
                return Err(Invalid::new(format!(
                    "{field}.{k} must be at most {MAX_EXTENDS_VALUE_CHARS} characters (got {vn})"
                )));
            }
        }
        Ok(Self(raw))
    }

    pub fn into_inner(self) -> BTreeMap<String, String> {
        self.0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| String::from("{}"))
    }
}

/// A room to create, parsed from the request.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub title: Title,
    pub notice: String,
    pub cover_url: String,
    pub extends: Extends,
    /// Planned times, unix seconds (0 when none).
    pub start_at: i64,
    pub end_at: i64,
    pub publish_expire_at: i64,
    pub seat_mode: SeatMode,
}

/// The fields of a create request, before they are parsed.
#[derive(Debug, Clone, Default)]
pub struct NewRoomInput {
    pub title: String,
    pub notice: Option<String>,
    pub cover_url: Option<String>,
    pub extends: Option<BTreeMap<String, String>>,
    pub start_at: Option<String>,
    pub end_at: Option<String>,
    pub publish_expire_at: Option<String>,
    pub seat_mode: Option<String>,
}

impl NewRoom {
    pub fn parse(input: NewRoomInput, zone: Zone) -> Result<Self, Invalid> {
        let time = |field: &str, raw: &Option<String>| -> Result<i64, Invalid> {
            match raw.as_deref().map(str::trim) {
                None | Some("") => Ok(0),
                Some(t) => zone.parse_time(field, t),
            }
        };
        let start_at = time("start_at", &input.start_at)?;
        let end_at = time("end_at", &input.end_at)?;
        if start_at != 0 && end_at != 0 && end_at <= start_at {
            return Err(Invalid::new("end_at must be after start_at"));
        }
        Ok(Self {
            title: Title::parse(&input.title)?,
            notice: at_most(
                "notice",
                input.notice.as_deref().unwrap_or(""),
                MAX_NOTICE_CHARS,
            )?,
            cover_url: parse_cover_url(input.cover_url.as_deref().unwrap_or(""))?,
            extends: Extends::parse("extends", input.extends.unwrap_or_default())?,
            start_at,
            end_at,
            publish_expire_at: time("publish_expire_at", &input.publish_expire_at)?,
            seat_mode: SeatMode::parse(input.seat_mode.as_deref())?,
        })
    }
}

/// A room as it is now, read from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub live_id: LiveId,
    pub title: String,
    pub notice: String,
    pub cover_url: String,
    pub extends: BTreeMap<String, String>,
    pub anchor: Person,
    pub anchor_online: bool,
    pub pk_id: String,
    pub seat_mode: SeatMode,
    pub online_count: u64,
    /// Likes the room has received (CONTRACT section 14).
    pub likes: u64,
    pub start_time: i64,
    pub end_time: i64,
    pub chat_id: i64,
    pub pv: u64,
    pub uv: u64,
    pub live_status: LiveStatus,
    pub stream_status: StreamStatus,
    pub created_ms: i64,
    pub started_ms: i64,
    pub ended_ms: i64,
    /// When the anchor was last heard from (start, heartbeat, join), unix ms by Redis's clock.
    pub anchor_seen_ms: i64,
    /// When the push URL expires, unix seconds (0: a day after creation, see `streams`).
    pub publish_expire_at: i64,
    /// Bumped by every change the global indexes follow (status, title, anchor nick).
    pub version: i64,
    /// Over how many rooms of members its members are spread (1: the room alone; issue 27,
    /// store/shards.rs).
    pub member_shards: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_trimmed_and_bounded() {
        assert_eq!(Title::parse("  hi ").unwrap().as_str(), "hi");
        assert!(Title::parse("   ").is_err());
        assert!(Title::parse(&"字".repeat(128)).is_ok());
        assert!(Title::parse(&"字".repeat(129)).is_err());
        assert!(Title::parse("\u{200B}").is_err());
        assert!(Title::parse(" \u{FEFF}\u{2060}\u{200C}\u{200D}\u{3000}").is_err());
        assert_eq!(Title::parse("\u{200B}hi\u{200B}").unwrap().as_str(), "hi");
        assert!(Title::parse("a\u{0}b").is_err());
        assert!(Title::parse("a\u{85}b").is_err());
    }

    #[test]
    fn cover_url_must_be_http() {
        assert!(parse_cover_url("https://x.com/a.png").is_ok());
        assert!(parse_cover_url("").is_ok());
        assert!(parse_cover_url("http;//xxx.png").is_err());
        assert!(parse_cover_url("ftp://x.com/a").is_err());
    }

    #[test]
    fn extends_limits() {
        let many: BTreeMap<_, _> = (0..33).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(Extends::parse("extends", many).is_err());
        let empty_key = BTreeMap::from([(String::new(), "v".to_owned())]);
        assert!(Extends::parse("extends", empty_key).is_err());
        let long_value = BTreeMap::from([("k".to_owned(), "v".repeat(1025))]);
        assert!(Extends::parse("extends", long_value).is_err());
        let control = BTreeMap::from([("k".to_owned(), "a\u{7f}".to_owned())]);
        let e = Extends::parse("extends", control).unwrap_err();
        assert!(e.0.contains("extends.k"), "{e}");
        let control_key = BTreeMap::from([("k\n".to_owned(), "v".to_owned())]);
        assert!(Extends::parse("extends", control_key).is_err());
    }
}
