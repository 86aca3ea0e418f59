//! Kinds of policy documents: which elements they take and how large they may be.

use serde::Serialize;

/// What a policy document is used as. The kind decides which elements are required or
/// prohibited and the size limit AWS applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// A customer managed policy (identity-based or used as a permissions boundary).
    Managed,
    /// An inline policy of an IAM user.
    UserInline,
    /// An inline policy of an IAM group.
    GroupInline,
    /// An inline policy of an IAM role.
    RoleInline,
    /// A role's trust policy: a resource-based policy with `Principal` and no `Resource`.
    Trust,
    /// A resource-based policy (bucket policy, …): `Principal` required.
    Resource,
    /// An organization service control policy.
    Scp,
    /// A session policy passed to `AssumeRole`, `GetFederationToken`, …
    Session,
}

impl PolicyKind {
    /// The largest document AWS accepts, counted in non-whitespace characters.
    pub fn size_limit(self) -> usize {
        match self {
            PolicyKind::Managed => 6_144,
            PolicyKind::UserInline | PolicyKind::Trust | PolicyKind::Session => 2_048,
            PolicyKind::GroupInline | PolicyKind::Scp => 5_120,
            PolicyKind::RoleInline => 10_240,
            PolicyKind::Resource => 20_480,
        }
    }

    /// Resource-based kinds name their principals.
    pub(crate) fn takes_principal(self) -> bool {
        matches!(self, PolicyKind::Trust | PolicyKind::Resource)
    }

    /// Whether `Resource`/`NotResource` is required (`Some(true)`), optional (`Some(false)`)
    /// or prohibited (`None`).
    pub(crate) fn resource_rule(self) -> Option<bool> {
        match self {
            PolicyKind::Trust => None,
            PolicyKind::Resource => Some(false),
            _ => Some(true),
        }
    }

    /// IAM requires `Sid` values to be alphanumeric and unique in its own policies; resource
    /// policies of other services and SCPs are more lenient about them.
    pub(crate) fn strict_sids(self) -> bool {
        !matches!(self, PolicyKind::Resource | PolicyKind::Scp)
    }
}

/// Counts the characters AWS counts against the size limit: every non-whitespace one.
pub fn policy_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Checks a document's size against the limit of its kind (`LimitExceeded`).
pub fn check_size(text: &str, kind: PolicyKind) -> Result<(), crate::PolicyError> {
    let size = policy_size(text);
    let limit = kind.size_limit();
    if size > limit {
        return Err(crate::PolicyError {
            code: "LimitExceeded",
            path: "$".into(),
            message: format!(
                "policy document has {size} non-whitespace characters, more than the {limit} allowed"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_counts_non_whitespace_characters() {
        assert_eq!(policy_size(" { \"a\" :\n 1 } "), 7);
        let big = format!("{{\"Id\": \"{}\"}}", "x".repeat(6_200));
        assert!(check_size(&big, PolicyKind::Managed).is_err());
        assert!(check_size(&big, PolicyKind::RoleInline).is_ok());
        let err = check_size(&big, PolicyKind::Managed).unwrap_err();
        assert_eq!(err.code, "LimitExceeded");
    }
}
