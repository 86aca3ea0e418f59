//! Users: `create-user`, `get-user`, `update-user`, `delete-user`, `list-users`.

use clap::Subcommand;
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;
use crate::paramfile::{self, TagSet};

/// The user commands.
#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Creates an IAM user with no credentials.
    CreateUser {
        /// The name: 1-64 characters of `[\w+=,.@-]`.
        #[arg(long)]
        user_name: String,
        /// The path, `/` or `/…/`; `/` when not given.
        #[arg(long)]
        path: Option<String>,
        /// The ARN of a managed policy to use as the user's permissions boundary.
        #[arg(long)]
        permissions_boundary: Option<String>,
        /// Tags: `Key=k,Value=v …`, a JSON list, or `file://tags.json`.
        #[arg(long, num_args = 1.., value_parser = paramfile::tags)]
        tags: Vec<TagSet>,
    },
    /// Shows a user; without `--user-name`, the calling user.
    GetUser {
        /// The user's name.
        #[arg(long)]
        user_name: Option<String>,
    },
    /// Renames a user or changes its path.
    UpdateUser {
        /// The user's current name.
        #[arg(long)]
        user_name: String,
        /// The new name.
        #[arg(long)]
        new_user_name: Option<String>,
        /// The new path.
        #[arg(long)]
        new_path: Option<String>,
    },
    /// Deletes a user that has no credentials, groups or policies left.
    DeleteUser {
        /// The user's name.
        #[arg(long)]
        user_name: String,
    },
    /// Lists the users whose path starts with `--path-prefix`, in name order.
    ListUsers {
        /// Only users whose path starts with this (`/` when not given).
        #[arg(long)]
        path_prefix: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

impl UserCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        match self {
            UserCommand::CreateUser {
                user_name,
                path,
                permissions_boundary,
                tags,
            } => call!(
                iam,
                create_user,
                "CreateUser",
                pb::CreateUserRequest {
                    user_name,
                    path: path.unwrap_or_default(),
                    permissions_boundary: permissions_boundary.unwrap_or_default(),
                    tags: TagSet::flatten(tags),
                    ..Default::default()
                }
            ),
            UserCommand::GetUser { user_name } => call!(
                iam,
                get_user,
                "GetUser",
                pb::GetUserRequest {
                    user_name: user_name.unwrap_or_default(),
                }
            ),
            UserCommand::UpdateUser {
                user_name,
                new_user_name,
                new_path,
            } => call!(
                iam,
                update_user,
                "UpdateUser",
                pb::UpdateUserRequest {
                    user_name,
                    new_user_name: new_user_name.unwrap_or_default(),
                    new_path: new_path.unwrap_or_default(),
                    ..Default::default()
                }
            ),
            UserCommand::DeleteUser { user_name } => call!(
                iam,
                delete_user,
                "DeleteUser",
                pb::DeleteUserRequest {
                    user_name,
                    ..Default::default()
                }
            ),
            UserCommand::ListUsers { path_prefix, page } => {
                list!(iam, &page, list_users, "ListUsers", |marker, max_items| {
                    pb::ListUsersRequest {
                        path_prefix: path_prefix.clone().unwrap_or_default(),
                        marker,
                        max_items,
                    }
                })
            }
        }
    }
}
