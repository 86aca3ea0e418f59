//! `iamctl`: the command line client of iamd, shaped like the AWS CLI.
//!
//! This first piece holds the offline policy simulator; the commands that talk to a cluster
//! arrive with the node.

mod simulate;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Command line client for iamd.
#[derive(Debug, Parser)]
#[command(name = "iamctl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide policy simulation cases offline: one JSON line per case file.
    ///
    /// Each FILE holds identity_policies, resource_policy, permissions_boundary, scps,
    /// session_policies and a request; the output line is
    /// {"file", "decision", "explanation"} or {"file", "error"}.
    Simulate {
        /// Case files, decided in the order given.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Simulate { files } => simulate::run(&files),
    }
}
