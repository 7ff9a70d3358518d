//! Per-user and per-IP rate limits that hold across replicas without a Redis round trip per
//! request.
//!
//! Each replica decides locally, from the shared count of the current one-second window (as Redis
//! last told it) plus its own requests not yet reported; every 50 ms it reports them (one script
//! per busy subject, sent together) and learns the new shared count. A subject is reported only
//! once this replica has seen a tenth of its limit in the window: a viewer heartbeating every 5 s
//! costs Redis nothing, while one that sprays requests over N replicas is counted everywhere after
//! at most N tenths of the limit. So steady traffic is held to the limit plus that and what the
//! others served in their last 50 ms; a burst faster than a report can reach N × the limit
//! (docs/operations.md, "Rate limits"). A request never waits for Redis.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::store::Store;

const REPORT_EVERY: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests a second per user (0: no limit).
    pub per_user: u32,
    /// Requests a second per client IP (0: no limit).
    pub per_ip: u32,
}

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    index: u64,
    /// Every replica's requests in this window, as Redis last answered.
    shared: u64,
    /// This replica's requests not yet reported.
    unreported: u64,
    /// Reported, but Redis has not answered yet (so not in `shared` yet either).
    reporting: u64,
    /// This replica's requests in this window, reported or not.
    seen: u64,
    /// Reported once `seen` reaches this (a tenth of the limit).
    report_from: u64,
}

/// A request over its rate: who was limited ("this user", "this address"), the limit a second
/// and when to retry. The HTTP layer answers it (429/42900 with Retry-After).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    pub who: &'static str,
    pub limit: u32,
    pub retry_after: u64,
}

pub struct RateLimiter {
    limits: Limits,
    windows: Mutex<HashMap<String, Window>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            windows: Mutex::default(),
        }
    }

    pub fn check_user(&self, user: &str) -> Result<(), RateLimited> {
        self.check(format!("u:{user}"), self.limits.per_user, "this user")
    }

    /// Whether addresses are limited at all (`check_ip` can refuse): when not, a request need
    /// not work out its address.
    pub fn limits_addresses(&self) -> bool {
        self.limits.per_ip > 0
    }

    pub fn check_ip(&self, ip: &str) -> Result<(), RateLimited> {
        self.check(format!("ip:{ip}"), self.limits.per_ip, "this address")
    }

    fn check(&self, subject: String, limit: u32, who: &'static str) -> Result<(), RateLimited> {
        if limit == 0 {
            return Ok(());
        }
        let now = now_ms();
        let index = now / 1000;
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(());
        };
        let w = windows.entry(subject).or_default();
        if w.index != index {
            let report_from = (u64::from(limit) / 10).max(1);
            *w = Window {
                index,
                report_from,
                ..Window::default()
            };
        }
        if w.shared + w.reporting + w.unreported >= u64::from(limit) {
            let retry_after = (1000 - now % 1000).div_ceil(1000).max(1);
            return Err(RateLimited {
                who,
                limit,
                retry_after,
            });
        }
        w.unreported += 1;
        w.seen += 1;
        Ok(())
    }

    /// Reports this replica's counts every 50 ms until `stop`.
    pub async fn run(&self, store: Store, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(REPORT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            self.report(&store).await;
        }
    }

    async fn report(&self, store: &Store) {
        let index = now_ms() / 1000;
        let due: Vec<(String, u64, u64)> = {
            let Ok(mut windows) = self.windows.lock() else {
                return;
            };
            windows.retain(|_, w| w.index + 1 >= index); // forget old windows
            windows
                .iter_mut()
                .filter(|(_, w)| w.unreported > 0 && w.seen >= w.report_from)
                .map(|(subject, w)| {
                    let n = std::mem::take(&mut w.unreported);
                    w.reporting += n;
                    (subject.clone(), w.index, n)
                })
                .collect()
        };
        let reports = due
            .iter()
            .map(|(subject, index, n)| store.count_requests(subject, *index, *n));
        let answers = futures_util::future::join_all(reports).await;
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        for ((subject, index, n), answer) in due.into_iter().zip(answers) {
            let Some(w) = windows.get_mut(&subject) else {
                continue;
            };
            if w.index != index {
                continue;
            }
            w.reporting = w.reporting.saturating_sub(n);
            match answer {
                Ok(shared) => w.shared = w.shared.max(shared),
                // Redis away: keep counting locally, so the limit still holds on this replica
                Err(_) => w.unreported += n,
            }
        }
    }
}
