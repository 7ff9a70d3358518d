//! Co-host seats (连麦, CONTRACT section 14): what a member asks for, and a seat as the room
//! shows it.

use std::collections::BTreeMap;

use super::Invalid;
use super::profile::Person;
use super::room::Extends;

/// A member's seat request: mic and camera on unless said otherwise, and the seat's extends
/// (capped like the room's: CONTRACT section 8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatAsk {
    pub mic: bool,
    pub camera: bool,
    pub extends: Extends,
}

/// A seat's extends, as JSON, at most this many bytes: besides the room's limits on pairs and
/// characters, because a taken seat lives in the room's hash, which every read of the room
/// (info, join, start) reads whole: 64 seats of 64 KiB each would make every such read megabytes.
pub const MAX_SEAT_EXTENDS_BYTES: usize = 2048;

impl SeatAsk {
    pub fn parse(
        mic: Option<bool>,
        camera: Option<bool>,
        extends: Option<BTreeMap<String, String>>,
    ) -> Result<Self, Invalid> {
        let extends = Extends::parse("extends", extends.unwrap_or_default())?;
        let bytes = extends.to_json().len();
        if bytes > MAX_SEAT_EXTENDS_BYTES {
            return Err(Invalid::new(format!(
                "extends: a seat's extends must be at most {MAX_SEAT_EXTENDS_BYTES} bytes of JSON \
                 (got {bytes})"
            )));
        }
        Ok(Self {
            mic: mic.unwrap_or(true),
            camera: camera.unwrap_or(true),
            extends,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ask_defaults_to_mic_and_camera_on_and_caps_its_extends() {
        let ask = SeatAsk::parse(None, Some(false), None).expect("parses");
        assert!(ask.mic && !ask.camera);
        let big = BTreeMap::from([("k".to_owned(), "v".repeat(MAX_SEAT_EXTENDS_BYTES))]);
        let e = SeatAsk::parse(None, None, Some(big)).expect_err("over the bytes");
        assert!(e.0.contains("extends") && e.0.contains("2048"), "{e}");
        let pairs: BTreeMap<_, _> = (0..33).map(|i| (format!("k{i}"), String::new())).collect();
        assert!(SeatAsk::parse(None, None, Some(pairs)).is_err());
    }
}

/// A taken seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// Numbered from 1.
    pub seat: u32,
    /// The holder, as the member list shows it.
    pub user: Person,
    pub mic: bool,
    pub camera: bool,
    pub extends: BTreeMap<String, String>,
    /// When the seat was taken, unix ms (Redis's clock).
    pub since_ms: i64,
}

/// What a seat request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatOutcome {
    /// On seat `seat` since `since_ms` (a `free` room, or the anchor accepted).
    Taken {
        seat: u32,
        since_ms: i64,
        mic: bool,
        camera: bool,
    },
    /// Waiting for the anchor (an `apply` room), asked at `asked_ms`.
    Pending { asked_ms: i64 },
}

/// The room's taken seats, and who may hold an RTC token for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatList {
    pub anchor_id: String,
    pub seats: Vec<Seat>,
}

impl SeatList {
    /// The seat `user_id` holds, if any.
    pub fn seat_of(&self, user_id: &str) -> Option<&Seat> {
        self.seats.iter().find(|s| s.user.user_id == user_id)
    }
}
