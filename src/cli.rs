//! The command line: `serve`, `token`, `openapi`.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{self, JwtKey, Settings};
use crate::http::auth::Claims;

#[derive(Parser)]
#[command(
    name = "liveroom",
    version,
    about = "Rooms of a live-streaming platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the service.
    Serve(Box<Settings>),
    /// Print a token the server accepts: signed with its secret, with its issuer and audience,
    /// within its longest lifetime (the server's own auth settings, LIVEROOM_JWT_*).
    Token {
        #[command(flatten)]
        token: TokenArgs,
        /// The server's settings (of which only the auth ones are read).
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Print the OpenAPI spec (as committed under openapi/).
    Openapi,
}

/// What the token says of its holder.
#[derive(Args)]
pub struct TokenArgs {
    /// The user id.
    #[arg(long)]
    pub sub: String,
    /// The nick (default: the user id).
    #[arg(long)]
    pub nick: Option<String>,
    /// The avatar URL.
    #[arg(long)]
    pub avatar: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u64,
    /// An admin token (`"admin": true`): the server API (`/server/live/…`), any room.
    #[arg(long)]
    pub admin: bool,
}

impl Cli {
    /// The command line of the process; `token`'s help lists, of the server's settings it
    /// shares, the auth ones only.
    pub fn from_env() -> Self {
        let server = Settings::augment_args(clap::Command::new("settings"));
        let command = Self::command().mut_subcommand("token", |token| {
            token.mut_args(|arg| {
                let id = arg.get_id().as_str();
                let other_setting =
                    !id.starts_with("jwt_") && server.get_arguments().any(|s| s.get_id() == id);
                arg.hide(other_setting)
            })
        });
        Self::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
    }
}

/// The settings with every default and no environment (for the spec and for tests).
pub fn default_settings() -> Settings {
    Settings::defaults()
}

/// The token `liveroom token` prints: made and checked with the server's own authenticator (the
/// same builder as `serve`), so that what it prints is what the server accepts.
pub fn token(args: TokenArgs, settings: &Settings) -> Result<String, String> {
    let auth = config::Auth::parse(settings).map_err(|e| e.to_string())?;
    if let JwtKey::PublicKey(_) = auth.key {
        return Err(
            "the server verifies with LIVEROOM_JWT_PUBLIC_KEY_FILE (RS256/ES256), and a public \
             key cannot sign: its tokens come from whoever holds the private key (liveroom \
             token signs with LIVEROOM_JWT_SECRET, HS256, when no public key is set)"
                .into(),
        );
    }
    let authenticator = crate::app::authenticator(&auth).map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = Claims {
        sub: args.sub,
        exp: now.saturating_add(args.ttl),
        iat: Some(now),
        nbf: None,
        iss: auth.issuer.clone(),
        aud: auth.audience.clone().map(serde_json::Value::String),
        nick: args.nick,
        avatar: args.avatar,
        extends: None,
        admin: args.admin,
    };
    let token = authenticator.sign(&claims)?;
    // refused here rather than by the server: a user id it does not take, a lifetime over
    // LIVEROOM_JWT_MAX_TTL_SECS
    authenticator.verify(&token).map_err(|e| {
        format!("the server would refuse this token ({e}; LIVEROOM_JWT_MAX_TTL_SECS bounds --ttl)")
    })?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(ttl: u64) -> TokenArgs {
        TokenArgs {
            sub: "u1".into(),
            nick: None,
            avatar: None,
            ttl,
            admin: false,
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_token_carries_the_servers_issuer_and_audience_and_respects_its_max_ttl() {
        let mut s = Settings::defaults();
        s.jwt_secret = Some("secret".into());
        s.jwt_issuer = Some("https://id.example".into());
        s.jwt_audience = Some("liveroom".into());
        s.jwt_max_ttl_secs = 600;
        let token = token(args(600), &s).expect("token");
        let auth =
            crate::app::authenticator(&config::Auth::parse(&s).expect("auth")).expect("auth");
        assert_eq!(
            auth.verify(&token).expect("accepted").user_id.as_str(),
            "u1"
        );
        let e = super::token(args(601), &s).expect_err("refused");
        assert!(e.contains("more than the 600 s allowed"), "{e}");
    }

    #[test]
    fn a_public_key_cannot_sign() {
        let dir = std::env::temp_dir().join(format!("liveroom-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let pem = dir.join("public.pem");
        std::fs::write(&pem, "not used").expect("write");
        let mut s = Settings::defaults();
        s.jwt_secret = Some("secret".into());
        s.jwt_public_key_file = Some(pem.display().to_string());
        let e = token(args(60), &s).expect_err("refused");
        assert!(e.contains("LIVEROOM_JWT_PUBLIC_KEY_FILE"), "{e}");
        s.jwt_public_key_file = None;
        s.jwt_secret = None;
        let e = token(args(60), &s).expect_err("refused");
        assert!(e.contains("LIVEROOM_JWT_SECRET"), "{e}");
    }
}
