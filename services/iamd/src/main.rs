//! `iamd`: start one node. With no arguments: a single-node cluster on `127.0.0.1:7300`
//! with its data in `./iamd-data`, whose root credentials are written on first start.

use std::process::ExitCode;

/// mimalloc: the request path allocates much, and the system allocator's functions were
/// about a tenth of the profile (README, "Node performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use iamd::config::{Config, Flags};

/// The log filter: `IAMD_LOG` (`tracing-subscriber`'s `EnvFilter` syntax) when set, else
/// the default. A value that does not parse is an error, not the default in silence.
fn log_filter(value: Option<String>) -> Result<tracing_subscriber::EnvFilter, String> {
    match value {
        None => Ok(tracing_subscriber::EnvFilter::new(
            "info,openraft=warn,sled=warn",
        )),
        Some(v) => tracing_subscriber::EnvFilter::builder()
            .parse(&v)
            .map_err(|e| format!("IAMD_LOG `{v}` is not a log filter: {e}")),
    }
}

fn init_logging(filter: tracing_subscriber::EnvFilter, json: bool) {
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
    let filter = match log_filter(std::env::var("IAMD_LOG").ok()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("iamd: {e}");
            return ExitCode::from(2);
        }
    };
    if flags.dump_config {
        // The command that checks a configuration names what it ignores, too.
        for name in iamd::config::unrecognized_env(std::env::vars()) {
            eprintln!("iamd: warning: `{name}` is not a configuration variable: ignored");
        }
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
    init_logging(filter, config.log_json);
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

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn a_log_filter_that_does_not_parse_is_an_error_naming_iamd_log() {
        assert!(log_filter(None).is_ok());
        assert!(log_filter(Some("iamd=debug,warn".into())).is_ok());
        let err = log_filter(Some("iamd=loud".into())).unwrap_err();
        assert!(
            err.contains("IAMD_LOG") && err.contains("iamd=loud"),
            "{err}"
        );
    }
}
