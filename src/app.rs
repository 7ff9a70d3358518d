//! Builds the Application: connects Redis, assembles the routes, spawns the sweeper, binds
//! (port 0 in tests) and runs until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Settings;
use crate::edge::{Edge, EdgeLimits};
use crate::http::auth::Authenticator;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::ratelimit::{Limits, RateLimiter};
use crate::store::{Connection, Store};
use crate::sweeper;

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

pub struct Application {
    addr: SocketAddr,
    edge: Edge,
    limits: EdgeLimits,
    state: AppState,
    auth: Arc<Authenticator>,
    sweep_period: Duration,
    drain: Duration,
    webhooks: Option<crate::webhooks::WebhookConfig>,
}

/// Makes the verifier from the settings; `serve` and `token` share it.
pub fn authenticator(settings: &Settings) -> Result<Authenticator, StartError> {
    let pem = match &settings.jwt_public_key_file {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| StartError(format!("LIVEROOM_JWT_PUBLIC_KEY_FILE {path}: {e}")))?,
        ),
        None => None,
    };
    Authenticator::new(
        settings.jwt_secret.as_deref(),
        pem.as_deref(),
        settings.jwt_issuer.as_deref(),
        settings.jwt_audience.as_deref(),
    )
    .map(|auth| auth.with_max_ttl(settings.jwt_max_ttl_secs))
    .map_err(|e| StartError(e.to_string()))
}

/// The state the handlers share, on a Redis connection (used by the app and by `liveroom openapi`).
pub fn state(settings: &Settings, conn: Connection) -> Result<AppState, StartError> {
    let store = Store::new(
        conn,
        settings.redis_target(),
        &settings.redis_key_prefix,
        settings.timings(),
        settings.redis_timeout(),
        settings.event_log(),
    );
    let watching = crate::fanout::Hub::new(
        store.clone(),
        settings.sse_max,
        settings.sse_per_user,
        settings.sse_buffer,
    );
    Ok(AppState {
        watching,
        store,
        streams: Arc::new(settings.streams()),
        zone: settings.zone().map_err(|e| StartError(e.to_string()))?,
        metrics: Arc::new(Metrics::default()),
        draining: Arc::new(AtomicBool::new(false)),
        limiter: Arc::new(RateLimiter::new(Limits {
            per_user: settings.rate_limit_user_per_sec,
            per_ip: settings.rate_limit_ip_per_sec,
        })),
        trust_forwarded_for: settings.rate_limit_trust_xff,
        tokens: Arc::new(crate::http::token_cache::TokenCache::new(
            settings.token_cache_max,
            crate::http::auth::LEEWAY_SECS,
        )),
    })
}

/// The spec the code generates, without a Redis (the connection is lazy and never used).
pub async fn offline_spec() -> Result<String, StartError> {
    let settings = crate::cli::default_settings();
    let conn = Connection::open(&settings.redis_target(), settings.redis_timeout())
        .await
        .map_err(|e| StartError(e.to_string()))?;
    Ok(http::spec_json(state(&settings, conn)?))
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        settings.validate().map_err(|e| StartError(e.to_string()))?;
        let auth = Arc::new(authenticator(&settings)?);
        let conn = Connection::open(&settings.redis_target(), settings.redis_timeout())
            .await
            .map_err(|e| StartError(format!("redis: {e}")))?;
        let state = state(&settings, conn)?;
        let listener = tokio::net::TcpListener::bind(settings.bind)
            .await
            .map_err(|e| StartError(format!("bind {}: {e}", settings.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError(e.to_string()))?;
        let limits = settings.edge_limits();
        let edge = Edge::new(listener, limits, state.metrics.clone());
        let sweep_period = settings.sweep_period();
        Ok(Self {
            addr,
            edge,
            limits,
            state,
            auth,
            sweep_period,
            drain: Duration::from_millis(settings.shutdown_drain_ms),
            webhooks: settings.webhooks().map_err(|e| StartError(e.to_string()))?,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and stops the sweeper.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let sweeper = tokio::spawn(sweeper::run(
            self.state.store.clone(),
            self.sweep_period,
            stop_rx.clone(),
        ));
        let delivery = self.webhooks.map(|config| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            self.state.store.set_event_sink(tx);
            tokio::spawn(crate::webhooks::run(
                self.state.store.clone(),
                config,
                rx,
                stop_rx.clone(),
            ))
        });
        let limiter = self.state.limiter.clone();
        let store = self.state.store.clone();
        let stop_limits = stop_rx.clone();
        let reporter = tokio::spawn(async move { limiter.run(store, stop_limits).await });
        let draining = self.state.draining.clone();
        let drain = self.drain;
        let routes = http::routes(self.state, self.auth, self.limits.body_timeout);
        tracing::info!(addr = %self.addr, "liveroom listening");
        let result = self
            .edge
            .serve(
                routes,
                async move {
                    shutdown.await;
                    // not ready any more; keep serving while load balancers notice, then close
                    draining.store(true, Ordering::Relaxed);
                    tokio::time::sleep(drain).await;
                },
                SHUTDOWN_GRACE,
            )
            .await;
        let _ = stop_tx.send(true);
        let _ = sweeper.await;
        let _ = reporter.await;
        if let Some(delivery) = delivery {
            let _ = delivery.await;
        }
        tracing::info!("liveroom stopped");
        result
    }
}
