//! Logging through tracing-subscriber: text or JSON lines; RUST_LOG filters (default info).
//!
//! `liveroom serve` writes its lines through tracing-appender's non-blocking writer: a request
//! formats its line and hands it to a channel; a background thread writes to stderr. A request
//! never waits on the terminal or the log collector. If the collector stalls long enough to fill
//! the buffer, lines are dropped rather than requests stalled, and counted in /metrics
//! (`liveroom_log_lines_dropped_total`).

use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// The log lines' form (`LIVEROOM_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Keeps the background writer alive; dropping it flushes the lines still queued.
pub struct LogGuard(#[allow(dead_code)] Option<WorkerGuard>);

/// The service's logging: non-blocking stderr, `info` unless RUST_LOG says otherwise.
pub fn init(format: LogFormat) -> LogGuard {
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .thread_name("liveroom-log")
        .finish(std::io::stderr());
    let _ = DROPPED.set(writer.error_counter());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    LogGuard(Some(guard))
}

/// As `init`, with another default level and a plain (blocking) stderr writer, so that the test
/// harness captures the lines (tests log warnings only unless RUST_LOG says more).
pub fn init_with(format: &str, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init: tests start many apps in one process; the first subscriber stays.
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Log lines dropped because the writer's buffer was full (0 with the blocking writer).
pub fn dropped_lines() -> usize {
    DROPPED.get().map_or(0, ErrorCounter::dropped_lines)
}
