//! What the service runs on: [`Config`], parsed once at start-up from the raw [`Settings`]
//! (every one an environment variable and the same-named flag of `liveroom serve`, CONTRACT
//! section 9). Parsing is the validation: a setting that does not parse stops start-up with a
//! [`ConfigError`] naming it, and nothing reads a raw setting afterwards. Each component takes
//! its typed part (`config.redis`, `config.edge`, `config.streams`, …).
//!
//! Layer: beside `app`, above the components whose setting types it fills in (`store`, `edge`,
//! `streams`, `webhooks`, …); no component imports it (scripts/check-imports.py).

mod settings;

use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::time::Duration;

pub use self::settings::Settings;
use crate::domain::time::Zone;
use crate::edge::EdgeLimits;
use crate::ratelimit::Limits as RateLimits;
use crate::rtc::RtcConfig;
use crate::store::{EventLogSettings, RedisTarget, Timings};
use crate::streams::{Signing, StreamConfig};
use crate::telemetry::LogFormat;
use crate::webhooks::{MemberEvents, WebhookConfig};

/// The service's settings, parsed.
pub struct Config {
    pub bind: SocketAddr,
    /// Threads that serve requests; `None`: one per core.
    pub worker_threads: Option<NonZeroUsize>,
    pub redis: Redis,
    pub auth: Auth,
    /// Presence windows, retention, the open-room quota and heartbeat batching.
    pub presence: Timings,
    /// How long a replica may keep a hot page of the live list or search (0: no cache); the
    /// page cache's (`src/pages.rs`), above the store.
    pub list_cache_ms: u64,
    /// How often this replica claims and does what is due (the sweeper).
    pub sweep_period: Duration,
    /// How often this replica refreshes the presence its open event streams carry (fanout.rs):
    /// once per heartbeat interval (twice when a single miss lapses a member).
    pub carry_period: Duration,
    /// The listener's timeouts and connection cap.
    pub edge: EdgeLimits,
    /// Publish and playback URLs, their signing, and the media-server hooks' secret.
    pub streams: StreamConfig,
    /// Webhook delivery; `None` when no URL is set.
    pub webhooks: Option<WebhookConfig>,
    pub events: Events,
    pub limits: Limits,
    /// Zone of "YYYY-MM-DD HH:MM:SS" times.
    pub zone: Zone,
    pub log_format: LogFormat,
    /// On SIGTERM, how long to keep serving with `/readyz` answering 503.
    pub shutdown_drain: Duration,
    /// The RTC server and its key, for the co-host seats' tokens; `None` when unset.
    pub rtc: Option<RtcConfig>,
}

pub struct Redis {
    pub target: RedisTarget,
    /// Prefix of every key.
    pub key_prefix: String,
    /// How long one Redis call may take.
    pub timeout: Duration,
}

/// How tokens are verified, by `serve` and signed by `liveroom token`.
pub struct Auth {
    pub key: JwtKey,
    /// Required `iss`, when set.
    pub issuer: Option<String>,
    /// Required `aud`, when set.
    pub audience: Option<String>,
    /// Longest token lifetime accepted; `None`: any.
    pub max_ttl_secs: Option<NonZeroU64>,
    /// Verified tokens kept (0: no cache).
    pub token_cache_max: usize,
}

/// The one key tokens are verified with (a public key wins over a secret, as before).
pub enum JwtKey {
    /// HS256: verifies, and `liveroom token` signs with it.
    Secret(String),
    /// The PEM of an RSA or EC public key (RS256 or ES256): verifies only.
    PublicKey(Vec<u8>),
}

/// The room events: what a room writes for watchers, and the event streams (SSE).
pub struct Events {
    /// Above this many members a room writes no member events for watchers.
    pub member_events_max: u32,
    /// Extends up to this many bytes of JSON ride along in `extends_updated`.
    pub extends_max_bytes: usize,
    pub sse: Sse,
}

/// Event streams (SSE).
pub struct Sse {
    /// Streams one user may hold open, over all replicas (0: no limit).
    pub per_user: u32,
    /// Streams open on this replica (0: no limit).
    pub max_open: usize,
    /// Events a watcher may fall behind before its stream is cut off.
    pub buffer: usize,
    /// Silence after which a stream gets a keep-alive comment.
    pub keep_alive: Duration,
}

/// Rate limits.
pub struct Limits {
    pub rate: RateLimits,
    /// Take the client address from the last X-Forwarded-For entry (behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

/// A setting that does not parse, named.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{setting} must be {expected} (got {got:?})")]
    OneOf {
        setting: &'static str,
        expected: String,
        got: String,
    },
    #[error("{0} must be positive")]
    NotPositive(&'static str),
    #[error("{setting}={value} needs {needs}")]
    Needs {
        setting: &'static str,
        value: String,
        needs: &'static str,
    },
    #[error("{setting}: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
    #[error(
        "no JWT key: set LIVEROOM_JWT_SECRET (HS256) or LIVEROOM_JWT_PUBLIC_KEY_FILE (RS256/ES256 PEM)"
    )]
    NoJwtKey,
}

impl ConfigError {
    /// The setting (environment variable) that does not parse.
    pub fn setting(&self) -> &'static str {
        match self {
            Self::OneOf { setting, .. } | Self::Needs { setting, .. } => setting,
            Self::Invalid { setting, .. } => setting,
            Self::NotPositive(setting) => setting,
            Self::NoJwtKey => "LIVEROOM_JWT_SECRET",
        }
    }
}

/// A setting's closed set of values, by name.
trait Choice: Copy + 'static {
    const CHOICES: &'static [(&'static str, Self)];
}

impl Choice for Signing {
    const CHOICES: &'static [(&'static str, Self)] = &[
        ("none", Self::None),
        ("aliyun-a", Self::AliyunA),
        ("tencent", Self::Tencent),
    ];
}

impl Choice for MemberEvents {
    const CHOICES: &'static [(&'static str, Self)] =
        &[("all", Self::All), ("none", Self::AsWatchers)];
}

impl Choice for LogFormat {
    const CHOICES: &'static [(&'static str, Self)] = &[("text", Self::Text), ("json", Self::Json)];
}

fn choice<T: Choice>(setting: &'static str, raw: &str) -> Result<T, ConfigError> {
    if let Some((_, value)) = T::CHOICES.iter().find(|(name, _)| *name == raw) {
        return Ok(*value);
    }
    let names: Vec<&str> = T::CHOICES.iter().map(|(name, _)| *name).collect();
    let expected = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(ConfigError::OneOf {
        setting,
        expected,
        got: raw.to_owned(),
    })
}

fn positive(setting: &'static str, value: u64) -> Result<NonZeroU64, ConfigError> {
    NonZeroU64::new(value).ok_or(ConfigError::NotPositive(setting))
}

/// The keep-alive of event streams: 1 s to an hour (a comment an hour apart keeps no proxy).
fn keep_alive(secs: u64) -> Result<Duration, ConfigError> {
    const SETTING: &str = "LIVEROOM_SSE_KEEPALIVE_SECS";
    match secs {
        0 => Err(ConfigError::NotPositive(SETTING)),
        1..=3600 => Ok(Duration::from_secs(secs)),
        _ => Err(ConfigError::Invalid {
            setting: SETTING,
            reason: format!("at most 3600 seconds (got {secs})"),
        }),
    }
}

/// A set, non-blank value.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Milliseconds, 0 for none.
fn millis_or_none(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

impl TryFrom<Settings> for Config {
    type Error = ConfigError;

    fn try_from(s: Settings) -> Result<Self, ConfigError> {
        Self::parse(&s)
    }
}

impl Config {
    pub fn parse(s: &Settings) -> Result<Self, ConfigError> {
        let heartbeat_interval_ms =
            positive("LIVEROOM_HEARTBEAT_INTERVAL_MS", s.heartbeat_interval_ms)?.get();
        let heartbeat_misses = positive("LIVEROOM_HEARTBEAT_MISSES", s.heartbeat_misses)?.get();
        Ok(Self {
            bind: s.bind,
            worker_threads: NonZeroUsize::new(s.worker_threads),
            redis: Redis {
                target: redis_target(s)?,
                key_prefix: s.redis_key_prefix.clone(),
                timeout: Duration::from_millis(s.redis_timeout_ms.max(1)),
            },
            auth: Auth::parse(s)?,
            list_cache_ms: s.list_cache_ms,
            presence: Timings {
                member_window_ms: heartbeat_interval_ms.saturating_mul(heartbeat_misses),
                anchor_close_ms: s.anchor_offline_close_ms.max(1),
                ended_retention_ms: s.ended_retention_secs.saturating_mul(1000),
                open_rooms_per_anchor: s.max_open_rooms_per_user,
                heartbeat_batch_max: s.heartbeat_batch_max.max(1),
                seats_per_room: seats_per_room(s.seats_per_room)?,
                seat_request_ms: positive("LIVEROOM_SEAT_REQUEST_SECS", s.seat_request_secs)?
                    .get()
                    .saturating_mul(1000),
                pk_invite_ms: s.pk_invite_secs.max(1).saturating_mul(1000),
            },
            rtc: rtc(s)?,
            // Lapses are due to be announced within 1 s of their window's end (CONTRACT section
            // 6): the default claims what is due every 250 ms at most.
            sweep_period: Duration::from_millis(match s.sweep_interval_ms {
                0 => heartbeat_interval_ms.clamp(50, 250),
                ms => ms,
            }),
            carry_period: Duration::from_millis(if heartbeat_misses >= 2 {
                heartbeat_interval_ms
            } else {
                (heartbeat_interval_ms / 2).max(1)
            }),
            edge: EdgeLimits {
                header_timeout: millis_or_none(s.header_timeout_ms),
                body_timeout: millis_or_none(s.body_timeout_ms),
                idle_timeout: millis_or_none(s.idle_timeout_ms),
                max_connections: s.max_connections,
                max_connections_per_ip: s.max_connections_per_ip,
            },
            streams: streams(s)?,
            webhooks: webhooks(s)?,
            events: Events {
                member_events_max: s.member_events_max,
                extends_max_bytes: s.event_extends_max_bytes,
                sse: Sse {
                    per_user: s.sse_per_user,
                    max_open: s.sse_max,
                    buffer: s.sse_buffer,
                    keep_alive: keep_alive(s.sse_keepalive_secs)?,
                },
            },
            limits: Limits {
                rate: RateLimits {
                    per_user: s.rate_limit_user_per_sec,
                    per_ip: s.rate_limit_ip_per_sec,
                },
                trust_forwarded_for: s.rate_limit_trust_xff,
            },
            zone: Zone::parse(&s.timezone).map_err(|e| ConfigError::Invalid {
                setting: "LIVEROOM_TIMEZONE",
                reason: e.to_string(),
            })?,
            log_format: choice("LIVEROOM_LOG_FORMAT", &s.log_format)?,
            shutdown_drain: Duration::from_millis(s.shutdown_drain_ms),
        })
    }

    /// What the room scripts need to know of events: whether webhooks read the logs (and want
    /// every member event, and for how long), and the watchers' member-event threshold.
    pub fn event_log(&self) -> EventLogSettings {
        let hooks = self.webhooks.as_ref();
        EventLogSettings {
            webhooks: hooks.is_some(),
            member_events_max: self.events.member_events_max,
            webhook_member_events: hooks.is_some_and(|w| w.member_events == MemberEvents::All),
            webhook_max_age_ms: hooks.map_or(EventLogSettings::default().webhook_max_age_ms, |w| {
                w.max_age_ms
            }),
            extends_max_bytes: self.events.extends_max_bytes,
        }
    }
}

impl Auth {
    /// The auth settings alone: `liveroom token` reads these and no other.
    pub fn parse(s: &Settings) -> Result<Self, ConfigError> {
        let key = match (&s.jwt_public_key_file, given(&s.jwt_secret)) {
            (Some(path), _) => {
                JwtKey::PublicKey(std::fs::read(path).map_err(|e| ConfigError::Invalid {
                    setting: "LIVEROOM_JWT_PUBLIC_KEY_FILE",
                    reason: format!("{path}: {e}"),
                })?)
            }
            (None, Some(secret)) => JwtKey::Secret(secret.to_owned()),
            (None, None) => return Err(ConfigError::NoJwtKey),
        };
        Ok(Self {
            key,
            issuer: s.jwt_issuer.clone(),
            audience: s.jwt_audience.clone(),
            max_ttl_secs: NonZeroU64::new(s.jwt_max_ttl_secs),
            token_cache_max: s.token_cache_max,
        })
    }
}

/// The most seats a room may have: each is a field of the room's hash and a step of the scripts
/// that free them all (the room's end), so the count bounds that work.
pub const MAX_SEATS_PER_ROOM: u32 = 64;

fn seats_per_room(n: u32) -> Result<u32, ConfigError> {
    if (1..=MAX_SEATS_PER_ROOM).contains(&n) {
        return Ok(n);
    }
    Err(ConfigError::Invalid {
        setting: "LIVEROOM_SEATS_PER_ROOM",
        reason: format!("must be 1–{MAX_SEATS_PER_ROOM} (got {n})"),
    })
}

/// The RTC settings: all three, or none.
fn rtc(s: &Settings) -> Result<Option<RtcConfig>, ConfigError> {
    let url = given(&s.rtc_url);
    let key = given(&s.rtc_api_key);
    let secret = given(&s.rtc_api_secret);
    match (url, key, secret) {
        (None, None, None) => Ok(None),
        (Some(url), Some(key), Some(secret)) => Ok(Some(RtcConfig {
            url: url.to_owned(),
            api_key: key.to_owned(),
            api_secret: secret.to_owned(),
        })),
        _ => {
            let missing: Vec<&str> = [
                ("LIVEROOM_RTC_URL", url),
                ("LIVEROOM_RTC_API_KEY", key),
                ("LIVEROOM_RTC_API_SECRET", secret),
            ]
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(name, _)| name)
            .collect();
            Err(ConfigError::Invalid {
                setting: "LIVEROOM_RTC_URL",
                reason: format!(
                    "the RTC settings go together (LIVEROOM_RTC_URL, LIVEROOM_RTC_API_KEY, \
                     LIVEROOM_RTC_API_SECRET): set all three or none; missing {}",
                    missing.join(", ")
                ),
            })
        }
    }
}

/// The comma-separated entries of `raw`, trimmed; none when it is unset or blank.
fn list(raw: Option<&str>) -> Option<Vec<String>> {
    let entries: Vec<String> = raw?
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    (!entries.is_empty()).then_some(entries)
}

/// One of the three: a URL, a cluster's seeds, or sentinels with the primary's name. (An
/// explicit LIVEROOM_REDIS_URL beside the sentinels is refused by clap; the default URL is not
/// told apart from an unset one here.)
fn redis_target(s: &Settings) -> Result<RedisTarget, ConfigError> {
    let cluster = list(s.redis_cluster.as_deref());
    let sentinels = list(s.redis_sentinels.as_deref());
    let master = s
        .redis_sentinel_master
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    match (cluster, sentinels, master) {
        (Some(_), Some(_), _) => Err(ConfigError::Invalid {
            setting: "LIVEROOM_REDIS_SENTINELS",
            reason: "set LIVEROOM_REDIS_URL, LIVEROOM_REDIS_CLUSTER or LIVEROOM_REDIS_SENTINELS, \
                     not two of them"
                .into(),
        }),
        (None, Some(sentinels), Some(master)) => Ok(RedisTarget::Sentinel {
            sentinels: sentinels
                .into_iter()
                .map(|a| {
                    if a.contains("://") {
                        a
                    } else {
                        format!("redis://{a}")
                    }
                })
                .collect(),
            master: master.to_owned(),
        }),
        (None, Some(sentinels), None) => Err(ConfigError::Needs {
            setting: "LIVEROOM_REDIS_SENTINELS",
            value: sentinels.join(","),
            needs: "LIVEROOM_REDIS_SENTINEL_MASTER (the name the sentinels monitor)",
        }),
        (_, None, Some(master)) => Err(ConfigError::Needs {
            setting: "LIVEROOM_REDIS_SENTINEL_MASTER",
            value: master.to_owned(),
            needs: "LIVEROOM_REDIS_SENTINELS (the sentinels' addresses)",
        }),
        (Some(seeds), None, None) => Ok(RedisTarget::Cluster(seeds)),
        (None, None, None) => Ok(RedisTarget::Single(s.redis_url.clone())),
    }
}

fn streams(s: &Settings) -> Result<StreamConfig, ConfigError> {
    let signing = choice("LIVEROOM_URL_SIGNING", s.url_signing.trim())?;
    let publish_key = given(&s.publish_key).unwrap_or_default().to_owned();
    if signing != Signing::None && publish_key.is_empty() {
        return Err(ConfigError::Needs {
            setting: "LIVEROOM_URL_SIGNING",
            value: s.url_signing.trim().to_owned(),
            needs: "LIVEROOM_PUBLISH_KEY",
        });
    }
    Ok(StreamConfig {
        publish_base: s.publish_base.clone(),
        play_rtmp_base: s.play_rtmp_base.clone(),
        play_http_base: s.play_http_base.clone(),
        signing,
        publish_key,
        play_key: given(&s.play_key).unwrap_or_default().to_owned(),
        play_url_ttl_secs: positive("LIVEROOM_PLAY_URL_TTL_SECS", s.play_url_ttl_secs)?.get(),
        hook_secret: given(&s.hook_secret).map(str::to_owned),
    })
}

/// The largest webhook batch: a POST of 10 000 events of about 300 bytes is 3 MB, as much as a
/// receiver should be asked to take at once.
const WEBHOOK_BATCH_LIMIT: u64 = 10_000;

/// Webhook delivery, when a URL is set (a secret is then required). Its other settings are
/// checked with or without a URL, so that a bad one stops start-up either way.
fn webhooks(s: &Settings) -> Result<Option<WebhookConfig>, ConfigError> {
    let member_events = choice(
        "LIVEROOM_WEBHOOK_MEMBER_EVENTS",
        s.webhook_member_events.trim(),
    )?;
    let max_age_secs = positive("LIVEROOM_WEBHOOK_MAX_AGE_SECS", s.webhook_max_age_secs)?;
    let batch_max = positive("LIVEROOM_WEBHOOK_BATCH_MAX", s.webhook_batch_max)?;
    if batch_max.get() > WEBHOOK_BATCH_LIMIT {
        return Err(ConfigError::Invalid {
            setting: "LIVEROOM_WEBHOOK_BATCH_MAX",
            reason: format!("at most {WEBHOOK_BATCH_LIMIT}, not {batch_max}"),
        });
    }
    let raw = match s.webhook_url.as_deref().map(str::trim) {
        None | Some("") => return Ok(None),
        Some(raw) => raw,
    };
    let url = match url::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        _ => {
            return Err(ConfigError::Invalid {
                setting: "LIVEROOM_WEBHOOK_URL",
                reason: format!("not an http(s) URL: {raw}"),
            });
        }
    };
    let secret = given(&s.webhook_secret).ok_or_else(|| ConfigError::Needs {
        setting: "LIVEROOM_WEBHOOK_URL",
        value: raw.to_owned(),
        needs: "LIVEROOM_WEBHOOK_SECRET (the signing key)",
    })?;
    Ok(Some(WebhookConfig {
        url,
        secret: secret.to_owned(),
        member_events,
        max_age_ms: max_age_secs.get().saturating_mul(1000),
        batch_max: batch_max.get() as usize,
    }))
}

#[cfg(test)]
mod tests;
