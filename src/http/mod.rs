//! HTTP: the OpenAPI service of the twelve endpoints plus the operational ones (one file per
//! group of endpoints), and the routes around it. The request middleware is `middleware`; what
//! poem-openapi cannot say in the spec is added in `spec`.

pub mod auth;
mod body;
mod discovery;
pub mod envelope;
pub mod error;
mod events;
mod hooks;
mod likes;
mod middleware;
pub mod model;
mod moderation;
mod ops;
mod pk;
mod presence;
mod rooms;
mod routes;
mod seats;
mod server;
mod spec;
pub mod token_cache;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::{ExtraHeader, OpenApiService, Tags};

use self::auth::Authenticator;
use self::error::ApiError;
pub use self::routes::metrics_routes;
pub use self::spec::spec_json;
use crate::domain::time::Zone;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use crate::streams::StreamConfig;

/// A request body over this is refused with 413 before it is read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Tags)]
pub enum ApiTags {
    /// 直播间 — the room lifecycle
    Rooms,
    /// 观众 — presence: join, leave, heartbeat, members
    Presence,
    /// 发现 — the live list and search
    Discovery,
    /// Health, readiness and metrics
    Ops,
    /// Media-server hooks (SRS, nginx-rtmp): may a stream publish? (`?secret=`, no token)
    Hooks,
    /// 管理 — kick and ban (the room's anchor or an admin), and the caller's own rooms
    Moderation,
    /// 平台 — the server API for the platform's own backend (admin tokens only)
    Server,
    /// 连麦 — co-host seats and RTC tokens
    Seats,
    /// Likes and cross-room PK.
    Interaction,
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// The live list and search, through this replica's cache of hot pages.
    pub pages: Arc<crate::pages::Pages>,
    pub streams: Arc<StreamConfig>,
    pub zone: Zone,
    pub metrics: Arc<Metrics>,
    /// Set when shutdown begins: `/readyz` answers 503 so load balancers stop sending.
    pub draining: Arc<AtomicBool>,
    pub limiter: Arc<RateLimiter>,
    /// Take the client address from X-Forwarded-For (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Tokens that verified, so that a viewer's heartbeats do not decode its JWT every time.
    pub tokens: Arc<token_cache::TokenCache>,
    /// Shared watching of room events, and the count of open event streams.
    pub watching: Arc<crate::fanout::Hub>,
    /// The RTC server and key of the seats' tokens (`None`: `rtc_url`, `rtc_token` are "").
    pub rtc: Option<Arc<crate::rtc::RtcConfig>>,
}

mod live_id;

pub type Apis = (
    rooms::RoomsApi,
    presence::PresenceApi,
    events::EventsApi,
    discovery::DiscoveryApi,
    ops::OpsApi,
    hooks::HooksApi,
    moderation::ModerationApi,
    server::ServerApi,
    seats::SeatsApi,
    likes::LikesApi,
    pk::PkApi,
);

pub fn openapi_service(state: AppState, server_url: &str) -> OpenApiService<Apis, ()> {
    let apis = (
        rooms::RoomsApi {
            state: state.clone(),
        },
        presence::PresenceApi {
            state: state.clone(),
        },
        events::EventsApi {
            state: state.clone(),
        },
        discovery::DiscoveryApi {
            state: state.clone(),
        },
        ops::OpsApi {
            state: state.clone(),
        },
        hooks::HooksApi {
            state: state.clone(),
        },
        moderation::ModerationApi {
            state: state.clone(),
        },
        server::ServerApi {
            state: state.clone(),
        },
        seats::SeatsApi {
            state: state.clone(),
        },
        likes::LikesApi {
            state: state.clone(),
        },
        pk::PkApi { state },
    );
    let mut service = OpenApiService::new(apis, "liveroom", env!("CARGO_PKG_VERSION"))
        .description(
            "Anchors (主播) create rooms and start and stop their live; viewers join, heartbeat \
             and leave; everyone browses and searches. Every answer of the twelve room endpoints \
             is the envelope {request_id, code, message, data}. \n\n\
             主播创建直播间、开始和停止直播；观众加入、心跳、离开；所有人浏览和搜索直播间。\
             十二个直播间接口的每个应答都是 {request_id, code, message, data} 结构。",
        )
        .extra_response_header::<String, _>(ExtraHeader::new("X-Request-Id").description(
            "The request's id: the caller's `X-Request-Id` when it is 1–128 printable ASCII \
             characters, else one made by the server; also `request_id` in the body and in the \
             request's log line. 请求ID",
        ));
    if !server_url.is_empty() {
        service = service.server(server_url);
    }
    service
}

/// The service's endpoint: the API, its spec and docs, inside the request middleware (which reads
/// a request's body within `body_timeout` of its head).
pub fn routes(
    state: AppState,
    auth: Arc<Authenticator>,
    body_timeout: Option<std::time::Duration>,
) -> impl Endpoint {
    let metrics = state.metrics.clone();
    let limiter = state.limiter.clone();
    let trust_xff = state.trust_forwarded_for;
    let tokens = state.tokens.clone();
    let service = openapi_service(state, "");
    let (spec, docs) = spec::endpoints(&service);
    Route::new()
        .nest("/", service)
        .at(routes::SPEC_PATH, spec)
        .nest(routes::DOCS_PATH, docs)
        .data(Arc::new(auth::CallerChecks {
            authenticator: auth,
            tokens,
            limiter: limiter.clone(),
        }))
        .around(move |ep, req| {
            let metrics = metrics.clone();
            let limiter = limiter.clone();
            async move {
                let limits = middleware::Limits {
                    body_timeout,
                    trust_xff,
                };
                Ok(middleware::serve(ep, req, &metrics, &limiter, limits).await)
            }
        })
}
