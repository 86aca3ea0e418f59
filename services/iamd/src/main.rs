//! `iamd`: start one node. With no arguments: a single-node cluster on `127.0.0.1:7300`
//! with its data in `./iamd-data`, whose root credentials are written on first start.

use std::process::ExitCode;

/// mimalloc: the request path allocates much, and the system allocator's functions were
/// about a tenth of the profile (README, "Node performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use iamd::config::{Config, Flags};

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IAMD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=warn,sled=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let flags = Flags::parse();
    let config = match Config::load(&flags, std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("iamd: {e}");
            return ExitCode::from(2);
        }
    };
    if flags.dump_config {
        match toml::to_string_pretty(&config) {
            Ok(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("iamd: cannot print the configuration: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    init_logging(config.log_json);
    // Signals are handled from the start: the first member may wait at start for its
    // majority for as long as the others take, and as PID 1 of a container a signal without
    // a handler would be ignored until the runtime's SIGKILL. A signal during the bootstrap
    // that follows is answered once it is done.
    let stop = shutdown_signal();
    tokio::pin!(stop);
    for name in iamd::config::unrecognized_env(std::env::vars()) {
        tracing::warn!(variable = %name, "not a configuration variable: ignored");
    }
    let running = match iamd::server::start_unless(config, stop.as_mut()).await {
        Ok(Some(r)) => r,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "iamd could not start");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(client = %running.client_addr, peer = %running.peer_addr, node_id = running.node.config.node_id, "iamd is serving");
    if let Some(path) = &running.root_credentials {
        println!(
            "iamd: root credentials of account {} written to {}",
            running.node.config.bootstrap_account_id,
            path.display()
        );
    }
    stop.await;
    tracing::info!("shutting down");
    running.shutdown().await;
    ExitCode::SUCCESS
}
