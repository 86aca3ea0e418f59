//! Roles and their trust policies.

use iam_api::v1 as pb;
use iam_store::{Op, Outcome, PrincipalKind, StoreError};
use tonic::{Request, Status};

use super::convert::{self, tags_in};
use super::{caller, entity_name, page, path_or_root, path_prefix, required};
use crate::errors;
use crate::node::Node;

/// The longest session of a role created without `max_session_duration`, as in AWS.
pub const DEFAULT_MAX_SESSION: u32 = 3_600;

/// The ARN of a role of the account: from the state when it exists, else without a path.
pub async fn role_arn(node: &Node, account: &str, name: &str) -> Result<String, Status> {
    let (acct, key) = (account.to_owned(), name.to_ascii_lowercase());
    let found = node
        .read(move |s| {
            s.account(&acct)
                .and_then(|a| a.roles.get(&key))
                .map(|r| r.arn.clone())
        })
        .await?;
    Ok(found.unwrap_or_else(|| format!("arn:aws:iam::{account}:role/{name}")))
}

/// Authorizes `action` on the role `name` with its `iam:PermissionsBoundary`, as AWS sets it
/// for `UpdateRole`, `DeleteRole` and `UpdateAssumeRolePolicy`.
async fn authorize_on_role(
    node: &Node,
    c: &crate::auth::Caller,
    action: &str,
    name: &str,
) -> Result<(), Status> {
    let (arn, boundary) =
        super::arn_and_boundary(node, &c.principal.account, PrincipalKind::Role, name).await?;
    node.authorize_with(c, action, &arn, &boundary)
}

pub async fn create_role(
    node: &Node,
    req: Request<pb::CreateRoleRequest>,
) -> Result<pb::CreateRoleResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("role_name", &r.role_name)?;
    let trust = required(
        "assume_role_policy_document",
        &r.assume_role_policy_document,
    )?;
    let max_session_duration = match r.max_session_duration {
        0 => DEFAULT_MAX_SESSION,
        n => convert::non_negative("max_session_duration", n)?,
    };
    let path = path_or_root(&r.path);
    let account = c.principal.account.clone();
    super::authorize_create(
        node,
        &c,
        ("iam:CreateRole", "iam:TagRole"),
        &format!("arn:aws:iam::{account}:role{path}{name}"),
        &r.tags,
        &r.permissions_boundary,
    )?;
    let op = Op::CreateRole {
        account,
        role_name: name.to_owned(),
        path,
        assume_role_policy_document: trust.to_owned(),
        description: r.description.clone(),
        max_session_duration,
        tags: tags_in(&r.tags),
        permissions_boundary: (!r.permissions_boundary.is_empty())
            .then(|| r.permissions_boundary.clone()),
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::Role(role) = outcome else {
        return Err(errors::internal("create role answered no role"));
    };
    Ok(pb::CreateRoleResponse {
        role: Some(convert::role(&role)),
        revision,
    })
}

pub async fn get_role(
    node: &Node,
    req: Request<pb::GetRoleRequest>,
) -> Result<pb::GetRoleResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("role_name", &r.role_name)?;
    let account = c.principal.account.clone();
    node.authorize(&c, "iam:GetRole", &role_arn(node, &account, name).await?)?;
    let key = name.to_ascii_lowercase();
    let role = node
        .read(move |s| s.account(&account).and_then(|a| a.roles.get(&key).cloned()))
        .await?
        .ok_or_else(|| {
            errors::from_store(&StoreError::no_such("role", "role_name", &r.role_name))
        })?;
    Ok(pb::GetRoleResponse {
        role: Some(convert::role(&role)),
    })
}

pub async fn update_role(
    node: &Node,
    req: Request<pb::UpdateRoleRequest>,
) -> Result<pb::UpdateRoleResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("role_name", &r.role_name)?;
    let max_session_duration = r
        .max_session_duration
        .map(|n| convert::non_negative("max_session_duration", n))
        .transpose()?;
    let account = c.principal.account.clone();
    authorize_on_role(node, &c, "iam:UpdateRole", name).await?;
    let op = Op::UpdateRole {
        account,
        role_name: name.to_owned(),
        description: r.description.clone(),
        max_session_duration,
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::UpdateRoleResponse { revision })
}

pub async fn delete_role(
    node: &Node,
    req: Request<pb::DeleteRoleRequest>,
) -> Result<pb::DeleteRoleResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("role_name", &r.role_name)?;
    let account = c.principal.account.clone();
    authorize_on_role(node, &c, "iam:DeleteRole", name).await?;
    let op = Op::DeleteRole {
        account,
        role_name: name.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeleteRoleResponse { revision })
}

pub async fn list_roles(
    node: &Node,
    req: Request<pb::ListRolesRequest>,
) -> Result<pb::ListRolesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:ListRoles",
        &format!("arn:aws:iam::{account}:role/"),
    )?;
    let prefix = path_prefix(&r.path_prefix)?;
    let roles = node
        .read(move |s| {
            s.account(&account)
                .map(|a| {
                    a.roles
                        .values()
                        .filter(|role| role.path.starts_with(&prefix))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .await?;
    let p = page(
        roles,
        |role| role.name.to_ascii_lowercase(),
        &r.marker,
        r.max_items,
    )?;
    Ok(pb::ListRolesResponse {
        roles: p.items.iter().map(convert::role_summary).collect(),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn update_assume_role_policy(
    node: &Node,
    req: Request<pb::UpdateAssumeRolePolicyRequest>,
) -> Result<pb::UpdateAssumeRolePolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("role_name", &r.role_name)?;
    let document = required("policy_document", &r.policy_document)?;
    let account = c.principal.account.clone();
    authorize_on_role(node, &c, "iam:UpdateAssumeRolePolicy", name).await?;
    let op = Op::UpdateAssumeRolePolicy {
        account,
        role_name: name.to_owned(),
        policy_document: document.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::UpdateAssumeRolePolicyResponse { revision })
}
