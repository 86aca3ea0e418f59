//! The account's password policy: `update-`, `get-` and
//! `delete-account-password-policy`.

use clap::{Args, Subcommand};
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};

/// The account commands.
#[derive(Debug, Subcommand)]
#[expect(
    clippy::enum_variant_names,
    reason = "each variant is named after its AWS CLI command"
)]
pub(crate) enum AccountCommand {
    /// Sets the account's password policy; settings not given take AWS's defaults.
    UpdateAccountPasswordPolicy(PasswordPolicyArgs),
    /// Shows the account's password policy.
    GetAccountPasswordPolicy,
    /// Removes the account's password policy.
    DeleteAccountPasswordPolicy,
}

/// The settings of `update-account-password-policy`; each `--no-…` flag is the default
/// and overrides its `--…` flag when given after it.
#[derive(Debug, Args)]
pub(crate) struct PasswordPolicyArgs {
    /// The shortest password allowed (6-128).
    #[arg(long)]
    minimum_password_length: Option<i32>,
    /// Require at least one symbol.
    #[arg(long, overrides_with = "no_require_symbols")]
    require_symbols: bool,
    #[arg(long, hide = true)]
    no_require_symbols: bool,
    /// Require at least one digit.
    #[arg(long, overrides_with = "no_require_numbers")]
    require_numbers: bool,
    #[arg(long, hide = true)]
    no_require_numbers: bool,
    /// Require at least one uppercase letter.
    #[arg(long, overrides_with = "no_require_uppercase_characters")]
    require_uppercase_characters: bool,
    #[arg(long, hide = true)]
    no_require_uppercase_characters: bool,
    /// Require at least one lowercase letter.
    #[arg(long, overrides_with = "no_require_lowercase_characters")]
    require_lowercase_characters: bool,
    #[arg(long, hide = true)]
    no_require_lowercase_characters: bool,
    /// Let users change their own password.
    #[arg(long, overrides_with = "no_allow_users_to_change_password")]
    allow_users_to_change_password: bool,
    #[arg(long, hide = true)]
    no_allow_users_to_change_password: bool,
    /// Days a password is valid (1-1095); never expires when not given.
    #[arg(long)]
    max_password_age: Option<i32>,
    /// How many previous passwords may not be reused (1-24).
    #[arg(long)]
    password_reuse_prevention: Option<i32>,
    /// An expired password can only be reset by an administrator.
    #[arg(long, overrides_with = "no_hard_expiry")]
    hard_expiry: bool,
    #[arg(long, hide = true)]
    no_hard_expiry: bool,
}

impl AccountCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        match self {
            AccountCommand::UpdateAccountPasswordPolicy(p) => call!(
                iam,
                update_account_password_policy,
                "UpdateAccountPasswordPolicy",
                pb::UpdateAccountPasswordPolicyRequest {
                    minimum_password_length: p.minimum_password_length.unwrap_or_default(),
                    require_symbols: p.require_symbols,
                    require_numbers: p.require_numbers,
                    require_uppercase_characters: p.require_uppercase_characters,
                    require_lowercase_characters: p.require_lowercase_characters,
                    allow_users_to_change_password: p.allow_users_to_change_password,
                    max_password_age: p.max_password_age.unwrap_or_default(),
                    password_reuse_prevention: p.password_reuse_prevention.unwrap_or_default(),
                    hard_expiry: p.hard_expiry,
                    ..Default::default()
                }
            ),
            AccountCommand::GetAccountPasswordPolicy => call!(
                iam,
                get_account_password_policy,
                "GetAccountPasswordPolicy",
                pb::GetAccountPasswordPolicyRequest {}
            ),
            AccountCommand::DeleteAccountPasswordPolicy => call!(
                iam,
                delete_account_password_policy,
                "DeleteAccountPasswordPolicy",
                pb::DeleteAccountPasswordPolicyRequest::default()
            ),
        }
    }
}
