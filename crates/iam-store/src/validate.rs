//! AWS's name patterns, path rules and tag rules, and the quotas of an account.

use crate::error::{StoreError, StoreResult};
use crate::model::Tag;

/// AWS's default IAM quotas (per account unless said otherwise).
pub mod quota {
    /// Users in an account.
    pub const USERS: usize = 5_000;
    /// Groups in an account.
    pub const GROUPS: usize = 300;
    /// Roles in an account.
    pub const ROLES: usize = 1_000;
    /// Customer managed policies in an account.
    pub const MANAGED_POLICIES: usize = 1_500;
    /// Groups an IAM user may be a member of.
    pub const GROUPS_PER_USER: usize = 10;
    /// Managed policies attached to one user, group or role.
    pub const ATTACHED_POLICIES: usize = 10;
    /// Stored versions of a managed policy.
    pub const POLICY_VERSIONS: usize = 5;
    /// Access keys of a user (or of the root user).
    pub const ACCESS_KEYS: usize = 2;
    /// Tags on a user, role or policy.
    pub const TAGS: usize = 50;
    /// MFA devices of a user.
    pub const MFA_DEVICES: usize = 8;
    /// OIDC identity providers in an account.
    pub const OIDC_PROVIDERS: usize = 100;
    /// Total size of the inline policies of a user (non-whitespace characters).
    pub const USER_INLINE_BYTES: usize = 2_048;
    /// Total size of the inline policies of a group.
    pub const GROUP_INLINE_BYTES: usize = 5_120;
    /// Total size of the inline policies of a role.
    pub const ROLE_INLINE_BYTES: usize = 10_240;
    /// Accounts in the store.
    pub const ACCOUNTS: usize = 10_000;
    /// Organizational units in an organization.
    pub const ORGANIZATIONAL_UNITS: usize = 1_000;
    /// Nesting depth of organizational units under the root.
    pub const OU_DEPTH: usize = 5;
    /// Service control policies in an organization.
    pub const SCPS: usize = 1_000;
    /// SCPs attached to one root, OU or account.
    pub const SCPS_PER_TARGET: usize = 5;
}

/// A name of `[\w+=,.@-]+` between `min` and `max` characters (users, roles, groups, policies).
pub fn name(field: &str, value: &str, max: usize) -> StoreResult<()> {
    let len = value.chars().count();
    if len == 0 || len > max {
        return Err(StoreError::invalid(
            field,
            format!("`{field}` must be 1 to {max} characters long"),
        ));
    }
    let ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !ok {
        return Err(StoreError::invalid(
            field,
            format!("`{field}` `{value}` must match the pattern [\\w+=,.@-]+"),
        ));
    }
    Ok(())
}

/// A path: `/` alone, or `/` + printable ASCII + `/`, at most 512 characters.
pub fn path(field: &str, value: &str) -> StoreResult<()> {
    let ok = value.len() <= 512
        && value.starts_with('/')
        && value.ends_with('/')
        && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
        && !value.contains("//");
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!(
                "path `{value}` must begin and end with `/`, hold printable ASCII characters and be at most 512 characters long"
            ),
        ))
    }
}

/// A character allowed in tag keys and values: letters, digits, white space and
/// `_.:/=+-@` (AWS's `[\p{L}\p{Z}\p{N}_.:/=+\-@]`, except that tabs and line breaks pass
/// too, as they always have here: narrowing it in `apply` would make a log written by
/// earlier versions replay differently).
pub fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// A tag key named on its own (as `UntagUser` takes them): 1–128 characters of
/// [`tag_char`].
pub fn tag_key(field: &str, key: &str) -> StoreResult<()> {
    let len = key.chars().count();
    if len == 0 || len > 128 || !key.chars().all(tag_char) {
        return Err(StoreError::invalid(
            field,
            format!(
                "tag key `{key}` in `{field}` must be 1 to 128 letters, digits, spaces or _.:/=+-@"
            ),
        ));
    }
    Ok(())
}

/// Tags: at most 50, keys 1–128 and values 0–256 characters of letters, digits, spaces and
/// `_.:/=+-@`, keys unique without regard to case and not starting with `aws:`.
pub fn tags(field: &str, tags: &[Tag]) -> StoreResult<()> {
    if tags.len() > quota::TAGS {
        return Err(StoreError::limit(field, "tags per resource", quota::TAGS));
    }
    for (i, tag) in tags.iter().enumerate() {
        tag_key(field, &tag.key)?;
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(StoreError::invalid(
                field,
                format!("tag key `{}` uses the reserved prefix `aws:`", tag.key),
            ));
        }
        if tag.value.chars().count() > 256 || !tag.value.chars().all(tag_char) {
            return Err(StoreError::invalid(
                field,
                format!(
                    "the value of tag `{}` must be at most 256 letters, digits, spaces or _.:/=+-@",
                    tag.key
                ),
            ));
        }
        let dup = tags
            .iter()
            .take(i)
            .any(|t| t.key.eq_ignore_ascii_case(&tag.key));
        if dup {
            return Err(StoreError::invalid(
                field,
                format!("duplicate tag key `{}`", tag.key),
            ));
        }
    }
    Ok(())
}

/// A free-text description of at most `max` characters.
pub fn description(field: &str, value: &str, max: usize) -> StoreResult<()> {
    if value.chars().count() > max {
        return Err(StoreError::invalid(
            field,
            format!("`{field}` must be at most {max} characters long"),
        ));
    }
    Ok(())
}

/// A 12-digit account id.
pub fn account_id(field: &str, value: &str) -> StoreResult<()> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!("account id `{value}` must be 12 digits"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_patterns() {
        assert!(name("user_name", "alice.smith+ops@firm", 64).is_ok());
        assert!(name("user_name", "", 64).is_err());
        assert!(name("user_name", "has space", 64).is_err());
        assert!(name("user_name", &"a".repeat(65), 64).is_err());
    }

    #[test]
    fn paths_and_tags() {
        assert!(path("path", "/").is_ok());
        assert!(path("path", "/bots/momentum/").is_ok());
        assert!(path("path", "bots/").is_err());
        assert!(path("path", "/a b/").is_err());
        let t = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert!(tags("tags", &[t("desk", "delta"), t("team", "")]).is_ok());
        assert!(tags("tags", &[t("desk", "a"), t("Desk", "b")]).is_err());
        assert!(tags("tags", &[t("aws:x", "a")]).is_err());
        let many: Vec<Tag> = (0..51).map(|i| t(&format!("k{i}"), "v")).collect();
        assert!(tags("tags", &many).is_err());
    }
}
