//! Roles: `create-role`, `get-role`, `update-role`, `delete-role`, `list-roles`,
//! `update-assume-role-policy`.

use clap::Subcommand;
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;
use crate::paramfile::{self, TagSet};

/// The role commands.
#[derive(Debug, Subcommand)]
pub(crate) enum RoleCommand {
    /// Creates a role with its trust policy.
    CreateRole {
        /// The name: 1-64 characters of `[\w+=,.@-]`.
        #[arg(long)]
        role_name: String,
        /// The trust policy: JSON text or `file://trust.json`.
        #[arg(long, value_parser = paramfile::text)]
        assume_role_policy_document: String,
        /// The path, `/` or `/…/`; `/` when not given.
        #[arg(long)]
        path: Option<String>,
        /// A description, at most 1000 characters.
        #[arg(long)]
        description: Option<String>,
        /// The longest session in seconds (3600-43200); 3600 when not given.
        #[arg(long)]
        max_session_duration: Option<i32>,
        /// The ARN of a managed policy to use as the role's permissions boundary.
        #[arg(long)]
        permissions_boundary: Option<String>,
        /// Tags: `Key=k,Value=v …`, a JSON list, or `file://tags.json`.
        #[arg(long, num_args = 1.., value_parser = paramfile::tags)]
        tags: Vec<TagSet>,
    },
    /// Shows a role with its trust policy.
    GetRole {
        /// The role's name.
        #[arg(long)]
        role_name: String,
    },
    /// Changes a role's description and/or maximum session duration.
    UpdateRole {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The new description.
        #[arg(long)]
        description: Option<String>,
        /// The new longest session in seconds (3600-43200).
        #[arg(long)]
        max_session_duration: Option<i32>,
    },
    /// Deletes a role that has no policies.
    DeleteRole {
        /// The role's name.
        #[arg(long)]
        role_name: String,
    },
    /// Lists the roles whose path starts with `--path-prefix`, in name order.
    ListRoles {
        /// Only roles whose path starts with this.
        #[arg(long)]
        path_prefix: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Replaces a role's trust policy.
    UpdateAssumeRolePolicy {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The new trust policy: JSON text or `file://trust.json`.
        #[arg(long, value_parser = paramfile::text)]
        policy_document: String,
    },
}

impl RoleCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        match self {
            RoleCommand::CreateRole {
                role_name,
                assume_role_policy_document,
                path,
                description,
                max_session_duration,
                permissions_boundary,
                tags,
            } => call!(
                iam,
                create_role,
                "CreateRole",
                pb::CreateRoleRequest {
                    role_name,
                    assume_role_policy_document,
                    path: path.unwrap_or_default(),
                    description: description.unwrap_or_default(),
                    max_session_duration: max_session_duration.unwrap_or_default(),
                    permissions_boundary: permissions_boundary.unwrap_or_default(),
                    tags: TagSet::flatten(tags),
                    ..Default::default()
                }
            ),
            RoleCommand::GetRole { role_name } => {
                call!(iam, get_role, "GetRole", pb::GetRoleRequest { role_name })
            }
            RoleCommand::UpdateRole {
                role_name,
                description,
                max_session_duration,
            } => call!(
                iam,
                update_role,
                "UpdateRole",
                pb::UpdateRoleRequest {
                    role_name,
                    description,
                    max_session_duration,
                    ..Default::default()
                }
            ),
            RoleCommand::DeleteRole { role_name } => call!(
                iam,
                delete_role,
                "DeleteRole",
                pb::DeleteRoleRequest {
                    role_name,
                    ..Default::default()
                }
            ),
            RoleCommand::ListRoles { path_prefix, page } => {
                list!(iam, &page, list_roles, "ListRoles", |marker, max_items| {
                    pb::ListRolesRequest {
                        path_prefix: path_prefix.clone().unwrap_or_default(),
                        marker,
                        max_items,
                    }
                })
            }
            RoleCommand::UpdateAssumeRolePolicy {
                role_name,
                policy_document,
            } => call!(
                iam,
                update_assume_role_policy,
                "UpdateAssumeRolePolicy",
                pb::UpdateAssumeRolePolicyRequest {
                    role_name,
                    policy_document,
                    ..Default::default()
                }
            ),
        }
    }
}
