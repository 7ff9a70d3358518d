//! The contract's envelope `{request_id, code, message, data}` and the request id it carries.

use poem::{IntoResponse, Response};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object};

use super::model::{HeartbeatData, LikeData, MemberPage, PkData, RoomData, RoomPage};

tokio::task_local! {
    /// The id of the request being served; set by the request middleware around each request.
    static REQUEST_ID: String;
}

/// Runs `f` as the request `id`.
pub async fn with_request_id<F: std::future::Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The id of the request being served ("" outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// The caller's `X-Request-Id` when it is 1–128 printable ASCII characters, else a fresh UUID.
///
/// The fresh one is a v4 UUID from a thread-local CSPRNG seeded once from the OS (uuid's
/// `fast-rng`), not a `getrandom` system call per request: every request without an id pays it.
pub fn request_id_from(header: Option<&str>) -> String {
    match header {
        Some(h) if (1..=128).contains(&h.len()) && h.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
            h.to_owned()
        }
        _ => {
            let mut buf = uuid::Uuid::encode_buffer();
            uuid::Uuid::new_v4()
                .hyphenated()
                .encode_lower(&mut buf)
                .to_owned()
        }
    }
}

/// An envelope type around `$data` (`ok` fills in the request id). Shared by every answer
/// module (`pub(super) use` below), so an envelope is declared the same way wherever it lives.
macro_rules! envelope {
    ($(#[$doc:meta])* $name:ident, $data:ty) => {
        $(#[$doc])*
        #[derive(poem_openapi::Object, Debug)]
        pub struct $name {
            /// Request id (the caller's `X-Request-Id`, or one made by the server).
            pub request_id: String,
            /// 0 on success.
            pub code: i32,
            pub message: String,
            pub data: $data,
        }

        impl $name {
            pub fn ok(data: $data) -> poem_openapi::payload::Json<Self> {
                poem_openapi::payload::Json(Self {
                    request_id: $crate::http::envelope::current_request_id(),
                    code: 0,
                    message: "success".into(),
                    data,
                })
            }
        }
    };
}
pub(super) use envelope;

envelope!(
    /// A room.
    RoomEnvelope,
    RoomData
);

envelope!(
    /// The likes totals after a like.
    LikeEnvelope,
    LikeData
);

envelope!(
    /// A cross-room PK.
    PkEnvelope,
    PkData
);
envelope!(
    /// A page of rooms.
    RoomPageEnvelope,
    RoomPage
);
envelope!(
    /// A page of members.
    MemberPageEnvelope,
    MemberPage
);
envelope!(
    /// A heartbeat's answer.
    HeartbeatEnvelope,
    HeartbeatData
);

/// An answer with no data (stop, delete, leave, extends), and every error.
#[derive(Object, Debug, serde::Serialize)]
pub struct Envelope {
    /// Request id (the caller's `X-Request-Id`, or one made by the server).
    pub request_id: String,
    /// 0 on success; otherwise the contract's error code (40000, 40100, 40300, 40400, ...).
    pub code: i32,
    /// "success", or what went wrong in words a person can act on.
    pub message: String,
}

impl Envelope {
    pub fn ok() -> Json<Self> {
        Json(Self {
            request_id: current_request_id(),
            code: 0,
            message: "success".into(),
        })
    }
}

impl HeartbeatEnvelope {
    /// The heartbeat's answer, written straight to bytes (see [`HeartbeatJson`]).
    pub fn fast(data: HeartbeatData) -> HeartbeatJson {
        let Json(envelope) = Self::ok(data);
        HeartbeatJson(envelope)
    }
}

/// The heartbeat's answer as `Json<HeartbeatEnvelope>` would send it (same bytes, same schema in
/// the spec), but serialized by hand: the heartbeat is nearly all of the traffic, and `Json<T>`
/// first builds a `serde_json::Value` tree (a map and a string per field) only to write it out.
pub struct HeartbeatJson(pub HeartbeatEnvelope);

impl HeartbeatJson {
    fn to_bytes(&self) -> Vec<u8> {
        let e = &self.0;
        let mut out = Vec::with_capacity(96 + e.request_id.len() + e.data.live_id.len());
        out.extend_from_slice(b"{\"request_id\":");
        json_string(&mut out, &e.request_id);
        out.extend_from_slice(b",\"code\":");
        json_int(&mut out, e.code);
        out.extend_from_slice(b",\"message\":");
        json_string(&mut out, &e.message);
        out.extend_from_slice(b",\"data\":{\"live_id\":");
        json_string(&mut out, &e.data.live_id);
        out.extend_from_slice(b",\"live_status\":");
        json_int(&mut out, e.data.live_status);
        out.extend_from_slice(b"}}");
        out
    }
}

/// `s` as a JSON string, quoted and escaped (serde_json's escaping; writing to a Vec cannot fail).
fn json_string(out: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *out, s);
}

fn json_int(out: &mut Vec<u8>, n: i32) {
    use std::io::Write;
    let _ = write!(out, "{n}");
}

/// A 200 answer whose bytes the type writes itself (`to_bytes`), sent and described in the spec
/// exactly as `Json<$envelope>` would be.
macro_rules! prepared_json {
    ($name:ty, $envelope:ty) => {
        impl Payload for $name {
            const CONTENT_TYPE: &'static str = Json::<$envelope>::CONTENT_TYPE;

            fn check_content_type(content_type: &str) -> bool {
                Json::<$envelope>::check_content_type(content_type)
            }

            fn schema_ref() -> MetaSchemaRef {
                <$envelope>::schema_ref()
            }

            fn register(registry: &mut Registry) {
                <$envelope>::register(registry);
            }
        }

        impl IntoResponse for $name {
            fn into_response(self) -> Response {
                Response::builder()
                    .content_type(Self::CONTENT_TYPE)
                    .body(self.to_bytes())
            }
        }

        impl ApiResponse for $name {
            fn meta() -> MetaResponses {
                MetaResponses {
                    responses: vec![MetaResponse {
                        description: "",
                        status: Some(200),
                        status_range: None,
                        content: vec![MetaMediaType {
                            content_type: Self::CONTENT_TYPE,
                            schema: Self::schema_ref(),
                        }],
                        headers: vec![],
                    }],
                }
            }

            fn register(registry: &mut Registry) {
                <$envelope>::register(registry);
            }
        }
    };
}

prepared_json!(HeartbeatJson, HeartbeatEnvelope);

/// A page of rooms as `Json<RoomPageEnvelope>` would send it (same bytes, same schema in the
/// spec), with its `data` serialized beforehand: a page the store shares between callers (its
/// page cache, issue 18) is serialized once for all the callers it reads the same for, and each
/// answer only adds its request id around those bytes.
pub struct RoomPageJson {
    request_id: String,
    data: Vec<u8>,
}

impl RoomPageJson {
    /// The `data` of the answer, as `Json` writes it.
    pub fn data_of(page: &RoomPage) -> Vec<u8> {
        use poem_openapi::types::ToJSON;
        serde_json::to_vec(&page.to_json()).unwrap_or_else(|_| b"null".to_vec())
    }

    /// The answer to this request with `data` (bytes of [`Self::data_of`]).
    pub fn new(data: Vec<u8>) -> Self {
        Self {
            request_id: current_request_id(),
            data,
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.request_id.len() + self.data.len());
        out.extend_from_slice(b"{\"request_id\":");
        json_string(&mut out, &self.request_id);
        out.extend_from_slice(b",\"code\":0,\"message\":\"success\",\"data\":");
        out.extend_from_slice(&self.data);
        out.push(b'}');
        out
    }
}

prepared_json!(RoomPageJson, RoomPageEnvelope);

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use super::*;

    #[test]
    fn the_hand_written_heartbeat_answer_is_what_json_would_send() {
        for (request_id, live_status) in [
            ("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", 1),
            ("quote \" back\\slash ~ {}", 2),
            ("", 0),
        ] {
            let e = || HeartbeatEnvelope {
                request_id: request_id.to_owned(),
                code: 0,
                message: "success".into(),
                data: HeartbeatData {
                    live_id: "live_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b".into(),
                    live_status,
                },
            };
            let generic = serde_json::to_vec(&e().to_json()).expect("JSON");
            assert_eq!(
                String::from_utf8(HeartbeatJson(e()).to_bytes()).expect("UTF-8"),
                String::from_utf8(generic).expect("UTF-8")
            );
        }
    }

    #[test]
    fn the_prepared_room_page_answer_is_what_json_would_send() {
        let page = || RoomPage {
            total_count: 3,
            page_total: 1,
            end_page: true,
            list: vec![<RoomData as poem_openapi::types::Example>::example()],
        };
        let request_id = "quote \" back\\slash";
        let generic = RoomPageEnvelope {
            request_id: request_id.to_owned(),
            code: 0,
            message: "success".into(),
            data: page(),
        };
        let generic = serde_json::to_vec(&generic.to_json()).expect("JSON");
        let prepared = RoomPageJson {
            request_id: request_id.to_owned(),
            data: RoomPageJson::data_of(&page()),
        };
        assert_eq!(
            String::from_utf8(prepared.to_bytes()).expect("UTF-8"),
            String::from_utf8(generic).expect("UTF-8")
        );
    }

    #[test]
    fn fresh_request_ids_are_distinct_uuids() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| request_id_from(None)).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(10) {
            let uuid = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(uuid.get_version_num(), 4);
        }
        assert_eq!(request_id_from(Some("abc")), "abc");
        assert_ne!(request_id_from(Some("bad\u{7f}")), "bad\u{7f}");
    }
}
