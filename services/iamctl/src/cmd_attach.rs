//! Managed policy attachments and permissions boundaries: `attach-` and
//! `detach-{user,group,role}-policy`, `list-attached-{user,group,role}-policies`,
//! `put-` and `delete-{user,role}-permissions-boundary`.

use clap::Subcommand;
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;

/// The attachment and boundary commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AttachCommand {
    /// Attaches a managed policy to a user.
    AttachUserPolicy {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Detaches a managed policy from a user.
    DetachUserPolicy {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Attaches a managed policy to a group.
    AttachGroupPolicy {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Detaches a managed policy from a group.
    DetachGroupPolicy {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Attaches a managed policy to a role.
    AttachRolePolicy {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Detaches a managed policy from a role.
    DetachRolePolicy {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Lists the managed policies attached to a user.
    ListAttachedUserPolicies {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// Only policies whose path starts with this.
        #[arg(long)]
        path_prefix: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Lists the managed policies attached to a group.
    ListAttachedGroupPolicies {
        /// The group's name.
        #[arg(long)]
        group_name: String,
        /// Only policies whose path starts with this.
        #[arg(long)]
        path_prefix: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Lists the managed policies attached to a role.
    ListAttachedRolePolicies {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// Only policies whose path starts with this.
        #[arg(long)]
        path_prefix: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Sets (or replaces) a user's permissions boundary.
    PutUserPermissionsBoundary {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The ARN of the managed policy to use as boundary.
        #[arg(long)]
        permissions_boundary: String,
    },
    /// Removes a user's permissions boundary.
    DeleteUserPermissionsBoundary {
        /// The user's name.
        #[arg(long)]
        user_name: String,
    },
    /// Sets (or replaces) a role's permissions boundary.
    PutRolePermissionsBoundary {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The ARN of the managed policy to use as boundary.
        #[arg(long)]
        permissions_boundary: String,
    },
    /// Removes a role's permissions boundary.
    DeleteRolePermissionsBoundary {
        /// The role's name.
        #[arg(long)]
        role_name: String,
    },
}

impl AttachCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        use AttachCommand as C;
        match self {
            C::AttachUserPolicy {
                user_name,
                policy_arn,
            } => call!(
                iam,
                attach_user_policy,
                "AttachUserPolicy",
                pb::AttachUserPolicyRequest {
                    user_name,
                    policy_arn,
                    ..Default::default()
                }
            ),
            C::DetachUserPolicy {
                user_name,
                policy_arn,
            } => call!(
                iam,
                detach_user_policy,
                "DetachUserPolicy",
                pb::DetachUserPolicyRequest {
                    user_name,
                    policy_arn,
                    ..Default::default()
                }
            ),
            C::AttachGroupPolicy {
                group_name,
                policy_arn,
            } => call!(
                iam,
                attach_group_policy,
                "AttachGroupPolicy",
                pb::AttachGroupPolicyRequest {
                    group_name,
                    policy_arn,
                    ..Default::default()
                }
            ),
            C::DetachGroupPolicy {
                group_name,
                policy_arn,
            } => call!(
                iam,
                detach_group_policy,
                "DetachGroupPolicy",
                pb::DetachGroupPolicyRequest {
                    group_name,
                    policy_arn,
                    ..Default::default()
                }
            ),
            C::AttachRolePolicy {
                role_name,
                policy_arn,
            } => call!(
                iam,
                attach_role_policy,
                "AttachRolePolicy",
                pb::AttachRolePolicyRequest {
                    role_name,
                    policy_arn,
                    ..Default::default()
                }
            ),
            C::DetachRolePolicy {
                role_name,
                policy_arn,
            } => call!(
                iam,
                detach_role_policy,
                "DetachRolePolicy",
                pb::DetachRolePolicyRequest {
                    role_name,
                    policy_arn,
                    ..Default::default()
                }
            ),
            C::ListAttachedUserPolicies {
                user_name,
                path_prefix,
                page,
            } => list!(
                iam,
                &page,
                list_attached_user_policies,
                "ListAttachedUserPolicies",
                |marker, max_items| pb::ListAttachedUserPoliciesRequest {
                    user_name: user_name.clone(),
                    path_prefix: path_prefix.clone().unwrap_or_default(),
                    marker,
                    max_items,
                }
            ),
            C::ListAttachedGroupPolicies {
                group_name,
                path_prefix,
                page,
            } => list!(
                iam,
                &page,
                list_attached_group_policies,
                "ListAttachedGroupPolicies",
                |marker, max_items| pb::ListAttachedGroupPoliciesRequest {
                    group_name: group_name.clone(),
                    path_prefix: path_prefix.clone().unwrap_or_default(),
                    marker,
                    max_items,
                }
            ),
            C::ListAttachedRolePolicies {
                role_name,
                path_prefix,
                page,
            } => list!(
                iam,
                &page,
                list_attached_role_policies,
                "ListAttachedRolePolicies",
                |marker, max_items| pb::ListAttachedRolePoliciesRequest {
                    role_name: role_name.clone(),
                    path_prefix: path_prefix.clone().unwrap_or_default(),
                    marker,
                    max_items,
                }
            ),
            C::PutUserPermissionsBoundary {
                user_name,
                permissions_boundary,
            } => call!(
                iam,
                put_user_permissions_boundary,
                "PutUserPermissionsBoundary",
                pb::PutUserPermissionsBoundaryRequest {
                    user_name,
                    permissions_boundary,
                    ..Default::default()
                }
            ),
            C::DeleteUserPermissionsBoundary { user_name } => call!(
                iam,
                delete_user_permissions_boundary,
                "DeleteUserPermissionsBoundary",
                pb::DeleteUserPermissionsBoundaryRequest {
                    user_name,
                    ..Default::default()
                }
            ),
            C::PutRolePermissionsBoundary {
                role_name,
                permissions_boundary,
            } => call!(
                iam,
                put_role_permissions_boundary,
                "PutRolePermissionsBoundary",
                pb::PutRolePermissionsBoundaryRequest {
                    role_name,
                    permissions_boundary,
                    ..Default::default()
                }
            ),
            C::DeleteRolePermissionsBoundary { role_name } => call!(
                iam,
                delete_role_permissions_boundary,
                "DeleteRolePermissionsBoundary",
                pb::DeleteRolePermissionsBoundaryRequest {
                    role_name,
                    ..Default::default()
                }
            ),
        }
    }
}
