//! Bearer tokens: the HTTP bearer security scheme of the spec, and the caller it proves.
//!
//! Hand-written rather than derived, because the contract also accepts a bare token without the
//! `Bearer ` prefix (clients written from the original document send it that way).

use std::collections::BTreeMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use poem::http::header;
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::token_cache::TokenCache;
use crate::domain::profile::{Looks, Profile, UserId};

pub const SCHEME_NAME: &str = "bearer";
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
pub const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<BTreeMap<String, String>>,
    /// The platform's own backend: may call `/server/live/…` and act on any room.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
}

/// Verifies tokens with the one configured algorithm (never `none`, never an HS/RS swap).
pub struct Authenticator {
    decoding: DecodingKey,
    validation: Validation,
    /// Present with an HS256 secret: `liveroom token` signs with it.
    encoding: Option<EncodingKey>,
    /// Longest accepted `exp` - (`iat` or now), seconds; 0: any.
    max_ttl_secs: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error(
        "no JWT key: set LIVEROOM_JWT_SECRET (HS256) or LIVEROOM_JWT_PUBLIC_KEY_FILE (RS256/ES256 PEM)"
    )]
    Missing,
    #[error("LIVEROOM_JWT_PUBLIC_KEY_FILE: {0}")]
    PublicKey(String),
}

impl Authenticator {
    pub fn new(
        secret: Option<&str>,
        public_key_pem: Option<&[u8]>,
        issuer: Option<&str>,
        audience: Option<&str>,
    ) -> Result<Self, AuthConfigError> {
        let (decoding, encoding, alg) = match (public_key_pem, secret) {
            (Some(pem), _) => {
                if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
                    (key, None, Algorithm::RS256)
                } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
                    (key, None, Algorithm::ES256)
                } else {
                    return Err(AuthConfigError::PublicKey(
                        "not an RSA or EC public key in PEM form".into(),
                    ));
                }
            }
            (None, Some(secret)) if !secret.is_empty() => (
                DecodingKey::from_secret(secret.as_bytes()),
                Some(EncodingKey::from_secret(secret.as_bytes())),
                Algorithm::HS256,
            ),
            _ => return Err(AuthConfigError::Missing),
        };
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if let Some(iss) = issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        match audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        Ok(Self {
            decoding,
            validation,
            encoding,
            max_ttl_secs: 0,
        })
    }

    /// Refuses tokens that live longer than `secs` (`LIVEROOM_JWT_MAX_TTL_SECS`; 0: any).
    pub fn with_max_ttl(mut self, secs: u64) -> Self {
        self.max_ttl_secs = secs;
        self
    }

    /// Signs a token for `liveroom token` (HS256 only: the service holds no private key).
    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        let key = self
            .encoding
            .as_ref()
            .ok_or("signing needs LIVEROOM_JWT_SECRET (a public key can only verify)")?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, key).map_err(|e| e.to_string())
    }

    /// The lifetime rule (docs/api.md, "Decisions"): `iat` no later than now + leeway, and, with a
    /// maximum, `exp` − now and `exp` − `iat` both within it. Both only get truer as time passes,
    /// so a token the token cache holds stays within the rule.
    fn check_lifetime(&self, claims: &Claims, now: u64) -> Result<(), String> {
        if let Some(iat) = claims
            .iat
            .filter(|&iat| iat > now.saturating_add(LEEWAY_SECS))
        {
            return Err(format!(
                "invalid token: issued in the future (iat {iat}, now {now}, leeway {LEEWAY_SECS} s)"
            ));
        }
        if self.max_ttl_secs == 0 {
            return Ok(());
        }
        // a token that never expires is a credential that can never be taken back
        let lifetime = claims
            .exp
            .saturating_sub(claims.iat.map_or(now, |iat| iat.min(now)));
        if lifetime > self.max_ttl_secs {
            return Err(format!(
                "invalid token: it lives {lifetime} s (exp - min(iat, now)), more than the {} s allowed",
                self.max_ttl_secs
            ));
        }
        Ok(())
    }

    /// The caller a token proves, or why it proves nothing.
    pub fn verify(&self, token: &str) -> Result<Profile, String> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(format!("token is larger than {MAX_TOKEN_BYTES} bytes"));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| format!("invalid token: {e}"))?;
        let claims = data.claims;
        self.check_lifetime(&claims, unix_now())?;
        let user_id = UserId::parse(&claims.sub).map_err(|e| format!("invalid token: {e}"))?;
        let nick = claims
            .nick
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| claims.sub.clone());
        let avatar = claims
            .avatar
            .filter(|a| a.len() <= 2048)
            .unwrap_or_default();
        Ok(Profile {
            user_id,
            looks: Looks {
                nick,
                avatar,
                extends: claims.extends.unwrap_or_default(),
            },
            admin: claims.admin,
        })
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The verified caller of an endpoint.
pub struct Caller(pub Profile);

/// What the `Caller` extractor needs, as one piece of request data (one insert per request,
/// not one for each).
pub struct CallerChecks {
    pub authenticator: Arc<Authenticator>,
    pub tokens: Arc<TokenCache>,
    pub limiter: Arc<crate::ratelimit::RateLimiter>,
}

impl Caller {
    pub fn user_id(&self) -> &UserId {
        &self.0.user_id
    }

    /// The token's `"admin": true`.
    pub fn is_admin(&self) -> bool {
        self.0.admin
    }

    fn from_headers(req: &Request, checks: &CallerChecks) -> Result<Self, ApiError> {
        let mut values = req.headers().get_all(header::AUTHORIZATION).iter();
        let value = values.next().ok_or_else(|| {
            ApiError::Unauthorized("missing token: send Authorization: Bearer <token>".into())
        })?;
        if values.next().is_some() {
            return Err(ApiError::Unauthorized(
                "more than one Authorization header".into(),
            ));
        }
        if value.len() > MAX_TOKEN_BYTES + 7 {
            return Err(ApiError::Unauthorized(format!(
                "token is larger than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        let raw = value
            .to_str()
            .map_err(|_| ApiError::Unauthorized("Authorization is not ASCII".into()))?
            .trim();
        let token = match raw.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            Some(_) => {
                return Err(ApiError::Unauthorized(
                    "Authorization must be Bearer <token>".into(),
                ));
            }
            None => raw,
        };
        checks
            .tokens
            .verify(token, |t| checks.authenticator.verify(t))
            .map(Caller)
            .map_err(ApiError::Unauthorized)
    }
}

impl<'a> ApiExtractor<'a> for Caller {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME_NAME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "A JWT (HS256 by default) whose `sub` is the user id; `nick`, `avatar` and \
                     `extends` claims are the user's profile. `liveroom token --sub u1` prints one.",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME_NAME]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        let checks = req
            .data::<Arc<CallerChecks>>()
            .ok_or_else(|| poem::Error::from(ApiError::Internal))?;
        let caller = Self::from_headers(req, checks)?;
        caller.0.looks.check().map_err(ApiError::from)?;
        // the per-user limit, once the token proved who the caller is
        checks
            .limiter
            .check_user(caller.user_id().as_str())
            .map_err(ApiError::from)?;
        Ok(caller)
    }
}
