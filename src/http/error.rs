//! One error type for every endpoint, mapped to the contract's HTTP status and code.
//! Infrastructure errors are logged with the request id and never shown.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::Type;

use super::envelope::{Envelope, current_request_id};
use crate::domain::Invalid;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("only the room's anchor may do this")]
    NotAnchor,
    #[error("only an admin token (\"admin\": true) may call /server/…")]
    NotAdmin,
    /// 403/40300: an RTC token is for the room's anchor and its seated users only.
    #[error("only the room's anchor or a user on one of its co-host seats gets an RTC token")]
    NotSeated,
    /// 403/40301: banned from the room (the message says until when).
    #[error("{0}")]
    Banned(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// 409/40902: a co-host seat conflict (CONTRACT section 14).
    #[error("{0}")]
    SeatConflict(String),
    /// 409/40903: a room already in a PK, or the PK not in a state that allows it.
    #[error("{0}")]
    PkConflict(String),
    #[error(
        "not a member of this room (never joined, left, or missed too many heartbeats): join again"
    )]
    NotMember,
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body did not arrive within {} ms", .0.as_millis())]
    RequestTimeout(std::time::Duration),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests from {who}: at most {limit} a second; retry after {retry_after} s")]
    TooManyRequests {
        who: &'static str,
        limit: u32,
        retry_after: u64,
    },
    /// A quota (rooms not ended per anchor, …): 429/42900 without Retry-After, which is for rates.
    #[error("{0}")]
    QuotaExceeded(String),
    /// A cap on open things that frees up by itself (event streams): 429/42900 with Retry-After.
    #[error("{why}; retry after {retry_after} s")]
    Busy { why: String, retry_after: u64 },
    #[error("internal error")]
    Internal,
    #[error("the service cannot reach its storage right now; try again")]
    Unavailable,
}

impl ApiError {
    pub fn no_such_room() -> Self {
        Self::NotFound("no such room".into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotAnchor | Self::NotAdmin | Self::NotSeated | Self::Banned(_) => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::NotMember | Self::SeatConflict(_) | Self::PkConflict(_) => {
                StatusCode::CONFLICT
            }
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } | Self::QuotaExceeded(_) | Self::Busy { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The contract's code (section 3).
    pub fn code(&self) -> i32 {
        match self {
            Self::NotMember => 40901,
            Self::SeatConflict(_) => 40902,
            Self::PkConflict(_) => 40903,
            Self::Banned(_) => 40301,
            other => i32::from(other.status().as_u16()) * 100,
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        Self::BadRequest(e.0)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::no_such_room(),
            StoreError::NotAnchor => Self::NotAnchor,
            StoreError::Conflict(why) => Self::Conflict(why),
            StoreError::NotMember => Self::NotMember,
            StoreError::Seat(why) => Self::SeatConflict(why),
            StoreError::PkConflict(why) => Self::PkConflict(why),
            StoreError::Banned(until_ms) => Self::Banned(banned_message(until_ms)),
            StoreError::Invalid(why) => Self::BadRequest(why),
            StoreError::QuotaExceeded(why) => Self::QuotaExceeded(why),
            StoreError::Unavailable(why) => {
                tracing::warn!(request_id = %current_request_id(), error = %why, "redis unavailable");
                Self::Unavailable
            }
            StoreError::Internal(why) => {
                tracing::error!(request_id = %current_request_id(), error = %why, "internal error");
                Self::Internal
            }
        }
    }
}

/// "banned from this room until …": the end of the ban in UTC (RFC 3339) and unix seconds.
fn banned_message(until_ms: i64) -> String {
    let secs = until_ms.div_euclid(1000) + i64::from(until_ms.rem_euclid(1000) > 0);
    let at = chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    format!("you are banned from this room until {at} (unix {secs}); the room's anchor can lift it")
}

/// The error code of a response, for the request log line.
#[derive(Debug, Clone, Copy)]
pub struct ResponseCode(pub i32);

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        let body = Envelope {
            request_id: current_request_id(),
            code: self.code(),
            message: self.to_string(),
        };
        let mut resp = poem::web::Json(body)
            .with_status(self.status())
            .into_response();
        resp.extensions_mut().insert(ResponseCode(self.code()));
        if let Self::TooManyRequests { retry_after, .. } | Self::Busy { retry_after, .. } = self
            && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if matches!(self, Self::RequestTimeout(_) | Self::PayloadTooLarge(_)) {
            // the rest of the body is unread: the connection cannot carry another request
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if matches!(self, Self::Unauthorized(_)) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        resp
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let described = [
            (
                400,
                "40000: a parameter is missing, malformed or out of range",
            ),
            (401, "40100: no token, or a token that fails verification"),
            (
                403,
                "40300: the caller is not the room's anchor (or, on /server/…, not an admin); \
                 40301: the caller is banned from the room",
            ),
            (404, "40400: no such room"),
            (
                409,
                "40900: the room's state forbids it; 40901: not a member (join again); 40902: a \
                 co-host seat conflict (no free seat, already seated, not on a seat); 40903: a PK \
                 conflict",
            ),
            (413, "41300: request body over 64 KiB"),
            (429, "42900: rate limit exceeded (see Retry-After)"),
            (500, "50000: a bug, logged with the request id"),
            (
                503,
                "50300: Redis unreachable; the request had no effect or is safe to retry",
            ),
        ];
        envelope_responses(&described)
    }

    fn register(registry: &mut Registry) {
        Envelope::register(registry);
    }
}

/// The envelope answers, each with the headers it carries: `WWW-Authenticate` on a 401
/// (RFC 6750), `Retry-After` on a 429 of a rate or a cap that frees up by itself.
fn envelope_responses(described: &[(u16, &'static str)]) -> MetaResponses {
    let header = |name: &str, description: &str, required: bool| MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required,
        deprecated: false,
        schema: String::schema_ref(),
    };
    MetaResponses {
        responses: described
            .iter()
            .map(|&(status, description)| MetaResponse {
                description,
                status: Some(status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/json; charset=utf-8",
                    schema: Envelope::schema_ref(),
                }],
                headers: match status {
                    401 => vec![header(
                        "WWW-Authenticate",
                        "`Bearer error=\"invalid_token\"` (RFC 6750)",
                        true,
                    )],
                    // a rate or a cap that frees up by itself says when; a quota (rooms not
                    // ended per anchor, bans per room) does not, as only the caller frees it
                    429 => vec![header(
                        "Retry-After",
                        "Seconds to wait before trying again: on rate limits and on caps that \
                         free up by themselves (event streams); absent on quotas, which the \
                         caller frees (stop or delete a room)",
                        false,
                    )],
                    _ => vec![],
                },
            })
            .collect(),
    }
}

/// The envelope answers of a request refused before its handler runs: a JSON body that cannot
/// be read (400), a body over the limit (413). For the operations whose own answers are their
/// callers' formats (the media-server hooks): a handler's `Result<_, BodyRefused>` only tells
/// the spec; the value cannot exist.
pub enum BodyRefused {}

/// As [`BodyRefused`], for a form body, which must also say it is one (415 otherwise), and a
/// path parameter that is not one of its values (400).
pub enum FormRefused {}

const BODY_REFUSED: [(u16, &str); 2] = [
    (
        400,
        "40000: the body (or a parameter) is missing or malformed",
    ),
    (413, "41300: request body over 64 KiB"),
];

macro_rules! refused {
    ($name:ident, $described:expr) => {
        impl ApiResponse for $name {
            fn meta() -> MetaResponses {
                envelope_responses(&$described)
            }

            fn register(registry: &mut Registry) {
                Envelope::register(registry);
            }
        }

        impl IntoResponse for $name {
            fn into_response(self) -> Response {
                match self {}
            }
        }

        impl From<$name> for poem::Error {
            fn from(refused: $name) -> Self {
                match refused {}
            }
        }
    };
}

refused!(BodyRefused, BODY_REFUSED);
refused!(
    FormRefused,
    [
        BODY_REFUSED[0],
        BODY_REFUSED[1],
        (
            415,
            "41500: the body is not `application/x-www-form-urlencoded`",
        ),
    ]
);

impl From<crate::ratelimit::RateLimited> for ApiError {
    fn from(e: crate::ratelimit::RateLimited) -> Self {
        Self::TooManyRequests {
            who: e.who,
            limit: e.limit,
            retry_after: e.retry_after,
        }
    }
}
