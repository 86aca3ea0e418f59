//! Who uses a managed policy: the filters of `ListPolicies` and the entities of
//! `ListEntitiesForPolicy`.

use iam_api::v1 as pb;
use iam_store::library;
use iam_store::model::Account;
use tonic::Status;

use crate::api::{Page, convert};
use crate::errors;

/// How often the account uses an AWS managed policy: attachments to users, groups and
/// roles, and use as a permissions boundary (the store counts only customer policies).
pub(super) fn library_usage(acct: &Account, arn: &str) -> (u32, u32) {
    let attached = acct
        .users
        .values()
        .map(|u| &u.permissions)
        .chain(acct.groups.values().map(|g| &g.permissions))
        .chain(acct.roles.values().map(|r| &r.permissions))
        .filter(|p| p.attached.contains(arn))
        .count();
    let bounded = acct
        .users
        .values()
        .map(|u| &u.boundary)
        .chain(acct.roles.values().map(|r| &r.boundary))
        .filter(|b| b.as_deref() == Some(arn))
        .count();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (count(attached), count(bounded))
}

pub(super) fn aws_policies<'a>(
    acct: &'a Account,
    filter: &'a Filter,
) -> impl Iterator<Item = pb::Policy> + 'a {
    library::all().iter().filter_map(move |p| {
        let (attachments, boundaries) = library_usage(acct, p.arn);
        filter
            .keeps("/", attachments, boundaries)
            .then(|| convert::library_policy_used(p, attachments, boundaries))
    })
}

/// What `ListPolicies` keeps.
pub(super) struct Filter {
    pub(super) prefix: String,
    pub(super) only_attached: bool,
    pub(super) usage: pb::PolicyUsageType,
}

impl Filter {
    pub(super) fn keeps(&self, path: &str, attachments: u32, boundaries: u32) -> bool {
        path.starts_with(&self.prefix)
            && (!self.only_attached || attachments > 0)
            && match self.usage {
                pb::PolicyUsageType::Unspecified => true,
                pb::PolicyUsageType::PermissionsPolicy => attachments > 0,
                pb::PolicyUsageType::PermissionsBoundary => boundaries > 0,
            }
    }
}

pub(super) fn usage_in(value: i32) -> Result<pb::PolicyUsageType, Status> {
    pb::PolicyUsageType::try_from(value).map_err(|_| {
        errors::invalid(
            "policy_usage_filter",
            "`policy_usage_filter` must be PERMISSIONS_POLICY or PERMISSIONS_BOUNDARY",
        )
    })
}

/// Which kinds of entity `ListEntitiesForPolicy` answers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Kinds {
    users: bool,
    groups: bool,
    roles: bool,
}

impl Kinds {
    pub(super) fn from_filter(value: i32) -> Result<Self, Status> {
        let only = |users, groups, roles| Kinds {
            users,
            groups,
            roles,
        };
        match pb::EntityType::try_from(value) {
            Ok(pb::EntityType::Unspecified) => Ok(only(true, true, true)),
            Ok(pb::EntityType::User) => Ok(only(true, false, false)),
            Ok(pb::EntityType::Group) => Ok(only(false, true, false)),
            Ok(pb::EntityType::Role) => Ok(only(false, false, true)),
            Ok(pb::EntityType::LocalManagedPolicy | pb::EntityType::AwsManagedPolicy) | Err(_) => {
                Err(errors::invalid(
                    "entity_filter",
                    "`entity_filter` must be USER, ROLE or GROUP",
                ))
            }
        }
    }
}

pub(super) enum Entity {
    Group(pb::PolicyGroup),
    User(pb::PolicyUser),
    Role(pb::PolicyRole),
}

/// An entity with its page key: groups, then roles, then users, each in name order.
pub(super) struct Listed {
    pub(super) key: String,
    entity: Entity,
}

pub(super) fn uses(usage: pb::PolicyUsageType, attached: bool, bounded: bool) -> bool {
    match usage {
        pb::PolicyUsageType::Unspecified => attached || bounded,
        pb::PolicyUsageType::PermissionsPolicy => attached,
        pb::PolicyUsageType::PermissionsBoundary => bounded,
    }
}

pub(super) fn entities(
    acct: &Account,
    arn: &str,
    kinds: Kinds,
    usage: pb::PolicyUsageType,
    prefix: &str,
) -> Vec<Listed> {
    let bounds = |b: &Option<String>| b.as_deref() == Some(arn);
    let mut out = Vec::new();
    if kinds.groups {
        out.extend(
            acct.groups
                .iter()
                .filter(|(_, g)| g.path.starts_with(prefix))
                .filter(|(_, g)| uses(usage, g.permissions.attached.contains(arn), false))
                .map(|(k, g)| Listed {
                    key: format!("group/{k}"),
                    entity: Entity::Group(pb::PolicyGroup {
                        group_name: g.name.clone(),
                        group_id: g.group_id.clone(),
                    }),
                }),
        );
    }
    if kinds.roles {
        out.extend(
            acct.roles
                .iter()
                .filter(|(_, r)| r.path.starts_with(prefix))
                .filter(|(_, r)| {
                    uses(
                        usage,
                        r.permissions.attached.contains(arn),
                        bounds(&r.boundary),
                    )
                })
                .map(|(k, r)| Listed {
                    key: format!("role/{k}"),
                    entity: Entity::Role(pb::PolicyRole {
                        role_name: r.name.clone(),
                        role_id: r.role_id.clone(),
                    }),
                }),
        );
    }
    if kinds.users {
        out.extend(
            acct.users
                .iter()
                .filter(|(_, u)| u.path.starts_with(prefix))
                .filter(|(_, u)| {
                    uses(
                        usage,
                        u.permissions.attached.contains(arn),
                        bounds(&u.boundary),
                    )
                })
                .map(|(k, u)| Listed {
                    key: format!("user/{k}"),
                    entity: Entity::User(pb::PolicyUser {
                        user_name: u.name.clone(),
                        user_id: u.user_id.clone(),
                    }),
                }),
        );
    }
    out
}

/// The response of `ListEntitiesForPolicy` for one page of entities.
pub(super) fn response(p: Page<Listed>) -> pb::ListEntitiesForPolicyResponse {
    let mut out = pb::ListEntitiesForPolicyResponse {
        is_truncated: p.is_truncated,
        marker: p.marker,
        ..Default::default()
    };
    for e in p.items {
        match e.entity {
            Entity::Group(g) => out.policy_groups.push(g),
            Entity::Role(r) => out.policy_roles.push(r),
            Entity::User(u) => out.policy_users.push(u),
        }
    }
    out
}
