//! Inline policies of users, groups and roles: `put-`, `get-`, `delete-` and
//! `list-{user,group,role}-policies`.

use clap::Subcommand;
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;
use crate::paramfile;

/// The inline policy commands.
#[derive(Debug, Subcommand)]
pub(crate) enum InlineCommand {
    /// Creates or replaces an inline policy of a user.
    PutUserPolicy {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
        /// The policy: JSON text or `file://policy.json`.
        #[arg(long, value_parser = paramfile::text)]
        policy_document: String,
    },
    /// Shows an inline policy of a user.
    GetUserPolicy {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// Deletes an inline policy of a user.
    DeleteUserPolicy {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// Lists the names of a user's inline policies.
    ListUserPolicies {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Creates or replaces an inline policy of a group.
    PutGroupPolicy {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
        /// The policy: JSON text or `file://policy.json`.
        #[arg(long, value_parser = paramfile::text)]
        policy_document: String,
    },
    /// Shows an inline policy of a group.
    GetGroupPolicy {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// Deletes an inline policy of a group.
    DeleteGroupPolicy {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// Lists the names of a group's inline policies.
    ListGroupPolicies {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Creates or replaces an inline policy of a role.
    PutRolePolicy {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
        /// The policy: JSON text or `file://policy.json`.
        #[arg(long, value_parser = paramfile::text)]
        policy_document: String,
    },
    /// Shows an inline policy of a role.
    GetRolePolicy {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// Deletes an inline policy of a role.
    DeleteRolePolicy {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The policy's name.
        #[arg(long)]
        policy_name: String,
    },
    /// Lists the names of a role's inline policies.
    ListRolePolicies {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

impl InlineCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        use InlineCommand as C;
        match self {
            C::PutUserPolicy {
                user_name,
                policy_name,
                policy_document,
            } => call!(
                iam,
                put_user_policy,
                "PutUserPolicy",
                pb::PutUserPolicyRequest {
                    user_name,
                    policy_name,
                    policy_document,
                    ..Default::default()
                }
            ),
            C::GetUserPolicy {
                user_name,
                policy_name,
            } => call!(
                iam,
                get_user_policy,
                "GetUserPolicy",
                pb::GetUserPolicyRequest {
                    user_name,
                    policy_name,
                }
            ),
            C::DeleteUserPolicy {
                user_name,
                policy_name,
            } => call!(
                iam,
                delete_user_policy,
                "DeleteUserPolicy",
                pb::DeleteUserPolicyRequest {
                    user_name,
                    policy_name,
                    ..Default::default()
                }
            ),
            C::ListUserPolicies { user_name, page } => list!(
                iam,
                &page,
                list_user_policies,
                "ListUserPolicies",
                |marker, max_items| pb::ListUserPoliciesRequest {
                    user_name: user_name.clone(),
                    marker,
                    max_items,
                }
            ),
            C::PutGroupPolicy {
                group_name,
                policy_name,
                policy_document,
            } => call!(
                iam,
                put_group_policy,
                "PutGroupPolicy",
                pb::PutGroupPolicyRequest {
                    group_name,
                    policy_name,
                    policy_document,
                    ..Default::default()
                }
            ),
            C::GetGroupPolicy {
                group_name,
                policy_name,
            } => call!(
                iam,
                get_group_policy,
                "GetGroupPolicy",
                pb::GetGroupPolicyRequest {
                    group_name,
                    policy_name,
                }
            ),
            C::DeleteGroupPolicy {
                group_name,
                policy_name,
            } => call!(
                iam,
                delete_group_policy,
                "DeleteGroupPolicy",
                pb::DeleteGroupPolicyRequest {
                    group_name,
                    policy_name,
                    ..Default::default()
                }
            ),
            C::ListGroupPolicies { group_name, page } => list!(
                iam,
                &page,
                list_group_policies,
                "ListGroupPolicies",
                |marker, max_items| pb::ListGroupPoliciesRequest {
                    group_name: group_name.clone(),
                    marker,
                    max_items,
                }
            ),
            C::PutRolePolicy {
                role_name,
                policy_name,
                policy_document,
            } => call!(
                iam,
                put_role_policy,
                "PutRolePolicy",
                pb::PutRolePolicyRequest {
                    role_name,
                    policy_name,
                    policy_document,
                    ..Default::default()
                }
            ),
            C::GetRolePolicy {
                role_name,
                policy_name,
            } => call!(
                iam,
                get_role_policy,
                "GetRolePolicy",
                pb::GetRolePolicyRequest {
                    role_name,
                    policy_name,
                }
            ),
            C::DeleteRolePolicy {
                role_name,
                policy_name,
            } => call!(
                iam,
                delete_role_policy,
                "DeleteRolePolicy",
                pb::DeleteRolePolicyRequest {
                    role_name,
                    policy_name,
                    ..Default::default()
                }
            ),
            C::ListRolePolicies { role_name, page } => list!(
                iam,
                &page,
                list_role_policies,
                "ListRolePolicies",
                |marker, max_items| pb::ListRolePoliciesRequest {
                    role_name: role_name.clone(),
                    marker,
                    max_items,
                }
            ),
        }
    }
}
