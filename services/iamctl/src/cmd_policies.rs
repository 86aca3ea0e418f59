//! Managed policies and their versions: `create-policy`, `get-policy`, `delete-policy`,
//! `list-policies`, `create-policy-version`, `get-policy-version`,
//! `delete-policy-version`, `list-policy-versions`, `set-default-policy-version`,
//! `list-entities-for-policy`.

use clap::{Subcommand, ValueEnum};
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;
use crate::paramfile::{self, TagSet};

/// `--scope` of `list-policies`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Scope {
    #[value(name = "All")]
    All,
    #[value(name = "AWS")]
    Aws,
    #[value(name = "Local")]
    Local,
}

/// `--policy-usage-filter`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Usage {
    #[value(name = "PermissionsPolicy")]
    PermissionsPolicy,
    #[value(name = "PermissionsBoundary")]
    PermissionsBoundary,
}

/// `--entity-filter` of `list-entities-for-policy`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Entity {
    #[value(name = "User")]
    User,
    #[value(name = "Role")]
    Role,
    #[value(name = "Group")]
    Group,
    #[value(name = "LocalManagedPolicy")]
    LocalManagedPolicy,
    #[value(name = "AWSManagedPolicy")]
    AwsManagedPolicy,
}

/// The managed policy commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Creates a customer managed policy; its first version `v1` is the default.
    CreatePolicy {
        /// The name: 1-128 characters of `[\w+=,.@-]`.
        #[arg(long)]
        policy_name: String,
        /// The policy: JSON text or `file://policy.json`.
        #[arg(long, value_parser = paramfile::text)]
        policy_document: String,
        /// A description, at most 1000 characters.
        #[arg(long)]
        description: Option<String>,
        /// The path, `/` or `/…/`; `/` when not given.
        #[arg(long)]
        path: Option<String>,
        /// Tags: `Key=k,Value=v …`, a JSON list, or `file://tags.json`.
        #[arg(long, num_args = 1.., value_parser = paramfile::tags)]
        tags: Vec<TagSet>,
    },
    /// Shows a managed policy (its document: `get-policy-version`).
    GetPolicy {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Deletes a customer managed policy that is attached to nothing.
    DeletePolicy {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
    },
    /// Lists managed policies.
    ListPolicies {
        /// AWS managed, customer managed (`Local`) or both.
        #[arg(long, value_enum, ignore_case = true)]
        scope: Option<Scope>,
        /// Only policies attached to a user, group or role.
        #[arg(long, overrides_with = "no_only_attached")]
        only_attached: bool,
        /// All policies, attached or not (the default).
        #[arg(long)]
        no_only_attached: bool,
        /// Only policies whose path starts with this.
        #[arg(long)]
        path_prefix: Option<String>,
        /// Only policies used as permissions policies, or as boundaries.
        #[arg(long, value_enum, ignore_case = true)]
        policy_usage_filter: Option<Usage>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Adds a version to a customer managed policy.
    CreatePolicyVersion {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        /// The new version: JSON text or `file://policy.json`.
        #[arg(long, value_parser = paramfile::text)]
        policy_document: String,
        /// Make the new version the one in force.
        #[arg(long)]
        set_as_default: bool,
    },
    /// Shows one version of a managed policy, with its document.
    GetPolicyVersion {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        /// The version (`v1`, `v2`, …).
        #[arg(long)]
        version_id: String,
    },
    /// Deletes a version that is not the default.
    DeletePolicyVersion {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        /// The version.
        #[arg(long)]
        version_id: String,
    },
    /// Lists the versions of a managed policy, newest first.
    ListPolicyVersions {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Makes a version the one in force.
    SetDefaultPolicyVersion {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        /// The version.
        #[arg(long)]
        version_id: String,
    },
    /// Lists the users, groups and roles a managed policy is attached to.
    ListEntitiesForPolicy {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        /// Only entities of this kind.
        #[arg(long, value_enum, ignore_case = true)]
        entity_filter: Option<Entity>,
        /// Only entities whose path starts with this.
        #[arg(long)]
        path_prefix: Option<String>,
        /// Only attachments as permissions policy, or as boundary.
        #[arg(long, value_enum, ignore_case = true)]
        policy_usage_filter: Option<Usage>,
        #[command(flatten)]
        page: PageArgs,
    },
}

impl PolicyCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        match self {
            PolicyCommand::CreatePolicy {
                policy_name,
                policy_document,
                description,
                path,
                tags,
            } => call!(
                iam,
                create_policy,
                "CreatePolicy",
                pb::CreatePolicyRequest {
                    policy_name,
                    policy_document,
                    description: description.unwrap_or_default(),
                    path: path.unwrap_or_default(),
                    tags: TagSet::flatten(tags),
                    ..Default::default()
                }
            ),
            PolicyCommand::GetPolicy { policy_arn } => {
                call!(
                    iam,
                    get_policy,
                    "GetPolicy",
                    pb::GetPolicyRequest { policy_arn }
                )
            }
            PolicyCommand::DeletePolicy { policy_arn } => call!(
                iam,
                delete_policy,
                "DeletePolicy",
                pb::DeletePolicyRequest {
                    policy_arn,
                    ..Default::default()
                }
            ),
            PolicyCommand::ListPolicies {
                scope,
                only_attached,
                no_only_attached: _,
                path_prefix,
                policy_usage_filter,
                page,
            } => list!(
                iam,
                &page,
                list_policies,
                "ListPolicies",
                |marker, max_items| pb::ListPoliciesRequest {
                    scope: scope.map_or(0, |s| scope_type(s) as i32),
                    only_attached,
                    path_prefix: path_prefix.clone().unwrap_or_default(),
                    policy_usage_filter: policy_usage_filter.map_or(0, |u| usage_type(u) as i32),
                    marker,
                    max_items,
                }
            ),
            PolicyCommand::CreatePolicyVersion {
                policy_arn,
                policy_document,
                set_as_default,
            } => call!(
                iam,
                create_policy_version,
                "CreatePolicyVersion",
                pb::CreatePolicyVersionRequest {
                    policy_arn,
                    policy_document,
                    set_as_default,
                    ..Default::default()
                }
            ),
            PolicyCommand::GetPolicyVersion {
                policy_arn,
                version_id,
            } => call!(
                iam,
                get_policy_version,
                "GetPolicyVersion",
                pb::GetPolicyVersionRequest {
                    policy_arn,
                    version_id,
                }
            ),
            PolicyCommand::DeletePolicyVersion {
                policy_arn,
                version_id,
            } => call!(
                iam,
                delete_policy_version,
                "DeletePolicyVersion",
                pb::DeletePolicyVersionRequest {
                    policy_arn,
                    version_id,
                    ..Default::default()
                }
            ),
            PolicyCommand::ListPolicyVersions { policy_arn, page } => list!(
                iam,
                &page,
                list_policy_versions,
                "ListPolicyVersions",
                |marker, max_items| pb::ListPolicyVersionsRequest {
                    policy_arn: policy_arn.clone(),
                    marker,
                    max_items,
                }
            ),
            PolicyCommand::SetDefaultPolicyVersion {
                policy_arn,
                version_id,
            } => call!(
                iam,
                set_default_policy_version,
                "SetDefaultPolicyVersion",
                pb::SetDefaultPolicyVersionRequest {
                    policy_arn,
                    version_id,
                    ..Default::default()
                }
            ),
            PolicyCommand::ListEntitiesForPolicy {
                policy_arn,
                entity_filter,
                path_prefix,
                policy_usage_filter,
                page,
            } => list!(
                iam,
                &page,
                list_entities_for_policy,
                "ListEntitiesForPolicy",
                |marker, max_items| pb::ListEntitiesForPolicyRequest {
                    policy_arn: policy_arn.clone(),
                    entity_filter: entity_filter.map_or(0, |e| entity_type(e) as i32),
                    path_prefix: path_prefix.clone().unwrap_or_default(),
                    policy_usage_filter: policy_usage_filter.map_or(0, |u| usage_type(u) as i32),
                    marker,
                    max_items,
                }
            ),
        }
    }
}

fn scope_type(scope: Scope) -> pb::PolicyScopeType {
    match scope {
        Scope::All => pb::PolicyScopeType::All,
        Scope::Aws => pb::PolicyScopeType::Aws,
        Scope::Local => pb::PolicyScopeType::Local,
    }
}

fn usage_type(usage: Usage) -> pb::PolicyUsageType {
    match usage {
        Usage::PermissionsPolicy => pb::PolicyUsageType::PermissionsPolicy,
        Usage::PermissionsBoundary => pb::PolicyUsageType::PermissionsBoundary,
    }
}

fn entity_type(entity: Entity) -> pb::EntityType {
    match entity {
        Entity::User => pb::EntityType::User,
        Entity::Role => pb::EntityType::Role,
        Entity::Group => pb::EntityType::Group,
        Entity::LocalManagedPolicy => pb::EntityType::LocalManagedPolicy,
        Entity::AwsManagedPolicy => pb::EntityType::AwsManagedPolicy,
    }
}
