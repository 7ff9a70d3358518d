//! The committed spec is what the code generates.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_spec_matches_the_code() {
    let generated = liveroom::app::offline_spec().await.expect("spec");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var_os("LIVEROOM_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, format!("{generated}\n")).expect("write spec");
        return;
    }
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `LIVEROOM_UPDATE_OPENAPI=1 cargo test --test api openapi` \
         (or `cargo run -- openapi > openapi/openapi.json`)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_spec_is_the_generated_one() {
    let app = super::helpers::spawn_app().await;
    let served: serde_json::Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generated: serde_json::Value =
        serde_json::from_str(&liveroom::app::offline_spec().await.unwrap()).unwrap();
    assert_eq!(served["paths"], generated["paths"]);
    for path in [
        "/client/live/room/instance",
        "/client/live/room/info/{live_id}",
        "/client/live/room/{live_id}",
        "/client/live/room/instance/{live_id}",
        "/client/live/room",
        "/client/live/room/list",
        "/client/live/room/user/{live_id}",
        "/client/live/room/heartbeat/{live_id}",
        "/client/live/room/extends",
        "/client/live/room/user_list",
    ] {
        assert!(
            served["paths"].get(path).is_some(),
            "{path} missing from the spec"
        );
    }
    assert_eq!(
        served["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
