//! The spec as served and committed: poem-openapi's OpenAPI 3.0 document, finished with what
//! poem-openapi cannot say, and kept valid 3.0 for every reader. `scripts/spec-lint.sh` runs
//! openapi-spec-validator, Redocly's recommended rules and openapi-typescript + tsc on it;
//! `scripts/fuzz.sh` runs Schemathesis and tests/e2e/sdk an openapi-python-client SDK.
//!
//! - Links: every operation that answers a room links to every other operation that takes a
//!   `live_id` (path, query or body), so that clients and Schemathesis can chain create → info,
//!   start, join, heartbeat, user_list, events, extends, stop, delete.
//! - The event stream: a message is a Server-Sent Event (`id`, `event`, `data`) whose `data` is
//!   the JSON of a `RoomEvent`. OpenAPI 3.0 has no keyword for "a string holding JSON of this
//!   schema" (`contentSchema` is 3.1), so the description says it; the `RoomEvent` schema is
//!   what the webhooks deliver (`x-webhooks`, the 3.0 extension Redoc and Redocly read), which
//!   keeps it in the document for generators.
//! - `servers`: the server that serves the document (`/`), as no deployment's address is known
//!   here; `security: []` on the operations that take no token, said rather than implied; the
//!   license.
//! - `X-Request-Id` spelled as the server sends it; "success" for an answer without words;
//!   component schemas in name order.

use poem::endpoint::make_sync;
use poem::web::Html;
use poem::{Endpoint, Response, Route};
use poem_openapi::OpenApiService;
use serde_json::{Value, json};

use super::{Apis, AppState, events, openapi_service};

/// The spec as committed under `openapi/` (no server URL, so it does not depend on the bind).
pub fn spec_json(state: AppState) -> String {
    finish_spec(&openapi_service(state, "").spec())
}

/// `/openapi.json` and `/docs` (Swagger UI): both show the finished spec.
pub fn endpoints(
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

/// poem-openapi's spec, finished (see the module's documentation).
pub fn finish_spec(raw: &str) -> String {
    let mut spec: Value = serde_json::from_str(raw).expect("poem-openapi writes JSON");
    spec["info"]["license"] = json!({
        "name": env!("CARGO_PKG_LICENSE"),
        "url": "https://opensource.org/licenses/MIT",
    });
    let no_servers = spec
        .get("servers")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if no_servers {
        spec["servers"] = json!([{
            "url": "/",
            "description": "The server this document is served from.",
        }]);
    }
    add_room_links(&mut spec);
    describe_room_events(&mut spec);
    for op in operations_mut(&mut spec) {
        // an operation without a token says so: a generator or linter need not guess
        op.entry("security").or_insert_with(|| json!([]));
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

/// The event stream's `data`, and the webhook that delivers the same events.
fn describe_room_events(spec: &mut Value) {
    let mut registry = poem_openapi::registry::Registry::new();
    <events::RoomEvent as poem_openapi::types::Type>::register(&mut registry);
    let event_ref = format!("#/components/schemas/{}", events::EVENT_SCHEMA);
    let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    // No operation's schema refers to the event, so poem-openapi left it out.
    for (name, schema) in &registry.schemas {
        let schema = serde_json::to_value(schema).expect("a schema serializes");
        schemas.entry(name.clone()).or_insert(schema);
    }
    let data = schemas
        .get_mut(events::MESSAGE_SCHEMA)
        .and_then(|m| m.pointer_mut("/properties/data"));
    if let Some(data) = data {
        data["description"] = json!(format!(
            "The event: a `{}` (see components) as JSON. 事件JSON",
            events::EVENT_SCHEMA
        ));
    }
    let header = |name: &str, description: &str, example: &str| {
        json!({
            "name": name,
            "in": "header",
            "required": true,
            "description": description,
            "schema": {"type": "string", "example": example},
        })
    };
    spec["x-webhooks"] = json!({
        "roomEvent": {
            "post": {
                "operationId": "roomEventWebhook",
                "summary": "A room event, POSTed to LIVEROOM_WEBHOOK_URL",
                "description": "Every room event, at least once, in order per room, retried with \
                                backoff (100 ms doubling to 10 s) until the receiver answers \
                                2xx. Deduplicate by `event_id`. 直播间事件回调",
                "security": [],
                "parameters": [
                    header(
                        "X-Liveroom-Signature",
                        "`t={unix seconds},v1={hex HMAC-SHA256 of \"{t}.{body}\"}` with \
                         LIVEROOM_WEBHOOK_SECRET; refuse a `t` far from now (replays).",
                        "t=1700000000,v1=4f7c7a1cf3a8a1e8b1d0a6a2d1f3c9b5e6d7c8b9a0f1e2d3c4b5a69788796a5b",
                    ),
                    header(
                        "X-Liveroom-Event-Id",
                        "The body's `event_id`.",
                        "live_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b-1700000000000-0",
                    ),
                ],
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": {"allOf": [
                        {"$ref": event_ref},
                        {
                            "type": "object",
                            "required": ["event_id"],
                            "properties": {"event_id": {
                                "type": "string",
                                "description": "`{live_id}-{the event's id in the room's log}`",
                                "example": "live_0193a1b2c3d47e5f8a9b0c1d2e3f4a5b-1700000000000-0",
                            }},
                        },
                    ]}}},
                },
                "responses": {
                    "2XX": {"description": "Received: the event is not sent again."},
                    "4XX": {"description": "Refused (a bad signature, say): sent again later, \
                                            as after any answer but 2xx."},
                },
            },
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;

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
                "acceptSeat",
                "deleteRoom",
                "getRoom",
                "heartbeat",
                "invitePk",
                "joinRoom",
                "kickUser",
                "leaveRoom",
                "leaveSeat",
                "likeRoom",
                "listBans",
                "listMembers",
                "listSeats",
                "rejectSeat",
                "removeFromSeat",
                "roomEvents",
                "rtcToken",
                "serverDeleteRoom",
                "serverKickUser",
                "serverRoomStats",
                "serverSetMemberShards",
                "serverStopLive",
                "startLive",
                "stopLive",
                "switchSeat",
                "takeSeat",
                "unbanUser",
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
            assert_eq!(links(path, method).len(), 27, "{method} {path}");
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
        assert_eq!(data["type"], "string");
        assert!(data.get("contentSchema").is_none(), "a 3.1 keyword");
        let webhook = &spec["x-webhooks"]["roomEvent"]["post"];
        let body = &webhook["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["allOf"][0]["$ref"], "#/components/schemas/RoomEvent");
        assert_eq!(body["allOf"][1]["required"], json!(["event_id"]));
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

    #[tokio::test]
    async fn the_spec_is_openapi_3_0_with_servers_security_and_license_said() {
        let spec = spec().await;
        assert_eq!(spec["openapi"], "3.0.0");
        assert!(spec["info"].get("summary").is_none(), "a 3.1 field");
        assert_eq!(spec["info"]["license"]["name"], "MIT");
        assert_eq!(spec["servers"][0]["url"], "/");
        let mut public = Vec::new();
        for (path, ops) in spec["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                let security = op["security"].as_array();
                let security = security.unwrap_or_else(|| panic!("{method} {path}: no security"));
                if security.is_empty() {
                    public.push(op["operationId"].as_str().unwrap_or_default());
                }
            }
        }
        public.sort_unstable();
        assert_eq!(
            public,
            [
                "healthz",
                "metrics",
                "nginxRtmpNotify",
                "readyz",
                "srsCallback"
            ]
        );
    }
}
