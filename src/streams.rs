//! Publish and playback URLs of a room: the one place they are built, signed, and (for the
//! media-server hooks) verified.
//!
//! The push URL is a credential: whoever holds it can broadcast into the room. With a signing
//! scheme configured (`LIVEROOM_URL_SIGNING`), every URL carries the signature a CDN verifies
//! (Alibaba Cloud type A, Tencent Cloud txSecret), with the publish key for the push URL and the
//! play key for the playback URLs; liveroom's own hooks verify push URLs the same way.

pub mod aliyun;
mod md5;
pub mod tencent;

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;

use crate::domain::ids::LiveId;
use crate::domain::room::Room;

/// A push URL without an explicit `publish_expire_at` and without a planned end expires this
/// long after the room was created.
pub const DEFAULT_PUSH_URL_TTL_SECS: i64 = 24 * 3600;

/// How URLs are signed (`LIVEROOM_URL_SIGNING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// Plain URLs.
    None,
    /// Alibaba Cloud URL signing type A: `?auth_key={expiry}-{rand}-{uid}-{md5hex}`.
    AliyunA,
    /// Tencent Cloud: `?txSecret={md5hex}&txTime={EXPIRY_HEX}`.
    Tencent,
}

#[derive(Clone)]
pub struct StreamConfig {
    /// `push_url` = `{publish_base}/{live_id}`
    pub publish_base: String,
    /// `rtmp_url` = `{play_rtmp_base}/{live_id}`
    pub play_rtmp_base: String,
    /// `flv_url` = `{play_http_base}/{live_id}.flv`, `hls_url` = `{play_http_base}/{live_id}.m3u8`
    pub play_http_base: String,
    pub signing: Signing,
    /// Signs push URLs (required by a signing scheme).
    pub publish_key: String,
    /// Signs playback URLs; empty: playback URLs are plain.
    pub play_key: String,
    /// Lifetime of a signed playback URL, from the read that issued it.
    pub play_url_ttl_secs: u64,
    /// The `?secret=` of the media-server hooks; `None`: every hook call is refused.
    pub hook_secret: Option<String>,
}

impl fmt::Debug for StreamConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &str| if s.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("StreamConfig")
            .field("publish_base", &self.publish_base)
            .field("play_rtmp_base", &self.play_rtmp_base)
            .field("play_http_base", &self.play_http_base)
            .field("signing", &self.signing)
            .field("publish_key", &redacted(&self.publish_key))
            .field("play_key", &redacted(&self.play_key))
            .field("play_url_ttl_secs", &self.play_url_ttl_secs)
            .field(
                "hook_secret",
                &redacted(self.hook_secret.as_deref().unwrap_or("")),
            )
            .finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamUrls {
    pub push_url: String,
    pub rtmp_url: String,
    pub flv_url: String,
    pub hls_url: String,
}

/// The signature a publish carried: the query arguments of its push URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishArgs {
    pub auth_key: Option<String>,
    pub tx_secret: Option<String>,
    pub tx_time: Option<String>,
}

impl PublishArgs {
    /// From a query string, with or without its leading `?` (SRS's `param`).
    pub fn from_query(query: &str) -> Self {
        let mut args = Self::default();
        let query = query.trim().trim_start_matches('?');
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "auth_key" => &mut args.auth_key,
                "txSecret" => &mut args.tx_secret,
                "txTime" => &mut args.tx_time,
                _ => continue,
            };
            slot.get_or_insert_with(|| v.into_owned());
        }
        args
    }
}

/// Why a publish's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the push URL carries no signature (missing {0})")]
    Unsigned(&'static str),
    #[error("the push URL's signature is not valid for this stream")]
    BadSignature,
}

impl StreamConfig {
    /// The room's URLs as `viewer` may see them: the publish URL is a credential, for the anchor
    /// only. Playback URLs are signed afresh on every read, valid for the playback TTL.
    pub fn urls(&self, room: &Room, viewer: &str) -> StreamUrls {
        self.urls_at(room, viewer, unix_now())
    }

    /// As `urls`, at a given time (unix seconds).
    pub fn urls_at(&self, room: &Room, viewer: &str, now: i64) -> StreamUrls {
        let id = room.live_id.as_str();
        let push_url = if viewer == room.anchor.user_id {
            let url = format!("{}/{id}", trim(&self.publish_base));
            self.sign(url, id, &self.publish_key, push_url_expiry(room), "0")
        } else {
            String::new()
        };
        let play_expiry = now.saturating_add(i64::try_from(self.play_url_ttl_secs).unwrap_or(0));
        // Alibaba recommends a fresh UUID (without hyphens) as rand of every signed URL.
        let rand = if self.signing == Signing::AliyunA && !self.play_key.is_empty() {
            uuid::Uuid::new_v4().simple().to_string()
        } else {
            String::new()
        };
        let play = |url: String| self.sign(url, id, &self.play_key, play_expiry, &rand);
        let http = trim(&self.play_http_base);
        StreamUrls {
            push_url,
            rtmp_url: play(format!("{}/{id}", trim(&self.play_rtmp_base))),
            flv_url: play(format!("{http}/{id}.flv")),
            hls_url: play(format!("{http}/{id}.m3u8")),
        }
    }

    fn sign(&self, url: String, stream: &str, key: &str, expiry: i64, rand: &str) -> String {
        if key.is_empty() {
            return url;
        }
        let sep = if url.contains('?') { '&' } else { '?' };
        match self.signing {
            Signing::None => url,
            Signing::AliyunA => {
                let auth_key = aliyun::auth_key(path_of(&url), expiry, rand, "0", key);
                format!("{url}{sep}auth_key={auth_key}")
            }
            Signing::Tencent => {
                let tx_time = tencent::tx_time(expiry);
                let tx_secret = tencent::tx_secret(key, stream, &tx_time);
                format!("{url}{sep}txSecret={tx_secret}&txTime={tx_time}")
            }
        }
    }

    /// Checks the signature a publish of `stream` carried. `Ok(Some(expiry))` when it is right
    /// (the caller checks the expiry against Redis's clock), `Ok(None)` when URLs are not signed.
    pub fn verify_publish(
        &self,
        stream: &LiveId,
        args: &PublishArgs,
    ) -> Result<Option<i64>, Refused> {
        let key = self.publish_key.as_str();
        let expiry = match self.signing {
            Signing::None => return Ok(None),
            Signing::AliyunA => {
                let auth_key = args
                    .auth_key
                    .as_deref()
                    .ok_or(Refused::Unsigned("auth_key"))?;
                let url = format!("{}/{stream}", trim(&self.publish_base));
                aliyun::verify(path_of(&url), auth_key, key)
            }
            Signing::Tencent => {
                let secret = args
                    .tx_secret
                    .as_deref()
                    .ok_or(Refused::Unsigned("txSecret"))?;
                let time = args.tx_time.as_deref().ok_or(Refused::Unsigned("txTime"))?;
                tencent::verify(stream.as_str(), secret, time, key)
            }
        };
        expiry.map(Some).ok_or(Refused::BadSignature)
    }

    /// Whether a hook call carries the configured secret (never, when none is configured).
    pub fn hook_secret_matches(&self, given: Option<&str>) -> bool {
        match (self.hook_secret.as_deref(), given) {
            (Some(secret), Some(given)) if !secret.is_empty() => {
                same(secret.as_bytes(), given.as_bytes())
            }
            _ => false,
        }
    }
}

/// When the room's push URL expires (unix seconds): `publish_expire_at` as created, which
/// defaults to the planned end; with neither, 24 hours after the room was created.
pub fn push_url_expiry(room: &Room) -> i64 {
    if room.publish_expire_at > 0 {
        room.publish_expire_at
    } else {
        room.created_ms / 1000 + DEFAULT_PUSH_URL_TTL_SECS
    }
}

fn trim(base: &str) -> &str {
    base.trim_end_matches('/')
}

/// The path of a URL (`/live/{id}.flv` of `http://host:8080/live/{id}.flv`), without its query.
fn path_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |i| &url[i + 3..]);
    let rest = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    if end == 0 { "/" } else { &rest[..end] }
}

/// Compares two secrets in time independent of where they differ (`subtle`; a length that
/// differs answers at once, which tells nothing of the secret's bytes).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::profile::{Looks, Person};
    use crate::domain::room::{LiveStatus, StreamStatus};

    fn config(signing: Signing) -> StreamConfig {
        StreamConfig {
            publish_base: "rtmp://push.example.com/live/".into(),
            play_rtmp_base: "rtmp://play.example.com/live".into(),
            play_http_base: "https://play.example.com/live".into(),
            signing,
            publish_key: "publish-key".into(),
            play_key: "play-key".into(),
            play_url_ttl_secs: 3600,
            hook_secret: Some("hook-secret".into()),
        }
    }

    fn room(publish_expire_at: i64) -> Room {
        Room {
            live_id: LiveId::parse("live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f").expect("id"),
            title: "t".into(),
            notice: String::new(),
            cover_url: String::new(),
            extends: BTreeMap::new(),
            anchor: Person {
                user_id: "anchor".into(),
                im_userid: 1,
                looks: Looks {
                    nick: "a".into(),
                    avatar: String::new(),
                    extends: BTreeMap::new(),
                },
            },
            anchor_online: false,
            pk_id: String::new(),
            seat_mode: crate::domain::room::SeatMode::Free,
            online_count: 0,
            likes: 0,
            start_time: 0,
            end_time: 0,
            chat_id: 1,
            pv: 0,
            uv: 0,
            live_status: LiveStatus::Created,
            stream_status: StreamStatus::Idle,
            created_ms: 1_700_000_000_123,
            started_ms: 0,
            ended_ms: 0,
            anchor_seen_ms: 0,
            publish_expire_at,
            version: 1,
            member_shards: 1,
        }
    }

    const ID: &str = "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f";

    #[test]
    fn plain_urls_and_push_for_the_anchor_only() {
        let c = config(Signing::None);
        let urls = c.urls_at(&room(0), "anchor", 1_700_000_000);
        assert_eq!(urls.push_url, format!("rtmp://push.example.com/live/{ID}"));
        assert_eq!(urls.rtmp_url, format!("rtmp://play.example.com/live/{ID}"));
        assert_eq!(
            urls.flv_url,
            format!("https://play.example.com/live/{ID}.flv")
        );
        assert_eq!(
            urls.hls_url,
            format!("https://play.example.com/live/{ID}.m3u8")
        );
        assert_eq!(c.urls_at(&room(0), "viewer", 1_700_000_000).push_url, "");
    }

    #[test]
    fn aliyun_signs_each_path_with_its_key() {
        let c = config(Signing::AliyunA);
        let urls = c.urls_at(&room(1_800_000_000), "anchor", 1_700_000_000);
        let (base, auth_key) = urls.push_url.split_once("?auth_key=").expect("signed");
        assert_eq!(base, format!("rtmp://push.example.com/live/{ID}"));
        assert_eq!(
            auth_key,
            aliyun::auth_key(
                &format!("/live/{ID}"),
                1_800_000_000,
                "0",
                "0",
                "publish-key"
            )
        );
        for (url, path) in [
            (&urls.rtmp_url, format!("/live/{ID}")),
            (&urls.flv_url, format!("/live/{ID}.flv")),
            (&urls.hls_url, format!("/live/{ID}.m3u8")),
        ] {
            let (_, auth_key) = url.split_once("?auth_key=").expect("signed");
            assert_eq!(
                aliyun::verify(&path, auth_key, "play-key"),
                Some(1_700_003_600),
                "{url}"
            );
        }
    }

    #[test]
    fn tencent_signs_the_stream_name() {
        let c = config(Signing::Tencent);
        let urls = c.urls_at(&room(0x6553F100), "anchor", 1_700_000_000);
        let secret = tencent::tx_secret("publish-key", ID, "6553F100");
        assert_eq!(
            urls.push_url,
            format!("rtmp://push.example.com/live/{ID}?txSecret={secret}&txTime=6553F100")
        );
        let play_time = tencent::tx_time(1_700_003_600);
        let play_secret = tencent::tx_secret("play-key", ID, &play_time);
        assert_eq!(
            urls.flv_url,
            format!(
                "https://play.example.com/live/{ID}.flv?txSecret={play_secret}&txTime={play_time}"
            )
        );
    }

    #[test]
    fn without_a_play_key_playback_is_plain() {
        let mut c = config(Signing::Tencent);
        c.play_key.clear();
        let urls = c.urls_at(&room(0), "anchor", 1_700_000_000);
        assert_eq!(
            urls.hls_url,
            format!("https://play.example.com/live/{ID}.m3u8")
        );
        assert!(urls.push_url.contains("txSecret="));
    }

    #[test]
    fn the_push_url_expires_as_created_or_a_day_after_creation() {
        assert_eq!(push_url_expiry(&room(1_800_000_000)), 1_800_000_000);
        assert_eq!(
            push_url_expiry(&room(0)),
            1_700_000_000 + DEFAULT_PUSH_URL_TTL_SECS
        );
    }

    #[test]
    fn issued_push_urls_verify_for_their_stream_only() {
        let other = LiveId::parse("live_0192f0c1a2b34c5d8e9f0a1b2c3d4e50").expect("id");
        let id = LiveId::parse(ID).expect("id");
        for signing in [Signing::AliyunA, Signing::Tencent] {
            let c = config(signing);
            let push = c.urls_at(&room(1_800_000_000), "anchor", 0).push_url;
            let args = PublishArgs::from_query(push.split_once('?').expect("query").1);
            assert_eq!(
                c.verify_publish(&id, &args),
                Ok(Some(1_800_000_000)),
                "{signing:?}"
            );
            assert_eq!(
                c.verify_publish(&other, &args),
                Err(Refused::BadSignature),
                "{signing:?}"
            );
            let mut wrong_key = c.clone();
            wrong_key.publish_key = "play-key".into();
            assert_eq!(
                wrong_key.verify_publish(&id, &args),
                Err(Refused::BadSignature)
            );
            assert!(matches!(
                c.verify_publish(&id, &PublishArgs::default()),
                Err(Refused::Unsigned(_))
            ));
        }
        let plain = config(Signing::None);
        assert_eq!(plain.verify_publish(&id, &PublishArgs::default()), Ok(None));
    }

    #[test]
    fn publish_args_from_a_query() {
        let args = PublishArgs::from_query("?auth_key=1-0-0-ab&txSecret=s&txTime=5C&x=1");
        assert_eq!(args.auth_key.as_deref(), Some("1-0-0-ab"));
        assert_eq!(args.tx_secret.as_deref(), Some("s"));
        assert_eq!(args.tx_time.as_deref(), Some("5C"));
        assert_eq!(PublishArgs::from_query(""), PublishArgs::default());
    }

    #[test]
    fn paths() {
        assert_eq!(path_of("rtmp://h:1935/live/x"), "/live/x");
        assert_eq!(path_of("http://h/live/x.flv?a=b"), "/live/x.flv");
        assert_eq!(path_of("http://h"), "/");
    }

    #[test]
    fn hook_secret() {
        let mut c = config(Signing::None);
        assert!(c.hook_secret_matches(Some("hook-secret")));
        assert!(!c.hook_secret_matches(Some("hook-secreT")));
        assert!(!c.hook_secret_matches(Some("")));
        assert!(!c.hook_secret_matches(None));
        c.hook_secret = None;
        assert!(!c.hook_secret_matches(Some("hook-secret")));
        c.hook_secret = Some(String::new());
        assert!(!c.hook_secret_matches(Some("")));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let shown = format!("{:?}", config(Signing::AliyunA));
        assert!(
            !shown.contains("publish-key") && !shown.contains("hook-secret"),
            "{shown}"
        );
    }
}
