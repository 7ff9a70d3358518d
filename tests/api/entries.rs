//! A crowd's entries over several buckets (issue 27; lib.lua, the entries over buckets): a room
//! of more members than one bucket holds lists, counts, moves, kicks and releases every one of
//! them as a room of a few does.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::helpers::*;

/// More joins than ten buckets hold (64 each before one splits): eleven buckets.
const CROWD: usize = 700;

fn viewer(i: usize) -> String {
    format!("viewer-{i:04}")
}

/// The members of a user_list page, with their nicks.
fn listed(a: &Answer) -> Vec<(String, String)> {
    a.assert_ok()["list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|m| {
            let user = m["user_id"].as_str().unwrap_or_default().to_owned();
            let nick = m["nick"].as_str().unwrap_or_default().to_owned();
            (user, nick)
        })
        .collect()
}

async fn all_listed(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for page in 1.. {
        let answer = app.user_list(id, page, 100).await;
        let rows = listed(&answer);
        all.extend(rows);
        if answer.assert_ok()["end_page"] == true {
            break;
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowd_past_one_bucket_keeps_every_members_entry_until_the_room_goes() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "crowd").await;
    app.start(&id, "anchor").await.assert_ok();
    for i in 0..CROWD {
        app.join(&id, &viewer(i)).await.assert_ok();
    }
    // the entries are spread: buckets 1, 2, … exist beside `:entries` (bucket 0)
    let bucket = |b: usize| {
        if b == 0 {
            app.key(&format!("room:{{{id}}}:entries"))
        } else {
            app.key(&format!("room:{{{id}}}:entries:{b}"))
        }
    };
    let mut buckets = 0;
    while shared_redis()
        .cli(&["EXISTS", &bucket(buckets)])
        .await
        .is_some_and(|e| e.trim() == "(integer) 1")
    {
        buckets += 1;
    }
    assert!(buckets >= 6, "{CROWD} entries in {buckets} buckets");

    // every member listed once, most recent joiner first, each with its own entry's profile
    let expected: Vec<(String, String)> = (0..CROWD)
        .rev()
        .map(|i| (viewer(i), format!("nick-{}", viewer(i))))
        .collect();
    assert_eq!(all_listed(&app, &id).await, expected);
    assert_eq!(app.online_count(&id).await, CROWD as u64);

    // a hundred leave, one is kicked, one moves to another room: each found in its bucket
    for i in 0..100 {
        app.leave(&id, &viewer(i)).await.assert_ok();
    }
    app.request(
        Method::POST,
        "/client/live/room/kick",
        Some(&token("anchor")),
        Some(json!({"live_id": id, "user_id": viewer(100), "ban_secs": 0})),
    )
    .await
    .assert_ok();
    let other = app.create_room("anchor-2", "elsewhere").await;
    app.start(&other, "anchor-2").await.assert_ok();
    app.join(&other, &viewer(101)).await.assert_ok();
    assert_eq!(app.online_count(&id).await, (CROWD - 102) as u64);
    let left: Vec<(String, String)> = expected[..CROWD - 102].to_vec();
    assert_eq!(all_listed(&app, &id).await, left);

    // a leaver comes back (its tombstone in its bucket lets the later join in): first again
    app.join(&id, &viewer(7)).await.assert_ok();
    let first = listed(&app.user_list(&id, 1, 1).await);
    assert_eq!(first, vec![(viewer(7), format!("nick-{}", viewer(7)))]);
    assert_eq!(app.online_count(&id).await, (CROWD - 101) as u64);

    // the room goes: every member's pointer is released, then every bucket
    app.delete(&id, "anchor").await.assert_ok();
    for b in 0..buckets {
        let key = bucket(b);
        eventually(Duration::from_secs(30), &format!("{key} gone"), || async {
            let exists = shared_redis().cli(&["EXISTS", &key]).await?;
            (exists.trim() == "(integer) 0").then_some(())
        })
        .await;
    }
    for i in [7, 300, CROWD - 1] {
        assert_eq!(
            app.pointer_room(&viewer(i)).await,
            "",
            "{} released",
            viewer(i)
        );
    }
    assert_eq!(app.pointer_room(&viewer(101)).await, other);
}
