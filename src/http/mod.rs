//! HTTP: the OpenAPI service of the twelve endpoints plus the operational ones, and the request
//! middleware (request id, envelope for every failure, body limit, one log line per request).
//! What poem-openapi cannot say in the spec is added in `spec`.

pub mod auth;
mod body;
mod discovery;
pub mod envelope;
pub mod error;
mod events;
mod hooks;
pub mod model;
mod moderation;
mod ops;
mod presence;
mod rooms;
mod server;
mod spec;
pub mod token_cache;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{ExtraHeader, OpenApi, OpenApiService, Tags};

use self::auth::Authenticator;
use self::envelope::{request_id_from, with_request_id};
use self::error::{ApiError, ResponseCode};
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
    /// Tokens that verified, so that a viewer's heartbeats do not decode its JWT every time.
    pub tokens: Arc<token_cache::TokenCache>,
    /// Shared watching of room events, and the count of open event streams.
    pub watching: Arc<crate::fanout::Hub>,
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
    moderation::ModerationApi,
    server::ServerApi,
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
        server::ServerApi { state },
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

pub fn routes(state: AppState, auth: Arc<Authenticator>) -> impl Endpoint {
    let metrics = state.metrics.clone();
    let limiter = state.limiter.clone();
    let trust_xff = state.trust_forwarded_for;
    let tokens = state.tokens.clone();
    let service = openapi_service(state, "");
    let (spec, docs) = spec::endpoints(&service);
    Route::new()
        .nest("/", service)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .data(auth)
        .data(tokens)
        .data(limiter.clone())
        .around(move |ep, req| {
            let metrics = metrics.clone();
            let limiter = limiter.clone();
            async move { Ok(serve(ep, req, &metrics, &limiter, trust_xff).await) }
        })
}

const HEARTBEAT_PATH: &str = "/client/live/room/heartbeat/";

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
        let body_timeout = req
            .data::<Arc<crate::edge::Edge>>()
            .and_then(|e| e.body_timeout());
        // the body first: an answer that leaves it unread would leave it to be read as the
        // connection's next request
        if let Err(e) = limit_body(&mut req, body_timeout).await {
            return poem::error::ResponseError::as_response(&e);
        }
        if path.starts_with("/client/")
            && let Err(e) = limiter.check_ip(&client_address(&req, trust_xff))
        {
            return poem::error::ResponseError::as_response(&ApiError::from(e));
        }
        match ep.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(e) => envelope_error(e, &method, &path).into_response(),
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
    metrics.observe(
        method.as_str(),
        &path,
        status.as_u16(),
        code,
        started.elapsed(),
    );
    let latency_ms = (latency_ms * 1000.0).round() / 1000.0;
    // A successful heartbeat is nearly all of the traffic and says nothing new (the metrics
    // count it): its line is at debug (RUST_LOG=info,liveroom::request=debug shows it); every
    // other request, and every heartbeat that fails, logs at info.
    if code == 0 && path.starts_with(HEARTBEAT_PATH) {
        tracing::debug!(
            target: "liveroom::request",
            %request_id, %method, %path, status = status.as_u16(), code, latency_ms,
            "request"
        );
    } else {
        tracing::info!(
            target: "liveroom::request",
            %request_id, %method, %path, status = status.as_u16(), code, latency_ms,
            "request"
        );
    }
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

/// Reads the whole body before the handler (it is at most 64 KiB): over the limit is 413, and a
/// body that does not arrive within `timeout` of the head (a stalled upload, a Content-Length
/// never met) is 408 and the connection is closed.
async fn limit_body(req: &mut Request, timeout: Option<Duration>) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => {
            return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
        }
        Some(0) => return Ok(()),
        Some(_) => {}
        None if req.headers().contains_key(header::TRANSFER_ENCODING) => {}
        None => return Ok(()),
    }
    let read = req.take_body().into_bytes_limit(MAX_BODY_BYTES);
    let read = match timeout {
        Some(t) => tokio::time::timeout(t, read)
            .await
            .map_err(|_| ApiError::RequestTimeout(t))?,
        None => read.await,
    };
    let bytes = read.map_err(|e| match e {
        poem::error::ReadBodyError::PayloadTooLarge => ApiError::PayloadTooLarge(MAX_BODY_BYTES),
        e => ApiError::BadRequest(format!("the request body could not be read: {e}")),
    })?;
    req.set_body(bytes);
    Ok(())
}

/// Every failure as the envelope: ours keep their code; poem's and poem-openapi's (a body that
/// is not JSON, a wrong type, a bad query value, an unknown path) become the matching code,
/// with poem's message, which names the parameter. A 405 carries `Allow` (RFC 9110).
fn envelope_error(e: poem::Error, method: &Method, path: &str) -> Response {
    if let Some(api) = e.downcast_ref::<ApiError>() {
        return poem::error::ResponseError::as_response(api);
    }
    let message = e.to_string();
    let api = match e.status() {
        StatusCode::BAD_REQUEST => ApiError::BadRequest(message),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
        StatusCode::NOT_FOUND => ApiError::NotFound(format!("no such endpoint ({message})")),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = allowed_methods(path).unwrap_or_default();
            let mut resp = poem::error::ResponseError::as_response(&ApiError::MethodNotAllowed(
                format!("{method} is not allowed on {path}; it answers {allow}"),
            ));
            if let Ok(v) = HeaderValue::from_str(&allow) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            return resp;
        }
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

/// The `Allow` of a 405: the methods of the spec's path that `path` is routed to (a static
/// segment wins over a parameter, as in the router), with HEAD wherever GET is (poem answers it).
fn allowed_methods(path: &str) -> Option<String> {
    type Routes = Vec<(Vec<String>, Vec<Method>)>;
    static ROUTES: OnceLock<Routes> = OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let mut routes: Routes = Vec::new();
        for p in <Apis as OpenApi>::meta()
            .into_iter()
            .flat_map(|api| api.paths)
        {
            let segments: Vec<String> = p.path.split('/').map(str::to_owned).collect();
            let methods = p.operations.into_iter().map(|op| op.method);
            match routes.iter_mut().find(|(s, _)| *s == segments) {
                Some((_, known)) => known.extend(methods),
                None => routes.push((segments, methods.collect())),
            }
        }
        routes
    });
    let wanted: Vec<&str> = path.split('/').collect();
    let (_, methods) = routes
        .iter()
        .filter(|(segments, _)| segments.len() == wanted.len())
        .filter_map(|(segments, methods)| {
            let mut rank = Vec::with_capacity(segments.len());
            for (segment, part) in segments.iter().zip(&wanted) {
                let param = segment.starts_with('{');
                if (param && part.is_empty()) || (!param && segment != part) {
                    return None;
                }
                rank.push(!param);
            }
            Some((rank, methods))
        })
        .max_by(|a, b| a.0.cmp(&b.0))?;
    let order = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    let allowed: Vec<&str> = order
        .iter()
        .filter(|m| methods.contains(m) || (**m == Method::HEAD && methods.contains(&Method::GET)))
        .map(Method::as_str)
        .collect();
    Some(allowed.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_methods_of_the_path_a_request_is_routed_to() {
        let allow = |path| allowed_methods(path);
        // the static segment wins over `{live_id}`, as in the router
        assert_eq!(allow("/client/live/room/extends").as_deref(), Some("PUT"));
        let id = "/client/live/room/live_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b";
        assert_eq!(allow(id).as_deref(), Some("POST, PUT"));
        assert_eq!(
            allow("/client/live/room/user/x").as_deref(),
            Some("POST, DELETE")
        );
        assert_eq!(allow("/client/live/room").as_deref(), Some("GET, HEAD"));
        assert_eq!(allow("/hooks/srs").as_deref(), Some("POST"));
        assert_eq!(allow("/client/live/room/user/"), None);
        assert_eq!(allow("/nowhere"), None);
    }
}
