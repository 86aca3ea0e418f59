//! `iamctl health`: the gRPC health checking protocol (`grpc.health.v1.Health/Check`), which
//! needs no credentials. It is the container image's health check and a script's way to wait
//! for a node: the exit code is 0 when the service is `SERVING`, 1 when the node answers
//! anything else (`NOT_SERVING` while it catches up with the cluster or shuts down), 254 for
//! a service the node does not know, and 255 when the node cannot be reached or does not
//! answer within 5 s.

use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{Value, json};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::client::{self, CliError};

/// The flags of `iamctl health`.
#[derive(Debug, Args)]
pub(crate) struct HealthArgs {
    /// The service to ask about: `""` (the node), `iam.v1.Iam`, `iam.v1.Authorization`.
    #[arg(long, default_value = "")]
    service: String,
    /// Ask again every 200 ms until the service is `SERVING` or this many seconds passed
    /// (connection failures included); 0 asks once.
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    wait_seconds: u64,
}

/// What the node said: its status and whether that is `SERVING`.
#[derive(Debug)]
pub(crate) struct Health {
    pub(crate) value: Value,
    pub(crate) serving: bool,
}

/// Asks `url` for the health of `args.service`, waiting as `args.wait_seconds` says.
pub(crate) async fn run(url: &str, args: &HealthArgs) -> Result<Health, CliError> {
    let deadline = Instant::now() + Duration::from_secs(args.wait_seconds);
    loop {
        let answer = match tokio::time::timeout(ATTEMPT, check(url, &args.service)).await {
            Ok(answer) => answer,
            Err(_) => Err(CliError::Timeout(format!(
                "no health answer from `{url}` within {} s",
                ATTEMPT.as_secs()
            ))),
        };
        let done = match &answer {
            Ok(health) => health.serving,
            // A bad endpoint URL stays bad.
            Err(e) => matches!(e, CliError::Usage(_)),
        };
        if done || Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How long one attempt (connecting and asking) may take.
const ATTEMPT: Duration = Duration::from_secs(5);

/// A failed check: `NOT_FOUND` is the protocol's answer for a service the node does not
/// know (254); any other status means no health answer came (a port that is not a node's
/// client port, a transport error), which is 255 like an unreachable node.
fn health_error(url: &str, status: tonic::Status) -> CliError {
    if status.code() == tonic::Code::NotFound {
        CliError::Service {
            operation: "Check",
            status,
        }
    } else {
        CliError::Connect(format!(
            "no health answer from `{url}`: {:?}: {}",
            status.code(),
            status.message()
        ))
    }
}

async fn check(url: &str, service: &str) -> Result<Health, CliError> {
    let (channel, _) = client::channel(url).await?;
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let status = HealthClient::new(channel)
        .check(request)
        .await
        .map_err(|status| health_error(url, status))?
        .into_inner()
        .status;
    let name = ServingStatus::try_from(status)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN");
    Ok(Health {
        value: json!({ "Service": service, "Status": name }),
        serving: status == ServingStatus::Serving as i32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unknown_service_is_254_and_any_other_failure_is_255() {
        let unknown = health_error("http://n", tonic::Status::not_found("unknown service"));
        assert_eq!(unknown.exit_code(), std::process::ExitCode::from(254));
        for code in [
            tonic::Code::Unimplemented,
            tonic::Code::Unknown,
            tonic::Code::Unavailable,
            tonic::Code::Internal,
        ] {
            let other = health_error("http://n", tonic::Status::new(code, "x"));
            assert_eq!(
                other.exit_code(),
                std::process::ExitCode::from(255),
                "{code:?}"
            );
        }
    }
}
