//! Tags of users, roles and customer managed policies.

use iam_api::v1 as pb;
use iam_store::library;
use iam_store::model::Tag;
use iam_store::validate::quota;
use iam_store::{ErrorCode, Op, StoreError, Taggable};
use tonic::{Request, Status};

use super::convert::{tags_in, tags_out};
use super::iam_policies::{customer_policy, policy_arn_in};
use super::iam_roles::role_arn;
use super::iam_users::user_arn;
use super::{Page, caller, entity_name, page};
use crate::auth::Caller;
use crate::errors;
use crate::node::Node;

pub async fn tag_user(
    node: &Node,
    req: Request<pb::TagUserRequest>,
) -> Result<pb::TagUserResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let resource = user_arn(node, &c.principal.account, name);
    let t = Target::new(Taggable::User, name, resource);
    let revision = tag(node, &c, t, "iam:TagUser", &r.tags, &r.idempotency_key).await?;
    Ok(pb::TagUserResponse { revision })
}

pub async fn untag_user(
    node: &Node,
    req: Request<pb::UntagUserRequest>,
) -> Result<pb::UntagUserResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let resource = user_arn(node, &c.principal.account, name);
    let t = Target::new(Taggable::User, name, resource);
    let revision = untag(
        node,
        &c,
        t,
        "iam:UntagUser",
        &r.tag_keys,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::UntagUserResponse { revision })
}

pub async fn list_user_tags(
    node: &Node,
    req: Request<pb::ListUserTagsRequest>,
) -> Result<pb::ListUserTagsResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let resource = user_arn(node, &c.principal.account, name);
    let t = Target::new(Taggable::User, name, resource);
    let p = list(node, &c, t, "iam:ListUserTags", &r.marker, r.max_items).await?;
    Ok(pb::ListUserTagsResponse {
        tags: tags_out(&p.items),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn tag_role(
    node: &Node,
    req: Request<pb::TagRoleRequest>,
) -> Result<pb::TagRoleResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("role_name", &r.role_name)?;
    let resource = role_arn(node, &c.principal.account, name).await?;
    let t = Target::new(Taggable::Role, name, resource);
    let revision = tag(node, &c, t, "iam:TagRole", &r.tags, &r.idempotency_key).await?;
    Ok(pb::TagRoleResponse { revision })
}

pub async fn untag_role(
    node: &Node,
    req: Request<pb::UntagRoleRequest>,
) -> Result<pb::UntagRoleResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("role_name", &r.role_name)?;
    let resource = role_arn(node, &c.principal.account, name).await?;
    let t = Target::new(Taggable::Role, name, resource);
    let revision = untag(
        node,
        &c,
        t,
        "iam:UntagRole",
        &r.tag_keys,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::UntagRoleResponse { revision })
}

pub async fn list_role_tags(
    node: &Node,
    req: Request<pb::ListRoleTagsRequest>,
) -> Result<pb::ListRoleTagsResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("role_name", &r.role_name)?;
    let resource = role_arn(node, &c.principal.account, name).await?;
    let t = Target::new(Taggable::Role, name, resource);
    let p = list(node, &c, t, "iam:ListRoleTags", &r.marker, r.max_items).await?;
    Ok(pb::ListRoleTagsResponse {
        tags: tags_out(&p.items),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn tag_policy(
    node: &Node,
    req: Request<pb::TagPolicyRequest>,
) -> Result<pb::TagPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    let t = Target::new(Taggable::Policy, arn, arn.to_owned());
    let revision = tag(node, &c, t, "iam:TagPolicy", &r.tags, &r.idempotency_key).await?;
    Ok(pb::TagPolicyResponse { revision })
}

pub async fn untag_policy(
    node: &Node,
    req: Request<pb::UntagPolicyRequest>,
) -> Result<pb::UntagPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    let t = Target::new(Taggable::Policy, arn, arn.to_owned());
    let revision = untag(
        node,
        &c,
        t,
        "iam:UntagPolicy",
        &r.tag_keys,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::UntagPolicyResponse { revision })
}

pub async fn list_policy_tags(
    node: &Node,
    req: Request<pb::ListPolicyTagsRequest>,
) -> Result<pb::ListPolicyTagsResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    let t = Target::new(Taggable::Policy, arn, arn.to_owned());
    let p = list(node, &c, t, "iam:ListPolicyTags", &r.marker, r.max_items).await?;
    Ok(pb::ListPolicyTagsResponse {
        tags: tags_out(&p.items),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

/// The entity a tag call names (user or role name, or policy ARN) and the ARN to authorize.
struct Target {
    kind: Taggable,
    name: String,
    resource: String,
}

impl Target {
    fn new(kind: Taggable, name: &str, resource: String) -> Self {
        Target {
            kind,
            name: name.to_owned(),
            resource,
        }
    }

    /// A managed policy's tags as `aws:ResourceTag/…` (a user's or role's are added by
    /// [`Node::authorize_with`] itself).
    async fn resource_tags(&self, node: &Node, c: &Caller) -> Result<super::Keys, Status> {
        match self.kind {
            Taggable::Policy => {
                super::iam_policies::policy_tag_keys(node, &c.principal.account, &self.resource)
                    .await
            }
            _ => Ok(Vec::new()),
        }
    }
}

async fn tag(
    node: &Node,
    c: &Caller,
    t: Target,
    action: &str,
    tags: &[pb::Tag],
    idempotency_key: &str,
) -> Result<u64, Status> {
    if tags.is_empty() {
        return Err(errors::invalid("tags", "`tags` is required"));
    }
    let mut keys = t.resource_tags(node, c).await?;
    keys.extend(super::request_tag_keys(tags));
    node.authorize_with(c, action, &t.resource, &keys)?;
    let op = Op::Tag {
        account: c.principal.account.clone(),
        target: t.kind,
        name: t.name,
        tags: tags_in(tags),
    };
    Ok(node.write(c, idempotency_key, op).await?.0)
}

async fn untag(
    node: &Node,
    c: &Caller,
    t: Target,
    action: &str,
    tag_keys: &[String],
    idempotency_key: &str,
) -> Result<u64, Status> {
    check_tag_keys(tag_keys)?;
    let mut keys = t.resource_tags(node, c).await?;
    keys.push(super::tag_keys_key(tag_keys.to_vec()));
    node.authorize_with(c, action, &t.resource, &keys)?;
    let op = Op::Untag {
        account: c.principal.account.clone(),
        target: t.kind,
        name: t.name,
        tag_keys: tag_keys.to_vec(),
    };
    Ok(node.write(c, idempotency_key, op).await?.0)
}

async fn list(
    node: &Node,
    c: &Caller,
    t: Target,
    action: &str,
    marker: &str,
    max_items: i32,
) -> Result<Page<Tag>, Status> {
    let keys = t.resource_tags(node, c).await?;
    node.authorize_with(c, action, &t.resource, &keys)?;
    let account = c.principal.account.clone();
    let mut tags = node
        .read(move |s| tags_of(s, &account, t.kind, &t.name))
        .await?
        .map_err(|e| errors::from_store(&e))?;
    tags.sort_by_key(tag_key);
    page(tags, tag_key, marker, max_items)
}

/// The tags of an entity; an AWS managed policy has none.
fn tags_of(
    s: &iam_store::IamState,
    account: &str,
    kind: Taggable,
    name: &str,
) -> Result<Vec<Tag>, StoreError> {
    let acct = s
        .account(account)
        .ok_or_else(|| StoreError::no_such("account", "account_id", account))?;
    let key = name.to_ascii_lowercase();
    match kind {
        Taggable::User => acct
            .users
            .get(&key)
            .map(|u| u.tags.clone())
            .ok_or_else(|| StoreError::no_such("user", "user_name", name)),
        Taggable::Role => acct
            .roles
            .get(&key)
            .map(|r| r.tags.clone())
            .ok_or_else(|| StoreError::no_such("role", "role_name", name)),
        Taggable::Policy if library::get(name).is_some() => Ok(Vec::new()),
        Taggable::Policy => customer_policy(s, account, name)
            .map(|p| p.tags.clone())
            .ok_or_else(|| {
                StoreError::field(
                    ErrorCode::NoSuchEntity,
                    "policy_arn",
                    format!("policy `{name}` does not exist"),
                )
            }),
    }
}

/// Tags are listed in key order; keys are unique without regard to case.
fn tag_key(t: &Tag) -> String {
    t.key.to_ascii_lowercase()
}

/// `UntagX` takes 1 to 50 keys.
fn check_tag_keys(keys: &[String]) -> Result<(), Status> {
    if keys.is_empty() {
        return Err(errors::invalid("tag_keys", "`tag_keys` is required"));
    }
    if keys.len() > quota::TAGS {
        return Err(errors::invalid(
            "tag_keys",
            format!("`tag_keys` must hold at most {} keys", quota::TAGS),
        ));
    }
    for key in keys {
        iam_store::validate::tag_key("tag_keys", key).map_err(|e| errors::from_store(&e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untag_takes_one_to_fifty_keys() {
        assert!(check_tag_keys(&[]).is_err());
        assert!(check_tag_keys(&["a".to_owned()]).is_ok());
        let many: Vec<String> = (0..=quota::TAGS).map(|i| format!("k{i}")).collect();
        assert!(check_tag_keys(&many).is_err());
        assert!(check_tag_keys(many.get(1..).unwrap_or_default()).is_ok());
        for bad in ["", "a*b", "key!"] {
            assert!(check_tag_keys(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
        assert!(check_tag_keys(&["k".repeat(129)]).is_err());
        assert!(check_tag_keys(&["cost centre".to_owned(), "k".repeat(128)]).is_ok());
    }
}
