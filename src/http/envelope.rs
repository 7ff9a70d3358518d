//! The contract's envelope `{request_id, code, message, data}` and the request id it carries.

use poem_openapi::Object;
use poem_openapi::payload::Json;

use super::model::{HeartbeatData, MemberPage, RoomData, RoomPage};

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
pub fn request_id_from(header: Option<&str>) -> String {
    match header {
        Some(h) if (1..=128).contains(&h.len()) && h.bytes().all(|b| (0x20..0x7f).contains(&b)) => {
            h.to_owned()
        }
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

macro_rules! envelope {
    ($(#[$doc:meta])* $name:ident, $data:ty) => {
        $(#[$doc])*
        #[derive(Object, Debug)]
        pub struct $name {
            /// Request id (the caller's `X-Request-Id`, or one made by the server).
            pub request_id: String,
            /// 0 on success.
            pub code: i32,
            pub message: String,
            pub data: $data,
        }

        impl $name {
            pub fn ok(data: $data) -> Json<Self> {
                Json(Self { request_id: current_request_id(), code: 0, message: "success".into(), data })
            }
        }
    };
}

envelope!(
    /// A room.
    RoomEnvelope,
    RoomData
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
