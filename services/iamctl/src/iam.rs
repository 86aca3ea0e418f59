//! `iamctl iam <command>`: the management commands, one module per family, named as in the
//! AWS CLI's `aws iam`.

use clap::Subcommand;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::cmd_account::AccountCommand;
use crate::cmd_attach::AttachCommand;
use crate::cmd_credentials::CredentialCommand;
use crate::cmd_groups::GroupCommand;
use crate::cmd_inline::InlineCommand;
use crate::cmd_policies::PolicyCommand;
use crate::cmd_roles::RoleCommand;
use crate::cmd_simulate::SimulateCommand;
use crate::cmd_tags::TagCommand;
use crate::cmd_users::UserCommand;

/// Every `iam` command.
#[derive(Debug, Subcommand)]
pub(crate) enum IamCommand {
    #[command(flatten)]
    Users(UserCommand),
    #[command(flatten)]
    Groups(GroupCommand),
    #[command(flatten)]
    Roles(RoleCommand),
    #[command(flatten)]
    Policies(PolicyCommand),
    #[command(flatten)]
    Inline(InlineCommand),
    #[command(flatten)]
    Attach(AttachCommand),
    #[command(flatten)]
    Tags(TagCommand),
    #[command(flatten)]
    Credentials(CredentialCommand),
    #[command(flatten)]
    Account(AccountCommand),
    #[command(flatten)]
    Simulate(SimulateCommand),
}

impl IamCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        match self {
            IamCommand::Users(c) => c.run(ctx).await,
            IamCommand::Groups(c) => c.run(ctx).await,
            IamCommand::Roles(c) => c.run(ctx).await,
            IamCommand::Policies(c) => c.run(ctx).await,
            IamCommand::Inline(c) => c.run(ctx).await,
            IamCommand::Attach(c) => c.run(ctx).await,
            IamCommand::Tags(c) => c.run(ctx).await,
            IamCommand::Credentials(c) => c.run(ctx).await,
            IamCommand::Account(c) => c.run(ctx).await,
            IamCommand::Simulate(c) => c.run(ctx).await,
        }
    }
}
