//! Users and their access keys.

use iam_api::v1 as pb;
use iam_store::model::KeyStatus;
use iam_store::view::{AuthzView, PrincipalKind};
use iam_store::{Op, Outcome};
use iam_sts::secrets;
use tonic::{Request, Status};

use super::convert::{self, tags_in};
use super::{caller, entity_name, page, path_or_root, path_prefix, required};
use crate::errors;
use crate::node::Node;

/// The ARN of a user of the account: from the view when it exists, else without a path.
pub fn user_arn(node: &Node, account: &str, name: &str) -> String {
    let key = AuthzView::principal_key(account, PrincipalKind::User, name);
    node.view
        .load()
        .principal(&key)
        .map(|p| p.arn.clone())
        .unwrap_or_else(|| format!("arn:aws:iam::{account}:user/{name}"))
}

pub async fn create_user(
    node: &Node,
    req: Request<pb::CreateUserRequest>,
) -> Result<pb::CreateUserResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let path = path_or_root(&r.path);
    let account = c.principal.account.clone();
    super::authorize_create(
        node,
        &c,
        ("iam:CreateUser", "iam:TagUser"),
        &format!("arn:aws:iam::{account}:user{path}{name}"),
        &r.tags,
        &r.permissions_boundary,
    )?;
    let op = Op::CreateUser {
        account,
        user_name: name.to_owned(),
        path,
        tags: tags_in(&r.tags),
        permissions_boundary: (!r.permissions_boundary.is_empty())
            .then(|| r.permissions_boundary.clone()),
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::User(u) = outcome else {
        return Err(errors::internal("create user answered no user"));
    };
    Ok(pb::CreateUserResponse {
        user: Some(convert::user(&u)),
        revision,
    })
}

pub async fn get_user(
    node: &Node,
    req: Request<pb::GetUserRequest>,
) -> Result<pb::GetUserResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let account = c.principal.account.clone();
    let name = if r.user_name.is_empty() {
        c.principal.name.clone()
    } else {
        entity_name("user_name", &r.user_name)?.to_owned()
    };
    if r.user_name.is_empty() && c.principal.kind == PrincipalKind::Root {
        return Ok(pb::GetUserResponse {
            user: Some(pb::User {
                path: "/".into(),
                user_name: String::new(),
                user_id: account.clone(),
                arn: c.principal.arn.clone(),
                ..pb::User::default()
            }),
        });
    }
    node.authorize(&c, "iam:GetUser", &user_arn(node, &account, &name))?;
    let user = node
        .read(move |s| {
            s.account(&account)
                .and_then(|a| a.users.get(&name.to_ascii_lowercase()).cloned())
        })
        .await?
        .ok_or_else(|| {
            errors::from_store(&iam_store::StoreError::no_such(
                "user",
                "user_name",
                &r.user_name,
            ))
        })?;
    Ok(pb::GetUserResponse {
        user: Some(convert::user(&user)),
    })
}

pub async fn update_user(
    node: &Node,
    req: Request<pb::UpdateUserRequest>,
) -> Result<pb::UpdateUserResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let account = c.principal.account.clone();
    let current = user_arn(node, &account, name);
    node.authorize(&c, "iam:UpdateUser", &current)?;
    if !r.new_user_name.is_empty() {
        entity_name("new_user_name", &r.new_user_name)?;
    }
    let new_user_name = (!r.new_user_name.is_empty()).then(|| r.new_user_name.clone());
    let new_path = (!r.new_path.is_empty()).then(|| r.new_path.clone());
    // As in AWS (and UpdateGroup), a rename or move needs the permission on the new ARN too.
    if new_user_name.is_some() || new_path.is_some() {
        let prefix = format!("arn:aws:iam::{account}:user");
        let rest = current.strip_prefix(&prefix).unwrap_or("/");
        let (path, old_name) = rest
            .rfind('/')
            .map_or(("/", rest), |i| (&rest[..=i], &rest[i + 1..]));
        let target = format!(
            "{prefix}{}{}",
            new_path.as_deref().unwrap_or(path),
            new_user_name.as_deref().unwrap_or(old_name),
        );
        if target != current {
            node.authorize(&c, "iam:UpdateUser", &target)?;
        }
    }
    let op = Op::UpdateUser {
        account,
        user_name: name.to_owned(),
        new_user_name,
        new_path,
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::UpdateUserResponse { revision })
}

pub async fn delete_user(
    node: &Node,
    req: Request<pb::DeleteUserRequest>,
) -> Result<pb::DeleteUserResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let account = c.principal.account.clone();
    node.authorize(&c, "iam:DeleteUser", &user_arn(node, &account, name))?;
    let op = Op::DeleteUser {
        account,
        user_name: name.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeleteUserResponse { revision })
}

pub async fn list_users(
    node: &Node,
    req: Request<pb::ListUsersRequest>,
) -> Result<pb::ListUsersResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:ListUsers",
        &format!("arn:aws:iam::{account}:user/"),
    )?;
    let prefix = path_prefix(&r.path_prefix)?;
    let users = node
        .read(move |s| {
            s.account(&account)
                .map(|a| {
                    a.users
                        .values()
                        .filter(|u| u.path.starts_with(&prefix))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .await?;
    let p = page(
        users,
        |u| u.name.to_ascii_lowercase(),
        &r.marker,
        r.max_items,
    )?;
    Ok(pb::ListUsersResponse {
        users: p.items.iter().map(convert::user).collect(),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

/// An access key id named by a call: AWS's `[\w]+` of 16 to 128 characters, checked
/// before any lookup so that a malformed one is `InvalidArgument`, not `NoSuchEntity`.
fn access_key_id(value: &str) -> Result<&str, Status> {
    let id = required("access_key_id", value)?;
    let well_formed = (16..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if well_formed {
        Ok(id)
    } else {
        Err(errors::invalid(
            "access_key_id",
            "`access_key_id` must be 16 to 128 letters, digits or underscores",
        ))
    }
}

/// The user an access-key call targets: the named one, else the caller (IAM user), else the
/// account root (`None`).
fn key_owner(c: &crate::auth::Caller, user_name: &str) -> Result<Option<String>, Status> {
    if !user_name.is_empty() {
        Ok(Some(entity_name("user_name", user_name)?.to_owned()))
    } else if c.principal.kind == PrincipalKind::User {
        Ok(Some(c.principal.name.clone()))
    } else {
        Ok(None)
    }
}

fn owner_arn(node: &Node, c: &crate::auth::Caller, owner: Option<&str>) -> String {
    match owner {
        Some(u) => user_arn(node, &c.principal.account, u),
        None => c.principal.arn.clone(),
    }
}

pub async fn create_access_key(
    node: &Node,
    req: Request<pb::CreateAccessKeyRequest>,
) -> Result<pb::CreateAccessKeyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let owner = key_owner(&c, &r.user_name)?;
    node.authorize(
        &c,
        "iam:CreateAccessKey",
        &owner_arn(node, &c, owner.as_deref()),
    )?;
    let access_key_id =
        secrets::new_access_key_id().map_err(|e| errors::internal(&e.to_string()))?;
    let secret = secrets::new_secret_access_key().map_err(|e| errors::internal(&e.to_string()))?;
    let sealed_secret = node
        .cluster_key
        .seal(&secret)
        .map_err(|e| errors::internal(&e.to_string()))?;
    let op = Op::CreateAccessKey {
        account: c.principal.account.clone(),
        user_name: owner.clone(),
        access_key_id,
        sealed_secret,
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::AccessKey(k) = outcome else {
        return Err(errors::internal("create access key answered no key"));
    };
    // A retried request answers the first key: its secret is opened from the store.
    let secret = node
        .cluster_key
        .unseal(&k.sealed_secret)
        .map_err(|e| errors::internal(&e.to_string()))?;
    Ok(pb::CreateAccessKeyResponse {
        access_key: Some(pb::AccessKey {
            user_name: owner.unwrap_or_default(),
            access_key_id: k.access_key_id.clone(),
            status: convert::status(k.status),
            secret_access_key: secret.expose().to_owned(),
            create_date: convert::ts(k.create_date),
        }),
        revision,
    })
}

pub async fn update_access_key(
    node: &Node,
    req: Request<pb::UpdateAccessKeyRequest>,
) -> Result<pb::UpdateAccessKeyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let id = access_key_id(&r.access_key_id)?;
    let status = match pb::StatusType::try_from(r.status) {
        Ok(pb::StatusType::Active) => KeyStatus::Active,
        Ok(pb::StatusType::Inactive) => KeyStatus::Inactive,
        _ => {
            return Err(errors::invalid(
                "status",
                "`status` must be ACTIVE or INACTIVE",
            ));
        }
    };
    let owner = key_owner(&c, &r.user_name)?;
    node.authorize(
        &c,
        "iam:UpdateAccessKey",
        &owner_arn(node, &c, owner.as_deref()),
    )?;
    let op = Op::UpdateAccessKey {
        account: c.principal.account.clone(),
        user_name: owner,
        access_key_id: id.to_owned(),
        status,
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::UpdateAccessKeyResponse { revision })
}

pub async fn delete_access_key(
    node: &Node,
    req: Request<pb::DeleteAccessKeyRequest>,
) -> Result<pb::DeleteAccessKeyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let id = access_key_id(&r.access_key_id)?;
    let owner = key_owner(&c, &r.user_name)?;
    node.authorize(
        &c,
        "iam:DeleteAccessKey",
        &owner_arn(node, &c, owner.as_deref()),
    )?;
    let op = Op::DeleteAccessKey {
        account: c.principal.account.clone(),
        user_name: owner,
        access_key_id: id.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeleteAccessKeyResponse { revision })
}

pub async fn list_access_keys(
    node: &Node,
    req: Request<pb::ListAccessKeysRequest>,
) -> Result<pb::ListAccessKeysResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let owner = key_owner(&c, &r.user_name)?;
    node.authorize(
        &c,
        "iam:ListAccessKeys",
        &owner_arn(node, &c, owner.as_deref()),
    )?;
    let account = c.principal.account.clone();
    let who = owner.clone();
    let keys = node
        .read(move |s| {
            let Some(acct) = s.account(&account) else {
                return Err(iam_store::StoreError::no_such(
                    "account",
                    "account_id",
                    &account,
                ));
            };
            let ids = match &who {
                Some(u) => match acct.users.get(&u.to_ascii_lowercase()) {
                    Some(user) => user.access_keys.clone(),
                    None => return Err(iam_store::StoreError::no_such("user", "user_name", u)),
                },
                None => acct.root_access_keys.clone(),
            };
            Ok(ids
                .iter()
                .filter_map(|id| s.access_key(id).cloned())
                .collect::<Vec<_>>())
        })
        .await?
        .map_err(|e| errors::from_store(&e))?;
    let user_name = owner.unwrap_or_default();
    let p = page(keys, |k| k.access_key_id.clone(), &r.marker, r.max_items)?;
    Ok(pb::ListAccessKeysResponse {
        access_key_metadata: p
            .items
            .iter()
            .map(|k| convert::key_metadata(k, &user_name))
            .collect(),
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn get_access_key_last_used(
    node: &Node,
    req: Request<pb::GetAccessKeyLastUsedRequest>,
) -> Result<pb::GetAccessKeyLastUsedResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let id = access_key_id(&r.access_key_id)?.to_owned();
    let account = c.principal.account.clone();
    let key = node
        .read(move |s| {
            s.access_key(&id)
                .filter(|k| k.account_id == account)
                .cloned()
        })
        .await?
        .ok_or_else(|| {
            errors::from_store(&iam_store::StoreError::no_such(
                "access key",
                "access_key_id",
                &r.access_key_id,
            ))
        })?;
    let owner = key.user.clone();
    // The key's owner, whoever asks: a key without a user is the account root's.
    let resource = match owner.as_deref() {
        Some(u) => user_arn(node, &c.principal.account, u),
        None => format!("arn:aws:iam::{}:root", c.principal.account),
    };
    node.authorize(&c, "iam:GetAccessKeyLastUsed", &resource)?;
    let user_name = match &owner {
        Some(u) => node
            .view
            .load()
            .principal(&AuthzView::principal_key(
                &key.account_id,
                PrincipalKind::User,
                u,
            ))
            .map(|p| p.name.clone())
            .unwrap_or_else(|| u.clone()),
        None => String::new(),
    };
    Ok(pb::GetAccessKeyLastUsedResponse {
        user_name,
        access_key_last_used: key.last_used.as_ref().map(|l| pb::AccessKeyLastUsed {
            last_used_date: convert::ts(l.date),
            service_name: l.service_name.clone(),
            region: l.region.clone(),
        }),
    })
}
