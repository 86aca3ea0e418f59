//! A user's credentials: access keys (`create-`, `update-`, `delete-`, `list-access-keys`,
//! `get-access-key-last-used`) and console passwords (`create-`, `get-`, `update-`,
//! `delete-login-profile`).

use clap::{Subcommand, ValueEnum};
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;

/// `--status` of an access key.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Status {
    #[value(name = "Active")]
    Active,
    #[value(name = "Inactive")]
    Inactive,
}

/// The credential commands.
#[derive(Debug, Subcommand)]
pub(crate) enum CredentialCommand {
    /// Creates an access key; its secret is shown this once.
    CreateAccessKey {
        /// The user's name; the calling user when not given.
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Activates or deactivates an access key.
    UpdateAccessKey {
        /// The key's id.
        #[arg(long)]
        access_key_id: String,
        /// `Active` or `Inactive`.
        #[arg(long, value_enum, ignore_case = true)]
        status: Status,
        /// The user's name; the calling user when not given.
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Deletes an access key.
    DeleteAccessKey {
        /// The key's id.
        #[arg(long)]
        access_key_id: String,
        /// The user's name; the calling user when not given.
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Lists a user's access keys (without secrets).
    ListAccessKeys {
        /// The user's name; the calling user when not given.
        #[arg(long)]
        user_name: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Shows when and where an access key was last used.
    GetAccessKeyLastUsed {
        /// The key's id.
        #[arg(long)]
        access_key_id: String,
    },
    /// Gives a user a console password.
    CreateLoginProfile {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The password; it must satisfy the account's password policy.
        #[arg(long)]
        password: String,
        /// Make the user choose a new password at next sign-in.
        #[arg(long, overrides_with = "no_password_reset_required")]
        password_reset_required: bool,
        /// Do not make the user choose a new password (the default).
        #[arg(long)]
        no_password_reset_required: bool,
    },
    /// Shows whether a user has a console password.
    GetLoginProfile {
        /// The user's name; the calling user when not given.
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Changes a user's password and/or whether it must be reset.
    UpdateLoginProfile {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The new password.
        #[arg(long)]
        password: Option<String>,
        /// Make the user choose a new password at next sign-in.
        #[arg(long, overrides_with = "no_password_reset_required")]
        password_reset_required: bool,
        /// Stop requiring a new password at next sign-in.
        #[arg(long, overrides_with = "password_reset_required")]
        no_password_reset_required: bool,
    },
    /// Removes a user's console password.
    DeleteLoginProfile {
        /// The user's name.
        #[arg(long)]
        user_name: String,
    },
}

impl CredentialCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        use CredentialCommand as C;
        match self {
            C::CreateAccessKey { user_name } => call!(
                iam,
                create_access_key,
                "CreateAccessKey",
                pb::CreateAccessKeyRequest {
                    user_name: user_name.unwrap_or_default(),
                    ..Default::default()
                }
            ),
            C::UpdateAccessKey {
                access_key_id,
                status,
                user_name,
            } => call!(
                iam,
                update_access_key,
                "UpdateAccessKey",
                pb::UpdateAccessKeyRequest {
                    access_key_id,
                    status: match status {
                        Status::Active => pb::StatusType::Active,
                        Status::Inactive => pb::StatusType::Inactive,
                    } as i32,
                    user_name: user_name.unwrap_or_default(),
                    ..Default::default()
                }
            ),
            C::DeleteAccessKey {
                access_key_id,
                user_name,
            } => call!(
                iam,
                delete_access_key,
                "DeleteAccessKey",
                pb::DeleteAccessKeyRequest {
                    access_key_id,
                    user_name: user_name.unwrap_or_default(),
                    ..Default::default()
                }
            ),
            C::ListAccessKeys { user_name, page } => list!(
                iam,
                &page,
                list_access_keys,
                "ListAccessKeys",
                |marker, max_items| pb::ListAccessKeysRequest {
                    user_name: user_name.clone().unwrap_or_default(),
                    marker,
                    max_items,
                }
            ),
            C::GetAccessKeyLastUsed { access_key_id } => call!(
                iam,
                get_access_key_last_used,
                "GetAccessKeyLastUsed",
                pb::GetAccessKeyLastUsedRequest { access_key_id }
            ),
            C::CreateLoginProfile {
                user_name,
                password,
                password_reset_required,
                no_password_reset_required: _,
            } => call!(
                iam,
                create_login_profile,
                "CreateLoginProfile",
                pb::CreateLoginProfileRequest {
                    user_name,
                    password,
                    password_reset_required,
                    ..Default::default()
                }
            ),
            C::GetLoginProfile { user_name } => call!(
                iam,
                get_login_profile,
                "GetLoginProfile",
                pb::GetLoginProfileRequest {
                    user_name: user_name.unwrap_or_default(),
                }
            ),
            C::UpdateLoginProfile {
                user_name,
                password,
                password_reset_required,
                no_password_reset_required,
            } => call!(
                iam,
                update_login_profile,
                "UpdateLoginProfile",
                pb::UpdateLoginProfileRequest {
                    user_name,
                    password,
                    password_reset_required: match (
                        password_reset_required,
                        no_password_reset_required
                    ) {
                        (true, _) => Some(true),
                        (_, true) => Some(false),
                        _ => None,
                    },
                    ..Default::default()
                }
            ),
            C::DeleteLoginProfile { user_name } => call!(
                iam,
                delete_login_profile,
                "DeleteLoginProfile",
                pb::DeleteLoginProfileRequest {
                    user_name,
                    ..Default::default()
                }
            ),
        }
    }
}
