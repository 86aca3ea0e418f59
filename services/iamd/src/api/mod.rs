//! gRPC handlers: thin. Each validates, takes the [`Caller`] from the request extensions,
//! authorizes it, calls one domain operation, converts the result.

pub mod authorization;
pub mod cluster;
pub mod convert;
pub mod iam;
pub mod iam_attach;
pub mod iam_groups;
pub mod iam_inline;
pub mod iam_login;
pub mod iam_org;
pub mod iam_policies;
pub mod iam_roles;
pub mod iam_tags;
pub mod iam_users;
pub mod pending;
pub mod simulate;

use iam_api::v1 as pb;
use iam_policy::ContextValue;
use iam_store::model::Permissions;
use iam_store::{IamState, PrincipalKind, StoreError};
use tonic::{Request, Status};

use crate::auth::Caller;
use crate::errors;
use crate::node::Node;

/// Default and largest page size of list calls.
pub const DEFAULT_MAX_ITEMS: usize = 100;
/// Largest page size of list calls.
pub const MAX_MAX_ITEMS: usize = 1_000;

/// The authenticated caller (the auth layer put it there).
pub fn caller<T>(req: &Request<T>) -> Result<Caller, Status> {
    req.extensions().get::<Caller>().cloned().ok_or_else(|| {
        errors::status(
            tonic::Code::Unauthenticated,
            "MissingAuthenticationToken",
            "the request is not signed",
            None,
        )
    })
}

/// A required string field.
pub fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
    if value.is_empty() {
        Err(errors::invalid(field, format!("`{field}` is required")))
    } else {
        Ok(value)
    }
}

/// A required name of a user, group, role or policy: AWS's pattern `[\w+=,.@-]+` and
/// length (64 characters for users and roles, 128 for groups and policies), checked before
/// anything is looked up, so that a malformed name is `InvalidArgument` (AWS
/// `ValidationError`) naming the field rather than `NoSuchEntity`.
pub fn entity_name<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
    let max = match field {
        "user_name" | "new_user_name" | "role_name" => 64,
        _ => 128,
    };
    iam_store::validate::name(field, required(field, value)?, max)
        .map_err(|e| errors::from_store(&e))?;
    Ok(value)
}

/// A request's context keys for self-authorization (see [`Node::authorize_with`]).
pub type Keys = Vec<(String, ContextValue)>;

/// `aws:RequestTag/KEY` for each tag a request carries, and `aws:TagKeys`, as AWS sets
/// them for the requests that tag (create, tag); none for a request without tags.
pub fn request_tag_keys(tags: &[pb::Tag]) -> Keys {
    if tags.is_empty() {
        return Vec::new();
    }
    let mut keys: Keys = tags
        .iter()
        .map(|t| {
            (
                format!("aws:RequestTag/{}", t.key),
                ContextValue::Single(t.value.clone()),
            )
        })
        .collect();
    keys.push(tag_keys_key(tags.iter().map(|t| t.key.clone()).collect()));
    keys
}

/// Authorizes creating `arn` (`create`: `iam:CreateUser`, …) with the request's keys: its
/// tags (`aws:RequestTag/…`, `aws:TagKeys`) and, when one is given, its permissions
/// boundary (`iam:PermissionsBoundary`). As in AWS, tags given at creation need the tagging
/// permission (`tag`: `iam:TagUser`, …) too, with the tags' keys.
pub fn authorize_create(
    node: &Node,
    c: &Caller,
    (create, tag): (&str, &str),
    arn: &str,
    tags: &[pb::Tag],
    boundary: &str,
) -> Result<(), Status> {
    let mut keys = request_tag_keys(tags);
    let tag_keys = keys.len();
    if !boundary.is_empty() {
        iam_policies::policy_arn_in("permissions_boundary", boundary)?;
        keys.push(boundary_key(boundary));
    }
    node.authorize_with(c, create, arn, &keys)?;
    if !tags.is_empty() {
        node.authorize_with(c, tag, arn, keys.get(..tag_keys).unwrap_or_default())?;
    }
    Ok(())
}

/// `aws:TagKeys`: the tag keys a request names.
pub fn tag_keys_key(keys: Vec<String>) -> (String, ContextValue) {
    ("aws:TagKeys".to_owned(), ContextValue::Multi(keys))
}

/// `iam:PermissionsBoundary` with `arn`.
pub fn boundary_key(arn: &str) -> (String, ContextValue) {
    (
        "iam:PermissionsBoundary".to_owned(),
        ContextValue::Single(arn.to_owned()),
    )
}

/// The ARN of the user, group or role `name` (as [`principal_arn`] gives it), and the
/// `iam:PermissionsBoundary` key of a user or role that has a boundary, from one read of the
/// state.
pub async fn arn_and_boundary(
    node: &Node,
    account: &str,
    kind: PrincipalKind,
    name: &str,
) -> Result<(String, Keys), Status> {
    let (acct, key) = (account.to_owned(), name.to_ascii_lowercase());
    let found = node
        .read(move |s| {
            let a = s.account(&acct)?;
            match kind {
                PrincipalKind::User => a
                    .users
                    .get(&key)
                    .map(|u| (u.arn.clone(), u.boundary.clone())),
                PrincipalKind::Group => a.groups.get(&key).map(|g| (g.arn.clone(), None)),
                PrincipalKind::Role => a
                    .roles
                    .get(&key)
                    .map(|r| (r.arn.clone(), r.boundary.clone())),
            }
        })
        .await?;
    Ok(match found {
        Some((arn, boundary)) => (arn, boundary.iter().map(|b| boundary_key(b)).collect()),
        None => (
            format!("arn:aws:iam::{account}:{}/{name}", kind.noun()),
            Vec::new(),
        ),
    })
}

/// `path` defaults to `/`.
pub fn path_or_root(path: &str) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        path.to_owned()
    }
}

/// The `path_prefix` of a list call: `/` when empty, else `/` followed by printable ASCII,
/// at most 512 characters (AWS's pattern for it).
pub fn path_prefix(value: &str) -> Result<String, Status> {
    let ok = value.len() <= 512
        && value.starts_with('/')
        && value.bytes().all(|b| (0x21..=0x7e).contains(&b));
    match value {
        "" => Ok("/".into()),
        _ if ok => Ok(value.to_owned()),
        _ => Err(errors::invalid(
            "path_prefix",
            "`path_prefix` must begin with `/`, hold printable ASCII characters and be at most 512 characters long",
        )),
    }
}

/// The ARN of a user, group or role of the account, to authorize a call that names it.
pub async fn principal_arn(
    node: &Node,
    account: &str,
    kind: PrincipalKind,
    name: &str,
) -> Result<String, Status> {
    match kind {
        PrincipalKind::User => Ok(iam_users::user_arn(node, account, name)),
        PrincipalKind::Group => iam_groups::group_arn(node, account, name).await,
        PrincipalKind::Role => iam_roles::role_arn(node, account, name).await,
    }
}

/// The inline and attached policies of a user, group or role of the account.
pub fn permissions<'s>(
    s: &'s IamState,
    account: &str,
    kind: PrincipalKind,
    name: &str,
) -> Result<&'s Permissions, StoreError> {
    let acct = s
        .account(account)
        .ok_or_else(|| StoreError::no_such("account", "account_id", account))?;
    let key = name.to_ascii_lowercase();
    let found = match kind {
        PrincipalKind::User => acct.users.get(&key).map(|u| &u.permissions),
        PrincipalKind::Group => acct.groups.get(&key).map(|g| &g.permissions),
        PrincipalKind::Role => acct.roles.get(&key).map(|r| &r.permissions),
    };
    found.ok_or_else(|| StoreError::no_such(kind.noun(), kind.field(), name))
}

/// One page of an AWS-style list: items after `marker` (the key of the last item of the
/// previous page), at most `max_items`.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    pub marker: String,
}

/// Pages `items`, already sorted by `key`.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: &str,
    max_items: i32,
) -> Result<Page<T>, Status> {
    let max = match max_items {
        0 => DEFAULT_MAX_ITEMS,
        n if n < 0 || n as usize > MAX_MAX_ITEMS => {
            return Err(errors::invalid(
                "max_items",
                format!("`max_items` must be between 1 and {MAX_MAX_ITEMS}"),
            ));
        }
        n => n as usize,
    };
    let mut rest: Vec<T> = if marker.is_empty() {
        items
    } else {
        items
            .into_iter()
            .filter(|i| key(i).as_str() > marker)
            .collect()
    };
    let is_truncated = rest.len() > max;
    rest.truncate(max);
    let marker = if is_truncated {
        rest.last().map(&key).unwrap_or_default()
    } else {
        String::new()
    };
    Ok(Page {
        items: rest,
        is_truncated,
        marker,
    })
}
