//! `iamctl`: the command line client of iamd, shaped like the AWS CLI.
//!
//! - `iamctl simulate FILE...`: the offline policy simulator (no server).
//! - `iamctl iam <command>`: the management api (`create-user`, `attach-role-policy`, …).
//! - `iamctl authorize`: asks iamd for one decision.
//! - `iamctl health`: the node's gRPC health (no credentials; exit 0 when `SERVING`).
//! - `iamctl cluster <command>`: the Raft state of a node and runtime membership changes
//!   (`status`, `add-learner`, `promote`, `change-membership`, `remove-node`,
//!   `transfer-leader`).
//!
//! Remote commands sign every call with SigV4 (credentials as the AWS CLI finds them, see
//! [`credentials`]) and print the response as JSON with AWS's field names, or as a table.
//! Exit codes follow the AWS CLI: 252 usage, 253 credentials or configuration, 254 an
//! error answered by the service, 255 anything else (such as a connection failure).

#[macro_use]
mod client;
mod authorize;
mod cluster;
mod cmd_account;
mod cmd_attach;
mod cmd_credentials;
mod cmd_groups;
mod cmd_inline;
mod cmd_policies;
mod cmd_roles;
mod cmd_simulate;
mod cmd_tags;
mod cmd_users;
mod credentials;
mod health;
mod iam;
mod names;
mod output;
mod paging;
mod paramfile;
mod protojson;
mod simulate;
mod wire;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::credentials::CredentialFlags;
use crate::output::Format;

/// Command line client for iamd.
#[derive(Debug, Parser)]
#[command(name = "iamctl", version, about)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Options of every remote command, accepted before or after the command name.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
struct GlobalArgs {
    /// The iamd node to call.
    #[arg(
        long,
        global = true,
        env = "IAMD_ENDPOINT",
        default_value = "http://127.0.0.1:7300"
    )]
    endpoint_url: String,
    /// The profile of the credentials file to use; environment keys are then ignored.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// The credentials file (INI, as `~/.aws/credentials` or iamd's `root-credentials`).
    #[arg(long, global = true, value_name = "PATH")]
    credentials_file: Option<PathBuf>,
    /// The region requests are signed for.
    #[arg(long, global = true)]
    region: Option<String>,
    /// How to print the response.
    #[arg(long, global = true, value_enum, default_value_t = Format::Json)]
    output: Format,
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
        files: Vec<PathBuf>,
    },
    /// Manage users, groups, roles, policies and credentials (as `aws iam`).
    Iam {
        #[command(subcommand)]
        command: iam::IamCommand,
    },
    /// Ask iamd whether a principal may perform an action on a resource.
    Authorize(authorize::AuthorizeArgs),
    /// Show a node's Raft state and change the cluster's membership at runtime.
    Cluster {
        #[command(subcommand)]
        command: cluster::ClusterCommand,
    },
    /// Ask a node for its gRPC health (`grpc.health.v1.Health/Check`); needs no credentials.
    ///
    /// Prints {"Service", "Status"}; exits 0 when the status is SERVING, 1 when it is
    /// anything else, 254 for a service the node does not know, 255 when the node cannot be
    /// reached or does not answer within 5 s.
    Health(health::HealthArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to standard output and succeed; usage errors exit 252.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 252 } else { 0 });
        }
    };
    let remote = match cli.command {
        Command::Simulate { files } => return simulate::run(&files),
        Command::Iam { command } => Remote::Iam(command),
        Command::Authorize(args) => Remote::Authorize(args),
        Command::Cluster { command } => Remote::Cluster(command),
        Command::Health(args) => return run_health(&cli.global, &args),
    };
    match run_remote(&cli.global, remote) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

/// `iamctl health`: unsigned, so it needs no credentials.
fn run_health(global: &GlobalArgs, args: &health::HealthArgs) -> ExitCode {
    let answer = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Internal(format!("cannot start the runtime: {e}")))
        .and_then(|runtime| runtime.block_on(health::run(&global.endpoint_url, args)))
        .and_then(|health| output::print(&health.value, global.output).map(|()| health.serving));
    match answer {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    }
}

/// A command that calls iamd.
#[derive(Debug)]
enum Remote {
    Iam(iam::IamCommand),
    Authorize(authorize::AuthorizeArgs),
    Cluster(cluster::ClusterCommand),
}

fn run_remote(global: &GlobalArgs, remote: Remote) -> Result<(), CliError> {
    let flags = CredentialFlags {
        profile: global.profile.clone(),
        credentials_file: global.credentials_file.clone(),
        region: global.region.clone(),
    };
    let creds = credentials::resolve(&flags, &|name| std::env::var(name).ok(), &|path| {
        std::fs::read_to_string(path)
    })
    .map_err(CliError::Config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Internal(format!("cannot start the runtime: {e}")))?;
    let value: Value = runtime.block_on(async {
        let mut ctx: Ctx = client::connect(&global.endpoint_url, creds).await?;
        match remote {
            Remote::Iam(command) => command.run(&mut ctx).await,
            Remote::Authorize(args) => authorize::run(args, &mut ctx).await,
            Remote::Cluster(command) => command.run(&mut ctx).await,
        }
    })?;
    output::print(&value, global.output)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn commands_and_flags_are_kebab_case_as_in_the_aws_cli() {
        let cli = Cli::try_parse_from([
            "iamctl",
            "iam",
            "create-role",
            "--role-name",
            "trader",
            "--assume-role-policy-document",
            "{}",
            "--tags",
            "Key=desk,Value=fx",
            "Key=team,Value=rates",
            "--output",
            "table",
        ])
        .unwrap();
        assert_eq!(cli.global.output, Format::Table);
        assert!(matches!(cli.command, Command::Iam { .. }));
        let unknown = Cli::try_parse_from(["iamctl", "iam", "create-user", "--bogus"]);
        assert!(unknown.unwrap_err().use_stderr());
    }

    fn cluster(args: &[&str]) -> Result<cluster::ClusterCommand, clap::Error> {
        let cli = Cli::try_parse_from(["iamctl", "cluster"].iter().chain(args))?;
        match cli.command {
            Command::Cluster { command } => Ok(command),
            other => panic!("not a cluster command: {other:?}"),
        }
    }

    #[test]
    fn cluster_commands_parse_as_documented() {
        use cluster::ClusterCommand as C;
        assert!(matches!(cluster(&["status"]).unwrap(), C::Status));
        assert!(matches!(
            cluster(&[
                "add-learner",
                "--node-id",
                "4",
                "--address",
                "10.0.0.4:7301",
                "--wait-for-catch-up",
                "--idempotency-key",
                "k1",
            ])
            .unwrap(),
            C::AddLearner {
                node_id: 4,
                ref address,
                wait_for_catch_up: true,
                idempotency_key: Some(ref key),
            } if address == "10.0.0.4:7301" && key == "k1"
        ));
        assert!(matches!(
            cluster(&["promote", "--node-id", "4"]).unwrap(),
            C::Promote {
                node_id: 4,
                idempotency_key: None
            }
        ));
        assert!(matches!(
            cluster(&["change-membership", "--voters", "1,2,4", "--retain"]).unwrap(),
            C::ChangeMembership { ref voters, retain: true, .. } if voters == &[1, 2, 4]
        ));
        assert!(matches!(
            cluster(&["change-membership", "--voters", "3"]).unwrap(),
            C::ChangeMembership { ref voters, retain: false, .. } if voters == &[3]
        ));
        assert!(matches!(
            cluster(&["remove-node", "--node-id", "2"]).unwrap(),
            C::RemoveNode { node_id: 2, .. }
        ));
        assert!(matches!(
            cluster(&["transfer-leader", "--to-node-id", "4"]).unwrap(),
            C::TransferLeader { to_node_id: 4, .. }
        ));
    }

    #[test]
    fn bad_cluster_arguments_are_usage_errors() {
        for args in [
            &["add-learner", "--node-id", "4"][..],
            &["add-learner", "--node-id", "0", "--address", "h:1"],
            &["add-learner", "--node-id", "4", "--address", "http://h:1"],
            &["promote"],
            &["promote", "--node-id", "x"],
            &["change-membership"],
            &["change-membership", "--voters", "1,,2"],
            &["remove-node", "--node-id", "0"],
            &["transfer-leader", "--node-id", "4"],
        ] {
            let e = cluster(args).unwrap_err();
            assert!(e.use_stderr(), "{args:?} is refused");
        }
    }
}
