//! A real Prometheus (Debian's `prometheus`) scrapes a real replica with the shipped rules loaded
//! (deploy/prometheus/liveroom-rules.yml): every metric name the rules and the Grafana dashboard
//! (deploy/grafana/liveroom.json) use has a series, and every recording rule records one. A
//! renamed metric or label that would leave an alert or a panel silently empty fails here.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::helpers::*;

/// The metric names `text` mentions: `liveroom_…` words not part of a recording rule's name
/// (`route:liveroom_requests:rate1m`, which has colons around it).
fn metric_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    let mut names = BTreeSet::new();
    let mut at = 0;
    while let Some(found) = text[at..].find("liveroom_") {
        let start = at + found;
        let mut end = start;
        while end < bytes.len() && word(bytes[end]) {
            end += 1;
        }
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(end).copied();
        let glued =
            |b: Option<u8>| b.is_some_and(|b| b == b':' || word(b) || b.is_ascii_uppercase());
        if !glued(before) && !glued(after) {
            names.insert(text[start..end].to_owned());
        }
        at = end.max(start + 1);
    }
    names
}

/// The names the rules file records.
fn recorded_names(rules: &str) -> BTreeSet<String> {
    rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record:"))
        .map(|n| n.trim().to_owned())
        .collect()
}

async fn query(client: &reqwest::Client, base: &str, promql: &str) -> Option<Vec<Value>> {
    let body: Value = client
        .get(format!("{base}/api/v1/query"))
        .query(&[("query", promql)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["data"]["result"].as_array().cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_finds_every_metric_the_rules_and_the_dashboard_use() {
    let root = env!("CARGO_MANIFEST_DIR");
    let rules_path = format!("{root}/deploy/prometheus/liveroom-rules.yml");
    let rules = std::fs::read_to_string(&rules_path).expect("the rules file");
    let dashboard = std::fs::read_to_string(format!("{root}/deploy/grafana/liveroom.json"))
        .expect("the dashboard");
    let mut names = metric_names(&rules);
    names.extend(metric_names(&dashboard));
    assert!(names.len() > 10, "names found: {names:?}");
    let recorded = recorded_names(&rules);
    assert!(!recorded.is_empty());

    // traffic first, so that every route the rules name has its histograms, and a 5xx
    let mut settings = test_settings();
    settings.max_connections = 4;
    let app = spawn_app_with(settings).await;
    let id = app.create_room("anchor", "t").await;
    app.start(&id, "anchor").await.assert_ok();
    app.join(&id, "v").await.assert_ok();
    app.heartbeat(&id, "v").await.assert_ok();
    app.info("live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f", "x")
        .await
        .assert_error(404, 40400);
    // past the connection cap: a 503/50300 refusal (the 5xx the rules count)
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut held: Vec<_> = (0..5)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    // the last is past the cap whatever else is open: its answer is the refusal, counted as it
    // is written. Then the places are given back before /metrics is read: while they are held,
    // a look is refused too, until the header timeout (10 s) closes them
    let last = held.pop().expect("connected");
    last.set_nonblocking(true).expect("non-blocking");
    let mut last = tokio::net::TcpStream::from_std(last).expect("a tokio stream");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), last.read_to_end(&mut answer))
        .await
        .expect("the refusal in time")
        .expect("read");
    assert!(
        answer.starts_with(b"HTTP/1.1 503"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    drop(held);
    // each look bounded: a connection the cap leaves waiting must not hold the test
    let looks = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("a client");
    eventually(
        Duration::from_secs(10),
        "a refusal at the cap is counted",
        || async {
            let text = looks
                .get(format!("{}/metrics", app.base))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.contains("status=\"503\",code=\"50300\"").then_some(())
        },
    )
    .await;

    let dir = std::env::temp_dir().join(format!("liveroom-prometheus-{}", free_port()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let target = app.base.trim_start_matches("http://");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules_path}\n\
         scrape_configs:\n  - job_name: liveroom\n    static_configs:\n      - targets: ['{target}']\n"
    );
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).expect("the config");
    let port = free_port();
    let _prometheus = Guarded::spawn(
        &format!(
            "exec prometheus --config.file={} --storage.tsdb.path={} --web.listen-address=127.0.0.1:{port}",
            config_path.display(),
            dir.join("data").display()
        ),
        &[],
        &dir.join("prometheus.log"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("a client");

    eventually(
        Duration::from_secs(30),
        "Prometheus scrapes liveroom",
        || async {
            let up = query(&client, &base, "up{job=\"liveroom\"} == 1").await?;
            (!up.is_empty()).then_some(())
        },
    )
    .await;
    // keep the heartbeat route busy while the rates fill in (the member may have lapsed while
    // Prometheus started: a 40901 is a heartbeat all the same)
    let _ = app.heartbeat(&id, "v").await;

    let mut missing = Vec::new();
    for name in &names {
        // a histogram is named by its base in the annotations: its _count is the series
        let promql = format!("count({{__name__=~\"{name}|{name}_count\"}})");
        if query(&client, &base, &promql)
            .await
            .unwrap_or_default()
            .is_empty()
        {
            missing.push(name.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "no series for {missing:?} (of {names:?}); see {}",
        dir.display()
    );
    for name in &recorded {
        // the recording group is evaluated every 30 s (liveroom-rules.yml), and a rate needs two
        // scrapes inside its window: the first evaluation may come too early, so wait for up to
        // the third
        eventually(
            Duration::from_secs(95),
            &format!("the recording rule {name} records a series"),
            || async {
                let _ = app.heartbeat(&id, "v").await;
                let found = query(&client, &base, name).await?;
                (!found.is_empty()).then_some(())
            },
        )
        .await;
    }
    // the per-route labels are the routes' templates
    let heartbeat = query(
        &client,
        &base,
        "route:liveroom_requests:rate1m{route=\"/client/live/room/heartbeat/{live_id}\"}",
    )
    .await
    .unwrap_or_default();
    assert!(!heartbeat.is_empty(), "the heartbeat route's rate");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn names_are_metrics_not_recording_rules() {
    let names = metric_names(
        "sum(rate(liveroom_requests_total[1m])) route:liveroom_requests:rate1m LIVEROOM_SSE_MAX \
         (liveroom_sse_streams_max > 0)",
    );
    let want: BTreeSet<String> = ["liveroom_requests_total", "liveroom_sse_streams_max"]
        .map(String::from)
        .into();
    assert_eq!(names, want);
}
