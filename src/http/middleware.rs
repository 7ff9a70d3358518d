//! The request middleware around every endpoint: the request id, the body limit, the envelope
//! for every failure (poem's own parse errors included), the per-address and per-user rate
//! limits, the metrics and the one log line per request.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

use super::MAX_BODY_BYTES;
use super::envelope::{request_id_from, with_request_id};
use super::error::{ApiError, ResponseCode};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

const HEARTBEAT_PATH: &str = "/client/live/room/heartbeat/";

/// What the middleware holds a request to, from the settings.
#[derive(Clone, Copy)]
pub(super) struct Limits {
    /// How long the body may take to arrive after the head (`LIVEROOM_BODY_TIMEOUT_MS`).
    pub body_timeout: Option<Duration>,
    /// Whether the client's address is the last `X-Forwarded-For` entry.
    pub trust_xff: bool,
}

/// Around every request: the request id, the body limit, the envelope for every failure
/// (poem's own parse errors included), and the one log line.
pub(super) async fn serve<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    metrics: &Metrics,
    limiter: &RateLimiter,
    limits: Limits,
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
        // the body first: an answer that leaves it unread would leave it to be read as the
        // connection's next request
        if let Err(e) = limit_body(&mut req, limits.body_timeout).await {
            return poem::error::ResponseError::as_response(&e);
        }
        if path.starts_with("/client/")
            && limiter.limits_addresses()
            && let Err(e) = limiter.check_ip(&client_address(&req, limits.trust_xff))
        {
            return poem::error::ResponseError::as_response(&ApiError::from(e));
        }
        match crate::store::one_redis_timeout(ep.call(req)).await {
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
        super::routes::api_paths()
            .into_iter()
            .map(|(path, methods)| (path.split('/').map(str::to_owned).collect(), methods))
            .collect()
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
