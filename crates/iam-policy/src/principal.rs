//! Principals: the caller of a request, and the `Principal`/`NotPrincipal` element of a
//! resource-based policy.
//!
//! AWS evaluates a request from a role session as the session, the role and the account; a
//! request from an IAM user as the user and the account. A `Principal` entry matches when it
//! names any of these identities; a `NotPrincipal` list matches when any of them is absent
//! from the list (which is why AWS tells you to list the account too).

/// What kind of principal made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallerKind<'a> {
    /// `arn:…:iam::ACCOUNT:root`
    Root,
    /// `arn:…:iam::ACCOUNT:user/PATH/NAME`
    User { name: &'a str },
    /// `arn:…:iam::ACCOUNT:role/PATH/NAME` (a role itself, rarely a caller)
    Role { name: &'a str },
    /// `arn:…:sts::ACCOUNT:assumed-role/ROLE/SESSION`
    Session { role: &'a str },
    /// `arn:…:sts::ACCOUNT:federated-user/NAME`
    FederatedUser { name: &'a str },
    /// A service principal, a federated identity provider, or anything else: matched exactly.
    Other,
}

/// The caller of a request, parsed from its principal string.
#[derive(Debug, Clone)]
pub(crate) struct Caller<'a> {
    pub(crate) arn: &'a str,
    pub(crate) kind: CallerKind<'a>,
    pub(crate) account: Option<&'a str>,
    /// `arn:PARTITION:iam::ACCOUNT:role/NAME` for a role session.
    role_arn: Option<String>,
}

impl<'a> Caller<'a> {
    pub(crate) fn parse(arn: &'a str) -> Self {
        let mut caller = Caller {
            arn,
            kind: CallerKind::Other,
            account: None,
            role_arn: None,
        };
        let Some(crate::ArnFields {
            partition,
            service,
            account,
            resource,
            ..
        }) = crate::arn_fields(arn)
        else {
            return caller;
        };
        if account.is_empty() {
            return caller;
        }
        let kind = match (service, resource.split_once('/')) {
            ("iam", None) if resource == "root" => CallerKind::Root,
            ("iam", Some(("user", path))) => CallerKind::User {
                name: last_segment(path),
            },
            ("iam", Some(("role", path))) => CallerKind::Role {
                name: last_segment(path),
            },
            ("sts", Some(("assumed-role", rest))) => match rest.split_once('/') {
                Some((role, _session)) if !role.is_empty() => CallerKind::Session { role },
                _ => return caller,
            },
            ("sts", Some(("federated-user", name))) if !name.is_empty() => {
                CallerKind::FederatedUser { name }
            }
            _ => return caller,
        };
        caller.kind = kind;
        caller.account = Some(account);
        if let CallerKind::Session { role } = kind {
            caller.role_arn = Some(format!("arn:{partition}:iam::{account}:role/{role}"));
        }
        caller
    }

    /// `aws:PrincipalArn`: the role's ARN for a role session, else the caller's ARN.
    pub(crate) fn principal_arn(&self) -> Option<&str> {
        match self.kind {
            CallerKind::Session { .. } => self.role_arn.as_deref(),
            CallerKind::Other => None,
            _ => Some(self.arn),
        }
    }

    /// `aws:PrincipalType`.
    pub(crate) fn principal_type(&self) -> Option<&'static str> {
        match self.kind {
            CallerKind::Root => Some("Account"),
            CallerKind::User { .. } => Some("User"),
            CallerKind::Role { .. } | CallerKind::Session { .. } => Some("AssumedRole"),
            CallerKind::FederatedUser { .. } => Some("FederatedUser"),
            CallerKind::Other => None,
        }
    }

    pub(crate) fn is_root(&self) -> bool {
        self.kind == CallerKind::Root
    }

    pub(crate) fn is_federated_user(&self) -> bool {
        matches!(self.kind, CallerKind::FederatedUser { .. })
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// One entry of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrincipalEntry {
    /// `"*"` or `{"AWS": "*"}`: everyone, including anonymous callers.
    Any,
    /// A 12-digit account id or `arn:…:iam::ACCOUNT:root`: delegates to the account.
    Account(Box<str>),
    /// `arn:…:iam::ACCOUNT:role/PATH/NAME`: the role and every session of it.
    Role { account: Box<str>, name: Box<str> },
    /// Any other ARN or name (IAM user, role session, federated user, service, identity
    /// provider, canonical user): matched exactly.
    Exact(Box<str>),
}

/// How a `Principal` element named the caller: decides whether a same-account grant is
/// limited by the permissions boundary and session policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grant {
    /// The account was named: principals of that account still need identity-based permission.
    Account,
    /// `*` or the role's ARN: limited by the boundary and session policies.
    Limited,
    /// The user, the role session, the federated user (or the account root) itself.
    Direct,
}

impl PrincipalEntry {
    /// Parses an entry of the `AWS` key (`*`, account id, or ARN).
    pub(crate) fn aws(value: &str) -> Self {
        if value == "*" {
            return PrincipalEntry::Any;
        }
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            return PrincipalEntry::Account(value.into());
        }
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        if let ["arn", _, "iam", "", account, resource] = parts[..] {
            if resource == "root" {
                return PrincipalEntry::Account((*account).into());
            }
            if let Some(path) = resource.strip_prefix("role/") {
                return PrincipalEntry::Role {
                    account: (*account).into(),
                    name: last_segment(path).into(),
                };
            }
        }
        PrincipalEntry::Exact(value.into())
    }

    /// How this entry names the caller, if it does.
    pub(crate) fn grant_for(&self, caller: &Caller<'_>) -> Option<Grant> {
        match self {
            PrincipalEntry::Any => Some(Grant::Limited),
            PrincipalEntry::Account(account) => {
                if caller.account != Some(&**account) {
                    None
                } else if caller.is_root() {
                    Some(Grant::Direct)
                } else {
                    Some(Grant::Account)
                }
            }
            PrincipalEntry::Role { account, name } => {
                let same_role = match caller.kind {
                    CallerKind::Session { role } | CallerKind::Role { name: role } => {
                        role == &**name
                    }
                    _ => false,
                };
                (same_role && caller.account == Some(&**account)).then_some(Grant::Limited)
            }
            PrincipalEntry::Exact(arn) => (**arn == *caller.arn).then_some(Grant::Direct),
        }
    }

    /// True when this entry lists `identity` (one of the caller's identities).
    fn lists(&self, identity: Identity<'_>) -> bool {
        match (self, identity) {
            (PrincipalEntry::Any, _) => true,
            (PrincipalEntry::Exact(arn), Identity::Arn(a)) => **arn == *a,
            (PrincipalEntry::Account(acc), Identity::Account(a)) => **acc == *a,
            (
                PrincipalEntry::Role { account, name },
                Identity::Role {
                    account: a,
                    name: n,
                },
            ) => **account == *a && **name == *n,
            _ => false,
        }
    }
}

/// One of the identities AWS evaluates a request as.
#[derive(Debug, Clone, Copy)]
enum Identity<'a> {
    Arn(&'a str),
    Role { account: &'a str, name: &'a str },
    Account(&'a str),
}

/// A `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone)]
pub(crate) struct PrincipalBlock {
    pub(crate) negated: bool,
    pub(crate) entries: Vec<PrincipalEntry>,
}

impl PrincipalBlock {
    /// How the element applies to the caller: `None` when it does not.
    pub(crate) fn grant_for(&self, caller: &Caller<'_>) -> Option<Grant> {
        if self.negated {
            return self.not_principal_applies(caller).then_some(Grant::Limited);
        }
        self.entries
            .iter()
            .filter_map(|e| e.grant_for(caller))
            .max()
    }

    fn not_principal_applies(&self, caller: &Caller<'_>) -> bool {
        let mut identities = [None, None, None];
        match (caller.kind, caller.account) {
            (CallerKind::Root, Some(account)) => {
                identities[0] = Some(Identity::Account(account));
            }
            (kind, Some(account)) => {
                identities[0] = Some(Identity::Arn(caller.arn));
                identities[2] = Some(Identity::Account(account));
                if let CallerKind::Session { role } = kind {
                    identities[1] = Some(Identity::Role {
                        account,
                        name: role,
                    });
                }
            }
            (_, None) => identities[0] = Some(Identity::Arn(caller.arn)),
        }
        identities
            .iter()
            .flatten()
            .any(|id| !self.entries.iter().any(|e| e.lists(*id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(negated: bool, entries: &[&str]) -> PrincipalBlock {
        PrincipalBlock {
            negated,
            entries: entries.iter().map(|e| PrincipalEntry::aws(e)).collect(),
        }
    }

    #[test]
    fn role_arn_matches_its_sessions_with_a_limited_grant() {
        let caller = Caller::parse("arn:aws:sts::111122223333:assumed-role/bot/s1");
        let b = block(false, &["arn:aws:iam::111122223333:role/bots/bot"]);
        assert_eq!(b.grant_for(&caller), Some(Grant::Limited));
        let b = block(false, &["arn:aws:sts::111122223333:assumed-role/bot/s1"]);
        assert_eq!(b.grant_for(&caller), Some(Grant::Direct));
        let b = block(false, &["arn:aws:iam::111122223333:role/other"]);
        assert_eq!(b.grant_for(&caller), None);
    }

    #[test]
    fn not_principal_needs_every_identity_listed() {
        let bob = Caller::parse("arn:aws:iam::444455556666:user/Bob");
        assert!(
            block(true, &["arn:aws:iam::444455556666:user/Bob"])
                .grant_for(&bob)
                .is_some()
        );
        assert!(
            block(
                true,
                &["arn:aws:iam::444455556666:user/Bob", "444455556666"]
            )
            .grant_for(&bob)
            .is_none()
        );
    }

    #[test]
    fn derived_keys_of_a_session() {
        let c = Caller::parse("arn:aws:sts::111122223333:assumed-role/bot/s1");
        assert_eq!(
            c.principal_arn(),
            Some("arn:aws:iam::111122223333:role/bot")
        );
        assert_eq!(c.principal_type(), Some("AssumedRole"));
    }
}
