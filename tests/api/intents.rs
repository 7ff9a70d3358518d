//! Changes that span slots (issue 25): a replica that dies right after a room's own script
//! leaves the follow-ups (lists, search, the anchor's rooms, the server list, the quota, the
//! online total) to any other replica, which finishes them from the room's intent. The "dead"
//! replica is a store whose follow-ups are abandoned after each room script
//! (`Store::abandon_follow_ups`); what a client sees is read through a healthy app.

use std::time::Duration;

use liveroom::config::Settings;
use liveroom::domain::ids::{LiveId, UserId};
use liveroom::store::{Connection, Store};
use serde_json::json;

use super::helpers::*;

/// Within this, another replica has finished what the dead one left.
const CONVERGES: Duration = Duration::from_secs(30);

/// A replica that dies right after each room script: its follow-ups never run.
async fn dying_replica(settings: &Settings) -> Store {
    let config = liveroom::config::Config::try_from(settings.clone()).expect("config");
    let conn = Connection::open(&config.redis.target, config.redis.timeout)
        .await
        .expect("redis");
    let store = liveroom::app::state(&config, conn).store;
    store.abandon_follow_ups();
    store
}

/// `members_online` as the metric says it, within `CONVERGES`.
async fn members_online(app: &TestApp, want: u64) {
    eventually(CONVERGES, &format!("members_online {want}"), || async {
        (app.metric("liveroom_members_online").await == Some(want)).then_some(())
    })
    .await;
}

/// A user's profile as a token would give it.
fn profile(name: &str) -> liveroom::domain::profile::Profile {
    liveroom::domain::profile::Profile {
        user_id: user(name),
        looks: liveroom::domain::profile::Looks {
            nick: name.to_owned(),
            avatar: String::new(),
            extends: Default::default(),
        },
        admin: false,
    }
}

fn live_id(raw: &str) -> LiveId {
    LiveId::parse(raw).expect("a live_id")
}

fn user(raw: &str) -> UserId {
    UserId::parse(raw).expect("a user id")
}

/// The room's status in a list answer's rows (None: not listed).
fn status_in(answer: &Answer, id: &str) -> Option<i64> {
    answer.assert_ok()["list"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["live_id"] == id))
        .map(|row| row["live_status"].as_i64().unwrap_or(-1))
}

/// Where a client sees the room: (in the live list, its status in search, in the anchor's
/// `mine`, in the server's list).
async fn seen(app: &TestApp, id: &str, title: &str, anchor: &str) -> [Option<i64>; 4] {
    let live = app
        .get("/client/live/room/list?page_size=100", &token("viewer"))
        .await;
    let search = app
        .get(
            &format!("/client/live/room?keyword={title}&page_size=100"),
            &token("viewer"),
        )
        .await;
    let mine = app
        .get("/client/live/room/mine?page_size=100", &token(anchor))
        .await;
    let server = app
        .get(
            &format!("/server/live/rooms?anchor_id={anchor}&page_size=100"),
            &admin_token(),
        )
        .await;
    [
        status_in(&live, id),
        status_in(&search, id),
        status_in(&mine, id),
        status_in(&server, id),
    ]
}

async fn converges(app: &TestApp, id: &str, title: &str, anchor: &str, want: [Option<i64>; 4]) {
    eventually(CONVERGES, &format!("{title}: seen as {want:?}"), || async {
        (seen(app, id, title, anchor).await == want).then_some(())
    })
    .await;
}

/// A create with a quota of one: its place is taken (a second create answers the quota).
async fn quota_taken(app: &TestApp, anchor: &str) -> bool {
    let answer = app
        .request(
            reqwest::Method::POST,
            "/client/live/room/instance",
            Some(&token(anchor)),
            Some(json!({"title": "one more"})),
        )
        .await;
    match answer.code() {
        0 => {
            // it was free: give the place back for the next look
            let id = answer.body["data"]["live_id"].as_str().unwrap_or_default();
            app.delete(id, anchor).await.assert_ok();
            false
        }
        _ => {
            answer.assert_error(429, 42900);
            true
        }
    }
}

fn quota_of_one() -> Settings {
    let mut s = test_settings();
    s.max_open_rooms_per_user = 1;
    s
}

/// A live room of `anchor` ended (stopped, or deleted) by the dying replica, as its anchor or
/// (`admin`, which learns the anchor only from the room) an admin: another replica finishes what
/// follows, and the room's quota place comes free.
async fn ended_by_a_dying_replica(
    app: &TestApp,
    dead: &Store,
    anchor: &str,
    title: &str,
    delete: bool,
    admin: bool,
) {
    let id = app.create_room(anchor, title).await;
    app.start(&id, anchor).await.assert_ok();
    converges(app, &id, title, anchor, [Some(1); 4]).await;
    let by = user(if admin { "ops" } else { anchor });
    let want = if delete {
        dead.rooms()
            .delete_as(&live_id(&id), &by, admin)
            .await
            .expect("deleted");
        app.info(&id, "viewer").await.assert_error(404, 40400);
        [None; 4]
    } else {
        dead.rooms()
            .stop_as(&live_id(&id), &by, admin)
            .await
            .expect("stopped");
        assert_eq!(app.info(&id, "viewer").await.assert_ok()["live_status"], 2);
        [None, Some(2), Some(2), Some(2)]
    };
    converges(app, &id, title, anchor, want).await;
    eventually(CONVERGES, "the quota's place is free", || async {
        (!quota_taken(app, anchor).await).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_or_delete_abandoned_after_the_rooms_script_is_finished_by_another_replica() {
    let s = quota_of_one();
    let app = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    for (title, delete, admin) in [
        ("abandonedstop", false, false),
        ("abandonedadminstop", false, true),
        ("abandoneddelete", true, false),
        ("abandonedadmindelete", true, true),
    ] {
        ended_by_a_dying_replica(&app, &dead, "ender", title, delete, admin).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_abandoned_after_the_rooms_script_is_finished_by_another_replica() {
    let s = quota_of_one();
    let app = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    let title = "abandonedcreate";
    let input = liveroom::domain::room::NewRoomInput {
        title: title.to_owned(),
        ..Default::default()
    };
    let zone = liveroom::config::Config::try_from(s.clone())
        .expect("config")
        .zone;
    let new = liveroom::domain::room::NewRoom::parse(input, zone).expect("a valid room");
    let anchor = profile("creator");
    let room = dead.rooms().create(new, &anchor).await.expect("created");
    let id = room.live_id.to_string();
    converges(
        &app,
        &id,
        title,
        "creator",
        [None, Some(0), Some(0), Some(0)],
    )
    .await;
    // the room holds the anchor's one place, for good (its reservation became membership)
    assert!(quota_taken(&app, "creator").await);
    app.delete(&id, "creator").await.assert_ok();
    assert!(!quota_taken(&app, "creator").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_abandoned_after_the_rooms_script_is_finished_by_another_replica() {
    let s = test_settings();
    let app = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    let title = "abandonedstart";
    let id = app.create_room("starter", title).await;
    dead.rooms()
        .start(&live_id(&id), &user("starter"))
        .await
        .expect("started");
    converges(&app, &id, title, "starter", [Some(1); 4]).await;
}

/// The extends a list row shows follow the room even when the replica that changed them died
/// right after the room's script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extends_change_abandoned_after_the_rooms_script_is_finished_by_another_replica() {
    let s = test_settings();
    let app = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    let id = app.create_room("extender", "abandonedextends").await;
    app.start(&id, "extender").await.assert_ok();
    converges(&app, &id, "abandonedextends", "extender", [Some(1); 4]).await;
    let extends = liveroom::domain::room::Extends::parse(
        "extends",
        [("level".to_owned(), "9".to_owned())].into(),
    )
    .expect("valid extends");
    dead.rooms()
        .set_extends(&live_id(&id), &user("extender"), &extends)
        .await
        .expect("changed");
    eventually(
        CONVERGES,
        "the live list's row shows the new extends",
        || async {
            let live = app
                .get("/client/live/room/list?page_size=100", &token("viewer"))
                .await;
            let row = live.assert_ok()["list"]
                .as_array()
                .and_then(|rows| rows.iter().find(|r| r["live_id"] == id.as_str()))
                .cloned()?;
            (row["extends"] == json!({"level": "9"})).then_some(())
        },
    )
    .await;
}

/// `members_online` after a replica died right after ending a room of N members: the room owes
/// them to the total, and another replica's replay takes them off it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_online_converges_after_an_abandoned_stop_or_delete() {
    let s = test_settings();
    let app = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    let online = |want: u64| members_online(&app, want);
    let stopped = app.create_room("gauged", "gauged stop").await;
    let deleted = app.create_room("gauged", "gauged delete").await;
    for id in [&stopped, &deleted] {
        app.start(id, "gauged").await.assert_ok();
    }
    for i in 0..5 {
        app.join(&stopped, &format!("s{i}")).await.assert_ok();
    }
    for i in 0..3 {
        app.join(&deleted, &format!("d{i}")).await.assert_ok();
    }
    online(8).await;
    dead.rooms()
        .stop(&live_id(&stopped), &user("gauged"))
        .await
        .expect("stopped");
    online(3).await;
    dead.rooms()
        .delete(&live_id(&deleted), &user("gauged"))
        .await
        .expect("deleted");
    online(0).await;
    // and a healthy stop counts its members off once, not again when anything is replayed
    let again = app.create_room("gauged", "gauged again").await;
    app.start(&again, "gauged").await.assert_ok();
    app.join(&again, "a0").await.assert_ok();
    online(1).await;
    app.stop(&again, "gauged").await.assert_ok();
    online(0).await;
}

/// The offline close is the sweep's own change: a sweeping replica that dies right after the
/// close script leaves the room's follow-ups to another replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_close_abandoned_after_the_rooms_script_is_finished_by_another_replica() {
    let mut s = quota_of_one();
    s.heartbeat_interval_ms = 100;
    s.heartbeat_misses = 2;
    s.anchor_offline_close_ms = 300;
    // no replica sweeps but the dying one, until the healthy one below
    s.sweep_interval_ms = 3_600_000;
    let quiet = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    let title = "abandonedclose";
    let id = quiet.create_room("silent", title).await;
    quiet.start(&id, "silent").await.assert_ok();
    converges(&quiet, &id, title, "silent", [Some(1); 4]).await;
    eventually(CONVERGES, "the dying replica closed the room", || async {
        let report = dead.sweep().run("dying").await.expect("swept");
        (report.closed == 1).then_some(())
    })
    .await;
    assert_eq!(
        quiet.info(&id, "viewer").await.assert_ok()["live_status"],
        2
    );
    s.sweep_interval_ms = 50;
    let healthy = spawn_app_with(s).await;
    converges(
        &healthy,
        &id,
        title,
        "silent",
        [None, Some(2), Some(2), Some(2)],
    )
    .await;
    eventually(CONVERGES, "the quota's place is free", || async {
        (!quota_taken(&healthy, "silent").await).then_some(())
    })
    .await;
}

/// A kick by a replica that dies right after the kick's script: another replica's replay takes
/// the member off the online total (once), releases its pointer, refreshes the room's card and
/// schedules the room; the kicked user can join another room at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_abandoned_after_the_rooms_script_is_finished_by_another_replica() {
    let s = test_settings();
    let app = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    let id = app.create_room("kicker", "abandonedkick").await;
    app.start(&id, "kicker").await.assert_ok();
    for member in ["stays1", "stays2", "kicked"] {
        app.join(&id, member).await.assert_ok();
    }
    members_online(&app, 3).await;
    let kicked = dead
        .moderation()
        .kick(&live_id(&id), &user("kicker"), false, &user("kicked"), 0)
        .await
        .expect("kicked");
    assert!(kicked.removed);
    let row_count = || async {
        let list = app
            .get("/client/live/room/list?page_size=100", &token("viewer"))
            .await;
        list.assert_ok()["list"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["live_id"] == id.as_str()))
            .and_then(|row| row["online_count"].as_u64())
    };
    eventually(CONVERGES, "the room and its card say 2", || async {
        (app.online_count(&id).await == 2 && row_count().await == Some(2)).then_some(())
    })
    .await;
    members_online(&app, 2).await;
    // the kicked user is elsewhere at once, and nothing counts it twice
    let other = app.create_room("elsewhere", "abandonedkick other").await;
    app.start(&other, "elsewhere").await.assert_ok();
    app.join(&other, "kicked").await.assert_ok();
    members_online(&app, 3).await;
    assert_eq!(app.online_count(&id).await, 2);
    assert_eq!(app.online_count(&other).await, 1);
}

/// `members_online` after a replica died right after a join's or a leave's script (before it
/// reported the room's share of the total): the room's next sweep visit reports it, within a
/// member window. The members keep beating meanwhile, so that nothing lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_online_converges_after_an_abandoned_join_or_leave() {
    let mut s = test_settings();
    s.heartbeat_interval_ms = 500;
    s.heartbeat_misses = 4;
    let app = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    let id = app.create_room("counted", "abandonedjoin").await;
    app.start(&id, "counted").await.assert_ok();
    let online = |want: u64, present: &'static [&'static str]| {
        let (app, id) = (&app, &id);
        async move {
            eventually(CONVERGES, &format!("members_online {want}"), || async {
                for member in present.iter().chain(&["counted"]) {
                    app.heartbeat(id, member).await;
                }
                (app.metric("liveroom_members_online").await == Some(want)).then_some(())
            })
            .await
        }
    };
    for member in ["c0", "c1"] {
        app.join(&id, member).await.assert_ok();
    }
    online(2, &["c0", "c1"]).await;
    dead.presence()
        .join(&live_id(&id), &profile("c2"))
        .await
        .expect("joined");
    online(3, &["c0", "c1", "c2"]).await;
    dead.presence()
        .leave(&live_id(&id), &user("c0"))
        .await
        .expect("left");
    online(2, &["c1", "c2"]).await;
    assert_eq!(app.online_count(&id).await, 2);
}

/// A sharded room's stop or delete (issue 27, store/shards.rs) by a replica that dies right after
/// the room's own script: another replica's sweep replays the intent, which ends (or deletes)
/// every shard room, so that every member of every shard is released and counted out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_rooms_end_abandoned_after_the_rooms_script_reaches_every_shard() {
    let s = test_settings();
    let app = spawn_app_with(s.clone()).await;
    let dead = dying_replica(&s).await;
    for delete in [false, true] {
        let id = app.create_room("sharder", "abandonedshards").await;
        app.set_member_shards(&id, 3).await.assert_ok();
        app.start(&id, "sharder").await.assert_ok();
        let viewers: Vec<String> = (0..30).map(|i| format!("shardviewer-{i}")).collect();
        for viewer in &viewers {
            app.join(&id, viewer).await.assert_ok();
        }
        members_online(&app, 30).await;
        if delete {
            dead.rooms()
                .delete(&live_id(&id), &user("sharder"))
                .await
                .expect("deleted");
        } else {
            dead.rooms()
                .stop(&live_id(&id), &user("sharder"))
                .await
                .expect("stopped");
        }
        // every member of every shard leaves the total, and its pointer is released
        members_online(&app, 0).await;
        for viewer in &viewers {
            eventually(CONVERGES, &format!("{viewer}'s pointer"), || async {
                app.pointer_room(viewer).await.is_empty().then_some(())
            })
            .await;
        }
        let heartbeat = app.heartbeat(&id, &viewers[1]).await;
        if delete {
            heartbeat.assert_error(404, 40400);
        } else {
            assert_eq!(heartbeat.assert_ok()["live_status"], 2);
        }
    }
}
