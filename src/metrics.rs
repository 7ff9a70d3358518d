//! Request counters and latency, rendered as Prometheus text.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    by_status_code: BTreeMap<(u16, i32), u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

impl Metrics {
    pub fn observe(&self, status: u16, code: i32, latency: Duration) {
        let Ok(mut c) = self.inner.lock() else { return };
        *c.by_status_code.entry((status, code)).or_default() += 1;
        let secs = latency.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                c.buckets[i] += 1;
            }
        }
        c.count += 1;
        c.sum_secs += secs;
    }

    pub fn render(&self) -> String {
        let Ok(c) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::from(
            "# HELP liveroom_requests_total Requests answered, by HTTP status and contract code.\n\
             # TYPE liveroom_requests_total counter\n",
        );
        for ((status, code), n) in &c.by_status_code {
            out.push_str(&format!(
                "liveroom_requests_total{{status=\"{status}\",code=\"{code}\"}} {n}\n"
            ));
        }
        out.push_str(
            "# HELP liveroom_request_duration_seconds Time to answer a request.\n\
             # TYPE liveroom_request_duration_seconds histogram\n",
        );
        for (bound, n) in BUCKETS.iter().zip(c.buckets.iter()) {
            out.push_str(&format!(
                "liveroom_request_duration_seconds_bucket{{le=\"{bound}\"}} {n}\n"
            ));
        }
        out.push_str(&format!(
            "liveroom_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
             liveroom_request_duration_seconds_sum {}\n\
             liveroom_request_duration_seconds_count {}\n",
            c.count, c.sum_secs, c.count
        ));
        out
    }
}
