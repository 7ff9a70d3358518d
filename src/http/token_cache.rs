//! A bounded cache of verified tokens, so that a viewer's heartbeat every five seconds does not
//! decode and check the same JWT again each time.
//!
//! - Keyed by the SHA-256 of the token's bytes: a strong digest, so two tokens never share an
//!   entry, and the cache holds no token a memory dump could replay.
//! - Only a successful verification is stored; a failure is never cached, and a refusal is never
//!   answered from the cache either: an entry outside its window is dropped and the token goes
//!   through the full verification again, which decides exactly as it would without a cache.
//! - An entry is usable from `nbf` − leeway to `exp` + leeway, the verifier's own window (the
//!   verifier accepts `now ≤ exp + leeway`; the cache stops one second earlier, never later).
//! - At most `max_entries` entries (CLOCK-Pro-like eviction by `quick_cache`); tokens over
//!   [`MAX_CACHED_TOKEN_BYTES`] are verified every time, so an entry (digest + profile) stays
//!   small and the memory is bounded by the entry count.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::domain::profile::Profile;

/// Larger tokens (rare: a profile with many `extends`) are verified on every request.
pub const MAX_CACHED_TOKEN_BYTES: usize = 2048;

type Key = [u8; 32];

#[derive(Clone)]
struct Verified {
    profile: Profile,
    /// Unix seconds: usable while `usable_from <= now < usable_until`.
    usable_from: u64,
    usable_until: u64,
}

pub struct TokenCache {
    /// None when the cache is off (`max_entries` 0).
    entries: Option<quick_cache::sync::Cache<Key, Verified>>,
    max_entries: usize,
    /// The authenticator's clock leeway: an entry is usable exactly as long as the token is.
    leeway_secs: u64,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The claims that bound an entry's life, read again from a token that just verified.
#[derive(serde::Deserialize)]
struct Window {
    exp: u64,
    #[serde(default)]
    nbf: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
}

impl TokenCache {
    pub fn new(max_entries: usize, leeway_secs: u64) -> Self {
        Self {
            leeway_secs,
            entries: (max_entries > 0).then(|| quick_cache::sync::Cache::new(max_entries)),
            max_entries,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The caller `token` proves: from the cache when it verified before and is still in its
    /// window, else from `verify` (the authenticator; cached when it verifies). The cache knows
    /// nothing of signatures: it only remembers what `verify` accepted, within the token's window.
    pub fn verify(
        &self,
        token: &str,
        verify: impl FnOnce(&str) -> Result<Profile, String>,
    ) -> Result<Profile, String> {
        self.verify_at(token, unix_now(), verify)
    }

    fn verify_at(
        &self,
        token: &str,
        now: u64,
        verify: impl FnOnce(&str) -> Result<Profile, String>,
    ) -> Result<Profile, String> {
        let Some(entries) = self
            .entries
            .as_ref()
            .filter(|_| token.len() <= MAX_CACHED_TOKEN_BYTES)
        else {
            return verify(token);
        };
        let key: Key = Sha256::digest(token.as_bytes()).into();
        if let Some(hit) = entries.get(&key) {
            if hit.usable_from <= now && now < hit.usable_until {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit.profile);
            }
            // outside its window: the verifier decides (and refuses an expired token)
            entries.remove(&key);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let profile = verify(token)?;
        if let Some(window) = window_of(token) {
            // nor before `iat` - leeway (the verifier's rule; it holds once it held, unless the
            // clock steps back)
            let usable_from = window
                .nbf
                .max(window.iat)
                .map_or(0, |t| t.saturating_sub(self.leeway_secs));
            let usable_until = window.exp.saturating_add(self.leeway_secs);
            // `verify` reads the clock after `now` was read: a token it accepted in the second
            // after `now` is cached too (a hit is still checked against its window)
            if usable_from <= now + 1 && now < usable_until {
                entries.insert(
                    key,
                    Verified {
                        profile: profile.clone(),
                        usable_from,
                        usable_until,
                    },
                );
            }
        }
        Ok(profile)
    }

    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prometheus text: the entries now, the bound, hits and misses.
    pub fn render(&self) -> String {
        format!(
            "# HELP liveroom_token_cache_entries Verified tokens held by the token cache.\n\
             # TYPE liveroom_token_cache_entries gauge\nliveroom_token_cache_entries {}\n\
             # HELP liveroom_token_cache_max_entries The token cache's bound (LIVEROOM_TOKEN_CACHE_MAX).\n\
             # TYPE liveroom_token_cache_max_entries gauge\nliveroom_token_cache_max_entries {}\n\
             # HELP liveroom_token_cache_hits_total Requests whose token was found verified in the cache.\n\
             # TYPE liveroom_token_cache_hits_total counter\nliveroom_token_cache_hits_total {}\n\
             # HELP liveroom_token_cache_misses_total Requests whose token went through full verification.\n\
             # TYPE liveroom_token_cache_misses_total counter\nliveroom_token_cache_misses_total {}\n",
            self.len(),
            self.max_entries,
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// `exp`, `nbf` and `iat` of a token's payload (None if it cannot be read: then it is not cached).
fn window_of(token: &str) -> Option<Window> {
    let payload = token.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&json).ok()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::domain::profile::{Looks, UserId};
    use crate::http::auth::LEEWAY_SECS;

    const NOW: u64 = 1_800_000_000;

    fn token(exp: u64, nbf: Option<u64>, sub: &str) -> String {
        let mut claims = serde_json::json!({"sub": sub, "exp": exp});
        if let Some(nbf) = nbf {
            claims["nbf"] = nbf.into();
        }
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln")
    }

    fn profile(sub: &str) -> Profile {
        Profile {
            user_id: UserId::parse(sub).expect("a user id"),
            looks: Looks {
                nick: sub.to_owned(),
                avatar: String::new(),
                extends: Default::default(),
            },
            admin: false,
        }
    }

    /// Verifies through the cache, counting how often the real verifier ran.
    fn check(cache: &TokenCache, token: &str, now: u64, ok: bool, runs: &Cell<u32>) -> bool {
        cache
            .verify_at(token, now, |_| {
                runs.set(runs.get() + 1);
                if ok {
                    Ok(profile("u1"))
                } else {
                    Err("bad signature".into())
                }
            })
            .is_ok()
    }

    #[test]
    fn a_verified_token_is_served_from_the_cache_until_exp_plus_leeway_and_never_after() {
        let cache = TokenCache::new(10, LEEWAY_SECS);
        let runs = Cell::new(0);
        let t = token(NOW + 60, None, "u1");
        assert!(check(&cache, &t, NOW, true, &runs));
        assert!(check(&cache, &t, NOW + 1, true, &runs));
        assert_eq!(runs.get(), 1, "the second request is a hit");
        // one second before exp + leeway: still a hit
        assert!(check(&cache, &t, NOW + 60 + LEEWAY_SECS - 1, true, &runs));
        assert_eq!(runs.get(), 1);
        // at exp + leeway the cache no longer answers: the verifier decides (here: refuses)
        assert!(!check(&cache, &t, NOW + 60 + LEEWAY_SECS, false, &runs));
        assert_eq!(runs.get(), 2);
        assert!(cache.is_empty(), "the lapsed entry is gone");
    }

    #[test]
    fn a_failed_verification_is_never_cached() {
        let cache = TokenCache::new(10, LEEWAY_SECS);
        let runs = Cell::new(0);
        let t = token(NOW + 60, None, "u1");
        assert!(!check(&cache, &t, NOW, false, &runs));
        assert!(!check(&cache, &t, NOW, false, &runs));
        assert_eq!(runs.get(), 2, "each attempt is verified again");
        assert!(cache.is_empty());
    }

    #[test]
    fn a_token_outside_its_window_is_not_cached() {
        let cache = TokenCache::new(10, LEEWAY_SECS);
        let runs = Cell::new(0);
        // not yet valid (nbf beyond the leeway), even if a verifier said yes
        let early = token(NOW + 600, Some(NOW + 300), "u1");
        assert!(check(&cache, &early, NOW, true, &runs));
        assert!(cache.is_empty());
        // already past exp + leeway
        let late = token(NOW - LEEWAY_SECS, None, "u1");
        assert!(check(&cache, &late, NOW, true, &runs));
        assert!(cache.is_empty());
        // within the nbf leeway: cached
        let soon = token(NOW + 600, Some(NOW + LEEWAY_SECS), "u1");
        assert!(check(&cache, &soon, NOW, true, &runs));
        assert_eq!(cache.len(), 1);
        // and a clock stepped back before nbf − leeway is not served from the cache
        assert!(!check(&cache, &soon, NOW - 1, false, &runs));
    }

    #[test]
    fn distinct_tokens_never_share_an_entry_and_the_cache_stays_within_its_bound() {
        let cache = TokenCache::new(100, LEEWAY_SECS);
        let runs = Cell::new(0);
        for i in 0..5_000 {
            assert!(check(
                &cache,
                &token(NOW + 60, None, &format!("u{i}")),
                NOW,
                true,
                &runs
            ));
            assert!(cache.len() <= 100, "{} entries", cache.len());
        }
        assert_eq!(runs.get(), 5_000, "every distinct token was verified");
        assert!(!cache.is_empty());
    }

    #[test]
    fn off_and_oversized_tokens_are_always_verified() {
        let off = TokenCache::new(0, LEEWAY_SECS);
        let runs = Cell::new(0);
        let t = token(NOW + 60, None, "u1");
        assert!(check(&off, &t, NOW, true, &runs));
        assert!(check(&off, &t, NOW, true, &runs));
        assert_eq!(runs.get(), 2);
        let cache = TokenCache::new(10, LEEWAY_SECS);
        let big = token(NOW + 60, None, &"u".repeat(MAX_CACHED_TOKEN_BYTES));
        assert!(check(&cache, &big, NOW, true, &runs));
        assert!(cache.is_empty());
    }
}
