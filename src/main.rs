use std::process::ExitCode;

use liveroom::app::Application;
use liveroom::cli::{Cli, Command};
use liveroom::config::Config;

/// mimalloc instead of glibc's malloc: a request allocates and frees many small blocks across
/// tokio's worker threads, where glibc spent a quarter of the heartbeat's CPU
/// (bench/README.md, "Worker threads").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match Cli::from_env().command {
        Command::Serve(settings) => {
            // parsed once, before anything starts: a bad setting stops start-up, named
            let config = match Config::try_from(*settings) {
                Ok(config) => config,
                Err(e) => return fail(e),
            };
            let _log = liveroom::telemetry::init(config.log_format);
            block_on(config.worker_threads, serve(config))
        }
        Command::Token { token, settings } => match liveroom::cli::token(token, &settings) {
            Ok(token) => {
                println!("{token}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::Openapi => block_on(None, async {
            match liveroom::app::offline_spec().await {
                Ok(spec) => {
                    println!("{spec}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("liveroom: {e}");
    ExitCode::FAILURE
}

/// Runs `work` on a multi-threaded runtime (`threads`, or one a core).
fn block_on(
    threads: Option<std::num::NonZeroUsize>,
    work: impl Future<Output = ExitCode>,
) -> ExitCode {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        runtime.worker_threads(n.get());
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(work),
        Err(e) => fail(format!("the runtime did not start: {e}")),
    }
}

async fn serve(config: Config) -> ExitCode {
    let app = match Application::with_config(config).await {
        Ok(app) => app,
        Err(e) => return fail(e),
    };
    match app.run_until(liveroom::shutdown::signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
