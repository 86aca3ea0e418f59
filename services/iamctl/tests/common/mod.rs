//! What the iamctl end-to-end tests share.

use std::path::Path;
use std::process::Command;

use iamd::server::Running;
use serde_json::Value;

/// The built iamctl, with none of the environment variables it reads for credentials or
/// the endpoint: each test says what it means.
pub fn iamctl_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iamctl"));
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "IAMD_CREDENTIALS_FILE",
        "IAMD_ENDPOINT",
    ] {
        command.env_remove(name);
    }
    command
}

/// What one run of iamctl left: its exit code, its output parsed as JSON (`Null` when it
/// is not JSON) and its standard error. (Each test binary uses a part of this module.)
#[allow(dead_code)]
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the built iamctl against `node` with the root credentials file, off the runtime's
/// threads (the binary blocks until it answers).
#[allow(dead_code)]
pub async fn iamctl(node: &Running, credentials: &Path, args: &[&str]) -> Run {
    let mut command = iamctl_command();
    command
        .arg("--endpoint-url")
        .arg(format!("http://{}", node.client_addr))
        .arg("--credentials-file")
        .arg(credentials)
        .args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}
