//! HTTP: the OpenAPI service of the twelve endpoints plus the operational ones, and the request
//! middleware (request id, envelope for every failure, body limit, one log line per request).

pub mod auth;
mod body;
mod discovery;
mod events;
pub mod envelope;
pub mod error;
mod hooks;
pub mod model;
mod ops;
mod presence;
mod rooms;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{OpenApiService, Tags};

use self::auth::Authenticator;
use self::envelope::{request_id_from, with_request_id};
use self::error::{ApiError, ResponseCode};
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
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub streams: Arc<StreamConfig>,
    pub zone: Zone,
    pub metrics: Arc<Metrics>,
    /// Set when shutdown begins: `/readyz` answers 503 so load balancers stop sending.
    pub draining: Arc<AtomicBool>,
    pub limiter: Arc<RateLimiter>,
    /// Take the client address from X-Forwarded-For (behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

mod live_id {
    use super::ApiError;
    use crate::domain::ids::LiveId;

    /// A live_id not of the server's form names no room: 404 without asking Redis.
    pub fn parse(raw: &str) -> Result<LiveId, ApiError> {
        LiveId::parse(raw.trim()).ok_or_else(ApiError::no_such_room)
    }
}

pub type Apis = (
    rooms::RoomsApi,
    presence::PresenceApi,
    events::EventsApi,
    discovery::DiscoveryApi,
    ops::OpsApi,
    hooks::HooksApi,
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
        hooks::HooksApi { state },
    );
    let mut service = OpenApiService::new(apis, "liveroom", env!("CARGO_PKG_VERSION"))
        .summary("Rooms of a live-streaming platform")
        .description(
            "Anchors (主播) create rooms and start and stop their live; viewers join, heartbeat \
             and leave; everyone browses and searches. Every answer of the twelve room endpoints \
             is the envelope {request_id, code, message, data}.",
        );
    if !server_url.is_empty() {
        service = service.server(server_url);
    }
    service
}

/// The spec as committed under `openapi/` (no server URL, so it does not depend on the bind).
pub fn spec_json(state: AppState) -> String {
    openapi_service(state, "").spec()
}

pub fn routes(state: AppState, auth: Arc<Authenticator>) -> impl Endpoint {
    let metrics = state.metrics.clone();
    let limiter = state.limiter.clone();
    let trust_xff = state.trust_forwarded_for;
    let service = openapi_service(state, "");
    let docs = service.swagger_ui();
    let spec = service.spec_endpoint();
    Route::new()
        .nest("/", service)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .data(auth)
        .data(limiter.clone())
        .around(move |ep, req| {
            let metrics = metrics.clone();
            let limiter = limiter.clone();
            async move { Ok(serve(ep, req, &metrics, &limiter, trust_xff).await) }
        })
}

/// Around every request: the request id, the body limit, the envelope for every failure
/// (poem's own parse errors included), and the one log line.
async fn serve<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    metrics: &Metrics,
    limiter: &RateLimiter,
    trust_xff: bool,
) -> Response {
    let started = Instant::now();
    let request_id = request_id_from(
        req.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
    );
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut resp = with_request_id(request_id.clone(), async {
        if path.starts_with("/client/")
            && let Err(e) = limiter.check_ip(&client_address(&req, trust_xff))
        {
            return poem::error::ResponseError::as_response(&e);
        }
        if let Err(e) = limit_body(&mut req).await {
            return poem::error::ResponseError::as_response(&e);
        }
        match ep.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(e) => envelope_error(e).into_response(),
        }
    })
    .await;
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let status = resp.status();
    let code = match resp.extensions().get::<ResponseCode>() {
        Some(c) => c.0,
        None if status.is_success() => 0,
        None => i32::from(status.as_u16()) * 100,
    };
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    metrics.observe(method.as_str(), &path, status.as_u16(), code, started.elapsed());
    tracing::info!(
        target: "liveroom::request",
        %request_id, %method, %path, status = status.as_u16(), code,
        latency_ms = (latency_ms * 1000.0).round() / 1000.0,
        "request"
    );
    resp
}

/// The client's address: the peer, or behind a trusted proxy the last X-Forwarded-For entry
/// (the one that proxy appended).
fn client_address(req: &Request, trust_xff: bool) -> String {
    if trust_xff
        && let Some(last) = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty())
    {
        return last.to_owned();
    }
    match req.remote_addr().as_socket_addr() {
        Some(addr) => addr.ip().to_string(),
        None => req.remote_addr().to_string(),
    }
}

async fn limit_body(req: &mut Request) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES)),
        Some(_) => Ok(()),
        None if req.headers().contains_key(header::TRANSFER_ENCODING) => {
            // A body of unknown length: read it, up to the limit.
            let body = req.take_body();
            let bytes = body
                .into_bytes_limit(MAX_BODY_BYTES)
                .await
                .map_err(|_| ApiError::PayloadTooLarge(MAX_BODY_BYTES))?;
            req.set_body(bytes);
            Ok(())
        }
        None => Ok(()),
    }
}

/// Every failure as the envelope: ours keep their code; poem's and poem-openapi's (a body that
/// is not JSON, a wrong type, a bad query value, an unknown path) become the matching code,
/// with poem's message, which names the parameter.
fn envelope_error(e: poem::Error) -> Response {
    if let Some(api) = e.downcast_ref::<ApiError>() {
        return poem::error::ResponseError::as_response(api);
    }
    let message = e.to_string();
    let api = match e.status() {
        StatusCode::BAD_REQUEST => ApiError::BadRequest(message),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
        StatusCode::NOT_FOUND => ApiError::NotFound(format!("no such endpoint ({message})")),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(message),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(message),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable,
        status if status.is_client_error() => ApiError::BadRequest(message),
        _ => {
            tracing::error!(error = %message, "unhandled error");
            ApiError::Internal
        }
    };
    poem::error::ResponseError::as_response(&api)
}
