//! HTTP: the OpenAPI service of the twelve endpoints plus the operational ones, and the request
//! middleware (request id, envelope for every failure, body limit, one log line per request).

pub mod auth;
mod body;
mod discovery;
pub mod envelope;
pub mod error;
mod events;
mod hooks;
pub mod model;
mod ops;
mod presence;
mod rooms;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use poem::endpoint::make_sync;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::web::Html;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route};
use poem_openapi::{ExtraHeader, OpenApi, OpenApiService, Tags};
use serde_json::{Value, json};

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

/// The spec as committed under `openapi/` (no server URL, so it does not depend on the bind).
pub fn spec_json(state: AppState) -> String {
    finish_spec(&openapi_service(state, "").spec())
}

/// `/openapi.json` and `/docs` (Swagger UI): both show the finished spec.
fn spec_endpoints(
    service: &OpenApiService<Apis, ()>,
) -> (impl Endpoint + use<>, impl Endpoint + use<>) {
    let raw = service.spec();
    let spec = finish_spec(&raw);
    // poem-openapi's Swagger UI page embeds the spec it generated: show the finished one instead.
    let page = service.swagger_ui_html().replacen(&raw, &spec, 1);
    let json = make_sync(move |_| {
        Response::builder()
            .content_type("application/json")
            .body(spec.clone())
    });
    let docs = Route::new().at("/", make_sync(move |_| Html(page.clone())));
    (json, docs)
}

pub fn routes(state: AppState, auth: Arc<Authenticator>) -> impl Endpoint {
    let metrics = state.metrics.clone();
    let limiter = state.limiter.clone();
    let trust_xff = state.trust_forwarded_for;
    let service = openapi_service(state, "");
    let (spec, docs) = spec_endpoints(&service);
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
            return poem::error::ResponseError::as_response(&e);
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

/// The spec as served and committed: poem-openapi's, finished with what poem-openapi cannot
/// say (it has no links and no `contentSchema`, and upper-cases extra headers):
///
/// - Links: every operation that answers a room links to every other operation that takes a
///   `live_id` (path, query or body), so that clients and Schemathesis can chain create → info,
///   start, join, heartbeat, user_list, events, extends, stop, delete.
/// - The event stream: a message is a Server-Sent Event (`id`, `event`, `data`) whose `data` is
///   the JSON of a `RoomEvent` (`contentMediaType`/`contentSchema`, as Schemathesis reads them).
/// - `X-Request-Id` spelled as the server sends it; "success" for an answer without words;
///   component schemas in name order.
pub fn finish_spec(raw: &str) -> String {
    let mut spec: Value = serde_json::from_str(raw).expect("poem-openapi writes JSON");
    add_room_links(&mut spec);
    describe_room_events(&mut spec);
    for op in operations_mut(&mut spec) {
        let responses = op.get_mut("responses").and_then(Value::as_object_mut);
        for response in responses.into_iter().flat_map(|r| r.values_mut()) {
            if response["description"] == "" {
                response["description"] = json!("success");
            }
            if let Some(headers) = response.get_mut("headers").and_then(Value::as_object_mut) {
                *headers = std::mem::take(headers)
                    .into_iter()
                    .map(|(name, h)| match name.as_str() {
                        "X-REQUEST-ID" => ("X-Request-Id".to_owned(), h),
                        _ => (name, h),
                    })
                    .collect();
            }
        }
    }
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        let mut sorted: Vec<(String, Value)> = std::mem::take(schemas).into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        *schemas = sorted.into_iter().collect();
    }
    serde_json::to_string_pretty(&spec).expect("a JSON value serializes")
}

fn operations_mut(spec: &mut Value) -> impl Iterator<Item = &mut serde_json::Map<String, Value>> {
    spec.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|path| path.values_mut())
        .filter_map(Value::as_object_mut)
}

fn add_room_links(spec: &mut Value) {
    let schemas = spec
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or_default();
    let body_has_live_id = |op: &serde_json::Map<String, Value>| {
        let content = op.get("requestBody").and_then(|b| b.get("content"));
        content.and_then(Value::as_object).is_some_and(|content| {
            content.values().any(|media| {
                let name = media.pointer("/schema/$ref").and_then(Value::as_str);
                let name = name.and_then(|r| r.strip_prefix("#/components/schemas/"));
                name.is_some_and(|n| schemas[n]["properties"].get("live_id").is_some())
            })
        })
    };
    // (operationId, where it takes the live_id)
    let mut targets: Vec<(String, &str)> = Vec::new();
    for op in operations_mut(spec) {
        let Some(id) = op.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let params = op.get("parameters").and_then(Value::as_array);
        let param = params
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "live_id");
        match param.and_then(|p| p["in"].as_str()) {
            Some("path") => targets.push((id.to_owned(), "path")),
            Some("query") => targets.push((id.to_owned(), "query")),
            _ if body_has_live_id(op) => targets.push((id.to_owned(), "body")),
            _ => {}
        }
    }
    let live_id = "$response.body#/data/live_id";
    let description = "The same room: the `live_id` of this answer's data.";
    for op in operations_mut(spec) {
        let source = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(ok) = op.get_mut("responses").and_then(|r| r.get_mut("200")) else {
            continue;
        };
        let schema = ok.pointer("/content/application~1json; charset=utf-8/schema/$ref");
        if schema.and_then(Value::as_str) != Some("#/components/schemas/RoomEnvelope") {
            continue;
        }
        let links: serde_json::Map<String, Value> = targets
            .iter()
            .filter(|(target, _)| *target != source)
            .map(|(target, place)| {
                let link = match *place {
                    // Schemathesis evaluates expressions inside the body and fills in the rest
                    "body" => json!({
                        "operationId": target,
                        "requestBody": {"live_id": live_id, "extends": {"age": "18"}},
                        "description": description,
                    }),
                    place => json!({
                        "operationId": target,
                        "parameters": {format!("{place}.live_id"): live_id},
                        "description": description,
                    }),
                };
                (target.clone(), link)
            })
            .collect();
        ok["links"] = Value::Object(links);
    }
}

fn describe_room_events(spec: &mut Value) {
    let mut registry = poem_openapi::registry::Registry::new();
    <events::RoomEvent as poem_openapi::types::Type>::register(&mut registry);
    let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    // Only the message refers to the event, so poem-openapi dropped it as unused.
    for (name, schema) in &registry.schemas {
        let schema = serde_json::to_value(schema).expect("a schema serializes");
        schemas.entry(name.clone()).or_insert(schema);
    }
    let data = schemas
        .get_mut(events::MESSAGE_SCHEMA)
        .and_then(|m| m.pointer_mut("/properties/data"));
    if let Some(data) = data {
        data["contentMediaType"] = json!("application/json");
        data["contentSchema"] =
            json!({"$ref": format!("#/components/schemas/{}", events::EVENT_SCHEMA)});
    }
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

    async fn spec() -> Value {
        let spec = crate::app::offline_spec().await.expect("spec");
        serde_json::from_str(&spec).expect("JSON")
    }

    #[tokio::test]
    async fn every_operation_on_a_room_is_linked_from_the_answers_that_name_one() {
        let spec = spec().await;
        let links = |path: &str, method: &str| {
            spec["paths"][path][method]["responses"]["200"]["links"]
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let from_create = links("/client/live/room/instance", "post");
        let mut targets: Vec<&str> = from_create.keys().map(String::as_str).collect();
        targets.sort_unstable();
        assert_eq!(
            targets,
            [
                "deleteRoom",
                "getRoom",
                "heartbeat",
                "joinRoom",
                "leaveRoom",
                "listMembers",
                "roomEvents",
                "startLive",
                "stopLive",
                "updateExtends"
            ]
        );
        let live_id = "$response.body#/data/live_id";
        assert_eq!(
            from_create["getRoom"]["parameters"]["path.live_id"],
            live_id
        );
        assert_eq!(
            from_create["listMembers"]["parameters"]["query.live_id"],
            live_id
        );
        assert_eq!(
            from_create["updateExtends"]["requestBody"]["live_id"],
            live_id
        );
        for (path, method) in [
            ("/client/live/room/info/{live_id}", "get"),
            ("/client/live/room/{live_id}", "put"),
            ("/client/live/room/user/{live_id}", "post"),
        ] {
            assert_eq!(links(path, method).len(), 9, "{method} {path}");
        }
        assert!(links("/client/live/room/{live_id}", "post").is_empty());
    }

    #[tokio::test]
    async fn the_answers_declare_their_headers_and_the_event_stream_its_events() {
        let spec = spec().await;
        let paths = spec["paths"].as_object().expect("paths");
        for (path, ops) in paths {
            for (method, op) in ops.as_object().expect("operations") {
                for (status, response) in op["responses"].as_object().expect("responses") {
                    let headers = &response["headers"];
                    let at = format!("{method} {path} {status}");
                    assert_eq!(headers["X-Request-Id"]["required"], true, "{at}");
                    assert!(
                        !response["description"].as_str().unwrap_or("").is_empty(),
                        "{at}"
                    );
                    match status.as_str() {
                        "401" => assert!(headers["WWW-Authenticate"].is_object(), "{at}"),
                        "429" => assert!(headers["Retry-After"].is_object(), "{at}"),
                        _ => {}
                    }
                }
            }
        }
        let events = &paths["/client/live/room/events/{live_id}"]["get"]["responses"]["200"];
        let schema = &events["content"]["text/event-stream"]["schema"]["$ref"];
        assert_eq!(schema, "#/components/schemas/RoomEventMessage");
        let schemas = &spec["components"]["schemas"];
        let data = &schemas["RoomEventMessage"]["properties"]["data"];
        assert_eq!(data["contentMediaType"], "application/json");
        assert_eq!(
            data["contentSchema"]["$ref"],
            "#/components/schemas/RoomEvent"
        );
        assert_eq!(
            schemas["RoomEvent"]["required"],
            json!(["live_id", "type", "at"])
        );
        // the hooks declare the envelope of a body refused before they run
        let srs = &paths["/hooks/srs"]["post"]["responses"];
        assert!(srs["400"].is_object() && srs["413"].is_object() && srs.get("415").is_none());
        let nginx = &paths["/hooks/nginx-rtmp/{event}"]["post"]["responses"];
        assert!(nginx["400"].is_object() && nginx["415"].is_object());
    }
}
