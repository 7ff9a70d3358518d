use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, TimeZone};

use super::Invalid;

/// The years a request time may be in (CONTRACT section 8).
pub const MIN_YEAR: i32 = 2000;
pub const MAX_YEAR: i32 = 2100;

/// The zone of `"YYYY-MM-DD HH:MM:SS"` times (`LIVEROOM_TIMEZONE`): a fixed offset such as
/// `+08:00`, or `UTC`/`Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(FixedOffset);

impl Zone {
    /// `UTC`/`Z`, or an offset as chrono reads one (`+08:00`, `+0800`, `-05:30`; hours below
    /// 24, minutes below 60).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("utc") || raw == "Z" {
            return Ok(Self(
                FixedOffset::east_opt(0).ok_or_else(|| Invalid::new("utc"))?,
            ));
        }
        raw.parse::<FixedOffset>().map(Self).map_err(|_| {
            Invalid::new(format!(
                "timezone must be an offset such as +08:00 (got {raw:?})"
            ))
        })
    }

    /// Unix seconds of a request time: `"YYYY-MM-DD HH:MM:SS"` in this zone, or RFC 3339, in
    /// the years 2000–2100 (a year 0 or 9999 is a client's bug, not a plan).
    pub fn parse_time(&self, field: &str, raw: &str) -> Result<i64, Invalid> {
        let raw = raw.trim();
        let t = match NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S") {
            Ok(t) => self
                .0
                .from_local_datetime(&t)
                .single()
                .ok_or_else(|| Invalid::new(format!("{field} is not a valid time")))?,
            Err(_) => DateTime::parse_from_rfc3339(raw).map_err(|_| {
                Invalid::new(format!(
                    "{field} must be \"YYYY-MM-DD HH:MM:SS\" or RFC 3339 (got {raw:?})"
                ))
            })?,
        };
        if !(MIN_YEAR..=MAX_YEAR).contains(&t.year()) {
            return Err(Invalid::new(format!(
                "{field} must be in the years {MIN_YEAR} to {MAX_YEAR} (got {raw:?})"
            )));
        }
        Ok(t.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_in_the_configured_zone() {
        let zone = Zone::parse("+08:00").unwrap();
        assert_eq!(
            zone.parse_time("start_at", "2021-12-02 11:11:11").unwrap(),
            1638414671
        );
        assert_eq!(
            zone.parse_time("start_at", "2021-12-02T03:11:11Z").unwrap(),
            1638414671
        );
        assert!(zone.parse_time("start_at", "2021-13-02 11:11:11").is_err());
        let utc = Zone::parse("UTC").unwrap();
        assert_eq!(
            utc.parse_time("x", "2000-01-01 00:00:10").unwrap(),
            946_684_810
        );
        assert!(utc.parse_time("x", "1970-01-01 00:00:10").is_err());
        assert!(utc.parse_time("x", "0000-01-01 00:00:00").is_err());
        assert!(utc.parse_time("x", "2101-01-01T00:00:00Z").is_err());
        assert!(utc.parse_time("x", "2100-12-31 23:59:59").is_ok());
        assert!(Zone::parse("Asia/Shanghai").is_err());
    }

    #[test]
    fn zones_are_utc_or_fixed_offsets() {
        let offset = |raw| Zone::parse(raw).map(|z| z.0.local_minus_utc());
        assert_eq!(offset("+08:00"), Ok(8 * 3600));
        assert_eq!(offset(" +0800 "), Ok(8 * 3600));
        assert_eq!(offset("-05:30"), Ok(-(5 * 3600 + 30 * 60)));
        assert_eq!(offset("UTC"), Ok(0));
        assert_eq!(offset("utc"), Ok(0));
        assert_eq!(offset("Z"), Ok(0));
        for bad in [
            "",
            "08:00",
            "+24:00",
            "+08:60",
            "+8",
            "CST",
            "Asia/Shanghai",
        ] {
            assert!(Zone::parse(bad).is_err(), "{bad:?}");
        }
    }
}
