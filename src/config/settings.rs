//! The raw settings, as clap reads them: every one an environment variable and the same-named
//! flag of `liveroom serve` (CONTRACT section 9). Nothing reads them but `Config`'s parser
//! (config/mod.rs). Secrets are never logged.

use std::net::SocketAddr;

use clap::{Args, Parser};

/// Verified tokens cached by default: a replica's concurrent viewers, each token one entry of a
/// few hundred bytes.
const TOKEN_CACHE_MAX: usize = 50_000;

#[derive(Args, Clone)]
pub struct Settings {
    /// Listen address.
    #[arg(long, env = "LIVEROOM_BIND", default_value = "0.0.0.0:8080")]
    pub bind: SocketAddr,

    /// Threads that serve requests (0: one per core). Where Redis shares the machine's cores,
    /// fewer than the cores leaves it one: a request then costs less CPU (bench/README.md).
    #[arg(long, env = "LIVEROOM_WORKER_THREADS", default_value_t = 0)]
    pub worker_threads: usize,

    /// One Redis.
    #[arg(
        long,
        env = "LIVEROOM_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,

    /// Redis Cluster seed URLs, comma-separated (instead of LIVEROOM_REDIS_URL).
    #[arg(long, env = "LIVEROOM_REDIS_CLUSTER")]
    pub redis_cluster: Option<String>,

    /// Redis Sentinel addresses (host:port or redis://host:port), comma-separated: a primary
    /// that Sentinel watches, followed across failovers (instead of LIVEROOM_REDIS_URL or
    /// LIVEROOM_REDIS_CLUSTER; needs LIVEROOM_REDIS_SENTINEL_MASTER).
    #[arg(long, env = "LIVEROOM_REDIS_SENTINELS", conflicts_with_all = ["redis_url", "redis_cluster"])]
    pub redis_sentinels: Option<String>,

    /// The name of the primary the sentinels watch (their `sentinel monitor NAME …`).
    #[arg(long, env = "LIVEROOM_REDIS_SENTINEL_MASTER")]
    pub redis_sentinel_master: Option<String>,

    /// Prefix of every Redis key, so that several deployments (or tests) can share one Redis.
    #[arg(long, env = "LIVEROOM_REDIS_KEY_PREFIX", default_value = "lr:")]
    pub redis_key_prefix: String,

    /// How long one Redis call may take before the request answers 503.
    #[arg(long, env = "LIVEROOM_REDIS_TIMEOUT_MS", default_value_t = 1500)]
    pub redis_timeout_ms: u64,

    /// HS256 secret.
    #[arg(long, env = "LIVEROOM_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// PEM public key (RS256 or ES256) instead of the secret.
    #[arg(long, env = "LIVEROOM_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<String>,

    /// Required `iss` claim, when set.
    #[arg(long, env = "LIVEROOM_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Required `aud` claim, when set.
    #[arg(long, env = "LIVEROOM_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// A member must heartbeat this often.
    #[arg(long, env = "LIVEROOM_HEARTBEAT_INTERVAL_MS", default_value_t = 5000)]
    pub heartbeat_interval_ms: u64,

    /// Intervals without a heartbeat after which a member is gone.
    #[arg(long, env = "LIVEROOM_HEARTBEAT_MISSES", default_value_t = 3)]
    pub heartbeat_misses: u64,

    /// A live room closes once its anchor has been silent this long.
    #[arg(
        long,
        env = "LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS",
        default_value_t = 600_000
    )]
    pub anchor_offline_close_ms: u64,

    /// Ended rooms are removed this long after they end (0: kept until deleted).
    #[arg(long, env = "LIVEROOM_ENDED_RETENTION_SECS", default_value_t = 0)]
    pub ended_retention_secs: u64,

    /// Rooms not ended one anchor may have at once (0: no limit).
    #[arg(long, env = "LIVEROOM_MAX_OPEN_ROOMS_PER_USER", default_value_t = 10)]
    pub max_open_rooms_per_user: u32,

    /// How often this replica claims and does what is due (lapses, releases, offline closes,
    /// retention); 0: every heartbeat interval, at most 250 ms apart.
    #[arg(long, env = "LIVEROOM_SWEEP_INTERVAL_MS", default_value_t = 0)]
    pub sweep_interval_ms: u64,

    /// How long a replica may answer a hot page of the live list or search from its own cache
    /// (CONTRACT section 7: its own changes show at once, other replicas' within this); 0: off.
    #[arg(long, env = "LIVEROOM_LIST_CACHE_MS", default_value_t = 1000)]
    pub list_cache_ms: u64,

    /// Heartbeats that reach this replica at the same moment share one script call, up to this
    /// many (one node's: any rooms on a single Redis, one room on a cluster); 1: every
    /// heartbeat its own call. Each still takes one round trip and gets its own exact answer.
    #[arg(long, env = "LIVEROOM_HEARTBEAT_BATCH_MAX", default_value_t = 64)]
    pub heartbeat_batch_max: usize,

    /// An unanswered cross-room PK invitation expires after this many seconds (`pk_ended`,
    /// `reason: expired`, by the shared sweep).
    #[arg(long, env = "LIVEROOM_PK_INVITE_SECS", default_value_t = 30)]
    pub pk_invite_secs: u64,

    /// Requests a second one user may make (0: no limit).
    #[arg(long, env = "LIVEROOM_RATE_LIMIT_USER_PER_SEC", default_value_t = 50)]
    pub rate_limit_user_per_sec: u32,

    /// Requests a second one client address may make (0: no limit).
    #[arg(long, env = "LIVEROOM_RATE_LIMIT_IP_PER_SEC", default_value_t = 1000)]
    pub rate_limit_ip_per_sec: u32,

    /// Take the client address from the last X-Forwarded-For entry (behind a trusted proxy).
    #[arg(long, env = "LIVEROOM_RATE_LIMIT_TRUST_XFF", default_value_t = false)]
    pub rate_limit_trust_xff: bool,

    /// Verified tokens kept so that heartbeats skip JWT decoding (0: no cache). An entry is the
    /// token's SHA-256 and its profile, kept until the token's `exp` (plus the clock leeway).
    #[arg(long, env = "LIVEROOM_TOKEN_CACHE_MAX", default_value_t = TOKEN_CACHE_MAX)]
    pub token_cache_max: usize,

    /// Where room events are POSTed (unset: no webhooks).
    #[arg(long, env = "LIVEROOM_WEBHOOK_URL")]
    pub webhook_url: Option<String>,

    /// The HMAC-SHA256 key of the webhooks' `X-Liveroom-Signature`.
    #[arg(long, env = "LIVEROOM_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// On SIGTERM, how long to keep serving with `/readyz` answering 503 before closing the
    /// listener, so that load balancers polling readiness stop sending first.
    #[arg(long, env = "LIVEROOM_SHUTDOWN_DRAIN_MS", default_value_t = 0)]
    pub shutdown_drain_ms: u64,

    /// Zone of "YYYY-MM-DD HH:MM:SS" times: an offset such as +08:00, or UTC.
    #[arg(long, env = "LIVEROOM_TIMEZONE", default_value = "+08:00")]
    pub timezone: String,

    /// `text` or `json`.
    #[arg(long, env = "LIVEROOM_LOG_FORMAT", default_value = "text")]
    pub log_format: String,

    /// push_url = {base}/{live_id}
    #[arg(
        long,
        env = "LIVEROOM_PUBLISH_BASE",
        default_value = "rtmp://127.0.0.1:1935/live"
    )]
    pub publish_base: String,

    /// rtmp_url = {base}/{live_id}
    #[arg(
        long,
        env = "LIVEROOM_PLAY_RTMP_BASE",
        default_value = "rtmp://127.0.0.1:1935/live"
    )]
    pub play_rtmp_base: String,

    /// flv_url = {base}/{live_id}.flv, hls_url = {base}/{live_id}.m3u8
    #[arg(
        long,
        env = "LIVEROOM_PLAY_HTTP_BASE",
        default_value = "http://127.0.0.1:8080/live"
    )]
    pub play_http_base: String,

    /// URL signing: `none`, `aliyun-a` (Alibaba Cloud type A, `?auth_key=`) or `tencent`
    /// (`?txSecret=&txTime=`).
    #[arg(long, env = "LIVEROOM_URL_SIGNING", default_value = "none")]
    pub url_signing: String,

    /// Key that signs push URLs (required when URLs are signed).
    #[arg(long, env = "LIVEROOM_PUBLISH_KEY", hide_env_values = true)]
    pub publish_key: Option<String>,

    /// Key that signs playback URLs (unset: playback URLs are plain).
    #[arg(long, env = "LIVEROOM_PLAY_KEY", hide_env_values = true)]
    pub play_key: Option<String>,

    /// Lifetime of a signed playback URL, from the read that issued it.
    #[arg(long, env = "LIVEROOM_PLAY_URL_TTL_SECS", default_value_t = 3600)]
    pub play_url_ttl_secs: u64,

    /// A connection's request head must arrive within this (the first from the connection
    /// opening, later ones from their first byte); 0: no limit.
    #[arg(long, env = "LIVEROOM_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,

    /// A request body must arrive within this of its head; 0: no limit.
    #[arg(long, env = "LIVEROOM_BODY_TIMEOUT_MS", default_value_t = 30_000)]
    pub body_timeout_ms: u64,

    /// A connection with no request for this long after its last answer is closed (event
    /// streams are answers still being sent, never idle); 0: no limit.
    #[arg(long, env = "LIVEROOM_IDLE_TIMEOUT_MS", default_value_t = 60_000)]
    pub idle_timeout_ms: u64,

    /// Open connections per replica; past it new ones are refused (0: no limit).
    #[arg(long, env = "LIVEROOM_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Open connections per client address; past it new ones are refused with 429 (0: no limit).
    /// Off by default: behind a proxy or a NAT every client shares one address.
    #[arg(long, env = "LIVEROOM_MAX_CONNECTIONS_PER_IP", default_value_t = 0)]
    pub max_connections_per_ip: usize,

    /// Longest token lifetime accepted, `exp` - `iat` (or - now without `iat`); 0: no limit.
    #[arg(long, env = "LIVEROOM_JWT_MAX_TTL_SECS", default_value_t = 604_800)]
    pub jwt_max_ttl_secs: u64,

    /// Shared secret of the media-server hooks (`/hooks/...?secret=`); unset: they answer 403.
    #[arg(long, env = "LIVEROOM_HOOK_SECRET", hide_env_values = true)]
    pub hook_secret: Option<String>,

    /// Event streams (SSE) one user may hold open at once, over all replicas (0: no limit).
    #[arg(long, env = "LIVEROOM_SSE_PER_USER", default_value_t = 4)]
    pub sse_per_user: u32,

    /// Event streams (SSE) open on this replica at once (0: no limit).
    #[arg(long, env = "LIVEROOM_SSE_MAX", default_value_t = 20_000)]
    pub sse_max: usize,

    /// Seconds of silence after which an open event stream gets a comment line (`:`), so that
    /// proxies in between keep it; under their idle timeouts (nginx, AWS ALB: 60 s). A stream
    /// that carried an event meanwhile gets none.
    #[arg(long, env = "LIVEROOM_SSE_KEEPALIVE_SECS", default_value_t = 45)]
    pub sse_keepalive_secs: u64,

    /// Events a watcher may fall behind its room's reader before its stream is cut off
    /// (`stream_ended`, `lagged`; it resumes with Last-Event-ID).
    #[arg(long, env = "LIVEROOM_SSE_BUFFER", default_value_t = 1024)]
    pub sse_buffer: usize,

    /// Extends up to this many bytes of JSON ride along in extends_updated; larger ones are
    /// announced with their size (`extends_bytes`) for watchers to read info (0: never).
    #[arg(long, env = "LIVEROOM_EVENT_EXTENDS_MAX_BYTES", default_value_t = 1024)]
    pub event_extends_max_bytes: usize,

    /// Above this many members a room writes no member_joined / member_left for watchers;
    /// online_count carries the crowd.
    #[arg(long, env = "LIVEROOM_MEMBER_EVENTS_MAX", default_value_t = 500)]
    pub member_events_max: u32,

    /// `all`: webhooks still get every member_joined / member_left of rooms above
    /// LIVEROOM_MEMBER_EVENTS_MAX; `none` (the default): they get what watchers get.
    #[arg(long, env = "LIVEROOM_WEBHOOK_MEMBER_EVENTS", default_value = "none")]
    pub webhook_member_events: String,

    /// Webhook events older than this are dropped undelivered (logged and counted).
    #[arg(long, env = "LIVEROOM_WEBHOOK_MAX_AGE_SECS", default_value_t = 86_400)]
    pub webhook_max_age_secs: u64,

    /// Co-host seats per room, numbered from 1 (1–64; a room keeps the count it was created
    /// with).
    #[arg(long, env = "LIVEROOM_SEATS_PER_ROOM", default_value_t = 8)]
    pub seats_per_room: u32,

    /// A seat request of an `apply` room lapses when the anchor has not answered it this long.
    #[arg(long, env = "LIVEROOM_SEAT_REQUEST_SECS", default_value_t = 60)]
    pub seat_request_secs: u64,

    /// The RTC server (LiveKit) clients connect to with the tokens this service mints; set
    /// with LIVEROOM_RTC_API_KEY and LIVEROOM_RTC_API_SECRET, or none of them.
    #[arg(long, env = "LIVEROOM_RTC_URL")]
    pub rtc_url: Option<String>,

    /// The RTC API key (the tokens' `iss`).
    #[arg(long, env = "LIVEROOM_RTC_API_KEY")]
    pub rtc_api_key: Option<String>,

    /// The RTC API secret the tokens are signed with (HS256).
    #[arg(long, env = "LIVEROOM_RTC_API_SECRET", hide_env_values = true)]
    pub rtc_api_secret: Option<String>,

    /// Webhook events a POST may carry: 1 is one event a POST (its JSON as the body); above 1 a
    /// POST carries `{"events": [...]}` with up to this many, in order per room.
    #[arg(long, env = "LIVEROOM_WEBHOOK_BATCH_MAX", default_value_t = 1)]
    pub webhook_batch_max: u64,
}

impl Settings {
    /// Every setting at its default, the environment ignored (for the spec and for tests).
    pub fn defaults() -> Self {
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            settings: Settings,
        }
        // Parsed from no arguments, ignoring the environment: clap's defaults are the one source.
        let mut cmd = <Defaults as clap::CommandFactory>::command();
        cmd = cmd.mut_args(|a| a.env(None::<&str>));
        let matches = cmd.get_matches_from(["liveroom"]);
        <Defaults as clap::FromArgMatches>::from_arg_matches(&matches)
            .map(|d| d.settings)
            .unwrap_or_else(|e| e.exit())
    }
}
