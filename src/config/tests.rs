//! Parsing the settings: each part, and each bad setting named.

use super::*;

fn settings() -> Settings {
    let mut s = Settings::defaults();
    s.jwt_secret = Some("secret".into());
    s
}

fn refused(s: Settings) -> ConfigError {
    match Config::try_from(s) {
        Ok(_) => panic!("parsed"),
        Err(e) => e,
    }
}

#[test]
fn the_defaults_parse_into_their_parts() {
    let c = Config::try_from(settings()).expect("parses");
    assert_eq!(c.presence.member_window_ms, 15_000);
    assert_eq!(c.sweep_period, Duration::from_millis(250));
    assert_eq!(
        c.carry_period,
        Duration::from_millis(5000),
        "once per heartbeat interval"
    );
    assert_eq!(c.edge.header_timeout, Some(Duration::from_secs(10)));
    assert_eq!(c.streams.signing, Signing::None);
    assert!(c.webhooks.is_none());
    assert_eq!(c.log_format, LogFormat::Text);
    assert!(c.worker_threads.is_none());
    assert!(matches!(c.auth.key, JwtKey::Secret(ref k) if k == "secret"));
    assert_eq!(c.auth.max_ttl_secs.map(NonZeroU64::get), Some(604_800));
    assert!(!c.event_log().webhooks);
}

#[test]
fn each_closed_set_names_its_setting_and_its_values() {
    let mut s = settings();
    s.url_signing = "aliyun".into();
    let e = refused(s);
    assert_eq!(e.setting(), "LIVEROOM_URL_SIGNING");
    assert_eq!(
        e.to_string(),
        "LIVEROOM_URL_SIGNING must be none, aliyun-a or tencent (got \"aliyun\")"
    );
    for (name, signing) in [
        ("none", Signing::None),
        ("aliyun-a", Signing::AliyunA),
        ("tencent", Signing::Tencent),
    ] {
        assert_eq!(
            choice::<Signing>("LIVEROOM_URL_SIGNING", name).ok(),
            Some(signing)
        );
    }
    let mut s = settings();
    s.webhook_member_events = "some".into();
    assert_eq!(refused(s).setting(), "LIVEROOM_WEBHOOK_MEMBER_EVENTS");
    let mut s = settings();
    s.log_format = "yaml".into();
    assert_eq!(
        refused(s).to_string(),
        "LIVEROOM_LOG_FORMAT must be text or json (got \"yaml\")"
    );
    let mut s = settings();
    s.timezone = "Mars/Olympus".into();
    assert_eq!(refused(s).setting(), "LIVEROOM_TIMEZONE");
    for (setting, zero) in [
        ("LIVEROOM_HEARTBEAT_INTERVAL_MS", 0),
        ("LIVEROOM_HEARTBEAT_MISSES", 1),
        ("LIVEROOM_PLAY_URL_TTL_SECS", 2),
        ("LIVEROOM_WEBHOOK_MAX_AGE_SECS", 3),
    ] {
        let mut s = settings();
        match zero {
            0 => s.heartbeat_interval_ms = 0,
            1 => s.heartbeat_misses = 0,
            2 => s.play_url_ttl_secs = 0,
            _ => s.webhook_max_age_secs = 0,
        }
        assert_eq!(
            refused(s).to_string(),
            format!("{setting} must be positive")
        );
    }
}

#[test]
fn signing_needs_a_publish_key() {
    let mut s = settings();
    s.url_signing = " tencent ".into();
    assert_eq!(
        refused(s.clone()).to_string(),
        "LIVEROOM_URL_SIGNING=tencent needs LIVEROOM_PUBLISH_KEY"
    );
    s.publish_key = Some("k".into());
    let c = Config::try_from(s).expect("parses");
    assert_eq!(c.streams.signing, Signing::Tencent);
    assert_eq!(c.streams.publish_key, "k");
}

#[test]
fn webhooks_are_parsed_once_with_their_settings() {
    let mut s = settings();
    s.webhook_url = Some("ftp://example.com/hook".into());
    assert_eq!(refused(s.clone()).setting(), "LIVEROOM_WEBHOOK_URL");
    s.webhook_url = Some(" https://example.com/hook ".into());
    let e = refused(s.clone());
    assert!(e.to_string().contains("LIVEROOM_WEBHOOK_SECRET"), "{e}");
    s.webhook_secret = Some("hmac".into());
    s.webhook_member_events = "all".into();
    s.webhook_max_age_secs = 60;
    let c = Config::try_from(s.clone()).expect("parses");
    let hooks = c.webhooks.as_ref().expect("webhooks");
    assert_eq!(hooks.url.as_str(), "https://example.com/hook");
    assert_eq!(hooks.member_events, MemberEvents::All);
    let log = c.event_log();
    assert!(log.webhooks && log.webhook_member_events);
    assert_eq!(log.webhook_max_age_ms, 60_000);
    assert_eq!(hooks.batch_max, 1, "one event a POST by default");
    s.webhook_batch_max = 0;
    assert_eq!(refused(s.clone()).setting(), "LIVEROOM_WEBHOOK_BATCH_MAX");
    s.webhook_batch_max = 10_001;
    assert_eq!(refused(s.clone()).setting(), "LIVEROOM_WEBHOOK_BATCH_MAX");
    s.webhook_batch_max = 100;
    let c = Config::try_from(s).expect("parses");
    assert_eq!(c.webhooks.as_ref().map(|w| w.batch_max), Some(100));
}

#[test]
fn a_key_is_required_and_a_public_key_wins() {
    let mut s = settings();
    s.jwt_secret = Some(String::new());
    let e = refused(s.clone());
    assert!(e.to_string().contains("LIVEROOM_JWT_SECRET"), "{e}");
    s.jwt_secret = Some("secret".into());
    s.jwt_public_key_file = Some("/nonexistent/key.pem".into());
    assert_eq!(refused(s).setting(), "LIVEROOM_JWT_PUBLIC_KEY_FILE");
}

#[test]
fn cluster_seeds_and_timeouts() {
    let mut s = settings();
    s.redis_cluster = Some(" redis://a:1, ,redis://b:2 ".into());
    s.redis_timeout_ms = 0;
    s.idle_timeout_ms = 0;
    s.sweep_interval_ms = 40;
    let c = Config::try_from(s).expect("parses");
    assert!(
        matches!(&c.redis.target, RedisTarget::Cluster(seeds) if seeds == &["redis://a:1", "redis://b:2"])
    );
    assert_eq!(c.redis.timeout, Duration::from_millis(1));
    assert_eq!(c.edge.idle_timeout, None);
    assert_eq!(c.sweep_period, Duration::from_millis(40));
}

#[test]
fn seats_per_room_is_bounded_and_the_rtc_settings_go_together() {
    let c = Config::try_from(settings()).expect("parses");
    assert_eq!(c.presence.seats_per_room, 8);
    assert_eq!(c.presence.seat_request_ms, 60_000);
    assert!(c.rtc.is_none());
    for bad in [0, MAX_SEATS_PER_ROOM + 1] {
        let mut s = settings();
        s.seats_per_room = bad;
        assert_eq!(refused(s).setting(), "LIVEROOM_SEATS_PER_ROOM");
    }
    let mut s = settings();
    s.seat_request_secs = 0;
    assert_eq!(refused(s).setting(), "LIVEROOM_SEAT_REQUEST_SECS");

    let mut s = settings();
    s.rtc_url = Some("wss://rtc".into());
    s.rtc_api_key = Some("key".into());
    let e = refused(s.clone()).to_string();
    assert!(
        e.contains("all three or none") && e.contains("missing LIVEROOM_RTC_API_SECRET"),
        "{e}"
    );
    s.rtc_api_secret = Some("secret".into());
    let rtc = Config::try_from(s).expect("parses").rtc.expect("rtc");
    assert_eq!(
        (rtc.url.as_str(), rtc.api_key.as_str()),
        ("wss://rtc", "key")
    );
    assert!(
        !format!("{rtc:?}").contains("secret\""),
        "the secret stays out of logs"
    );
}

#[test]
fn sentinels_need_a_master_name_and_exclude_a_cluster() {
    let mut s = settings();
    s.redis_sentinels = Some(" 10.0.0.1:26379, redis://10.0.0.2:26379 ,".into());
    assert_eq!(refused(s.clone()).setting(), "LIVEROOM_REDIS_SENTINELS");
    s.redis_sentinel_master = Some("mymaster".into());
    let c = Config::try_from(s.clone()).expect("parses");
    assert!(
        matches!(&c.redis.target, RedisTarget::Sentinel { sentinels, master }
            if sentinels == &["redis://10.0.0.1:26379", "redis://10.0.0.2:26379"] && master == "mymaster"),
        "{:?}",
        c.redis.target
    );
    s.redis_cluster = Some("redis://a:1".into());
    let e = refused(s.clone());
    assert!(e.to_string().contains("LIVEROOM_REDIS_CLUSTER"), "{e}");
    s.redis_cluster = None;
    s.redis_sentinels = None;
    assert_eq!(refused(s).setting(), "LIVEROOM_REDIS_SENTINEL_MASTER");
}

#[test]
fn the_streams_keep_alive_is_one_second_to_an_hour() {
    assert_eq!(
        Config::try_from(settings())
            .expect("parses")
            .events
            .sse
            .keep_alive,
        Duration::from_secs(45)
    );
    let mut s = settings();
    s.sse_keepalive_secs = 0;
    assert_eq!(refused(s).setting(), "LIVEROOM_SSE_KEEPALIVE_SECS");
    let mut s = settings();
    s.sse_keepalive_secs = 3601;
    assert_eq!(
        refused(s).to_string(),
        "LIVEROOM_SSE_KEEPALIVE_SECS: at most 3600 seconds (got 3601)"
    );
    let mut s = settings();
    s.sse_keepalive_secs = 3600;
    assert_eq!(
        Config::try_from(s).expect("parses").events.sse.keep_alive,
        Duration::from_secs(3600)
    );
}
