//! Tags of users, roles and managed policies: `tag-`, `untag-` and
//! `list-{user,role,policy}-tags`.

use clap::Subcommand;
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;
use crate::paramfile::{self, TagSet};

/// The tag commands.
#[derive(Debug, Subcommand)]
pub(crate) enum TagCommand {
    /// Adds tags to a user, replacing the values of keys it already has.
    TagUser {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// Tags: `Key=k,Value=v …`, a JSON list, or `file://tags.json`.
        #[arg(long, required = true, num_args = 1.., value_parser = paramfile::tags)]
        tags: Vec<TagSet>,
    },
    /// Removes tags from a user.
    UntagUser {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        /// The keys to remove.
        #[arg(long, required = true, num_args = 1..)]
        tag_keys: Vec<String>,
    },
    /// Lists a user's tags.
    ListUserTags {
        /// The user's name.
        #[arg(long)]
        user_name: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Adds tags to a role, replacing the values of keys it already has.
    TagRole {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// Tags: `Key=k,Value=v …`, a JSON list, or `file://tags.json`.
        #[arg(long, required = true, num_args = 1.., value_parser = paramfile::tags)]
        tags: Vec<TagSet>,
    },
    /// Removes tags from a role.
    UntagRole {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        /// The keys to remove.
        #[arg(long, required = true, num_args = 1..)]
        tag_keys: Vec<String>,
    },
    /// Lists a role's tags.
    ListRoleTags {
        /// The role's name.
        #[arg(long)]
        role_name: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Adds tags to a customer managed policy.
    TagPolicy {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        /// Tags: `Key=k,Value=v …`, a JSON list, or `file://tags.json`.
        #[arg(long, required = true, num_args = 1.., value_parser = paramfile::tags)]
        tags: Vec<TagSet>,
    },
    /// Removes tags from a customer managed policy.
    UntagPolicy {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        /// The keys to remove.
        #[arg(long, required = true, num_args = 1..)]
        tag_keys: Vec<String>,
    },
    /// Lists a managed policy's tags.
    ListPolicyTags {
        /// The policy's ARN.
        #[arg(long)]
        policy_arn: String,
        #[command(flatten)]
        page: PageArgs,
    },
}

impl TagCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let iam = &mut ctx.iam;
        use TagCommand as C;
        match self {
            C::TagUser { user_name, tags } => call!(
                iam,
                tag_user,
                "TagUser",
                pb::TagUserRequest {
                    user_name,
                    tags: TagSet::flatten(tags),
                    ..Default::default()
                }
            ),
            C::UntagUser {
                user_name,
                tag_keys,
            } => call!(
                iam,
                untag_user,
                "UntagUser",
                pb::UntagUserRequest {
                    user_name,
                    tag_keys,
                    ..Default::default()
                }
            ),
            C::ListUserTags { user_name, page } => list!(
                iam,
                &page,
                list_user_tags,
                "ListUserTags",
                |marker, max_items| pb::ListUserTagsRequest {
                    user_name: user_name.clone(),
                    marker,
                    max_items,
                }
            ),
            C::TagRole { role_name, tags } => call!(
                iam,
                tag_role,
                "TagRole",
                pb::TagRoleRequest {
                    role_name,
                    tags: TagSet::flatten(tags),
                    ..Default::default()
                }
            ),
            C::UntagRole {
                role_name,
                tag_keys,
            } => call!(
                iam,
                untag_role,
                "UntagRole",
                pb::UntagRoleRequest {
                    role_name,
                    tag_keys,
                    ..Default::default()
                }
            ),
            C::ListRoleTags { role_name, page } => list!(
                iam,
                &page,
                list_role_tags,
                "ListRoleTags",
                |marker, max_items| pb::ListRoleTagsRequest {
                    role_name: role_name.clone(),
                    marker,
                    max_items,
                }
            ),
            C::TagPolicy { policy_arn, tags } => call!(
                iam,
                tag_policy,
                "TagPolicy",
                pb::TagPolicyRequest {
                    policy_arn,
                    tags: TagSet::flatten(tags),
                    ..Default::default()
                }
            ),
            C::UntagPolicy {
                policy_arn,
                tag_keys,
            } => call!(
                iam,
                untag_policy,
                "UntagPolicy",
                pb::UntagPolicyRequest {
                    policy_arn,
                    tag_keys,
                    ..Default::default()
                }
            ),
            C::ListPolicyTags { policy_arn, page } => list!(
                iam,
                &page,
                list_policy_tags,
                "ListPolicyTags",
                |marker, max_items| pb::ListPolicyTagsRequest {
                    policy_arn: policy_arn.clone(),
                    marker,
                    max_items,
                }
            ),
        }
    }
}
