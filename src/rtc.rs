//! RTC access tokens (CONTRACT section 14, "RTC tokens"): LiveKit's format, which every WebRTC
//! SFU client of LiveKit understands. A pure function of the settings, the user and the clock,
//! so that any endpoint (a seat's answer, `GET …/rtc/{live_id}`, a PK's other room) mints one
//! the same way.

use serde::Serialize;

/// How long a token is good for: LiveKit's clients reconnect with a fresh one, so a live that
/// lasts longer asks again (`GET /client/live/room/rtc/{live_id}`).
pub const TOKEN_TTL_SECS: i64 = 6 * 3600;

/// The RTC server and the key its tokens are signed with (`LIVEROOM_RTC_*`, all three or none).
#[derive(Clone)]
pub struct RtcConfig {
    /// Where clients connect (`LIVEROOM_RTC_URL`), answered as `rtc_url`.
    pub url: String,
    /// The API key: the tokens' `iss`.
    pub api_key: String,
    /// The API secret: the tokens' HS256 key.
    pub api_secret: String,
}

impl std::fmt::Debug for RtcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the secret in a log
        f.debug_struct("RtcConfig")
            .field("url", &self.url)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

/// LiveKit's video grant (the claim names are LiveKit's own).
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrant {
    pub room: String,
    pub room_join: bool,
    pub can_publish: bool,
    pub can_subscribe: bool,
}

/// A LiveKit access token's claims.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The API key.
    pub iss: String,
    /// The participant's identity: the user_id.
    pub sub: String,
    /// The participant's display name: the nick.
    pub name: String,
    pub nbf: i64,
    pub exp: i64,
    pub video: VideoGrant,
}

/// A token could not be signed (a key the signer refuses).
#[derive(Debug, thiserror::Error)]
#[error("signing an RTC token failed: {0}")]
pub struct MintError(String);

/// A token for `user_id` (shown as `nick`) to join, publish and subscribe in the RTC room
/// `room` (a live_id), valid from `now_secs` (unix seconds) for [`TOKEN_TTL_SECS`].
pub fn mint(
    config: &RtcConfig,
    user_id: &str,
    nick: &str,
    room: &str,
    now_secs: i64,
) -> Result<String, MintError> {
    let claims = Claims {
        iss: config.api_key.clone(),
        sub: user_id.to_owned(),
        name: nick.to_owned(),
        nbf: now_secs,
        exp: now_secs + TOKEN_TTL_SECS,
        video: VideoGrant {
            room: room.to_owned(),
            room_join: true,
            can_publish: true,
            can_subscribe: true,
        },
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(config.api_secret.as_bytes()),
    )
    .map_err(|e| MintError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_carries_livekits_claims_signed_with_the_secret() {
        let config = RtcConfig {
            url: "wss://rtc.example".into(),
            api_key: "APIkey".into(),
            api_secret: "s3cret".into(),
        };
        let token = mint(&config, "u1", "月", "live_x", 1_700_000_000).expect("mints");
        let mut check = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        check.validate_exp = false;
        check.validate_nbf = false;
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"s3cret"),
            &check,
        )
        .expect("verifies with the secret");
        assert_eq!(
            data.claims,
            serde_json::json!({
                "iss": "APIkey", "sub": "u1", "name": "月",
                "nbf": 1_700_000_000, "exp": 1_700_000_000 + 6 * 3600,
                "video": {"room": "live_x", "roomJoin": true, "canPublish": true, "canSubscribe": true}
            })
        );
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(
                &token,
                &jsonwebtoken::DecodingKey::from_secret(b"other"),
                &check,
            )
            .is_err()
        );
    }
}
