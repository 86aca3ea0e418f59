//! Groups and their members.

use iam_api::v1 as pb;
use iam_store::model::{Group, User};
use iam_store::{Op, Outcome, StoreError};
use tonic::{Request, Status};

use super::{caller, convert, entity_name, iam_users, page, path_or_root, path_prefix};
use crate::errors;
use crate::node::Node;

/// The ARN of a group of the account: from the state when it exists, else without a path.
pub async fn group_arn(node: &Node, account: &str, name: &str) -> Result<String, Status> {
    let (acct, key) = (account.to_owned(), name.to_ascii_lowercase());
    let found = node
        .read(move |s| {
            s.account(&acct)
                .and_then(|a| a.groups.get(&key))
                .map(|g| g.arn.clone())
        })
        .await?;
    Ok(found.unwrap_or_else(|| format!("arn:aws:iam::{account}:group/{name}")))
}

pub async fn create_group(
    node: &Node,
    req: Request<pb::CreateGroupRequest>,
) -> Result<pb::CreateGroupResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("group_name", &r.group_name)?;
    let path = path_or_root(&r.path);
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:CreateGroup",
        &format!("arn:aws:iam::{account}:group{path}{name}"),
    )?;
    let op = Op::CreateGroup {
        account,
        group_name: name.to_owned(),
        path,
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::Group(g) = outcome else {
        return Err(errors::internal("create group answered no group"));
    };
    Ok(pb::CreateGroupResponse {
        group: Some(convert::group(&g)),
        revision,
    })
}

pub async fn get_group(
    node: &Node,
    req: Request<pb::GetGroupRequest>,
) -> Result<pb::GetGroupResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("group_name", &r.group_name)?;
    let account = c.principal.account.clone();
    node.authorize(&c, "iam:GetGroup", &group_arn(node, &account, name).await?)?;
    let key = name.to_ascii_lowercase();
    let (group, members) = node
        .read(move |s| {
            let acct = s.account(&account)?;
            let group = acct.groups.get(&key)?.clone();
            let members: Vec<User> = group
                .members
                .iter()
                .filter_map(|m| acct.users.get(m).cloned())
                .collect();
            Some((group, members))
        })
        .await?
        .ok_or_else(|| no_such_group(&r.group_name))?;
    let p = page(
        members,
        |u| u.name.to_ascii_lowercase(),
        &r.marker,
        r.max_items,
    )?;
    Ok(pb::GetGroupResponse {
        group: Some(convert::group(&group)),
        users: p.items.iter().map(convert::user).collect(),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn update_group(
    node: &Node,
    req: Request<pb::UpdateGroupRequest>,
) -> Result<pb::UpdateGroupResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("group_name", &r.group_name)?;
    let account = c.principal.account.clone();
    let current = group_arn(node, &account, name).await?;
    node.authorize(&c, "iam:UpdateGroup", &current)?;
    if !r.new_group_name.is_empty() {
        entity_name("new_group_name", &r.new_group_name)?;
    }
    let new_name = (!r.new_group_name.is_empty()).then(|| r.new_group_name.clone());
    let new_path = (!r.new_path.is_empty()).then(|| r.new_path.clone());
    // As in AWS, a rename or move needs the permission on the new ARN as well.
    if new_name.is_some() || new_path.is_some() {
        let (path, old_name) = path_and_name(node, &account, name).await?;
        let target = format!(
            "arn:aws:iam::{account}:group{}{}",
            new_path.as_deref().unwrap_or(&path),
            new_name.as_deref().unwrap_or(&old_name),
        );
        if target != current {
            node.authorize(&c, "iam:UpdateGroup", &target)?;
        }
    }
    let op = Op::UpdateGroup {
        account,
        group_name: name.to_owned(),
        new_group_name: new_name,
        new_path,
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::UpdateGroupResponse { revision })
}

pub async fn delete_group(
    node: &Node,
    req: Request<pb::DeleteGroupRequest>,
) -> Result<pb::DeleteGroupResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("group_name", &r.group_name)?;
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:DeleteGroup",
        &group_arn(node, &account, name).await?,
    )?;
    let op = Op::DeleteGroup {
        account,
        group_name: name.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeleteGroupResponse { revision })
}

pub async fn list_groups(
    node: &Node,
    req: Request<pb::ListGroupsRequest>,
) -> Result<pb::ListGroupsResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:ListGroups",
        &format!("arn:aws:iam::{account}:group/"),
    )?;
    let prefix = path_prefix(&r.path_prefix)?;
    let groups = node
        .read(move |s| {
            s.account(&account)
                .map(|a| {
                    a.groups
                        .values()
                        .filter(|g| g.path.starts_with(&prefix))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .await?;
    let p = page(groups, group_key, &r.marker, r.max_items)?;
    Ok(pb::ListGroupsResponse {
        groups: p.items.iter().map(convert::group).collect(),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn add_user_to_group(
    node: &Node,
    req: Request<pb::AddUserToGroupRequest>,
) -> Result<pb::AddUserToGroupResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let group = entity_name("group_name", &r.group_name)?;
    let user = entity_name("user_name", &r.user_name)?;
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:AddUserToGroup",
        &group_arn(node, &account, group).await?,
    )?;
    let op = Op::AddUserToGroup {
        account,
        group_name: group.to_owned(),
        user_name: user.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::AddUserToGroupResponse { revision })
}

pub async fn remove_user_from_group(
    node: &Node,
    req: Request<pb::RemoveUserFromGroupRequest>,
) -> Result<pb::RemoveUserFromGroupResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let group = entity_name("group_name", &r.group_name)?;
    let user = entity_name("user_name", &r.user_name)?;
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:RemoveUserFromGroup",
        &group_arn(node, &account, group).await?,
    )?;
    let op = Op::RemoveUserFromGroup {
        account,
        group_name: group.to_owned(),
        user_name: user.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::RemoveUserFromGroupResponse { revision })
}

pub async fn list_groups_for_user(
    node: &Node,
    req: Request<pb::ListGroupsForUserRequest>,
) -> Result<pb::ListGroupsForUserResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:ListGroupsForUser",
        &iam_users::user_arn(node, &account, name),
    )?;
    let key = name.to_ascii_lowercase();
    let groups = node
        .read(move |s| {
            let acct = s.account(&account)?;
            let user = acct.users.get(&key)?;
            Some(
                user.groups
                    .iter()
                    .filter_map(|g| acct.groups.get(g).cloned())
                    .collect::<Vec<_>>(),
            )
        })
        .await?
        .ok_or_else(|| {
            errors::from_store(&StoreError::no_such("user", "user_name", &r.user_name))
        })?;
    let p = page(groups, group_key, &r.marker, r.max_items)?;
    Ok(pb::ListGroupsForUserResponse {
        groups: p.items.iter().map(convert::group).collect(),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

/// The page key of a group: its lowercased name (the map key, so the order of the map).
fn group_key(g: &Group) -> String {
    g.name.to_ascii_lowercase()
}

fn no_such_group(name: &str) -> Status {
    errors::from_store(&StoreError::no_such("group", "group_name", name))
}

/// The path and name of an existing group.
async fn path_and_name(node: &Node, account: &str, name: &str) -> Result<(String, String), Status> {
    let (acct, key) = (account.to_owned(), name.to_ascii_lowercase());
    node.read(move |s| {
        s.account(&acct)
            .and_then(|a| a.groups.get(&key))
            .map(|g| (g.path.clone(), g.name.clone()))
    })
    .await?
    .ok_or_else(|| no_such_group(name))
}
