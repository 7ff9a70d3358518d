//! Health, readiness and metrics (no token).

use std::sync::atomic::Ordering;

use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};

use super::{ApiTags, AppState};

pub struct OpsApi {
    pub state: AppState,
}

#[derive(ApiResponse)]
enum Ready {
    /// Redis answers and the process is not shutting down.
    #[oai(status = 200)]
    Ready(PlainText<String>),
    /// Redis does not answer, or the process is draining before shutdown.
    #[oai(status = 503)]
    NotReady(PlainText<String>),
}

#[OpenApi(tag = "ApiTags::Ops")]
impl OpsApi {
    /// The process is up.
    #[oai(path = "/healthz", method = "get", operation_id = "healthz")]
    async fn healthz(&self) -> PlainText<&'static str> {
        PlainText("ok")
    }

    /// Redis is reachable and the process takes traffic.
    #[oai(path = "/readyz", method = "get", operation_id = "readyz")]
    async fn readyz(&self) -> Ready {
        if self.state.draining.load(Ordering::Relaxed) {
            return Ready::NotReady(PlainText("draining".into()));
        }
        match self.state.store.ping().await {
            Ok(()) => Ready::Ready(PlainText("ready".into())),
            Err(e) => Ready::NotReady(PlainText(format!("redis: {e}"))),
        }
    }

    /// Prometheus text.
    #[oai(path = "/metrics", method = "get", operation_id = "metrics")]
    async fn metrics(&self) -> PlainText<String> {
        let gauges = self.state.store.sweep().gauges().await.ok();
        let mut text = self
            .state
            .metrics
            .render(self.state.store.redis_stats(), gauges);
        text.push_str(&self.state.tokens.render());
        text.push_str(&self.state.watching.render());
        text.push_str(&format!(
            "# HELP liveroom_sse_streams_max The cap of event streams on this replica (LIVEROOM_SSE_MAX; 0: none).\n\
             # TYPE liveroom_sse_streams_max gauge\nliveroom_sse_streams_max {}\n",
            self.state.watching.max_open()
        ));
        text.push_str(&self.state.store.redis_stats().render_webhooks());
        text.push_str(&format!(
            "# HELP liveroom_log_lines_dropped_total Log lines dropped because the log writer's buffer was full.\n\
             # TYPE liveroom_log_lines_dropped_total counter\nliveroom_log_lines_dropped_total {}\n",
            crate::telemetry::dropped_lines()
        ));
        PlainText(text)
    }
}
