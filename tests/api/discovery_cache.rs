//! Issue 18: list and search pages answered from the rooms' cards (one script in the `{rooms}`
//! slot) and a replica-local cache of hot pages (CONTRACT section 7: a replica's own changes at
//! once, another replica's within `LIVEROOM_LIST_CACHE_MS`). Two in-process apps sharing one
//! Redis and one key prefix are two replicas.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::*;

/// A token with a nick and an avatar.
fn token_looks(sub: &str, nick: &str, avatar: &str) -> String {
    token_with(json!({"sub": sub, "exp": now_secs() + 3600, "nick": nick, "avatar": avatar}))
}

async fn create_full(app: &TestApp, token: &str, title: &str, cover: &str) -> String {
    let a = app
        .request(
            Method::POST,
            "/client/live/room/instance",
            Some(token),
            Some(json!({
                "title": title,
                "notice": format!("notice of {title}"),
                "cover_url": cover,
                "extends": {"topic": title},
            })),
        )
        .await;
    a.assert_ok()["live_id"]
        .as_str()
        .expect("live_id")
        .to_owned()
}

async fn list(app: &TestApp, user: &str) -> Vec<Value> {
    let a = app
        .get(
            "/client/live/room/list?page_num=1&page_size=100",
            &token(user),
        )
        .await;
    a.assert_ok()["list"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn search(app: &TestApp, keyword: &str, user: &str) -> Vec<Value> {
    let kw: String = url::form_urlencoded::byte_serialize(keyword.as_bytes()).collect();
    let a = app
        .get(
            &format!("/client/live/room?keyword={kw}&page_num=1&page_size=100"),
            &token(user),
        )
        .await;
    a.assert_ok()["list"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r["live_id"].as_str().map(str::to_owned))
        .collect()
}

fn row<'a>(rows: &'a [Value], id: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r["live_id"] == id)
}

/// A row or an info without its online count (a row shows the count as last announced).
fn without_count(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("online_count");
    }
    v
}

/// Two replicas: in-process apps on one Redis and one prefix.
async fn two_replicas(cache_ms: u64) -> (TestApp, TestApp) {
    let mut s = test_settings();
    s.list_cache_ms = cache_ms;
    let a = spawn_app_with(s.clone()).await;
    let b = spawn_app_with(s).await;
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pages_rows_equal_info_of_each_room_apart_from_the_online_count() {
    let app = spawn_app().await;
    let word = format!("卡片{}", now_secs() % 100_000);
    let mut rooms = Vec::new();
    for i in 0..3 {
        let anchor = format!("card-anchor-{i}");
        let t = token_looks(&anchor, &format!("主播{i}"), &format!("https://a/{i}.png"));
        let id = create_full(&app, &t, &format!("{word} room {i}"), "https://c/x.png").await;
        if i < 2 {
            app.start(&id, &anchor).await.assert_ok();
        }
        rooms.push((id, anchor));
    }
    app.join(&rooms[0].0, "card-viewer-1").await.assert_ok();

    // the join's counts (pv, uv, online) reach the card when they are announced: poll
    for user in ["card-viewer", rooms[0].1.as_str()] {
        eventually(Duration::from_secs(10), "rows equal info", || async {
            let live = list(&app, user).await;
            let found = search(&app, &word, user).await;
            let mut mismatch = Vec::new();
            if found.len() != 3 {
                mismatch.push(format!("search found {}", found.len()));
            }
            for (id, _) in &rooms {
                let info = app.info(id, user).await;
                let info = without_count(info.assert_ok());
                match row(&found, id) {
                    Some(r) if without_count(r) == info => {}
                    r => mismatch.push(format!("search row {r:?} != info {info}")),
                }
                match row(&live, id) {
                    Some(r) if without_count(r) == info => {}
                    None if info["live_status"] == 0 => {}
                    r => mismatch.push(format!("list row {r:?} != info {info}")),
                }
            }
            if !mismatch.is_empty() {
                eprintln!("as {user}: {mismatch:?}");
            }
            mismatch.is_empty().then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_follows_nick_avatar_and_extends_changes() {
    let app = spawn_app().await;
    let anchor = "card-follow-anchor";
    let old = token_looks(anchor, "旧昵称", "https://a/old.png");
    let title = format!("follow{} 直播", now_secs() % 100_000);
    let id = create_full(&app, &old, &title, "https://c/cover.png").await;
    app.request(
        Method::PUT,
        &format!("/client/live/room/{id}"),
        Some(&old),
        None,
    )
    .await
    .assert_ok();
    // the page is read (and cached) before each change: the change shows at once all the same
    let before = list(&app, "card-follow-viewer").await;
    let r = row(&before, &id).expect("listed");
    assert_eq!(r["title"], title.as_str());
    assert_eq!(r["cover_url"], "https://c/cover.png");
    assert_eq!(r["anchor_info"]["nick"], "旧昵称");

    let new = token_looks(anchor, "新昵称", "https://a/new.png");
    app.request(
        Method::GET,
        &format!("/client/live/room/heartbeat/{id}"),
        Some(&new),
        None,
    )
    .await
    .assert_ok();
    for rows in [
        list(&app, "card-follow-viewer").await,
        search(&app, &title, "card-follow-viewer").await,
    ] {
        let r = row(&rows, &id).expect("listed");
        assert_eq!(r["anchor_info"]["nick"], "新昵称");
        assert_eq!(r["anchor_info"]["avatar"], "https://a/new.png");
    }
    assert_eq!(search(&app, "旧昵称", "card-follow-viewer").await.len(), 0);

    app.request(
        Method::PUT,
        "/client/live/room/extends",
        Some(&new),
        Some(json!({"live_id": id, "extends": {"mood": "happy"}})),
    )
    .await
    .assert_ok();
    let rows = list(&app, "card-follow-viewer").await;
    let r = row(&rows, &id).expect("listed");
    assert_eq!(r["extends"], json!({"mood": "happy"}));
    let info = app.info(&id, "card-follow-viewer").await;
    assert_eq!(without_count(r), without_count(info.assert_ok()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rows_online_count_follows_what_is_announced() {
    let app = spawn_app().await;
    let anchor = "card-count-anchor";
    let id = app.create_room(anchor, "count room").await;
    app.start(&id, anchor).await.assert_ok();
    for user in ["card-count-1", "card-count-2", "card-count-3"] {
        app.join(&id, user).await.assert_ok();
    }
    let count_on_row = || async {
        let rows = list(&app, "card-count-viewer").await;
        row(&rows, &id).and_then(|r| r["online_count"].as_u64())
    };
    eventually(
        Duration::from_secs(10),
        "the row shows 3 online",
        || async { (count_on_row().await == Some(3)).then_some(()) },
    )
    .await;
    app.leave(&id, "card-count-1").await.assert_ok();
    eventually(
        Duration::from_secs(10),
        "the row shows 2 online",
        || async { (count_on_row().await == Some(2)).then_some(()) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_one_but_the_anchor_sees_a_push_url_through_the_cache() {
    let (a, b) = two_replicas(60_000).await;
    let anchor = "card-push-anchor";
    let title = format!("push{} 推流", now_secs() % 100_000);
    let id = a.create_room(anchor, &title).await;
    a.start(&id, anchor).await.assert_ok();
    // the anchor reads first, so the page each replica keeps was first read for the anchor
    for app in [&a, &b] {
        for _ in 0..2 {
            let rows = list(app, anchor).await;
            let r = row(&rows, &id).expect("listed");
            assert!(!r["push_url"].as_str().unwrap_or("").is_empty(), "{r}");
            let rows = search(app, &title, anchor).await;
            assert!(
                !row(&rows, &id).expect("found")["push_url"]
                    .as_str()
                    .unwrap_or("")
                    .is_empty()
            );
            let rows = search(app, "", anchor).await;
            assert!(row(&rows, &id).is_some());
        }
        for viewer in ["card-push-viewer", "card-push-other"] {
            for rows in [
                list(app, viewer).await,
                search(app, &title, viewer).await,
                search(app, "", viewer).await,
            ] {
                let r = row(&rows, &id).expect("listed");
                assert_eq!(r["push_url"], "", "{viewer} sees {r}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_or_deleted_room_leaves_at_once_here_and_within_the_bound_there() {
    let (a, b) = two_replicas(1_000).await;
    let anchor = "card-end-anchor";
    let word = format!("end{}", now_secs() % 100_000);
    let ended = a.create_room(anchor, &format!("{word} one")).await;
    let deleted = a.create_room(anchor, &format!("{word} two")).await;
    for id in [&ended, &deleted] {
        a.start(id, anchor).await.assert_ok();
    }
    // both replicas have read (and so cached) pages with both rooms
    for app in [&a, &b] {
        let listed = ids(&list(app, "card-end-viewer").await);
        assert!(listed.contains(&ended) && listed.contains(&deleted));
        let found = ids(&search(app, &word, "card-end-viewer").await);
        assert_eq!(found.len(), 2);
        assert!(ids(&search(app, "", "card-end-viewer").await).contains(&deleted));
    }

    a.stop(&ended, anchor).await.assert_ok();
    a.delete(&deleted, anchor).await.assert_ok();
    // at once on the replica that made the changes
    let listed = ids(&list(&a, "card-end-viewer").await);
    assert!(!listed.contains(&ended) && !listed.contains(&deleted));
    let found = search(&a, &word, "card-end-viewer").await;
    assert_eq!(ids(&found), vec![ended.clone()]);
    assert_eq!(row(&found, &ended).expect("ended")["live_status"], 2);
    assert!(!ids(&search(&a, "", "card-end-viewer").await).contains(&deleted));

    // within the cache bound on the other
    eventually(
        Duration::from_secs(10),
        "the other replica follows",
        || async {
            let listed = ids(&list(&b, "card-end-viewer").await);
            let found = search(&b, &word, "card-end-viewer").await;
            let all = ids(&search(&b, "", "card-end-viewer").await);
            let ok = !listed.contains(&ended)
                && !listed.contains(&deleted)
                && ids(&found) == vec![ended.clone()]
                && row(&found, &ended).is_some_and(|r| r["live_status"] == 2)
                && !all.contains(&deleted);
            ok.then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_cache_off_another_replicas_change_shows_at_once() {
    let (a, b) = two_replicas(0).await;
    let anchor = "card-off-anchor";
    let id = a.create_room(anchor, "off room").await;
    a.start(&id, anchor).await.assert_ok();
    assert!(ids(&list(&b, "card-off-viewer").await).contains(&id));
    a.stop(&id, anchor).await.assert_ok();
    assert!(!ids(&list(&b, "card-off-viewer").await).contains(&id));
}
