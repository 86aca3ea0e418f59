//! Groups and their members: `create-group`, `get-group`, `update-group`, `delete-group`,
//! `list-groups`, `add-user-to-group`, `remove-user-from-group`, `list-groups-for-user`.

use clap::Subcommand;
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;

/// The group commands.
#[derive(Debug, Subcommand)]
pub(crate) enum GroupCommand {
    /// Creates a group.
    CreateGroup {
        /// The name: 1-128 characters of `[\w+=,.@-]`.
        #[arg(long)]
        group_name: String,
        /// The path, `/` or `/…/`; `/` when not given.
        #[arg(long)]
        path: Option<String>,
    },
    /// Shows a group and its members.
    GetGroup {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Renames a group or changes its path.
    UpdateGroup {
        /// The group's current name.
        #[arg(long)]
        group_name: String,
        /// The new name.
        #[arg(long)]
        new_group_name: Option<String>,
        /// The new path.
        #[arg(long)]
        new_path: Option<String>,
    },
    /// Deletes a group that has no members and no policies.
    DeleteGroup {
        /// The group's name.
        #[arg(long)]
        group_name: String,
    },
    /// Lists the groups whose path starts with `--path-prefix`, in name order.
    ListGroups {
        /// Only groups whose path starts with this.
        #[arg(long)]
        path_prefix: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Adds a user to a group.
    AddUserToGroup {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        /// The user's name.
        #[arg(long)]
        user_name: String,
    },
    /// Removes a user from a group.
    RemoveUserFromGroup {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        /// The user's name.
        #[arg(long)]
        user_name: String,
    },
    /// Lists the groups a user belongs to.
    ListGroupsForUser {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

impl GroupCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        match self {
            GroupCommand::CreateGroup { group_name, path } => call!(
                iam,
                create_group,
                "CreateGroup",
                pb::CreateGroupRequest {
                    group_name,
                    path: path.unwrap_or_default(),
                    ..Default::default()
                }
            ),
            GroupCommand::GetGroup { group_name, page } => {
                list!(iam, &page, get_group, "GetGroup", |marker, max_items| {
                    pb::GetGroupRequest {
                        group_name: group_name.clone(),
                        marker,
                        max_items,
                    }
                })
            }
            GroupCommand::UpdateGroup {
                group_name,
                new_group_name,
                new_path,
            } => call!(
                iam,
                update_group,
                "UpdateGroup",
                pb::UpdateGroupRequest {
                    group_name,
                    new_group_name: new_group_name.unwrap_or_default(),
                    new_path: new_path.unwrap_or_default(),
                    ..Default::default()
                }
            ),
            GroupCommand::DeleteGroup { group_name } => call!(
                iam,
                delete_group,
                "DeleteGroup",
                pb::DeleteGroupRequest {
                    group_name,
                    ..Default::default()
                }
            ),
            GroupCommand::ListGroups { path_prefix, page } => {
                list!(
                    iam,
                    &page,
                    list_groups,
                    "ListGroups",
                    |marker, max_items| {
                        pb::ListGroupsRequest {
                            path_prefix: path_prefix.clone().unwrap_or_default(),
                            marker,
                            max_items,
                        }
                    }
                )
            }
            GroupCommand::AddUserToGroup {
                group_name,
                user_name,
            } => call!(
                iam,
                add_user_to_group,
                "AddUserToGroup",
                pb::AddUserToGroupRequest {
                    group_name,
                    user_name,
                    ..Default::default()
                }
            ),
            GroupCommand::RemoveUserFromGroup {
                group_name,
                user_name,
            } => call!(
                iam,
                remove_user_from_group,
                "RemoveUserFromGroup",
                pb::RemoveUserFromGroupRequest {
                    group_name,
                    user_name,
                    ..Default::default()
                }
            ),
            GroupCommand::ListGroupsForUser { user_name, page } => list!(
                iam,
                &page,
                list_groups_for_user,
                "ListGroupsForUser",
                |marker, max_items| pb::ListGroupsForUserRequest {
                    user_name: user_name.clone(),
                    marker,
                    max_items,
                }
            ),
        }
    }
}
