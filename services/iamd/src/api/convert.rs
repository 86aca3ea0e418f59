//! Conversions between the store's model and the wire types, at the edge.

use iam_api::v1 as pb;
use iam_store::model;

/// Milliseconds since the epoch as a protobuf timestamp.
pub fn ts(ms: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    })
}

pub fn tags_in(tags: &[pb::Tag]) -> Vec<model::Tag> {
    tags.iter()
        .map(|t| model::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

pub fn tags_out(tags: &[model::Tag]) -> Vec<pb::Tag> {
    tags.iter()
        .map(|t| pb::Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

fn boundary(arn: Option<&String>) -> Option<pb::AttachedPermissionsBoundary> {
    arn.map(|a| pb::AttachedPermissionsBoundary {
        permissions_boundary_type: pb::PermissionsBoundaryAttachmentType::PermissionsBoundaryPolicy
            as i32,
        permissions_boundary_arn: a.clone(),
    })
}

pub fn user(u: &model::User) -> pb::User {
    pb::User {
        path: u.path.clone(),
        user_name: u.name.clone(),
        user_id: u.user_id.clone(),
        arn: u.arn.clone(),
        create_date: ts(u.create_date),
        password_last_used: None,
        permissions_boundary: boundary(u.boundary.as_ref()),
        tags: tags_out(&u.tags),
    }
}

pub fn group(g: &model::Group) -> pb::Group {
    pb::Group {
        path: g.path.clone(),
        group_name: g.name.clone(),
        group_id: g.group_id.clone(),
        arn: g.arn.clone(),
        create_date: ts(g.create_date),
    }
}

pub fn role(r: &model::Role) -> pb::Role {
    pb::Role {
        path: r.path.clone(),
        role_name: r.name.clone(),
        role_id: r.role_id.clone(),
        arn: r.arn.clone(),
        create_date: ts(r.create_date),
        assume_role_policy_document: r.assume_role_policy.clone(),
        description: r.description.clone(),
        max_session_duration: i32::try_from(r.max_session_duration).unwrap_or(i32::MAX),
        permissions_boundary: boundary(r.boundary.as_ref()),
        tags: tags_out(&r.tags),
        role_last_used: None,
    }
}

pub fn policy(p: &model::ManagedPolicy) -> pb::Policy {
    pb::Policy {
        policy_name: p.name.clone(),
        policy_id: p.policy_id.clone(),
        arn: p.arn.clone(),
        path: p.path.clone(),
        default_version_id: format!("v{}", p.default_version),
        attachment_count: i32::try_from(p.attachment_count).unwrap_or(i32::MAX),
        permissions_boundary_usage_count: i32::try_from(p.boundary_usage_count).unwrap_or(i32::MAX),
        is_attachable: true,
        description: p.description.clone(),
        create_date: ts(p.create_date),
        update_date: ts(p.last_updated()),
        tags: tags_out(&p.tags),
    }
}

pub fn library_policy(p: &iam_store::library::LibraryPolicy) -> pb::Policy {
    pb::Policy {
        policy_name: p.name.into(),
        policy_id: String::new(),
        arn: p.arn.into(),
        path: "/".into(),
        default_version_id: "v1".into(),
        attachment_count: 0,
        permissions_boundary_usage_count: 0,
        is_attachable: true,
        description: p.description.into(),
        create_date: None,
        update_date: None,
        tags: Vec::new(),
    }
}

pub fn status(s: model::KeyStatus) -> i32 {
    match s {
        model::KeyStatus::Active => pb::StatusType::Active as i32,
        model::KeyStatus::Inactive => pb::StatusType::Inactive as i32,
    }
}

pub fn key_metadata(k: &model::AccessKey, user_name: &str) -> pb::AccessKeyMetadata {
    pb::AccessKeyMetadata {
        user_name: user_name.to_owned(),
        access_key_id: k.access_key_id.clone(),
        status: status(k.status),
        create_date: ts(k.create_date),
    }
}

/// A role as list answers show it: without tags, boundary and last use (as AWS does).
pub fn role_summary(r: &model::Role) -> pb::Role {
    pb::Role {
        permissions_boundary: None,
        tags: Vec::new(),
        ..role(r)
    }
}

/// A managed policy as list answers show it: without tags.
pub fn policy_summary(p: &model::ManagedPolicy) -> pb::Policy {
    pb::Policy {
        tags: Vec::new(),
        ..policy(p)
    }
}

/// An AWS managed policy with how often the caller's account uses it.
pub fn library_policy_used(
    p: &iam_store::library::LibraryPolicy,
    attachments: u32,
    boundaries: u32,
) -> pb::Policy {
    pb::Policy {
        attachment_count: i32::try_from(attachments).unwrap_or(i32::MAX),
        permissions_boundary_usage_count: i32::try_from(boundaries).unwrap_or(i32::MAX),
        ..library_policy(p)
    }
}

/// Version `number` of a policy; `document` is empty in list answers.
pub fn policy_version(
    number: u32,
    create_date: Option<i64>,
    is_default: bool,
    document: String,
) -> pb::PolicyVersion {
    pb::PolicyVersion {
        document,
        version_id: format!("v{number}"),
        is_default_version: is_default,
        create_date: create_date.and_then(ts),
    }
}

pub fn attached_policy(name: &str, arn: &str) -> pb::AttachedPolicy {
    pb::AttachedPolicy {
        policy_name: name.to_owned(),
        policy_arn: arn.to_owned(),
    }
}

/// A login profile, without the password hash.
pub fn login_profile(user_name: &str, p: &model::LoginProfile) -> pb::LoginProfile {
    pb::LoginProfile {
        user_name: user_name.to_owned(),
        create_date: ts(p.create_date),
        password_reset_required: p.password_reset_required,
    }
}

pub fn password_policy(p: &model::PasswordPolicy) -> pb::PasswordPolicy {
    let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    pb::PasswordPolicy {
        minimum_password_length: int(p.minimum_password_length),
        require_symbols: p.require_symbols,
        require_numbers: p.require_numbers,
        require_uppercase_characters: p.require_uppercase_characters,
        require_lowercase_characters: p.require_lowercase_characters,
        allow_users_to_change_password: p.allow_users_to_change_password,
        expire_passwords: p.max_password_age > 0,
        max_password_age: int(p.max_password_age),
        password_reuse_prevention: int(p.password_reuse_prevention),
        hard_expiry: p.hard_expiry,
    }
}

/// A wire number that must not be negative, as the store's unsigned number.
pub fn non_negative(field: &str, n: i32) -> Result<u32, tonic::Status> {
    u32::try_from(n).map_err(|_| {
        crate::errors::invalid(field, format!("`{field}` must not be negative, got `{n}`"))
    })
}
