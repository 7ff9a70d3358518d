//! The cache of verified tokens (issue 16): a token it holds is refused once `exp` plus the
//! leeway passes, a refusal is never cached, and the entries stay within their bound.

use std::time::Duration;

use serde_json::json;

use super::helpers::*;

/// The verifier's clock leeway (CONTRACT section 4: at most 30 s).
const LEEWAY_SECS: u64 = 30;

async fn metric(app: &TestApp, name: &str) -> u64 {
    app.metric(name)
        .await
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

async fn list(app: &TestApp, token: &str) -> Answer {
    app.get("/client/live/room/list", token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_is_refused_once_its_exp_plus_leeway_has_passed() {
    let app = spawn_app().await;
    // expired 25 s ago: still inside the leeway for about five more seconds
    let exp = now_secs() - (LEEWAY_SECS - 5);
    let t = token_with(json!({"sub": "short-lived", "exp": exp}));
    list(&app, &t).await.assert_ok();
    list(&app, &t).await.assert_ok();
    assert_eq!(metric(&app, "liveroom_token_cache_entries").await, 1);
    assert!(metric(&app, "liveroom_token_cache_hits_total").await >= 1);
    let refused = eventually(Duration::from_secs(15), "the token is refused", || async {
        let sent_at = now_secs();
        let a = list(&app, &t).await;
        if a.status == 200 {
            // the server answered at or after `sent_at`: never accepted past exp + leeway
            assert!(
                sent_at <= exp + LEEWAY_SECS,
                "accepted at {sent_at}, exp {exp}"
            );
            None
        } else {
            Some(a)
        }
    })
    .await;
    refused.assert_error(401, 40100);
    assert!(refused.headers.contains_key("www-authenticate"));
    // and stays refused: the lapsed entry is gone, the verifier decides every time
    list(&app, &t).await.assert_error(401, 40100);
    assert_eq!(metric(&app, "liveroom_token_cache_entries").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_never_cached() {
    let app = spawn_app().await;
    let good = token("cache-u1");
    let (head_payload, _) = good.rsplit_once('.').expect("a JWT");
    let forged = format!("{head_payload}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for _ in 0..3 {
        list(&app, &forged).await.assert_error(401, 40100);
    }
    assert_eq!(metric(&app, "liveroom_token_cache_entries").await, 0);
    // the same claims, properly signed, are accepted and cached; the forgery still is not
    list(&app, &good).await.assert_ok();
    list(&app, &forged).await.assert_error(401, 40100);
    assert_eq!(metric(&app, "liveroom_token_cache_entries").await, 1);

    // not yet valid (nbf beyond the leeway): refused, not cached, and accepted once it is due
    let nbf = now_secs() + LEEWAY_SECS + 2;
    let early = token_with(json!({"sub": "cache-u2", "exp": nbf + 600, "nbf": nbf}));
    list(&app, &early).await.assert_error(401, 40100);
    assert_eq!(metric(&app, "liveroom_token_cache_entries").await, 1);
    eventually(
        Duration::from_secs(10),
        "the token becomes valid",
        || async {
            let sent_at = now_secs();
            let a = list(&app, &early).await;
            if a.status == 200 {
                Some(())
            } else {
                // refused only while it is not due yet
                assert!(sent_at + LEEWAY_SECS <= nbf + 1, "refused at {sent_at}");
                None
            }
        },
    )
    .await;
    assert_eq!(metric(&app, "liveroom_token_cache_entries").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_stays_within_its_bound_under_many_distinct_tokens() {
    let mut settings = test_settings();
    settings.token_cache_max = 40;
    let app = spawn_app_with(settings).await;
    assert_eq!(metric(&app, "liveroom_token_cache_max_entries").await, 40);
    let tokens: Vec<String> = (0..400).map(|i| token(&format!("many-{i}"))).collect();
    for chunk in tokens.chunks(16) {
        let answers = futures_util::future::join_all(chunk.iter().map(|t| list(&app, t))).await;
        for a in answers {
            a.assert_ok();
        }
        let entries = metric(&app, "liveroom_token_cache_entries").await;
        assert!(entries <= 40, "{entries} entries");
    }
    assert!(metric(&app, "liveroom_token_cache_entries").await > 0);
    // each distinct token was verified: none was mistaken for another
    assert!(metric(&app, "liveroom_token_cache_misses_total").await >= 400);
    // every token still works, whether its entry was evicted or not
    for t in tokens.iter().step_by(37) {
        list(&app, t).await.assert_ok();
    }
}
