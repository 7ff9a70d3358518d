//! Logging through tracing-subscriber: text or JSON lines; RUST_LOG filters (default info).

use tracing_subscriber::EnvFilter;

pub fn init(format: &str) {
    init_with(format, "info");
}

/// As `init`, with another default level (tests log warnings only unless RUST_LOG says more).
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
