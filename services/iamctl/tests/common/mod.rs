//! What the iamctl end-to-end tests share.

use std::process::Command;

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
