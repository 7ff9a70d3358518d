//! Likes (CONTRACT section 14): the room's total and each liker's own, the refusals and their
//! order, the room object, list cards and stats, the coalesced `likes` event, and no like lost
//! when many arrive at once over two replicas.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use super::events::SseClient;
use super::helpers::*;

async fn like(app: &TestApp, live_id: &str, user: &str, body: Option<Value>) -> Answer {
    app.request(
        Method::PUT,
        &format!("/client/live/room/{live_id}/like"),
        Some(&token(user)),
        body,
    )
    .await
}

/// (room total, own total) of a successful like.
fn totals(answer: &Answer) -> (u64, u64) {
    let data = answer.assert_ok();
    (
        data["total"].as_u64().expect("total"),
        data["count"].as_u64().expect("count"),
    )
}

async fn live_room(app: &TestApp, anchor: &str, title: &str) -> String {
    let id = app.create_room(anchor, title).await;
    app.start(&id, anchor).await.assert_ok();
    id
}

#[tokio::test]
async fn likes_add_up_for_the_room_and_for_each_liker() {
    let app = spawn_app().await;
    let id = live_room(&app, "lk-anchor", "likes add up").await;
    app.join(&id, "lk-v1").await.assert_ok();
    app.join(&id, "lk-v2").await.assert_ok();
    // the body may be left out: one like
    assert_eq!(totals(&like(&app, &id, "lk-v1", None).await), (1, 1));
    assert_eq!(
        totals(&like(&app, &id, "lk-v1", Some(json!({"count": 5}))).await),
        (6, 6)
    );
    assert_eq!(
        totals(&like(&app, &id, "lk-v2", Some(json!({}))).await),
        (7, 1)
    );
    // a null count is one like too (the spec says the field is nullable)
    assert_eq!(
        totals(&like(&app, &id, "lk-v2", Some(json!({"count": null}))).await),
        (8, 2)
    );
    // the anchor may like its own room without joining it
    assert_eq!(
        totals(&like(&app, &id, "lk-anchor", Some(json!({"count": 100}))).await),
        (108, 100)
    );
    assert_eq!(app.info(&id, "lk-v2").await.assert_ok()["likes"], 108);
    let admin = token_with(json!({"sub": "ops", "exp": now_secs() + 3600, "admin": true}));
    let stats = app
        .get(&format!("/server/live/room/{id}/stats"), &admin)
        .await;
    assert_eq!(stats.assert_ok()["likes"], 108);
    // every list's row shows the total once it was announced (at most a second later): the live
    // list, search, the anchor's own rooms, the server's list
    for (path, who) in [
        ("/client/live/room/list?page_size=100", token("lk-v2")),
        (
            "/client/live/room?keyword=likes&page_size=100",
            token("lk-v2"),
        ),
        ("/client/live/room/mine?page_size=100", token("lk-anchor")),
        (
            "/server/live/rooms?anchor_id=lk-anchor&page_size=100",
            admin.clone(),
        ),
    ] {
        eventually(
            Duration::from_secs(10),
            &format!("{path} shows 108 likes"),
            || async {
                let page = app.get(path, &who).await;
                let rows = page.assert_ok()["list"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                rows.iter()
                    .any(|r| r["live_id"] == id.as_str() && r["likes"] == 108)
                    .then_some(())
            },
        )
        .await;
    }
    // a room that never had a like says 0
    let quiet = live_room(&app, "lk-anchor2", "no likes").await;
    assert_eq!(app.info(&quiet, "lk-v1").await.assert_ok()["likes"], 0);
}

#[tokio::test]
async fn likes_are_refused_with_the_contracts_codes_in_order() {
    let app = spawn_app().await;
    let id = app.create_room("lk-r-anchor", "refusals").await;
    app.join(&id, "lk-r-v").await.assert_ok();
    // a bad count names the field, before anything else
    for bad in [
        json!({"count": 0}),
        json!({"count": 101}),
        json!({"count": "x"}),
    ] {
        let a = like(&app, &id, "lk-r-v", Some(bad.clone())).await;
        a.assert_error(400, 40000);
        assert!(
            a.body["message"].as_str().unwrap_or("").contains("count"),
            "{bad}: {:?}",
            a.body
        );
    }
    // not live yet: 40900, checked before membership (a stranger gets it too)
    like(&app, &id, "lk-r-v", None)
        .await
        .assert_error(409, 40900);
    like(&app, &id, "lk-r-stranger", None)
        .await
        .assert_error(409, 40900);
    app.start(&id, "lk-r-anchor").await.assert_ok();
    like(&app, &id, "lk-r-stranger", None)
        .await
        .assert_error(409, 40901);
    assert_eq!(totals(&like(&app, &id, "lk-r-v", None).await), (1, 1));
    // a member who left is no longer a member
    app.leave(&id, "lk-r-v").await.assert_ok();
    like(&app, &id, "lk-r-v", None)
        .await
        .assert_error(409, 40901);
    // ended: 40900; unknown: 404
    app.stop(&id, "lk-r-anchor").await.assert_ok();
    like(&app, &id, "lk-r-anchor", None)
        .await
        .assert_error(409, 40900);
    like(
        &app,
        "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f",
        "lk-r-v",
        None,
    )
    .await
    .assert_error(404, 40400);
    assert_eq!(app.info(&id, "lk-r-v").await.assert_ok()["likes"], 1);
}

#[tokio::test]
async fn likes_sent_at_once_over_two_replicas_are_all_counted_and_announced_coalesced() {
    let app = spawn_app().await;
    let mut settings = app.settings.clone();
    settings.bind = "127.0.0.1:0".parse().expect("addr");
    let other = spawn_app_with(settings).await;
    let id = live_room(&app, "lk-s-anchor", "storm").await;
    let users: Vec<String> = (0..20).map(|i| format!("lk-s-{i}")).collect();
    for u in &users {
        app.join(&id, u).await.assert_ok();
    }
    let mut sse = SseClient::open(&app, &id, "lk-s-anchor", Some("0-0"))
        .await
        .expect("watch");
    // 20 users, 10 likes each of 1..=10, half through each replica, all at once
    let likes = users.iter().enumerate().flat_map(|(i, u)| {
        let replica = if i % 2 == 0 { &app } else { &other };
        let id = id.clone();
        (1..=10u64).map(move |n| {
            let id = id.clone();
            async move {
                let a = like(replica, &id, u, Some(json!({"count": n}))).await;
                (u.clone(), n, totals(&a))
            }
        })
    });
    let answers = join_all(likes).await;
    let sent: u64 = answers.iter().map(|(_, n, _)| n).sum();
    assert_eq!(sent, 20 * 55);
    // every answer's total is distinct (each like counted once, in some order) and the
    // highest is what was sent; each user's own totals end at 55
    let mut seen: Vec<u64> = answers.iter().map(|(_, _, (total, _))| *total).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), answers.len());
    assert_eq!(seen.last().copied(), Some(sent));
    for u in &users {
        let best = answers
            .iter()
            .filter(|(who, _, _)| who == u)
            .map(|(_, _, (_, own))| *own)
            .max();
        assert_eq!(best, Some(55), "{u}");
    }
    assert_eq!(app.info(&id, "lk-s-0").await.assert_ok()["likes"], sent);
    // watchers get the total, not one event per like: at most one a second, the last one
    // (said by the sweep when the storm left it unsaid) the final total
    let mut events: Vec<(i64, u64)> = Vec::new();
    while events.last().map(|e| e.1) != Some(sent) {
        let e = sse.next().await.expect("the stream goes on");
        if e.kind == "likes" {
            events.push((
                e.data["at"].as_i64().expect("at"),
                e.data["total"].as_u64().expect("total"),
            ));
        }
    }
    assert!(events.len() < 200, "{} likes events", events.len());
    for pair in events.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= 1000, "{events:?}");
        assert!(pair[1].1 > pair[0].1, "{events:?}");
    }
}
