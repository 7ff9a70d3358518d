//! CONTRACT section 7: the live list (endpoint 7) and search (endpoint 6), against a real Redis.
//! Every matching rule of search is one test that fails when the rule breaks.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use super::helpers::*;

/// A query value, form-encoded as a browser sends it.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A token for `sub` whose nick claim is `nick`.
fn token_nick(sub: &str, nick: &str) -> String {
    token_with(json!({"sub": sub, "exp": now_secs() + 3600, "nick": nick}))
}

/// Creates a room as `anchor` whose token carries `nick`; answers the live_id.
async fn create_with_nick(app: &TestApp, anchor: &str, nick: &str, title: &str) -> String {
    app.create_room_with(&token_nick(anchor, nick), title).await
}

/// Creates rooms one after the other, a few ms apart, so that creation order is unambiguous.
async fn create_in_order(app: &TestApp, anchor: &str, titles: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for title in titles {
        ids.push(app.create_room(anchor, title).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    ids
}

/// Creates `n` rooms, 16 at a time, as anchors `bulk-{i % 7}`; answers the ids in `i` order.
async fn create_many(app: &TestApp, n: usize, title: impl Fn(usize) -> String) -> Vec<String> {
    futures_util::stream::iter((0..n).map(|i| {
        let t = title(i);
        async move { app.create_room(&format!("bulk-{}", i % 7), &t).await }
    }))
    .buffered(16)
    .collect()
    .await
}

/// Runs `f` over `items`, 16 at a time.
async fn for_each<I, F, Fut>(items: I, f: F)
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    futures_util::stream::iter(items.into_iter().map(f))
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// Every page of a query (page_size 100): the ids in order, after checking the totals.
async fn all_pages(app: &TestApp, query: &str, want_total: u64) -> Vec<String> {
    let mut out = Vec::new();
    let pages = want_total.div_ceil(100);
    for n in 1..=pages.max(1) {
        let a = search_raw(
            app,
            &format!("{query}&page_size=100&page_num={n}"),
            "viewer",
        )
        .await;
        let d = a.assert_ok();
        assert_eq!(
            d["total_count"].as_u64(),
            Some(want_total),
            "{query} page {n}"
        );
        assert_eq!(d["page_total"].as_u64(), Some(pages), "{query} page {n}");
        assert_eq!(d["end_page"], n == pages.max(1), "{query} page {n}");
        out.extend(ids(d));
    }
    let unique: HashSet<&String> = out.iter().collect();
    assert_eq!(unique.len(), out.len(), "{query}: a room on two pages");
    out
}

/// Endpoint 6 with a raw query string (`keyword=…&…`), as `user`.
async fn search_raw(app: &TestApp, query: &str, user: &str) -> Answer {
    app.get(&format!("/client/live/room?{query}"), &token(user))
        .await
}

/// Endpoint 6, first page of 100, by keyword.
async fn search(app: &TestApp, keyword: &str) -> Answer {
    search_raw(
        app,
        &format!("keyword={}&page_size=100", enc(keyword)),
        "viewer",
    )
    .await
}

/// Endpoint 7 with a raw query string, as `user`.
async fn list_raw(app: &TestApp, query: &str, user: &str) -> Answer {
    app.get(&format!("/client/live/room/list?{query}"), &token(user))
        .await
}

/// The live_ids of a page, in order.
fn ids(data: &Value) -> Vec<String> {
    data["list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["live_id"].as_str().expect("live_id").to_owned())
        .collect()
}

/// The live_ids a keyword finds (first page of 100), after checking the envelope.
async fn found(app: &TestApp, keyword: &str) -> Vec<String> {
    ids(search(app, keyword).await.assert_ok())
}

/// The live_ids of the live list's first page of 100.
async fn live(app: &TestApp) -> Vec<String> {
    ids(list_raw(app, "page_size=100", "viewer").await.assert_ok())
}

/// The room with `id` in a page.
fn row<'a>(data: &'a Value, id: &str) -> &'a Value {
    data["list"]
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["live_id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {data}"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_width_half_width_and_case_all_match_each_other() {
    let app = spawn_app().await;
    let full = app.create_room("a1", "ＡＢＣ 全角").await;
    let lower = app.create_room("a2", "abc 半角").await;
    let upper = app.create_room("a3", "ABC 大写").await;
    let _other = app.create_room("a4", "xyz 其他").await;
    let all = sorted(vec![full.clone(), lower.clone(), upper.clone()]);
    for keyword in [
        "ＡＢＣ",
        "abc",
        "ABC",
        "aBc",
        "ａｂｃ",
        "Ａｂｃ",
        "bc",
        "ＢＣ",
    ] {
        assert_eq!(sorted(found(&app, keyword).await), all, "keyword {keyword}");
    }
    // full-width digits and half-width katakana fold too
    let digits = app.create_room("a5", "第１２３期").await;
    assert_eq!(found(&app, "123").await, vec![digits.clone()]);
    assert_eq!(found(&app, "１２３").await, vec![digits]);
    let kana = app.create_room("a6", "ｶﾀｶﾅ配信").await;
    assert_eq!(found(&app, "カタカナ").await, vec![kana]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_folding_is_unicode_case_folding_not_lower_case() {
    let app = spawn_app().await;
    let strasse = app.create_room("a1", "Die Straße am Fluss").await;
    let greek = app.create_room("a2", "ΟΔΟΣ ΚΟΣΜΟΣ").await;
    let file = app.create_room("a3", "ﬁle 分享").await;
    let istanbul = app.create_room("a4", "İSTANBUL gezisi").await;
    let _other = app.create_room("a5", "ıstanbul değil").await;
    for (keyword, room) in [
        ("STRASSE", &strasse),
        ("strasse", &strasse),
        ("straße", &strasse),
        ("οδος", &greek),
        ("οδοσ", &greek),
        ("κοσμος", &greek),
        ("file", &file),
        ("FILE", &file),
        ("istanbul", &istanbul),
        ("İstanbul", &istanbul),
    ] {
        assert_eq!(
            found(&app, keyword).await,
            vec![room.clone()],
            "keyword {keyword}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_does_not_matter_in_title_or_keyword() {
    let app = spawn_app().await;
    let id = app.create_room("a1", "Hello World Championship").await;
    let _other = app.create_room("a2", "Goodbye Moon").await;
    for keyword in ["hello", "HELLO", "wOrLd", "o w", "CHAMPIONSHIP", "d c"] {
        assert_eq!(
            found(&app, keyword).await,
            vec![id.clone()],
            "keyword {keyword}"
        );
    }
    for keyword in ["helloworld", "worlds", "hello  world", "moon world"] {
        assert!(found(&app, keyword).await.is_empty(), "keyword {keyword}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_cjk_substring_matches_and_nothing_else() {
    let app = spawn_app().await;
    let id = app.create_room("a1", "今晚一起吃鸡大赛").await;
    let other = app.create_room("a2", "周末吃饭直播").await;
    for keyword in [
        "今晚",
        "吃鸡",
        "一起吃鸡",
        "晚一起吃",
        "今晚一起吃鸡大赛",
        "鸡大",
        "赛",
    ] {
        assert_eq!(
            found(&app, keyword).await,
            vec![id.clone()],
            "keyword {keyword}"
        );
    }
    // a single character found in both titles
    assert_eq!(
        sorted(found(&app, "吃").await),
        sorted(vec![id.clone(), other.clone()])
    );
    // order matters, and every character must be there
    for keyword in [
        "鸡吃",
        "吃鸡饭",
        "今晚一起吃鸡大赛！",
        "大赛今晚",
        "吃饭鸡",
        "鸭",
    ] {
        assert!(found(&app, keyword).await.is_empty(), "keyword {keyword}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pair_present_is_not_enough_the_keyword_must_be_contiguous() {
    let app = spawn_app().await;
    // the pairs 直播, 播间, 间好 all occur, and the title is not "直播间好"
    let id = app.create_room("a1", "直播 播间 间好").await;
    assert!(found(&app, "直播间好").await.is_empty());
    assert!(found(&app, "直播间").await.is_empty());
    assert_eq!(found(&app, "播 播").await, vec![id.clone()]);
    // the same for ASCII
    let en = app.create_room("a2", "ab bc cd").await;
    assert!(found(&app, "abcd").await.is_empty());
    assert_eq!(found(&app, "ab bc").await, vec![en]);
    // and across title and nick: "title" then "nick" is not one text
    let split = create_with_nick(&app, "a3", "星光", "夜晚").await;
    assert_eq!(found(&app, "星光").await, vec![split.clone()]);
    assert!(found(&app, "夜晚星光").await.is_empty());
    assert!(found(&app, "晚星").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anchor_nick_matches_and_anchor_info_is_the_rooms_anchor() {
    let app = spawn_app().await;
    let id = create_with_nick(&app, "anchor-1", "小红Mia", "Nothing in common").await;
    let _other = create_with_nick(&app, "anchor-2", "大白", "Something else").await;
    for keyword in ["小红", "红", "mia", "MIA", "ｍｉａ", "小红mia", "红M"] {
        assert_eq!(
            found(&app, keyword).await,
            vec![id.clone()],
            "keyword {keyword}"
        );
    }
    // the caller is someone else: anchor_info is still the anchor's
    let a = search_raw(&app, &format!("keyword={}", enc("小红")), "viewer-9").await;
    let info = &row(a.assert_ok(), &id)["anchor_info"];
    assert_eq!(info["user_id"], "anchor-1");
    assert_eq!(info["nick"], "小红Mia");
    assert!(info["im_userid"].as_i64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exact_live_id_matches_that_room() {
    let app = spawn_app().await;
    let id = app.create_room("a1", "plain title").await;
    let _other = app.create_room("a2", "another title").await;
    assert_eq!(found(&app, &id).await, vec![id.clone()]);
    // surrounding blanks are trimmed
    let a = search_raw(
        &app,
        &format!("keyword={}", enc(&format!("  {id} "))),
        "viewer",
    )
    .await;
    assert_eq!(ids(a.assert_ok()), vec![id.clone()]);
    // a live_id of this form that names no room finds nothing
    let ghost = format!("live_{}", "0".repeat(32));
    assert!(found(&app, &ghost).await.is_empty());
    // with a status filter, the id matches only when the status does
    let q = |s: u8| format!("keyword={id}&live_status={s}");
    assert_eq!(
        ids(search_raw(&app, &q(0), "viewer").await.assert_ok()),
        vec![id.clone()]
    );
    assert!(ids(search_raw(&app, &q(1), "viewer").await.assert_ok()).is_empty());
    // once deleted, not even its id finds it
    app.delete(&id, "a1").await.assert_ok();
    assert!(found(&app, &id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_filter_keeps_one_status() {
    let app = spawn_app().await;
    let ids_ = create_in_order(&app, "a1", &["滤镜 created", "滤镜 live", "滤镜 ended"]).await;
    let (created, live_id, ended) = (&ids_[0], &ids_[1], &ids_[2]);
    app.start(live_id, "a1").await.assert_ok();
    app.start(ended, "a1").await.assert_ok();
    app.stop(ended, "a1").await.assert_ok();
    let kw = enc("滤镜");
    let with = |s: &str| format!("keyword={kw}&live_status={s}");
    for (status, want) in [("0", created), ("1", live_id), ("2", ended)] {
        let a = search_raw(&app, &with(status), "viewer").await;
        let d = a.assert_ok();
        assert_eq!(ids(d), vec![want.clone()], "live_status={status}");
        assert_eq!(d["total_count"], 1);
        assert_eq!(d["list"][0]["live_status"].as_i64(), status.parse().ok());
    }
    // no filter: every status, newest created first
    let all = vec![ended.clone(), live_id.clone(), created.clone()];
    assert_eq!(found(&app, "滤镜").await, all);
    // the empty keyword with a filter
    let a = search_raw(&app, "live_status=1", "viewer").await;
    assert_eq!(ids(a.assert_ok()), vec![live_id.clone()]);
    let a = search_raw(&app, "keyword=&live_status=2", "viewer").await;
    assert_eq!(ids(a.assert_ok()), vec![ended.clone()]);
    // anything else is refused, naming the parameter
    for bad in ["3", "-1", "x", "1.5"] {
        let a = search_raw(&app, &with(bad), "viewer").await;
        a.assert_error(400, 40000);
        let message = a.body["message"].as_str().unwrap_or_default();
        assert!(message.contains("live_status"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_empty_keyword_lists_every_room_newest_created_first() {
    let app = spawn_app().await;
    let ids_ = create_in_order(&app, "a1", &["一", "two", "三", "four"]).await;
    // starting an old room does not move it in search
    app.start(&ids_[0], "a1").await.assert_ok();
    let newest_first: Vec<String> = ids_.iter().rev().cloned().collect();
    for query in ["", "keyword=", "keyword=%20%20", "page_num=1&page_size=100"] {
        let a = search_raw(&app, query, "viewer").await;
        let d = a.assert_ok();
        assert_eq!(ids(d), newest_first, "query {query:?}");
        assert_eq!(d["total_count"], 4);
    }
    // a keyword's matches come in the same order
    let ids_ = create_in_order(&app, "a2", &["同名 1", "同名 2", "同名 3"]).await;
    let newest_first: Vec<String> = ids_.iter().rev().cloned().collect();
    assert_eq!(found(&app, "同名").await, newest_first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_pages_follow_the_contract() {
    let app = spawn_app().await;
    let titles: Vec<String> = (0..5).map(|i| format!("分页 room {i}")).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    let mut created = create_in_order(&app, "a1", &titles).await;
    created.reverse();
    let _noise = app.create_room("a2", "unrelated").await;
    let kw = enc("分页");
    let page = |n: u32| format!("keyword={kw}&page_size=2&page_num={n}");
    let mut seen = Vec::new();
    for (n, len, end) in [(1, 2, false), (2, 2, false), (3, 1, true)] {
        let a = search_raw(&app, &page(n), "viewer").await;
        let d = a.assert_ok();
        assert_eq!(
            (d["total_count"].as_u64(), d["page_total"].as_u64()),
            (Some(5), Some(3))
        );
        assert_eq!(d["end_page"], end, "page {n}");
        assert_eq!(ids(d).len(), len, "page {n}");
        seen.extend(ids(d));
    }
    assert_eq!(
        seen, created,
        "pages are consecutive, newest first, without repeats"
    );
    // past the end: an empty list with the true totals
    for n in [4, 100] {
        let a = search_raw(&app, &page(n), "viewer").await;
        let d = a.assert_ok();
        assert!(ids(d).is_empty());
        assert_eq!(
            (d["total_count"].as_u64(), d["page_total"].as_u64()),
            (Some(5), Some(3))
        );
        assert_eq!(d["end_page"], true);
    }
    // nothing found: zero pages, and page 1 is the last
    let a = search_raw(&app, "keyword=nothing-matches-this", "viewer").await;
    let d = a.assert_ok();
    assert_eq!(
        (d["total_count"].as_u64(), d["page_total"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(d["end_page"], true);
    // defaults: page 1 of 20
    let a = search_raw(&app, &format!("keyword={kw}"), "viewer").await;
    let d = a.assert_ok();
    assert_eq!(
        (ids(d).len(), d["page_total"].as_u64(), &d["end_page"]),
        (5, Some(1), &json!(true))
    );
    // out of range
    for (query, name) in [
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_num=0", "page_num"),
        ("page_num=-1", "page_num"),
        ("page_num=x", "page_num"),
    ] {
        for a in [
            search_raw(&app, query, "viewer").await,
            list_raw(&app, query, "viewer").await,
        ] {
            a.assert_error(400, 40000);
            let message = a.body["message"].as_str().unwrap_or_default();
            assert!(message.contains(name), "{query}: {message}");
        }
    }
    search_raw(&app, "page_size=100", "viewer")
        .await
        .assert_ok();
    search_raw(&app, "page_size=1", "viewer").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_num_out_of_range_names_the_real_range() {
    let app = spawn_app().await;
    for query in [
        "page_num=0",
        "page_num=4294967296",
        "page_num=9223372036854775807",
    ] {
        for a in [
            search_raw(&app, query, "viewer").await,
            list_raw(&app, query, "viewer").await,
        ] {
            a.assert_error(400, 40000);
            let message = a.body["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("page_num must be between 1 and 4294967295"),
                "{query}: {message}"
            );
        }
    }
    // the top of the range is a page (past the end: empty)
    let a = list_raw(&app, "page_num=4294967295", "viewer").await;
    assert_eq!(a.assert_ok()["list"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keywords_over_64_characters_are_refused() {
    let app = spawn_app().await;
    let id = app.create_room("a1", &"字".repeat(64)).await;
    assert_eq!(found(&app, &"字".repeat(64)).await, vec![id]);
    for long in ["字".repeat(65), "a".repeat(65), "Ａ".repeat(65)] {
        let a = search_raw(&app, &format!("keyword={}", enc(&long)), "viewer").await;
        a.assert_error(400, 40000);
        let message = a.body["message"].as_str().unwrap_or_default();
        assert!(message.contains("keyword"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_rooms_are_absent_from_search_and_the_list() {
    let app = spawn_app().await;
    let gone = app.create_room("a1", "消失的房间 gone").await;
    let ended_then_gone = app.create_room("a1", "消失的房间 ended").await;
    let kept = app.create_room("a2", "消失的房间 kept").await;
    for id in [&gone, &ended_then_gone, &kept] {
        app.start(id, if id == &kept { "a2" } else { "a1" })
            .await
            .assert_ok();
    }
    app.stop(&ended_then_gone, "a1").await.assert_ok();
    assert_eq!(
        sorted(live(&app).await),
        sorted(vec![gone.clone(), kept.clone()])
    );
    app.delete(&gone, "a1").await.assert_ok();
    app.delete(&ended_then_gone, "a1").await.assert_ok();
    assert_eq!(live(&app).await, vec![kept.clone()]);
    assert_eq!(found(&app, "消失").await, vec![kept.clone()]);
    assert_eq!(found(&app, "gone").await, Vec::<String>::new());
    assert_eq!(found(&app, "").await, vec![kept.clone()]);
    for status in 0..3 {
        let a = search_raw(&app, &format!("live_status={status}"), "viewer").await;
        let want = if status == 1 {
            vec![kept.clone()]
        } else {
            vec![]
        };
        assert_eq!(ids(a.assert_ok()), want);
    }
    let a = list_raw(&app, "", "viewer").await;
    assert_eq!(a.assert_ok()["total_count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_rooms_stay_in_search_with_status_2_and_leave_the_live_list() {
    let app = spawn_app().await;
    let id = app.create_room("a1", "已结束 finale").await;
    app.start(&id, "a1").await.assert_ok();
    assert_eq!(live(&app).await, vec![id.clone()]);
    app.stop(&id, "a1").await.assert_ok();
    assert!(live(&app).await.is_empty());
    let a = search(&app, "finale").await;
    let r = row(a.assert_ok(), &id);
    assert_eq!(r["live_status"], 2);
    assert!(r["end_time"].as_i64().unwrap_or(0) >= r["start_time"].as_i64().unwrap_or(i64::MAX));
    let a = list_raw(&app, "", "viewer").await;
    let d = a.assert_ok();
    assert_eq!(
        (d["total_count"].as_u64(), d["page_total"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(d["end_page"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_list_is_live_rooms_most_recently_started_first() {
    let app = spawn_app().await;
    let ids_ = create_in_order(&app, "a1", &["first", "second", "third", "never started"]).await;
    // started in another order than created
    for i in [2, 0, 1] {
        app.start(&ids_[i], "a1").await.assert_ok();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let want = vec![ids_[1].clone(), ids_[0].clone(), ids_[2].clone()];
    assert_eq!(live(&app).await, want, "created rooms are not live");
    // starting again (a heartbeat) does not move a room
    app.start(&ids_[2], "a1").await.assert_ok();
    assert_eq!(live(&app).await, want);
    // pages of the list
    let mut seen = Vec::new();
    for (n, end) in [(1, false), (2, true)] {
        let a = list_raw(&app, &format!("page_size=2&page_num={n}"), "viewer").await;
        let d = a.assert_ok();
        assert_eq!(
            (d["total_count"].as_u64(), d["page_total"].as_u64()),
            (Some(3), Some(2))
        );
        assert_eq!(d["end_page"], end);
        for r in d["list"].as_array().expect("list") {
            assert_eq!(r["live_status"], 1);
        }
        seen.extend(ids(d));
    }
    assert_eq!(seen, want);
    let a = list_raw(&app, "page_size=2&page_num=3", "viewer").await;
    let d = a.assert_ok();
    assert!(ids(d).is_empty());
    assert_eq!(
        (d["total_count"].as_u64(), d["page_total"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(d["end_page"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_url_only_for_the_anchor_and_anchor_info_is_never_the_caller() {
    let app = spawn_app().await;
    let id = create_with_nick(&app, "host", "主持人", "推流测试").await;
    app.start(&id, "host").await.assert_ok();
    let kw = format!("keyword={}", enc("推流"));
    for (user, anchor_sees) in [("host", true), ("viewer", false)] {
        let pages = [
            search_raw(&app, &kw, user).await,
            list_raw(&app, "", user).await,
        ];
        for a in pages {
            let r = row(a.assert_ok(), &id);
            let push = r["push_url"].as_str().expect("push_url");
            assert_eq!(!push.is_empty(), anchor_sees, "{user}: {r}");
            if anchor_sees {
                assert!(push.contains(&id), "{push}");
            }
            for url in ["rtmp_url", "flv_url", "hls_url"] {
                assert!(
                    r[url].as_str().is_some_and(|u| u.contains(&id)),
                    "{url}: {r}"
                );
            }
            assert_eq!(r["anchor_info"]["user_id"], "host");
            assert_eq!(r["anchor_info"]["nick"], "主持人");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anchors_new_nick_is_found_and_the_old_one_is_not() {
    let app = spawn_app().await;
    let id = create_with_nick(&app, "host", "旧昵称Old", "夜谈").await;
    assert_eq!(found(&app, "旧昵称").await, vec![id.clone()]);
    // the anchor heartbeats with a token that carries a new nick
    let path = format!("/client/live/room/heartbeat/{id}");
    app.get(&path, &token_nick("host", "新名字New"))
        .await
        .assert_ok();
    eventually(
        Duration::from_secs(5),
        "the new nick is indexed",
        || async { (found(&app, "新名字").await == vec![id.clone()]).then_some(()) },
    )
    .await;
    assert_eq!(found(&app, "new").await, vec![id.clone()]);
    assert!(found(&app, "旧昵称").await.is_empty());
    assert!(found(&app, "old").await.is_empty());
    assert_eq!(
        found(&app, "夜谈").await,
        vec![id.clone()],
        "the title still matches"
    );
    let a = search(&app, "新名字").await;
    assert_eq!(row(a.assert_ok(), &id)["anchor_info"]["nick"], "新名字New");
    // a member's nick is not the room's: it changes nothing
    let member = "member-1";
    app.start(&id, "host").await.assert_ok();
    app.join(&id, member).await.assert_ok();
    app.get(&path, &token_nick(member, "路人甲"))
        .await
        .assert_ok();
    assert!(found(&app, "路人甲").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_closed_rooms_leave_the_live_list_and_stay_searchable() {
    let mut s = test_settings();
    s.heartbeat_interval_ms = 100;
    s.heartbeat_misses = 2;
    s.anchor_offline_close_ms = 300;
    s.sweep_interval_ms = 50;
    let app = spawn_app_with(s).await;
    let id = app.create_room("a1", "自动关闭 auto").await;
    app.start(&id, "a1").await.assert_ok();
    eventually(
        Duration::from_secs(10),
        "the silent anchor's room is closed",
        || async { live(&app).await.is_empty().then_some(()) },
    )
    .await;
    let a = search(&app, "自动关闭").await;
    assert_eq!(row(a.assert_ok(), &id)["live_status"], 2);
    let a = search_raw(&app, "live_status=1", "viewer").await;
    assert!(ids(a.assert_ok()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_rooms_past_retention_leave_search() {
    let mut s = test_settings();
    s.ended_retention_secs = 1;
    s.sweep_interval_ms = 50;
    let app = spawn_app_with(s).await;
    let id = app.create_room("a1", "保留期 retention").await;
    let kept = app.create_room("a1", "保留期 live").await;
    app.start(&id, "a1").await.assert_ok();
    app.start(&kept, "a1").await.assert_ok();
    app.stop(&id, "a1").await.assert_ok();
    assert_eq!(
        sorted(found(&app, "保留期").await),
        sorted(vec![id.clone(), kept.clone()])
    );
    eventually(
        Duration::from_secs(10),
        "the ended room is purged",
        || async { (found(&app, "保留期").await == vec![kept.clone()]).then_some(()) },
    )
    .await;
    assert!(found(&app, &id).await.is_empty());
    assert!(found(&app, "retention").await.is_empty());
    assert_eq!(found(&app, "").await, vec![kept.clone()]);
    app.info(&id, "viewer").await.assert_error(404, 40400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_uses_no_keyspace_scans() {
    let app = spawn_app().await;
    let id = app.create_room("a1", "扫描 scan test").await;
    app.start(&id, "a1").await.assert_ok();
    let monitor = shared_redis().monitor().await;
    assert_eq!(found(&app, "扫描").await, vec![id.clone()]);
    assert_eq!(found(&app, "scan test").await, vec![id.clone()]);
    assert_eq!(found(&app, "").await, vec![id.clone()]);
    assert_eq!(live(&app).await, vec![id.clone()]);
    // a marker that reaches Redis inside this app's keys
    let marker = "zzmarkerzz";
    assert!(found(&app, marker).await.is_empty());
    let prefix = app.key("");
    let lines = monitor.until(marker).await;
    let ours: Vec<&String> = lines.iter().filter(|l| l.contains(&prefix)).collect();
    assert!(!ours.is_empty(), "monitor saw nothing of ours");
    for line in &ours {
        let upper = line.to_uppercase();
        for forbidden in [
            "\"KEYS\"",
            "\"SCAN\"",
            "\"HSCAN\"",
            "\"SSCAN\"",
            "\"ZSCAN\"",
        ] {
            assert!(!upper.contains(forbidden), "{line}");
        }
    }
}

/// Enough rooms that the index's compact forms change (a gram's few rooms kept inline, then a set
/// per chunk of rooms, then a bitmap, and back as rooms go), straddling two chunks: counts and
/// pages stay exact through every form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_results_stay_exact_across_the_index_forms() {
    let app = spawn_app().await;
    // Room numbers start just before the end of the index's first chunk (32 720 rooms), so the
    // rooms below straddle two chunks.
    shared_redis()
        .cli(&["SET", &app.key("idx:{rooms}:g:#seq"), "32700"])
        .await
        .expect("SET");
    let parity = |i: usize| if i.is_multiple_of(2) { "even" } else { "odd" };
    let bulk = create_many(&app, 600, |i| format!("Tier {} 分层 {i}", parity(i))).await;
    let newest = create_in_order(&app, "a1", &["tier last 分层", "TIER last 分层"]).await;
    let everything: HashSet<String> = bulk.iter().chain(&newest).cloned().collect();

    let by_pair = all_pages(&app, &format!("keyword={}", enc("分层")), 602).await;
    assert_eq!(by_pair.iter().cloned().collect::<HashSet<_>>(), everything);
    assert_eq!(
        by_pair[..2],
        [newest[1].clone(), newest[0].clone()],
        "newest first"
    );
    // a longer keyword (intersected, then confirmed on the text) and the empty one: same order
    assert_eq!(all_pages(&app, "keyword=tier", 602).await, by_pair);
    assert_eq!(all_pages(&app, "keyword=", 602).await, by_pair);
    let even = all_pages(&app, "keyword=EVEN", 300).await;
    let want: Vec<String> = by_pair
        .iter()
        .filter(|id| {
            bulk.iter()
                .position(|b| b == *id)
                .is_some_and(|i| i % 2 == 0)
        })
        .cloned()
        .collect();
    assert_eq!(even, want);
    assert_eq!(all_pages(&app, "keyword=r%20odd", 300).await.len(), 300);

    // most of them live: the status filter intersects with the keyword's rooms
    let (started, idle) = bulk.split_at(530);
    let (app_ref, bulk_ref) = (&app, &bulk);
    for_each(0..530, |i| async move {
        app_ref
            .start(&bulk_ref[i], &format!("bulk-{}", i % 7))
            .await
            .assert_ok();
    })
    .await;
    let kw = enc("分层");
    let live_ones = all_pages(&app, &format!("keyword={kw}&live_status=1"), 530).await;
    assert_eq!(
        live_ones.iter().cloned().collect::<HashSet<_>>(),
        started.iter().cloned().collect()
    );
    assert_eq!(
        all_pages(&app, &format!("keyword={kw}&live_status=0"), 72)
            .await
            .len(),
        72
    );
    assert_eq!(
        all_pages(&app, "keyword=tier&live_status=1", 530).await,
        live_ones
    );
    assert_eq!(all_pages(&app, "live_status=1", 530).await, live_ones);
    let a = list_raw(&app, "page_size=100&page_num=6", "viewer").await;
    let d = a.assert_ok();
    assert_eq!((d["total_count"].as_u64(), ids(d).len()), (Some(530), 30));

    // most of them gone: back to the compact forms, still exact
    let (gone, kept_live) = started.split_at(500);
    for_each(0..500, |i| async move {
        app_ref
            .delete(&bulk_ref[i], &format!("bulk-{}", i % 7))
            .await
            .assert_ok();
    })
    .await;
    let rest: HashSet<String> = kept_live
        .iter()
        .chain(idle)
        .chain(&newest)
        .cloned()
        .collect();
    let by_pair = all_pages(&app, &format!("keyword={kw}"), 102).await;
    assert_eq!(by_pair.iter().cloned().collect::<HashSet<_>>(), rest);
    assert_eq!(all_pages(&app, "keyword=tier", 102).await, by_pair);
    assert_eq!(all_pages(&app, "", 102).await, by_pair);
    assert_eq!(all_pages(&app, "live_status=1", 30).await.len(), 30);
    assert_eq!(
        all_pages(&app, &format!("keyword={kw}&live_status=0"), 72)
            .await
            .len(),
        72
    );
    for id in gone.iter().take(5) {
        assert!(found(&app, id).await.is_empty(), "a deleted room's id");
    }
}

/// At maxmemory Redis refuses search's scratch bitmaps: search still answers, exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_answers_when_redis_refuses_writes() {
    let redis = RedisServer::start(&[]);
    let mut s = test_settings();
    s.redis_url = redis.url();
    s.redis_cluster = None;
    let app = spawn_app_with(s).await;
    // over 512 rooms share the pairs of "tier": they are bitmaps, and-ed in a scratch key
    let bulk = create_many(&app, 530, |i| format!("tier {i}")).await;
    let before = all_pages(&app, "keyword=tier", 530).await;
    assert_eq!(
        before.iter().cloned().collect::<HashSet<_>>(),
        bulk.into_iter().collect()
    );
    redis
        .cli(&["CONFIG", "SET", "maxmemory-policy", "noeviction"])
        .await
        .expect("policy");
    redis
        .cli(&["CONFIG", "SET", "maxmemory", "1"])
        .await
        .expect("maxmemory");
    let during = all_pages(&app, "keyword=tier", 530).await;
    let status = all_pages(&app, "keyword=ti&live_status=0", 530).await;
    // a keyword that would become a phrase, but cannot be written
    let ier = all_pages(&app, "keyword=ier", 530).await;
    redis
        .cli(&["CONFIG", "SET", "maxmemory", "0"])
        .await
        .expect("maxmemory");
    assert_eq!(during, before);
    assert_eq!(status, before);
    assert_eq!(ier, before);
    assert_eq!(all_pages(&app, "keyword=ier", 530).await, before);
    assert_eq!(
        all_pages(&app, "keyword=ier&live_status=0", 530).await,
        before
    );
}

/// A keyword whose search had many candidates to confirm gets postings of its own (a phrase):
/// it stays exact as rooms come, go, change status and change nick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_popular_keyword_stays_exact_as_rooms_change() {
    let app = spawn_app().await;
    let bulk = create_many(&app, 300, |i| format!("星光大道 {i}")).await;
    let q = format!("keyword={}", enc("星光大道"));
    let first = all_pages(&app, &q, 300).await;
    assert_eq!(
        first.iter().cloned().collect::<HashSet<_>>(),
        bulk.iter().cloned().collect()
    );
    assert_eq!(
        all_pages(&app, &q, 300).await,
        first,
        "the same, counted this time"
    );
    // another one, first searched with a status filter
    let q2 = format!("keyword={}", enc("光大道"));
    assert_eq!(
        all_pages(&app, &format!("{q2}&live_status=0"), 300).await,
        first
    );
    assert!(
        all_pages(&app, &format!("{q2}&live_status=1"), 0)
            .await
            .is_empty()
    );
    assert_eq!(all_pages(&app, &q2, 300).await, first);
    let phrases = app.key("idx:{rooms}:g:#ph");
    let registered = shared_redis().cli(&["ZSCORE", &phrases, "光大道"]).await;
    assert!(
        registered.is_some_and(|r| !r.contains("nil")),
        "a phrase now"
    );

    // every pair of the phrase, but not the phrase
    let near = create_with_nick(&app, "x1", "路人", "星光 光大 大道").await;
    // the phrase in a new title, in a new nick
    let by_title = app.create_room("x2", "今晚 星光大道 决赛").await;
    let by_nick = create_with_nick(&app, "x3", "星光大道主播", "无关的标题").await;
    let now = all_pages(&app, &q, 302).await;
    assert_eq!(now[..2], [by_nick.clone(), by_title.clone()]);
    assert_eq!(now[2..], first[..]);

    // nicks change: one room loses the phrase, another gains it
    let beat = |id: &str| format!("/client/live/room/heartbeat/{id}");
    app.get(&beat(&by_nick), &token_nick("x3", "别的名字"))
        .await
        .assert_ok();
    app.get(&beat(&near), &token_nick("x1", "星光大道迷"))
        .await
        .assert_ok();
    let now = all_pages(&app, &q, 302).await;
    assert_eq!(
        now[..2],
        [by_title.clone(), near.clone()],
        "by creation, not by change"
    );
    assert!(!now.contains(&by_nick));

    // statuses, and rooms going
    let (app_ref, bulk_ref) = (&app, &bulk);
    for_each(0..10, |i| async move {
        app_ref
            .start(&bulk_ref[i], &format!("bulk-{}", i % 7))
            .await
            .assert_ok();
    })
    .await;
    for_each(100..200, |i| async move {
        app_ref
            .delete(&bulk_ref[i], &format!("bulk-{}", i % 7))
            .await
            .assert_ok();
    })
    .await;
    let live_ones = all_pages(&app, &format!("{q}&live_status=1"), 10).await;
    assert_eq!(
        live_ones.iter().cloned().collect::<HashSet<_>>(),
        bulk[..10].iter().cloned().collect()
    );
    let now = all_pages(&app, &q, 202).await;
    assert!(bulk[100..200].iter().all(|id| !now.contains(id)));
    assert_eq!(
        all_pages(&app, &format!("{q}&live_status=0"), 192)
            .await
            .len(),
        192
    );
    assert_eq!(all_pages(&app, &q2, 202).await, now);
    assert_eq!(
        all_pages(&app, &format!("{q2}&live_status=1"), 10).await,
        live_ones
    );
    // the exact live_id still finds its room alone
    assert_eq!(found(&app, &bulk[5]).await, vec![bulk[5].clone()]);
}

/// At most 64 phrases are kept: registering more forgets the oldest, and every keyword, kept or
/// forgotten, stays exact as rooms change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phrases_beyond_the_cap_are_forgotten_and_stay_exact() {
    let app = spawn_app().await;
    // 70 distinct characters: 68 distinct keywords of three, each in every room
    let text: Vec<char> = (0..70).filter_map(|i| char::from_u32(0x4E00 + i)).collect();
    let title: String = text.iter().collect();
    let kw = |i: usize| text[i..i + 3].iter().collect::<String>();
    let q = |i: usize| format!("keyword={}", enc(&kw(i)));
    let bulk = create_many(&app, 260, |i| format!("{title} {i}")).await;
    let all = all_pages(&app, &q(0), 260).await;
    for i in 1..66 {
        assert_eq!(all_pages(&app, &q(i), 260).await, all, "keyword {i}");
    }
    let phrases = shared_redis()
        .cli(&["ZCARD", &app.key("idx:{rooms}:g:#ph")])
        .await
        .unwrap_or_default();
    let phrases: u64 = phrases
        .trim()
        .trim_start_matches("(integer) ")
        .parse()
        .unwrap_or(0);
    assert_eq!(phrases, 64);

    let extra = app.create_room("x", &format!("{} {}", kw(0), kw(65))).await;
    app.delete(&bulk[0], "bulk-0").await.assert_ok();
    let kept: Vec<String> = all.iter().filter(|id| **id != bulk[0]).cloned().collect();
    for i in [0, 65] {
        let now = all_pages(&app, &q(i), 260).await;
        assert_eq!(now[0], extra, "keyword {i}");
        assert_eq!(now[1..], kept[..], "keyword {i}");
    }
    for i in [1, 2, 3, 64] {
        assert_eq!(all_pages(&app, &q(i), 259).await, kept, "keyword {i}");
    }
}
