//! Builds the Application: connects Redis, assembles the routes, spawns the sweeper, binds
//! (port 0 in tests) and runs until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::config::{self, Config, JwtKey, Settings};
use crate::edge::{Edge, EdgeLimits};
use crate::http::auth::Authenticator;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::{Connection, Store};
use crate::sweeper;

/// How long in-flight requests may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

impl From<config::ConfigError> for StartError {
    fn from(e: config::ConfigError) -> Self {
        Self(e.to_string())
    }
}

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

/// The token verifier (and, with a secret, signer) of the auth settings: `serve` verifies with
/// it, `liveroom token` signs with it.
pub fn authenticator(auth: &config::Auth) -> Result<Authenticator, StartError> {
    let (secret, public_key) = match &auth.key {
        JwtKey::Secret(secret) => (Some(secret.as_str()), None),
        JwtKey::PublicKey(pem) => (None, Some(pem.as_slice())),
    };
    Authenticator::new(
        secret,
        public_key,
        auth.issuer.as_deref(),
        auth.audience.as_deref(),
    )
    .map(|a| a.with_max_ttl(auth.max_ttl_secs.map_or(0, |s| s.get())))
    .map_err(|e| StartError(e.to_string()))
}

/// The state the handlers share, on a Redis connection (used by the app and by `liveroom openapi`).
pub fn state(config: &Config, conn: Connection) -> AppState {
    let store = Store::new(
        conn,
        config.redis.target.clone(),
        &config.redis.key_prefix,
        config.presence,
        config.redis.timeout,
        config.event_log(),
    );
    let sse = &config.events.sse;
    let watching = crate::fanout::Hub::new(
        store.clone(),
        sse.max_open,
        sse.per_user,
        sse.buffer,
        sse.keep_alive,
        config.carry_period,
    );
    AppState {
        watching,
        pages: Arc::new(crate::pages::Pages::new(&store, config.list_cache_ms)),
        store,
        streams: Arc::new(config.streams.clone()),
        zone: config.zone,
        metrics: Arc::new(Metrics::new(http::metrics_routes())),
        draining: Arc::new(AtomicBool::new(false)),
        limiter: Arc::new(RateLimiter::new(config.limits.rate)),
        trust_forwarded_for: config.limits.trust_forwarded_for,
        tokens: Arc::new(crate::http::token_cache::TokenCache::new(
            config.auth.token_cache_max,
            crate::http::auth::LEEWAY_SECS,
        )),
        rtc: config.rtc.clone().map(Arc::new),
    }
}

/// The spec the code generates, without a Redis (the connection is lazy and never used).
pub async fn offline_spec() -> Result<String, StartError> {
    let mut settings = Settings::defaults();
    // the defaults have no key, which the spec does not depend on
    settings.jwt_secret = Some("offline".into());
    let config = Config::try_from(settings)?;
    let conn = Connection::open(&config.redis.target, config.redis.timeout)
        .await
        .map_err(|e| StartError(e.to_string()))?;
    Ok(http::spec_json(state(&config, conn)))
}

impl Application {
    /// Parses the settings (a bad one is refused, named) and builds the application on them.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        Self::with_config(Config::try_from(settings)?).await
    }

    pub async fn with_config(config: Config) -> Result<Self, StartError> {
        let auth = Arc::new(authenticator(&config.auth)?);
        let conn = Connection::open(&config.redis.target, config.redis.timeout)
            .await
            .map_err(|e| StartError(format!("redis: {e}")))?;
        let state = state(&config, conn);
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|e| StartError(format!("bind {}: {e}", config.bind)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError(e.to_string()))?;
        let limits = config.edge;
        let edge = Edge::new(listener, limits, state.metrics.clone());
        Ok(Self {
            addr,
            edge,
            limits,
            state,
            auth,
            sweep_period: config.sweep_period,
            drain: config.shutdown_drain,
            webhooks: config.webhooks,
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
        let carrier = tokio::spawn(self.state.watching.clone().carry_presence(stop_rx.clone()));
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
        let _ = carrier.await;
        let _ = reporter.await;
        if let Some(delivery) = delivery {
            let _ = delivery.await;
        }
        tracing::info!("liveroom stopped");
        result
    }
}
