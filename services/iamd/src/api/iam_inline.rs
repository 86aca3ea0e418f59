//! Inline policies of users, groups and roles.

use iam_api::v1 as pb;
use iam_store::{Op, PrincipalKind, StoreError};
use tonic::{Request, Status};

use super::{Page, caller, entity_name, page, permissions, principal_arn, required};
use crate::auth::Caller;
use crate::errors;
use crate::node::Node;

pub async fn put_user_policy(
    node: &Node,
    req: Request<pb::PutUserPolicyRequest>,
) -> Result<pb::PutUserPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::User, &r.user_name, &r.policy_name)?;
    let revision = put(node, &c, target, &r.policy_document, &r.idempotency_key).await?;
    Ok(pb::PutUserPolicyResponse { revision })
}

pub async fn get_user_policy(
    node: &Node,
    req: Request<pb::GetUserPolicyRequest>,
) -> Result<pb::GetUserPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::User, &r.user_name, &r.policy_name)?;
    let policy_document = get(node, &c, target).await?;
    Ok(pb::GetUserPolicyResponse {
        user_name: r.user_name,
        policy_name: r.policy_name,
        policy_document,
    })
}

pub async fn delete_user_policy(
    node: &Node,
    req: Request<pb::DeleteUserPolicyRequest>,
) -> Result<pb::DeleteUserPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::User, &r.user_name, &r.policy_name)?;
    let revision = delete(node, &c, target, &r.idempotency_key).await?;
    Ok(pb::DeleteUserPolicyResponse { revision })
}

pub async fn list_user_policies(
    node: &Node,
    req: Request<pb::ListUserPoliciesRequest>,
) -> Result<pb::ListUserPoliciesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let p = list(
        node,
        &c,
        PrincipalKind::User,
        &r.user_name,
        &r.marker,
        r.max_items,
    )
    .await?;
    Ok(pb::ListUserPoliciesResponse {
        policy_names: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn put_group_policy(
    node: &Node,
    req: Request<pb::PutGroupPolicyRequest>,
) -> Result<pb::PutGroupPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::Group, &r.group_name, &r.policy_name)?;
    let revision = put(node, &c, target, &r.policy_document, &r.idempotency_key).await?;
    Ok(pb::PutGroupPolicyResponse { revision })
}

pub async fn get_group_policy(
    node: &Node,
    req: Request<pb::GetGroupPolicyRequest>,
) -> Result<pb::GetGroupPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::Group, &r.group_name, &r.policy_name)?;
    let policy_document = get(node, &c, target).await?;
    Ok(pb::GetGroupPolicyResponse {
        group_name: r.group_name,
        policy_name: r.policy_name,
        policy_document,
    })
}

pub async fn delete_group_policy(
    node: &Node,
    req: Request<pb::DeleteGroupPolicyRequest>,
) -> Result<pb::DeleteGroupPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::Group, &r.group_name, &r.policy_name)?;
    let revision = delete(node, &c, target, &r.idempotency_key).await?;
    Ok(pb::DeleteGroupPolicyResponse { revision })
}

pub async fn list_group_policies(
    node: &Node,
    req: Request<pb::ListGroupPoliciesRequest>,
) -> Result<pb::ListGroupPoliciesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let p = list(
        node,
        &c,
        PrincipalKind::Group,
        &r.group_name,
        &r.marker,
        r.max_items,
    )
    .await?;
    Ok(pb::ListGroupPoliciesResponse {
        policy_names: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn put_role_policy(
    node: &Node,
    req: Request<pb::PutRolePolicyRequest>,
) -> Result<pb::PutRolePolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::Role, &r.role_name, &r.policy_name)?;
    let revision = put(node, &c, target, &r.policy_document, &r.idempotency_key).await?;
    Ok(pb::PutRolePolicyResponse { revision })
}

pub async fn get_role_policy(
    node: &Node,
    req: Request<pb::GetRolePolicyRequest>,
) -> Result<pb::GetRolePolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::Role, &r.role_name, &r.policy_name)?;
    let policy_document = get(node, &c, target).await?;
    Ok(pb::GetRolePolicyResponse {
        role_name: r.role_name,
        policy_name: r.policy_name,
        policy_document,
    })
}

pub async fn delete_role_policy(
    node: &Node,
    req: Request<pb::DeleteRolePolicyRequest>,
) -> Result<pb::DeleteRolePolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let target = Target::new(PrincipalKind::Role, &r.role_name, &r.policy_name)?;
    let revision = delete(node, &c, target, &r.idempotency_key).await?;
    Ok(pb::DeleteRolePolicyResponse { revision })
}

pub async fn list_role_policies(
    node: &Node,
    req: Request<pb::ListRolePoliciesRequest>,
) -> Result<pb::ListRolePoliciesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let p = list(
        node,
        &c,
        PrincipalKind::Role,
        &r.role_name,
        &r.marker,
        r.max_items,
    )
    .await?;
    Ok(pb::ListRolePoliciesResponse {
        policy_names: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

/// The inline policy a call names: whose, and which.
struct Target {
    kind: PrincipalKind,
    name: String,
    policy_name: String,
}

impl Target {
    fn new(kind: PrincipalKind, name: &str, policy_name: &str) -> Result<Self, Status> {
        Ok(Target {
            kind,
            name: entity_name(kind.field(), name)?.to_owned(),
            policy_name: entity_name("policy_name", policy_name)?.to_owned(),
        })
    }
}

/// `iam:PutUserPolicy`, `iam:GetGroupPolicy`, … : the action of a verb on a kind.
fn action(verb: &str, kind: PrincipalKind, suffix: &str) -> String {
    let noun = match kind {
        PrincipalKind::User => "User",
        PrincipalKind::Group => "Group",
        PrincipalKind::Role => "Role",
    };
    format!("iam:{verb}{noun}{suffix}")
}

async fn authorize(
    node: &Node,
    c: &Caller,
    verb: &str,
    kind: PrincipalKind,
    name: &str,
    suffix: &str,
) -> Result<(), Status> {
    let account = &c.principal.account;
    // AWS sets `iam:PermissionsBoundary` (the user's or role's) for the changes only.
    let (arn, keys) = if matches!(verb, "Put" | "Delete") {
        super::arn_and_boundary(node, account, kind, name).await?
    } else {
        (principal_arn(node, account, kind, name).await?, Vec::new())
    };
    node.authorize_with(c, &action(verb, kind, suffix), &arn, &keys)
}

async fn put(
    node: &Node,
    c: &Caller,
    t: Target,
    document: &str,
    idempotency_key: &str,
) -> Result<u64, Status> {
    let document = required("policy_document", document)?;
    authorize(node, c, "Put", t.kind, &t.name, "Policy").await?;
    let op = Op::PutInlinePolicy {
        account: c.principal.account.clone(),
        kind: t.kind,
        name: t.name,
        policy_name: t.policy_name,
        policy_document: document.to_owned(),
    };
    Ok(node.write(c, idempotency_key, op).await?.0)
}

async fn get(node: &Node, c: &Caller, t: Target) -> Result<String, Status> {
    authorize(node, c, "Get", t.kind, &t.name, "Policy").await?;
    let account = c.principal.account.clone();
    node.read(move |s| {
        permissions(s, &account, t.kind, &t.name)?
            .inline
            .get(&t.policy_name)
            .cloned()
            .ok_or_else(|| StoreError::no_such("policy", "policy_name", &t.policy_name))
    })
    .await?
    .map_err(|e| errors::from_store(&e))
}

async fn delete(node: &Node, c: &Caller, t: Target, idempotency_key: &str) -> Result<u64, Status> {
    authorize(node, c, "Delete", t.kind, &t.name, "Policy").await?;
    let op = Op::DeleteInlinePolicy {
        account: c.principal.account.clone(),
        kind: t.kind,
        name: t.name,
        policy_name: t.policy_name,
    };
    Ok(node.write(c, idempotency_key, op).await?.0)
}

async fn list(
    node: &Node,
    c: &Caller,
    kind: PrincipalKind,
    name: &str,
    marker: &str,
    max_items: i32,
) -> Result<Page<String>, Status> {
    let name = entity_name(kind.field(), name)?.to_owned();
    authorize(node, c, "List", kind, &name, "Policies").await?;
    let account = c.principal.account.clone();
    // The names in map order, which is the order `page` needs.
    let names = node
        .read(move |s| {
            permissions(s, &account, kind, &name).map(|p| p.inline.keys().cloned().collect())
        })
        .await?
        .map_err(|e| errors::from_store(&e))?;
    page(names, String::clone, marker, max_items)
}
