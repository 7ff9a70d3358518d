//! The command line: `serve`, `token`, `openapi`.

use clap::{Parser, Subcommand};

use crate::config::Settings;

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
    /// Print a token signed with the configured secret, for trying the API.
    Token {
        /// The user id.
        #[arg(long)]
        sub: String,
        /// The nick (default: the user id).
        #[arg(long)]
        nick: Option<String>,
        /// The avatar URL.
        #[arg(long)]
        avatar: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// An admin token (`"admin": true`): the server API (`/server/live/…`), any room.
        #[arg(long)]
        admin: bool,
        /// HS256 secret.
        #[arg(long, env = "LIVEROOM_JWT_SECRET", hide_env_values = true)]
        jwt_secret: Option<String>,
        #[arg(long, env = "LIVEROOM_JWT_ISSUER")]
        jwt_issuer: Option<String>,
        #[arg(long, env = "LIVEROOM_JWT_AUDIENCE")]
        jwt_audience: Option<String>,
    },
    /// Print the OpenAPI spec (as committed under openapi/).
    Openapi,
}

/// The settings with every default and no environment (for the spec and for tests).
pub fn default_settings() -> Settings {
    #[derive(Parser)]
    struct Defaults {
        #[command(flatten)]
        settings: Settings,
    }
    // Parsed from no arguments, ignoring the environment: clap's defaults are the one source.
    let mut cmd = <Defaults as clap::CommandFactory>::command();
    cmd = cmd.mut_args(|a| a.env(None::<&str>));
    let matches = cmd.get_matches_from(["liveroom"]);
    <Defaults as clap::FromArgMatches>::from_arg_matches(&matches)
        .map(|d| d.settings)
        .unwrap_or_else(|e| e.exit())
}
