//! Prometheus text for `/metrics`: requests by route and code, latency by route, Redis calls,
//! errors and round-trip latency, and the room and member gauges.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histograms' buckets.
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A latency histogram that many threads add to.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.buckets.iter()) {
            cumulative += n.load(Ordering::Relaxed);
            out.push_str(&format!(
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}\n"
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        out.push_str(&format!(
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}\n"
        ));
        out.push_str(&format!(
            "{name}_sum{braces} {sum}\n{name}_count{braces} {count}\n"
        ));
    }
}

/// Room and member gauges, as the store reads them. (Metrics is a leaf: the store records into
/// its types, the HTTP layer renders them; metrics imports neither.)
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Gauges {
    pub live: u64,
    pub members_online: u64,
}

/// Heartbeats sent together (store/heartbeats.rs): the shared calls and the beats they carried.
#[derive(Default)]
pub struct BatchSizes {
    calls: AtomicU64,
    beats: AtomicU64,
}

impl BatchSizes {
    pub fn record(&self, beats: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.beats.fetch_add(beats as u64, Ordering::Relaxed);
    }
}

/// Redis calls as the store makes them.
#[derive(Default)]
pub struct RedisStats {
    /// Heartbeats that shared a call (more than one a call).
    pub heartbeat_batches: BatchSizes,
    pub latency: Histogram,
    pub errors: AtomicU64,
    /// Calls of a request not sent: its Redis time was spent (`store::one_redis_timeout`).
    pub unsent: AtomicU64,
    /// Webhook events dropped undelivered (older than LIVEROOM_WEBHOOK_MAX_AGE_SECS).
    pub webhook_dropped: AtomicU64,
    /// Webhook events delivered, and the time from the write to the receiver's 2xx.
    pub webhook_latency: Histogram,
    /// When this replica's sweep last finished a tick without a Redis error (Unix ms; 0: never),
    /// so that an alert sees a sweep that stopped keeping up.
    pub sweep_ok_unix_ms: AtomicU64,
    /// Webhook POSTs accepted by the receiver (a batch is one).
    pub webhook_posts: AtomicU64,
    /// The webhook backlog (webhooks.rs): events this replica has read and the receiver has not
    /// accepted yet; rooms with events waiting on all replicas, and the oldest one's mark (unix
    /// ms), as the delivery walk last read them.
    pub webhook_backlog_events: AtomicU64,
    pub webhook_backlog_rooms: AtomicU64,
    pub webhook_backlog_oldest_ms: AtomicU64,
}

impl RedisStats {
    /// The webhook lines of /metrics.
    pub fn render_webhooks(&self) -> String {
        let mut out = format!(
            "# HELP liveroom_webhook_dropped_total Webhook events dropped undelivered: older than LIVEROOM_WEBHOOK_MAX_AGE_SECS.\n\
             # TYPE liveroom_webhook_dropped_total counter\nliveroom_webhook_dropped_total {}\n\
             # HELP liveroom_webhook_delivery_seconds Time from an event's write to its receiver's 2xx.\n\
             # TYPE liveroom_webhook_delivery_seconds histogram\n",
            self.webhook_dropped.load(Ordering::Relaxed)
        );
        self.webhook_latency
            .render(&mut out, "liveroom_webhook_delivery_seconds", "");
        let oldest = self.webhook_backlog_oldest_ms.load(Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let age = if oldest == 0 {
            0.0
        } else {
            now.saturating_sub(oldest) as f64 / 1000.0
        };
        out.push_str(&format!(
            "# HELP liveroom_webhook_posts_total Webhook POSTs the receiver accepted (a batch is one).\n\
             # TYPE liveroom_webhook_posts_total counter\nliveroom_webhook_posts_total {}\n\
             # HELP liveroom_webhook_backlog_events Webhook events this replica has read for delivery and the receiver has not accepted yet.\n\
             # TYPE liveroom_webhook_backlog_events gauge\nliveroom_webhook_backlog_events {}\n\
             # HELP liveroom_webhook_backlog_rooms Rooms with webhook events waiting, over all replicas.\n\
             # TYPE liveroom_webhook_backlog_rooms gauge\nliveroom_webhook_backlog_rooms {}\n\
             # HELP liveroom_webhook_backlog_oldest_seconds Age of the oldest room's waiting webhook events (0: none waiting).\n\
             # TYPE liveroom_webhook_backlog_oldest_seconds gauge\nliveroom_webhook_backlog_oldest_seconds {age:.3}\n",
            self.webhook_posts.load(Ordering::Relaxed),
            self.webhook_backlog_events.load(Ordering::Relaxed),
            self.webhook_backlog_rooms.load(Ordering::Relaxed),
        ));
        out
    }
}

/// A request's labels: method and route (as their places in `METHODS` and the route table, so
/// that the per-request lookup compares integers, not strings), HTTP status, contract code. Each
/// is one of a fixed set (methods and routes the service does not know are `other`), so that no
/// client can grow `/metrics`.
type RequestLabels = (u8, u16, u16, i32);

/// One lock for both maps: a request takes it once.
#[derive(Default)]
struct RequestStats {
    requests: BTreeMap<RequestLabels, u64>,
    latency: BTreeMap<(u8, u16), Histogram>,
}

#[derive(Default)]
pub struct Metrics {
    routes: Routes,
    stats: Mutex<RequestStats>,
    /// Connections open on the edge, and its cap (`LIVEROOM_MAX_CONNECTIONS`; 0: none), so that
    /// an alert sees the cap coming before clients are refused.
    connections_open: AtomicU64,
    connections_max: AtomicU64,
}

/// No route has more segments than this; a longer path is `other`.
const MAX_SEGMENTS: usize = 8;

/// The routes of the service, as templates (`/client/live/room/info/{live_id}`): the labels of
/// the request metrics, so that they stay few. The HTTP layer makes the table from its API
/// (http/routes.rs); metrics knows no route of its own.
#[derive(Debug, Default, Clone)]
pub struct Routes {
    /// Each template and its segments, ordered so that the first match is the router's: among
    /// templates of as many segments, a static segment before a `{param}`, left to right.
    templates: Vec<(String, Vec<String>)>,
    /// Templates that take every path below them too (`/docs`: its assets).
    nested: Vec<String>,
}

impl Routes {
    /// `exact` templates match paths of as many segments, a `{param}` segment any one;
    /// `nested` ones match themselves and every path below them.
    pub fn new(
        exact: impl IntoIterator<Item = String>,
        nested: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut templates: Vec<(String, Vec<String>)> = exact
            .into_iter()
            .map(|t| {
                let segments = t.split('/').map(str::to_owned).collect();
                (t, segments)
            })
            .collect();
        // static before `{param}`, segment by segment (a `{` sorts after every path character)
        let rank = |segments: &[String]| -> Vec<bool> {
            segments.iter().map(|s| s.starts_with('{')).collect()
        };
        templates.sort_by(|a, b| rank(&a.1).cmp(&rank(&b.1)).then_with(|| a.0.cmp(&b.0)));
        templates.dedup_by(|a, b| a.0 == b.0);
        let mut nested: Vec<String> = nested.into_iter().collect();
        nested.sort();
        nested.dedup();
        Self { templates, nested }
    }

    /// Every label but `other`.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.templates
            .iter()
            .map(|(t, _)| t.as_str())
            .chain(self.nested.iter().map(String::as_str))
    }

    /// The route a path belongs to, with ids replaced, so that labels stay few.
    pub fn route_of(&self, path: &str) -> &str {
        self.label(self.index(path))
    }

    /// The label of a place in the table, `other` past its end.
    fn label(&self, i: u16) -> &str {
        self.labels().nth(usize::from(i)).unwrap_or("other")
    }

    /// The place in the table of the route `path` belongs to, past its end for none. The path is
    /// split once, with no allocation: this runs on every request.
    fn index(&self, path: &str) -> u16 {
        let place = |i: usize| u16::try_from(i).unwrap_or(u16::MAX);
        let trimmed = path.trim_end_matches('/');
        if let Some(i) = self.nested.iter().position(|n| {
            trimmed == n
                || path
                    .strip_prefix(n.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        }) {
            return place(self.templates.len() + i);
        }
        let mut segments = [""; MAX_SEGMENTS];
        let mut n = 0;
        for segment in trimmed.split('/') {
            if n == MAX_SEGMENTS {
                return place(self.templates.len() + self.nested.len());
            }
            segments[n] = segment;
            n += 1;
        }
        let segments = &segments[..n];
        let found = self.templates.iter().position(|(_, route)| {
            route.len() == n
                && route
                    .iter()
                    .zip(segments)
                    .all(|(p, s)| p.starts_with('{') || p == s)
        });
        place(found.unwrap_or(self.templates.len() + self.nested.len()))
    }
}

/// `names[i]`, or "other" past its end.
fn label(names: &[&'static str], i: u8) -> &'static str {
    names.get(usize::from(i)).copied().unwrap_or("other")
}

/// The methods HTTP defines; any other is "other" (so that labels stay few, and a request costs
/// no allocation for its labels).
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

fn method_index(method: &str) -> u8 {
    METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len()) as u8
}

impl Metrics {
    /// Metrics labelling requests by the routes of `routes`.
    pub fn new(routes: Routes) -> Self {
        Self {
            routes,
            stats: Mutex::default(),
            connections_open: AtomicU64::new(0),
            connections_max: AtomicU64::new(0),
        }
    }

    /// The edge's cap of open connections (0: none).
    pub fn set_connection_cap(&self, cap: usize) {
        self.connections_max.store(cap as u64, Ordering::Relaxed);
    }

    /// A connection was accepted (`true`) or closed (`false`).
    pub fn connection(&self, opened: bool) {
        if opened {
            self.connections_open.fetch_add(1, Ordering::Relaxed);
        } else {
            self.connections_open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub fn observe(&self, method: &str, path: &str, status: u16, code: i32, took: Duration) {
        let route = self.routes.index(path);
        let method = method_index(method);
        if let Ok(mut stats) = self.stats.lock() {
            *stats
                .requests
                .entry((method, route, status, code))
                .or_default() += 1;
            stats
                .latency
                .entry((method, route))
                .or_default()
                .observe(took);
        }
    }

    pub fn render(&self, redis: &RedisStats, gauges: Option<Gauges>) -> String {
        let mut out = String::from(
            "# HELP liveroom_requests_total Requests answered, by route, HTTP status and contract code.\n\
             # TYPE liveroom_requests_total counter\n",
        );
        // a poisoned lock (a panic while counting) renders no request lines, not no metrics
        let stats = self.stats.lock().ok();
        let stats = stats.as_deref();
        for (&(method, route, status, code), n) in stats.into_iter().flat_map(|s| &s.requests) {
            let (method, route) = (label(&METHODS, method), self.routes.label(route));
            out.push_str(&format!(
                "liveroom_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\",code=\"{code}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP liveroom_request_duration_seconds Time to answer a request, by route.\n\
             # TYPE liveroom_request_duration_seconds histogram\n",
        );
        for (&(method, route), h) in stats.into_iter().flat_map(|s| &s.latency) {
            let (method, route) = (label(&METHODS, method), self.routes.label(route));
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            h.render(&mut out, "liveroom_request_duration_seconds", &labels);
        }
        out.push_str(
            "# HELP liveroom_redis_call_duration_seconds Round trip of one Redis call (script or command).\n\
             # TYPE liveroom_redis_call_duration_seconds histogram\n",
        );
        redis
            .latency
            .render(&mut out, "liveroom_redis_call_duration_seconds", "");
        out.push_str(&format!(
            "# HELP liveroom_redis_errors_total Redis calls that failed (unreachable, timed out, refused).\n\
             # TYPE liveroom_redis_errors_total counter\nliveroom_redis_errors_total {}\n",
            redis.errors.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP liveroom_redis_unsent_total Calls of a request not sent to Redis: the request's time for Redis (LIVEROOM_REDIS_TIMEOUT_MS) was spent.\n\
             # TYPE liveroom_redis_unsent_total counter\nliveroom_redis_unsent_total {}\n",
            redis.unsent.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP liveroom_heartbeat_batch_calls_total Script calls that carried more than one heartbeat (LIVEROOM_HEARTBEAT_BATCH_MAX).\n\
             # TYPE liveroom_heartbeat_batch_calls_total counter\nliveroom_heartbeat_batch_calls_total {}\n\
             # HELP liveroom_heartbeat_batched_total Heartbeats those calls carried.\n\
             # TYPE liveroom_heartbeat_batched_total counter\nliveroom_heartbeat_batched_total {}\n",
            redis.heartbeat_batches.calls.load(Ordering::Relaxed),
            redis.heartbeat_batches.beats.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP liveroom_sweep_last_success_timestamp_seconds When this replica's sweep last finished a tick without a Redis error (0: not yet).\n\
             # TYPE liveroom_sweep_last_success_timestamp_seconds gauge\nliveroom_sweep_last_success_timestamp_seconds {}\n\
             # HELP liveroom_connections_open Connections open on this replica, event streams included.\n\
             # TYPE liveroom_connections_open gauge\nliveroom_connections_open {}\n\
             # HELP liveroom_connections_max The cap of open connections (LIVEROOM_MAX_CONNECTIONS; 0: none).\n\
             # TYPE liveroom_connections_max gauge\nliveroom_connections_max {}\n\
             # HELP liveroom_redis_up Whether Redis answered this scrape's read of the gauges (1) or not (0).\n\
             # TYPE liveroom_redis_up gauge\nliveroom_redis_up {}\n",
            redis.sweep_ok_unix_ms.load(Ordering::Relaxed) as f64 / 1e3,
            self.connections_open.load(Ordering::Relaxed),
            self.connections_max.load(Ordering::Relaxed),
            u8::from(gauges.is_some()),
        ));
        if let Some(g) = gauges {
            out.push_str(&format!(
                "# HELP liveroom_rooms_live Rooms live now.\n# TYPE liveroom_rooms_live gauge\nliveroom_rooms_live {}\n\
                 # HELP liveroom_members_online Members in rooms, as the sweepers last counted them.\n\
                 # TYPE liveroom_members_online gauge\nliveroom_members_online {}\n",
                g.live, g.members_online
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        let exact = [
            "/client/live/room/{live_id}",
            "/client/live/room/extends",
            "/client/live/room",
            "/client/live/room/info/{live_id}",
            "/client/live/room/user/{live_id}",
            "/client/live/room/ban/{live_id}/{user_id}",
            "/server/live/room/{live_id}/stats",
            "/server/live/room/{live_id}",
        ];
        Routes::new(exact.map(String::from), ["/docs".to_owned()])
    }

    #[test]
    fn routes_keep_labels_few() {
        let routes = routes();
        let route_of = |path| routes.route_of(path);
        assert_eq!(
            route_of("/client/live/room/info/live_0192"),
            "/client/live/room/info/{live_id}"
        );
        // the static segment wins, as in the router, whatever the order given
        assert_eq!(
            route_of("/client/live/room/extends"),
            "/client/live/room/extends"
        );
        assert_eq!(
            route_of("/client/live/room/live_0192"),
            "/client/live/room/{live_id}"
        );
        assert_eq!(route_of("/client/live/room"), "/client/live/room");
        assert_eq!(route_of("/docs"), "/docs");
        assert_eq!(route_of("/docs/index.css"), "/docs");
        assert_eq!(route_of("/docsx"), "other");
        assert_eq!(route_of("/anything/else"), "other");
        assert_eq!(
            route_of("/server/live/room/live_0192/stats"),
            "/server/live/room/{live_id}/stats"
        );
        assert_eq!(
            route_of("/client/live/room/info/live_0192/"),
            "/client/live/room/info/{live_id}"
        );
        assert_eq!(route_of("/a/b/c/d/e/f/g/h/i/j"), "other");
        assert_eq!(route_of("/client/live/room/user/x/y"), "other");
        assert_eq!(routes.labels().count(), 9);
        let method = |m| label(&METHODS, method_index(m));
        assert_eq!(method("GET"), "GET");
        assert_eq!(method("BREW"), "other");
        assert_eq!(method("get"), "other");
    }

    #[test]
    fn requests_are_rendered_by_route_label() {
        let metrics = Metrics::new(routes());
        let ms = Duration::from_millis(1);
        metrics.observe("GET", "/client/live/room/info/live_1", 200, 0, ms);
        metrics.observe("GET", "/nowhere", 404, 40400, ms);
        let text = metrics.render(&RedisStats::default(), None);
        assert!(text.contains(
            "liveroom_requests_total{method=\"GET\",route=\"/client/live/room/info/{live_id}\",status=\"200\",code=\"0\"} 1"
        ), "{text}");
        assert!(text.contains("route=\"other\",status=\"404\""), "{text}");
    }
}
