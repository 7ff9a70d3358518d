use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use liveroom::app::Application;
use liveroom::cli::{Cli, Command};
use liveroom::http::auth::{Authenticator, Claims};

/// mimalloc instead of glibc's malloc: a request allocates and frees many small blocks across
/// tokio's worker threads, where glibc spent a quarter of the heartbeat's CPU (README, issue 16).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Command::Serve(settings) = &cli.command
        && settings.worker_threads > 0
    {
        runtime.worker_threads(settings.worker_threads);
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => {
            eprintln!("liveroom: the runtime did not start: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(settings) => {
            let _log = liveroom::telemetry::init(&settings.log_format);
            let app = match Application::build(*settings).await {
                Ok(app) => app,
                Err(e) => {
                    eprintln!("liveroom: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match app.run_until(liveroom::shutdown::signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("liveroom: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Token {
            sub,
            nick,
            avatar,
            ttl,
            admin,
            jwt_secret,
            jwt_issuer,
            jwt_audience,
        } => {
            let auth = match Authenticator::new(jwt_secret.as_deref(), None, None, None) {
                Ok(auth) => auth,
                Err(e) => {
                    eprintln!("liveroom: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let claims = Claims {
                sub,
                exp: now + ttl,
                iat: Some(now),
                nbf: None,
                iss: jwt_issuer,
                aud: jwt_audience.map(serde_json::Value::String),
                nick,
                avatar,
                extends: None,
                admin,
            };
            match auth.sign(&claims) {
                Ok(token) => {
                    println!("{token}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("liveroom: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Openapi => match liveroom::app::offline_spec().await {
            Ok(spec) => {
                println!("{spec}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("liveroom: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
