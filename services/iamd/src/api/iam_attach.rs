//! Managed policies attached to users, groups and roles, and permissions boundaries.

use iam_api::v1 as pb;
use iam_store::{Op, PrincipalKind};
use tonic::{Request, Status};

use super::iam_policies::{name_and_path, policy_arn_in, policy_key};
use super::{Page, caller, convert, entity_name, page, permissions, principal_arn};
use crate::auth::Caller;
use crate::errors;
use crate::node::Node;

pub async fn attach_user_policy(
    node: &Node,
    req: Request<pb::AttachUserPolicyRequest>,
) -> Result<pb::AttachUserPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let revision = attach(
        node,
        &c,
        Change::attach(PrincipalKind::User, &r.user_name, &r.policy_arn)?,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::AttachUserPolicyResponse { revision })
}

pub async fn detach_user_policy(
    node: &Node,
    req: Request<pb::DetachUserPolicyRequest>,
) -> Result<pb::DetachUserPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let revision = detach(
        node,
        &c,
        Change::attach(PrincipalKind::User, &r.user_name, &r.policy_arn)?,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::DetachUserPolicyResponse { revision })
}

pub async fn attach_group_policy(
    node: &Node,
    req: Request<pb::AttachGroupPolicyRequest>,
) -> Result<pb::AttachGroupPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let revision = attach(
        node,
        &c,
        Change::attach(PrincipalKind::Group, &r.group_name, &r.policy_arn)?,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::AttachGroupPolicyResponse { revision })
}

pub async fn detach_group_policy(
    node: &Node,
    req: Request<pb::DetachGroupPolicyRequest>,
) -> Result<pb::DetachGroupPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let revision = detach(
        node,
        &c,
        Change::attach(PrincipalKind::Group, &r.group_name, &r.policy_arn)?,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::DetachGroupPolicyResponse { revision })
}

pub async fn attach_role_policy(
    node: &Node,
    req: Request<pb::AttachRolePolicyRequest>,
) -> Result<pb::AttachRolePolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let revision = attach(
        node,
        &c,
        Change::attach(PrincipalKind::Role, &r.role_name, &r.policy_arn)?,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::AttachRolePolicyResponse { revision })
}

pub async fn detach_role_policy(
    node: &Node,
    req: Request<pb::DetachRolePolicyRequest>,
) -> Result<pb::DetachRolePolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let revision = detach(
        node,
        &c,
        Change::attach(PrincipalKind::Role, &r.role_name, &r.policy_arn)?,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::DetachRolePolicyResponse { revision })
}

pub async fn list_attached_user_policies(
    node: &Node,
    req: Request<pb::ListAttachedUserPoliciesRequest>,
) -> Result<pb::ListAttachedUserPoliciesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let q = Listing::new(PrincipalKind::User, &r.user_name, &r.path_prefix)?;
    let p = list(node, &c, q, &r.marker, r.max_items).await?;
    Ok(pb::ListAttachedUserPoliciesResponse {
        attached_policies: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn list_attached_group_policies(
    node: &Node,
    req: Request<pb::ListAttachedGroupPoliciesRequest>,
) -> Result<pb::ListAttachedGroupPoliciesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let q = Listing::new(PrincipalKind::Group, &r.group_name, &r.path_prefix)?;
    let p = list(node, &c, q, &r.marker, r.max_items).await?;
    Ok(pb::ListAttachedGroupPoliciesResponse {
        attached_policies: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn list_attached_role_policies(
    node: &Node,
    req: Request<pb::ListAttachedRolePoliciesRequest>,
) -> Result<pb::ListAttachedRolePoliciesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let q = Listing::new(PrincipalKind::Role, &r.role_name, &r.path_prefix)?;
    let p = list(node, &c, q, &r.marker, r.max_items).await?;
    Ok(pb::ListAttachedRolePoliciesResponse {
        attached_policies: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn put_user_permissions_boundary(
    node: &Node,
    req: Request<pb::PutUserPermissionsBoundaryRequest>,
) -> Result<pb::PutUserPermissionsBoundaryResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let change = Change::boundary(PrincipalKind::User, &r.user_name, &r.permissions_boundary)?;
    let revision = put_boundary(node, &c, change, &r.idempotency_key).await?;
    Ok(pb::PutUserPermissionsBoundaryResponse { revision })
}

pub async fn delete_user_permissions_boundary(
    node: &Node,
    req: Request<pb::DeleteUserPermissionsBoundaryRequest>,
) -> Result<pb::DeleteUserPermissionsBoundaryResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let revision = delete_boundary(
        node,
        &c,
        PrincipalKind::User,
        &r.user_name,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::DeleteUserPermissionsBoundaryResponse { revision })
}

pub async fn put_role_permissions_boundary(
    node: &Node,
    req: Request<pb::PutRolePermissionsBoundaryRequest>,
) -> Result<pb::PutRolePermissionsBoundaryResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let change = Change::boundary(PrincipalKind::Role, &r.role_name, &r.permissions_boundary)?;
    let revision = put_boundary(node, &c, change, &r.idempotency_key).await?;
    Ok(pb::PutRolePermissionsBoundaryResponse { revision })
}

pub async fn delete_role_permissions_boundary(
    node: &Node,
    req: Request<pb::DeleteRolePermissionsBoundaryRequest>,
) -> Result<pb::DeleteRolePermissionsBoundaryResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let revision = delete_boundary(
        node,
        &c,
        PrincipalKind::Role,
        &r.role_name,
        &r.idempotency_key,
    )
    .await?;
    Ok(pb::DeleteRolePermissionsBoundaryResponse { revision })
}

/// A policy to attach to, detach from, or set as the boundary of an entity.
struct Change {
    kind: PrincipalKind,
    name: String,
    policy_arn: String,
}

impl Change {
    fn attach(kind: PrincipalKind, name: &str, policy_arn: &str) -> Result<Self, Status> {
        Self::new(kind, name, "policy_arn", policy_arn)
    }

    fn boundary(kind: PrincipalKind, name: &str, policy_arn: &str) -> Result<Self, Status> {
        Self::new(kind, name, "permissions_boundary", policy_arn)
    }

    fn new(kind: PrincipalKind, name: &str, field: &str, policy_arn: &str) -> Result<Self, Status> {
        Ok(Change {
            kind,
            name: entity_name(kind.field(), name)?.to_owned(),
            policy_arn: policy_arn_in(field, policy_arn)?.to_owned(),
        })
    }
}

/// The entity name in an action: `iam:AttachUserPolicy`, `iam:PutRolePermissionsBoundary`.
fn noun(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "User",
        PrincipalKind::Group => "Group",
        PrincipalKind::Role => "Role",
    }
}

/// Authorizes `action` on the entity, with the request's context keys: `iam:PolicyARN`
/// when a policy is attached or detached, and `iam:PermissionsBoundary`, the boundary
/// being set (`boundary`) or else the one the user or role has.
async fn authorize(
    node: &Node,
    c: &Caller,
    action: &str,
    kind: PrincipalKind,
    name: &str,
    policy_arn: Option<&str>,
    boundary: Option<&str>,
) -> Result<(), Status> {
    let account = &c.principal.account;
    let (arn, mut keys) = match boundary {
        Some(b) => (
            principal_arn(node, account, kind, name).await?,
            vec![super::boundary_key(b)],
        ),
        None => super::arn_and_boundary(node, account, kind, name).await?,
    };
    if let Some(policy) = policy_arn {
        keys.push((
            "iam:PolicyARN".to_owned(),
            iam_policy::ContextValue::Single(policy.to_owned()),
        ));
    }
    node.authorize_with(c, action, &arn, &keys)
}

async fn attach(node: &Node, c: &Caller, ch: Change, idempotency_key: &str) -> Result<u64, Status> {
    let action = format!("iam:Attach{}Policy", noun(ch.kind));
    authorize(
        node,
        c,
        &action,
        ch.kind,
        &ch.name,
        Some(&ch.policy_arn),
        None,
    )
    .await?;
    let op = Op::AttachPolicy {
        account: c.principal.account.clone(),
        kind: ch.kind,
        name: ch.name,
        policy_arn: ch.policy_arn,
    };
    Ok(node.write(c, idempotency_key, op).await?.0)
}

async fn detach(node: &Node, c: &Caller, ch: Change, idempotency_key: &str) -> Result<u64, Status> {
    let action = format!("iam:Detach{}Policy", noun(ch.kind));
    authorize(
        node,
        c,
        &action,
        ch.kind,
        &ch.name,
        Some(&ch.policy_arn),
        None,
    )
    .await?;
    let op = Op::DetachPolicy {
        account: c.principal.account.clone(),
        kind: ch.kind,
        name: ch.name,
        policy_arn: ch.policy_arn,
    };
    Ok(node.write(c, idempotency_key, op).await?.0)
}

async fn put_boundary(
    node: &Node,
    c: &Caller,
    ch: Change,
    idempotency_key: &str,
) -> Result<u64, Status> {
    let action = format!("iam:Put{}PermissionsBoundary", noun(ch.kind));
    authorize(
        node,
        c,
        &action,
        ch.kind,
        &ch.name,
        None,
        Some(&ch.policy_arn),
    )
    .await?;
    let op = Op::PutPermissionsBoundary {
        account: c.principal.account.clone(),
        kind: ch.kind,
        name: ch.name,
        permissions_boundary: ch.policy_arn,
    };
    Ok(node.write(c, idempotency_key, op).await?.0)
}

async fn delete_boundary(
    node: &Node,
    c: &Caller,
    kind: PrincipalKind,
    name: &str,
    idempotency_key: &str,
) -> Result<u64, Status> {
    let name = entity_name(kind.field(), name)?;
    let action = format!("iam:Delete{}PermissionsBoundary", noun(kind));
    authorize(node, c, &action, kind, name, None, None).await?;
    let op = Op::DeletePermissionsBoundary {
        account: c.principal.account.clone(),
        kind,
        name: name.to_owned(),
    };
    Ok(node.write(c, idempotency_key, op).await?.0)
}

/// The entity whose attached policies are listed, and the path they must start with.
struct Listing {
    kind: PrincipalKind,
    name: String,
    prefix: String,
}

impl Listing {
    fn new(kind: PrincipalKind, name: &str, path_prefix: &str) -> Result<Self, Status> {
        Ok(Listing {
            kind,
            name: entity_name(kind.field(), name)?.to_owned(),
            prefix: super::path_prefix(path_prefix)?,
        })
    }
}

async fn list(
    node: &Node,
    c: &Caller,
    q: Listing,
    marker: &str,
    max_items: i32,
) -> Result<Page<pb::AttachedPolicy>, Status> {
    let action = format!("iam:ListAttached{}Policies", noun(q.kind));
    let arn = principal_arn(node, &c.principal.account, q.kind, &q.name).await?;
    node.authorize(c, &action, &arn)?;
    let account = c.principal.account.clone();
    let mut attached = node
        .read(move |s| {
            let arns = &permissions(s, &account, q.kind, &q.name)?.attached;
            Ok(arns
                .iter()
                .map(|arn| (name_and_path(s, &account, arn), arn))
                .filter(|((_, path), _)| path.starts_with(&q.prefix))
                .map(|((name, _), arn)| convert::attached_policy(&name, arn))
                .collect::<Vec<_>>())
        })
        .await?
        .map_err(|e| errors::from_store(&e))?;
    attached.sort_by_key(|p| policy_key(&p.policy_name, &p.policy_arn));
    page(
        attached,
        |p| policy_key(&p.policy_name, &p.policy_arn),
        marker,
        max_items,
    )
}
