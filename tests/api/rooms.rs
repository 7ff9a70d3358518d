//! Endpoints 1–5 and 11: the room lifecycle (CONTRACT sections 1, 2, 5, 8).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::*;

async fn create(app: &TestApp, anchor: &str, body: Value) -> Answer {
    app.request(
        Method::POST,
        "/client/live/room/instance",
        Some(&token(anchor)),
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_answers_the_room_with_the_caller_as_anchor() {
    let app = spawn_app().await;
    let t = token_with(json!({
        "sub": "anchor-1", "exp": now_secs() + 600, "nick": "主播1",
        "avatar": "https://x.com/a.png", "extends": {"level": "3"}
    }));
    let body = json!({
        "title": "XXX直播", "notice": "直播公告", "cover_url": "https://xxx.com/avator.png",
        "extends": {"age": "18"}, "start_at": "2021-12-02 11:11:11",
        "end_at": "2021-12-02T05:11:11Z", "publish_expire_at": "2021-12-02 11:11:11"
    });
    let a = app
        .request(
            Method::POST,
            "/client/live/room/instance",
            Some(&t),
            Some(body),
        )
        .await;
    let d = a.assert_ok();
    let id = d["live_id"].as_str().unwrap();
    assert!(id.starts_with("live_") && id.len() == 37, "{id}");
    assert_eq!(d["title"], "XXX直播");
    assert_eq!(d["notice"], "直播公告");
    assert_eq!(d["cover_url"], "https://xxx.com/avator.png");
    assert_eq!(d["extends"], json!({"age": "18"}));
    assert_eq!(d["anchor_info"]["user_id"], "anchor-1");
    assert_eq!(d["anchor_info"]["nick"], "主播1");
    assert_eq!(d["anchor_info"]["avatar"], "https://x.com/a.png");
    assert_eq!(d["anchor_info"]["extends"], json!({"level": "3"}));
    assert!(d["anchor_info"]["im_userid"].as_i64().unwrap() > 0);
    assert_eq!(d["live_status"], 0);
    assert_eq!(d["anchor_status"], 0);
    assert_eq!(d["pk_id"], "");
    assert_eq!(
        (
            d["online_count"].as_u64(),
            d["pv"].as_u64(),
            d["uv"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    // planned times, in +08:00 by default; RFC 3339 accepted
    assert_eq!(d["start_time"], 1638414671);
    assert_eq!(d["end_time"], 1638414671 + 2 * 3600);
    assert!(d["chat_id"].as_i64().unwrap() > 0);
    assert_eq!(d["push_url"], format!("rtmp://127.0.0.1:1935/live/{id}"));
    assert_eq!(d["rtmp_url"], format!("rtmp://127.0.0.1:1935/live/{id}"));
    assert_eq!(d["flv_url"], format!("http://127.0.0.1:8080/live/{id}.flv"));
    assert_eq!(
        d["hls_url"],
        format!("http://127.0.0.1:8080/live/{id}.m3u8")
    );
    // the same room, read back
    let info = app.info(id, "anchor-1").await;
    assert_eq!(info.assert_ok(), d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envelope_carries_the_callers_request_id() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/client/live/room/list", app.base))
        .header("Authorization", format!("Bearer {}", token("u")))
        .header("X-Request-Id", "my-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "my-trace-42");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["request_id"], "my-trace-42");
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["request_id", "code", "message", "data"]
    );

    // not printable ASCII, or too long: a fresh id instead
    for bad in ["x".repeat(129), "tab\there".to_owned()] {
        let resp = app
            .client
            .get(format!("{}/client/live/room/list", app.base))
            .header("Authorization", format!("Bearer {}", token("u")))
            .header("X-Request-Id", bad.as_str())
            .send()
            .await
            .unwrap();
        let header = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        assert_ne!(header, bad);
        assert_eq!(body["request_id"], header.as_str());
        assert!(uuid::Uuid::parse_str(&header).is_ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_unique_and_chat_ids_and_im_userids_stable() {
    let app = spawn_app().await;
    let a = create(&app, "anchor-a", json!({"title": "one"})).await;
    let b = create(&app, "anchor-a", json!({"title": "two"})).await;
    let c = create(&app, "anchor-c", json!({"title": "three"})).await;
    let (a, b, c) = (a.assert_ok(), b.assert_ok(), c.assert_ok());
    assert_ne!(a["live_id"], b["live_id"]);
    assert_ne!(a["chat_id"], b["chat_id"]);
    assert_eq!(a["anchor_info"]["im_userid"], b["anchor_info"]["im_userid"]);
    assert_ne!(a["anchor_info"]["im_userid"], c["anchor_info"]["im_userid"]);
    let again = app.info(a["live_id"].as_str().unwrap(), "someone").await;
    assert_eq!(again.assert_ok()["chat_id"], a["chat_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_url_is_shown_to_the_anchor_only() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "t").await;
    assert_ne!(app.info(&id, "anchor").await.assert_ok()["push_url"], "");
    let viewer = app.info(&id, "viewer").await;
    assert_eq!(viewer.assert_ok()["push_url"], "");
    assert_ne!(viewer.assert_ok()["rtmp_url"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_runs_created_live_ended() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "t").await;

    let started = app.start(&id, "anchor").await;
    let d = started.assert_ok().clone();
    assert_eq!(d["live_status"], 1);
    assert_eq!(
        d["anchor_status"], 1,
        "start counts as the anchor's heartbeat"
    );
    let start_time = d["start_time"].as_i64().unwrap();
    assert!(
        (start_time - now_secs() as i64).abs() < 60,
        "actual start time"
    );

    // start again: idempotent, answers the room
    let again = app.start(&id, "anchor").await;
    assert_eq!(again.assert_ok()["live_status"], 1);
    assert_eq!(again.assert_ok()["start_time"], start_time);

    let stopped = app.stop(&id, "anchor").await;
    stopped.assert_ok();
    assert!(stopped.body.get("data").is_none(), "stop answers no data");
    let info = app.info(&id, "anchor").await;
    let d = info.assert_ok();
    assert_eq!(d["live_status"], 2);
    assert_eq!(d["start_time"], start_time);
    assert!(
        (d["end_time"].as_i64().unwrap() - now_secs() as i64).abs() < 60,
        "actual end time"
    );

    // an ended room cannot start again or stop again
    app.start(&id, "anchor").await.assert_error(409, 40900);
    app.stop(&id, "anchor").await.assert_error(409, 40900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_needs_a_live_room() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "t").await;
    let a = app.stop(&id, "anchor").await;
    a.assert_error(409, 40900);
    assert_eq!(app.info(&id, "anchor").await.assert_ok()["live_status"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_anchor_may_change_the_room() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "t").await;
    app.start(&id, "intruder").await.assert_error(403, 40300);
    assert_eq!(app.info(&id, "anchor").await.assert_ok()["live_status"], 0);
    app.start(&id, "anchor").await.assert_ok();
    app.stop(&id, "intruder").await.assert_error(403, 40300);
    app.delete(&id, "intruder").await.assert_error(403, 40300);
    let ext = app
        .request(
            Method::PUT,
            "/client/live/room/extends",
            Some(&token("intruder")),
            Some(json!({"live_id": id, "extends": {"a": "b"}})),
        )
        .await;
    ext.assert_error(403, 40300);
    let d = app.info(&id, "anchor").await;
    assert_eq!(d.assert_ok()["live_status"], 1);
    assert_eq!(d.assert_ok()["extends"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_room_and_every_key_of_it() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "t").await;
    app.start(&id, "anchor").await.assert_ok();
    app.join(&id, "viewer").await.assert_ok();
    let a = app.delete(&id, "anchor").await;
    a.assert_ok();
    assert!(a.body.get("data").is_none());
    app.info(&id, "anchor").await.assert_error(404, 40400);
    app.start(&id, "anchor").await.assert_error(404, 40400);
    app.delete(&id, "anchor").await.assert_error(404, 40400);
    app.join(&id, "viewer").await.assert_error(404, 40400);
    app.heartbeat(&id, "viewer").await.assert_error(404, 40400);
    for suffix in ["", ":members", ":joins", ":uv", ":anchor"] {
        let key = app.key(&format!("room:{{{id}}}{suffix}"));
        let exists = shared_redis().cli(&["EXISTS", &key]).await.unwrap();
        assert_eq!(exists.trim(), "(integer) 0", "{key} left behind");
    }
    // the member's entry (its seq) waits for the sweep, which releases the member's pointer
    // first, then the entries and the set-aside keys go
    for suffix in [":entries", ":leaving", ":leaving_entries"] {
        let key = app.key(&format!("room:{{{id}}}{suffix}"));
        eventually(Duration::from_secs(30), &format!("{key} gone"), || async {
            let exists = shared_redis().cli(&["EXISTS", &key]).await?;
            (exists.trim() == "(integer) 0").then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_works_in_every_state() {
    let app = spawn_app().await;
    for stage in 0..3 {
        let id = app.create_room("anchor", "t").await;
        if stage >= 1 {
            app.start(&id, "anchor").await.assert_ok();
        }
        if stage >= 2 {
            app.stop(&id, "anchor").await.assert_ok();
        }
        app.delete(&id, "anchor").await.assert_ok();
        app.info(&id, "anchor").await.assert_error(404, 40400);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extends_are_replaced_by_the_anchor() {
    let app = spawn_app().await;
    let a = create(
        &app,
        "anchor",
        json!({"title": "t", "extends": {"a": "1", "b": "2"}}),
    )
    .await;
    let id = a.assert_ok()["live_id"].as_str().unwrap().to_owned();
    let put = app
        .request(
            Method::PUT,
            "/client/live/room/extends",
            Some(&token("anchor")),
            Some(json!({"live_id": id, "extends": {"c": "3"}})),
        )
        .await;
    put.assert_ok();
    assert!(put.body.get("data").is_none());
    assert_eq!(
        app.info(&id, "x").await.assert_ok()["extends"],
        json!({"c": "3"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extends_validates_its_body() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "t").await;
    let put = |body: Value| {
        let app = &app;
        async move {
            app.request(
                Method::PUT,
                "/client/live/room/extends",
                Some(&token("anchor")),
                Some(body),
            )
            .await
        }
    };
    put(json!({"live_id": "live_nope", "extends": {}}))
        .await
        .assert_error(404, 40400);
    put(json!({"live_id": "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f", "extends": {}}))
        .await
        .assert_error(404, 40400);
    let missing = put(json!({"live_id": id})).await;
    missing.assert_error(400, 40000);
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("extends"),
        "{:?}",
        missing.body
    );
    let wrong = put(json!({"live_id": id, "extends": {"a": 1}})).await;
    wrong.assert_error(400, 40000);
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    let a = put(json!({"live_id": id, "extends": many})).await;
    a.assert_error(400, 40000);
    assert!(a.body["message"].as_str().unwrap().contains("32"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_malformed_ids_are_404() {
    let app = spawn_app().await;
    for id in [
        "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f",
        "nope",
        "live_1",
        "LIVE_X",
    ] {
        app.info(id, "u").await.assert_error(404, 40400);
        app.start(id, "u").await.assert_error(404, 40400);
        app.stop(id, "u").await.assert_error(404, 40400);
        app.delete(id, "u").await.assert_error(404, 40400);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_validates_every_field() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "title"),
        (json!({"title": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": "字".repeat(129)}), "title"),
        (json!({"title": 5}), "title"),
        (json!({"title": "t", "notice": "n".repeat(1025)}), "notice"),
        (json!({"title": "t", "notice": 7}), "notice"),
        (
            json!({"title": "t", "cover_url": "http;//xxx.png"}),
            "cover_url",
        ),
        (
            json!({"title": "t", "cover_url": "ftp://x.com/a.png"}),
            "cover_url",
        ),
        (
            json!({"title": "t", "cover_url": format!("https://x.com/{}", "a".repeat(2040))}),
            "cover_url",
        ),
        (json!({"title": "t", "extends": {"": "v"}}), "extends"),
        (
            json!({"title": "t", "extends": {"k".repeat(65): "v"}}),
            "extends",
        ),
        (
            json!({"title": "t", "extends": {"k": "v".repeat(1025)}}),
            "extends",
        ),
        (json!({"title": "t", "extends": {"k": 18}}), "extends"),
        (json!({"title": "t", "extends": "age=18"}), "extends"),
        (json!({"title": "t", "start_at": "tomorrow"}), "start_at"),
        (
            json!({"title": "t", "end_at": "2021-02-30 11:11:11"}),
            "end_at",
        ),
        (
            json!({"title": "t", "publish_expire_at": "2021/12/02"}),
            "publish_expire_at",
        ),
        (
            json!({"title": "t", "start_at": "2021-12-02 11:11:11", "end_at": "2021-12-02 11:11:11"}),
            "end_at",
        ),
    ];
    for (body, field) in cases {
        let a = create(&app, "anchor", body.clone()).await;
        a.assert_error(400, 40000);
        let msg = a.body["message"].as_str().unwrap();
        assert!(
            msg.contains(field),
            "message for {body} should name {field}: {msg}"
        );
    }
    // the limits themselves are accepted
    let ok = json!({
        "title": format!("  {}  ", "字".repeat(128)), "notice": "n".repeat(1024),
        "cover_url": "", "extends": (0..32).map(|i| (format!("k{i}"), json!("v".repeat(1024)))).collect::<serde_json::Map<_, _>>(),
        "unknown_field": {"ignored": true}
    });
    let a = create(&app, "anchor", ok).await;
    assert_eq!(a.assert_ok()["title"], "字".repeat(128));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_answer_the_envelope() {
    let app = spawn_app().await;
    let send = |body: &'static str, content_type: &'static str| {
        let app = &app;
        async move {
            let resp = app
                .client
                .post(format!("{}/client/live/room/instance", app.base))
                .header("Authorization", format!("Bearer {}", token("a")))
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    for body in ["{\"title\":", "[]", "null", "title=x"] {
        let (status, b) = send(body, "application/json").await;
        assert_eq!(
            (status, b["code"].as_i64()),
            (400, Some(40000)),
            "{body}: {b}"
        );
    }
    let (status, b) = send("", "application/json").await;
    assert_eq!((status, b["code"].as_i64()), (400, Some(40000)), "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_64_kib_is_413() {
    let app = spawn_app().await;
    let big = json!({"title": "t", "notice": "n".repeat(70 * 1024)});
    create(&app, "anchor", big).await.assert_error(413, 41300);
    // the same refused when sent chunked, without a Content-Length
    let body = serde_json::to_vec(&json!({"title": "t", "notice": "n".repeat(70 * 1024)})).unwrap();
    let stream = futures_util::stream::iter(
        body.chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let resp = app
        .client
        .post(format!("{}/client/live/room/instance", app.base))
        .header("Authorization", format!("Bearer {}", token("anchor")))
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["code"], 41300);
    let list = app
        .get("/client/live/room?keyword=", &token("anchor"))
        .await;
    assert_eq!(list.assert_ok()["total_count"], 0, "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extends_is_a_static_segment_not_a_live_id() {
    let app = spawn_app().await;
    // PUT /client/live/room/extends without a body is a bad extends request, never "start room extends"
    let a = app
        .request(
            Method::PUT,
            "/client/live/room/extends",
            Some(&token("a")),
            None,
        )
        .await;
    assert_eq!(a.status.as_u16(), 400, "{:?}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_answer_the_envelope() {
    let app = spawn_app().await;
    let a = app.get("/client/live/nothing-here", &token("a")).await;
    a.assert_error(404, 40400);
    let a = app
        .request(
            Method::PATCH,
            "/client/live/room/list",
            Some(&token("a")),
            None,
        )
        .await;
    assert_eq!(a.status.as_u16(), 405);
    assert_eq!(a.code(), 40500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_use_the_configured_zone() {
    let mut s = test_settings();
    s.timezone = "UTC".into();
    let app = spawn_app_with(s).await;
    let a = create(
        &app,
        "a",
        json!({"title": "t", "start_at": "2021-12-02 00:00:00"}),
    )
    .await;
    assert_eq!(a.assert_ok()["start_time"], 1_638_403_200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operational_endpoints_answer() {
    let app = spawn_app().await;
    assert_eq!(app.status_of("/healthz").await, 200);
    assert_eq!(app.status_of("/readyz").await, 200);
    let docs = app
        .client
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status().as_u16(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    app.create_room("a", "t").await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            "liveroom_requests_total{method=\"POST\",route=\"/client/live/room/instance\",status=\"200\",code=\"0\"} 1"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_and_stops_serving() {
    let mut app = spawn_app().await;
    app.create_room("a", "t").await;
    app.stop_app().await;
    let after = app.client.get(format!("{}/healthz", app.base)).send().await;
    assert!(after.is_err(), "still serving after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_rooms_are_removed_after_the_retention() {
    let mut s = test_settings();
    s.ended_retention_secs = 1;
    s.heartbeat_interval_ms = 100;
    let app = spawn_app_with(s).await;
    let ended = app.create_room("anchor", "retained a while").await;
    let live = app.create_room("anchor", "still live").await;
    app.start(&ended, "anchor").await.assert_ok();
    app.start(&live, "anchor").await.assert_ok();
    app.stop(&ended, "anchor").await.assert_ok();
    assert_eq!(
        app.info(&ended, "x").await.assert_ok()["live_status"],
        2,
        "readable at first"
    );
    eventually(
        std::time::Duration::from_secs(10),
        "the ended room is removed",
        || async { (app.info(&ended, "x").await.status.as_u16() == 404).then_some(()) },
    )
    .await;
    let search = app
        .get("/client/live/room?keyword=retained", &token("x"))
        .await;
    assert_eq!(search.assert_ok()["total_count"], 0);
    assert_eq!(
        app.info(&live, "x").await.assert_ok()["live_status"],
        1,
        "a live room is never purged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_are_reloaded_after_redis_forgets_them() {
    // as after a node restart or a failover to a replica that never saw SCRIPT LOAD
    let app = spawn_app().await;
    let id = app.create_room("anchor", "t").await;
    app.join(&id, "v").await.assert_ok();
    shared_redis().on_every_node(&["SCRIPT", "FLUSH"]).await;
    app.info(&id, "x").await.assert_ok();
    app.heartbeat(&id, "v").await.assert_ok();
    app.start(&id, "anchor").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_routes_redis_and_gauges() {
    let mut s = test_settings();
    s.heartbeat_interval_ms = 100; // sweeps every 100 ms: the member gauge follows quickly
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "t").await;
    app.start(&id, "anchor").await.assert_ok();
    app.join(&id, "v1").await.assert_ok();
    app.join(&id, "v2").await.assert_ok();
    app.info("live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f", "x")
        .await
        .assert_error(404, 40400);
    let scrape = || async {
        app.client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let text = eventually(
        std::time::Duration::from_secs(10),
        "the member gauge",
        || async {
            let text = scrape().await;
            text.contains("liveroom_members_online 2").then_some(text)
        },
    )
    .await;
    assert!(text.contains("liveroom_rooms_live 1"), "{text}");
    assert!(
        text.contains(
            "route=\"/client/live/room/info/{live_id}\",status=\"404\",code=\"40400\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("liveroom_request_duration_seconds_count{method=\"POST\",route=\"/client/live/room/user/{live_id}\"} 2"), "{text}");
    assert!(text.contains("liveroom_redis_errors_total 0"), "{text}");
    let calls = text
        .lines()
        .find_map(|l| l.strip_prefix("liveroom_redis_call_duration_seconds_count "))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(calls > 5, "{text}");
    app.leave(&id, "v1").await.assert_ok();
    eventually(
        std::time::Duration::from_secs(10),
        "the gauge follows a leave",
        || async {
            scrape()
                .await
                .contains("liveroom_members_online 1")
                .then_some(())
        },
    )
    .await;
}
