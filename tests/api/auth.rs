//! CONTRACT section 4: bearer tokens, and every way a token can fail.

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use super::helpers::*;

async fn list_with(app: &TestApp, authorization: Option<&str>) -> Answer {
    let mut req = app
        .client
        .get(format!("{}/client/live/room/list", app.base));
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        body,
        headers,
    }
}

#[track_caller]
fn assert_401(a: &Answer) {
    a.assert_error(401, 40100);
    assert_eq!(
        a.headers["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
}

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_and_bare_tokens_are_accepted() {
    let app = spawn_app().await;
    let t = token("u1");
    list_with(&app, Some(&format!("Bearer {t}")))
        .await
        .assert_ok();
    list_with(&app, Some(&format!("bearer {t}")))
        .await
        .assert_ok();
    list_with(&app, Some(&t)).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_needs_a_token() {
    let app = spawn_app().await;
    let id = "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f";
    let calls = [
        (Method::POST, "/client/live/room/instance".to_owned()),
        (Method::GET, format!("/client/live/room/info/{id}")),
        (Method::PUT, format!("/client/live/room/{id}")),
        (Method::POST, format!("/client/live/room/{id}")),
        (Method::DELETE, format!("/client/live/room/instance/{id}")),
        (Method::GET, "/client/live/room".to_owned()),
        (Method::GET, "/client/live/room/list".to_owned()),
        (Method::POST, format!("/client/live/room/user/{id}")),
        (Method::DELETE, format!("/client/live/room/user/{id}")),
        (Method::GET, format!("/client/live/room/heartbeat/{id}")),
        (Method::PUT, "/client/live/room/extends".to_owned()),
        (
            Method::GET,
            format!("/client/live/room/user_list?live_id={id}"),
        ),
    ];
    for (method, path) in calls {
        let a = app.request(method.clone(), &path, None, None).await;
        assert_401(&a);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused() {
    let app = spawn_app().await;
    let exp = now_secs() + 600;
    let wrong_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "u", "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret"),
    )
    .unwrap();
    let alg_none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&json!({"sub": "u", "exp": exp}))
    );
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &json!({"sub": "u", "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let cases = [
        ("wrong key", wrong_key),
        ("alg none", alg_none),
        ("other alg", hs512),
        (
            "expired beyond leeway",
            token_with(json!({"sub": "u", "exp": now_secs() - 120})),
        ),
        (
            "not yet valid",
            token_with(json!({"sub": "u", "exp": exp, "nbf": now_secs() + 600})),
        ),
        ("no exp", token_with(json!({"sub": "u"}))),
        (
            "exp as string",
            token_with(json!({"sub": "u", "exp": exp.to_string()})),
        ),
        ("no sub", token_with(json!({"exp": exp}))),
        ("empty sub", token_with(json!({"sub": "", "exp": exp}))),
        (
            "sub with control chars",
            token_with(json!({"sub": "u\u{0007}x", "exp": exp})),
        ),
        (
            "sub too long",
            token_with(json!({"sub": "u".repeat(129), "exp": exp})),
        ),
        (
            "over 8 KiB",
            token_with(json!({"sub": "u", "exp": exp, "pad": "x".repeat(9000)})),
        ),
        ("garbage", "not-a-jwt".to_owned()),
        ("two segments", "abc.def".to_owned()),
        ("bad base64", "!!!.###.$$$".to_owned()),
    ];
    for (what, t) in cases {
        let a = list_with(&app, Some(&format!("Bearer {t}"))).await;
        assert_eq!(a.status.as_u16(), 401, "{what}: {:?}", a.body);
        assert_401(&a);
    }
    assert_401(&list_with(&app, Some("Basic dTpw")).await);
    assert_401(&list_with(&app, Some("Bearer ")).await);
    // within the leeway: accepted
    let a = list_with(
        &app,
        Some(&token_with(json!({"sub": "u", "exp": now_secs() - 5}))),
    )
    .await;
    a.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_issued_in_the_future_is_refused_and_its_lifetime_runs_from_now() {
    let app = spawn_app().await;
    let now = now_secs();
    let (year, week) = (365 * 86_400, 604_800);
    for claims in [
        // the token: a year ahead, a week long by exp - iat
        json!({"sub": "u", "iat": now + year, "exp": now + year + week}),
        // issued beyond the leeway, however short
        json!({"sub": "u", "iat": now + 120, "exp": now + 600}),
        // an old iat does not lengthen a lifetime measured from now
        json!({"sub": "u", "iat": now - 60, "exp": now + week + 3600}),
    ] {
        let t = token_with(claims.clone());
        // twice: the second time past the token cache, which must not let it through either
        for _ in 0..2 {
            let a = list_with(&app, Some(&t)).await;
            assert_eq!(a.status.as_u16(), 401, "{claims}: {:?}", a.body);
            assert_401(&a);
        }
    }
    // within the leeway: accepted, and again from the cache
    let t = token_with(json!({"sub": "u", "iat": now + 10, "exp": now + 600}));
    for _ in 0..2 {
        list_with(&app, Some(&t)).await.assert_ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_issued_in_the_future_is_refused_without_a_maximum_lifetime() {
    let mut s = test_settings();
    s.jwt_max_ttl_secs = 0;
    let app = spawn_app_with(s).await;
    let now = now_secs();
    let t = token_with(json!({"sub": "u", "iat": now + 3600, "exp": now + 7200}));
    assert_401(&list_with(&app, Some(&t)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_authorization_headers_are_refused() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/client/live/room/list", app.base))
        .header("Authorization", format!("Bearer {}", token("a")))
        .header("Authorization", format!("Bearer {}", token("b")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_and_audience_are_enforced_when_configured() {
    let mut s = test_settings();
    s.jwt_issuer = Some("https://id.example".into());
    s.jwt_audience = Some("liveroom".into());
    let app = spawn_app_with(s).await;
    let exp = now_secs() + 600;
    let good =
        token_with(json!({"sub": "u", "exp": exp, "iss": "https://id.example", "aud": "liveroom"}));
    list_with(&app, Some(&good)).await.assert_ok();
    for claims in [
        json!({"sub": "u", "exp": exp, "aud": "liveroom"}),
        json!({"sub": "u", "exp": exp, "iss": "https://other", "aud": "liveroom"}),
        json!({"sub": "u", "exp": exp, "iss": "https://id.example", "aud": "other"}),
    ] {
        assert_401(&list_with(&app, Some(&token_with(claims))).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_to_start_without_a_key() {
    let mut s = test_settings();
    s.jwt_secret = None;
    let err = liveroom::app::Application::build(s)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("LIVEROOM_JWT_SECRET"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_command_prints_a_token_the_server_accepts() {
    let app = spawn_app().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_liveroom"))
        .args([
            "token", "--sub", "cli-user", "--nick", "主播1", "--ttl", "600",
        ])
        .env("LIVEROOM_JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8(out.stdout).unwrap();
    let a = app
        .request(
            Method::POST,
            "/client/live/room/instance",
            Some(t.trim()),
            Some(json!({"title": "from the cli"})),
        )
        .await;
    let d = a.assert_ok();
    assert_eq!(d["anchor_info"]["user_id"], "cli-user");
    assert_eq!(d["anchor_info"]["nick"], "主播1");
}

/// A committed RSA or EC test key pair (tests/api/keys), as (private PEM, public key file).
fn key_pair(kind: &str) -> (Vec<u8>, std::path::PathBuf) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/keys");
    let private = std::fs::read(dir.join(format!("{kind}.pem"))).expect("private key");
    (private, dir.join(format!("{kind}.pub.pem")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_key_algorithms_and_no_hs_rs_swap() {
    for (kind, alg) in [
        ("rsa", jsonwebtoken::Algorithm::RS256),
        ("ec", jsonwebtoken::Algorithm::ES256),
    ] {
        let (private, public) = key_pair(kind);
        let mut s = test_settings();
        s.jwt_secret = None;
        s.jwt_public_key_file = Some(public.display().to_string());
        let app = spawn_app_with(s).await;
        let claims = json!({"sub": "u", "exp": now_secs() + 600});
        let key = match kind {
            "rsa" => jsonwebtoken::EncodingKey::from_rsa_pem(&private).unwrap(),
            _ => jsonwebtoken::EncodingKey::from_ec_pem(&private).unwrap(),
        };
        let good = jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, &key).unwrap();
        list_with(&app, Some(&good)).await.assert_ok();
        // the classic confusion: HS256 "signed" with the public key as the secret
        let public_pem = std::fs::read(&public).unwrap();
        let swapped = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&public_pem),
        )
        .unwrap();
        assert_401(&list_with(&app, Some(&swapped)).await);
        assert_401(&list_with(&app, Some(&token_with(claims.clone()))).await);
    }
}
