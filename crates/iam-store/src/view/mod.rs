//! The authorization view: an immutable snapshot of compiled policies per principal and of
//! access keys, swapped atomically after every applied batch, read by `Authorize` without
//! locks or disk.
//!
//! The view is updated incrementally: `apply` records which users, roles and keys changed,
//! and only those entries are rebuilt. Entries live in 64 shards of `Arc` maps, so an update
//! copies only the shards it touches.

mod build;
mod shards;

use std::sync::Arc;

use iam_policy::{Context, Policy, PolicySet};
use iam_sts::sigv4::VerifyingKey;

use crate::model::{KeyStatus, Tag};

pub use build::{ViewBuilder, tag_context};
pub use shards::Shards;

/// What kind of principal an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account root user.
    Root,
    User,
    Role,
}

/// A principal as `Authorize` needs it: compiled policies, resolved at write time.
#[derive(Debug)]
pub struct PrincipalView {
    pub kind: PrincipalKind,
    pub arn: String,
    pub account: String,
    /// As created (not lowercased).
    pub name: String,
    /// `AIDA…`/`AROA…`, or the account id for the root.
    pub unique_id: String,
    /// Identity-based policies: inline, attached, and (for users) those of every group.
    pub identity: PolicySet,
    /// The permissions boundary.
    pub boundary: Option<PolicySet>,
    pub tags: Vec<Tag>,
    /// The context keys that come from the tags (`aws:PrincipalTag/…` and
    /// `aws:PrincipalTagKeys`), for a user `aws:userid` (its unique id), and the keys of
    /// every signed request (`aws:PrincipalIsAWSService`, `aws:ViaAWSService`), prepared at
    /// write time as the base of every request's context (see
    /// [`iam_policy::Context::on`]).
    pub tag_context: Arc<Context>,
    /// A role's trust policy.
    pub trust: Option<Arc<Policy>>,
    /// A role's `MaxSessionDuration`.
    pub max_session_duration: u32,
}

/// An access key as authentication needs it.
#[derive(Debug, Clone)]
pub struct KeyView {
    pub access_key_id: String,
    pub account: String,
    /// The key of the owning principal in [`AuthzView::principal`].
    pub principal: String,
    pub status: KeyStatus,
    /// Sealed under the cluster key.
    pub sealed_secret: Vec<u8>,
    /// The secret, opened by the node the first time the key is used and kept, ready for
    /// the signer, for the life of this entry (an entry is replaced whenever its key
    /// changes). The process holds the cluster key anyway: sealing protects the disk and
    /// snapshots, not memory.
    pub opened: OpenedSecret,
}

/// A secret opened once and then reused; its `Debug` never shows it.
#[derive(Clone, Default)]
pub struct OpenedSecret(std::sync::OnceLock<VerifyingKey>);

impl OpenedSecret {
    /// The opened key, opening it with `open` on first use. A failed opening is not
    /// remembered.
    pub fn get_or_open<E>(
        &self,
        open: impl FnOnce() -> Result<VerifyingKey, E>,
    ) -> Result<&VerifyingKey, E> {
        if let Some(key) = self.0.get() {
            return Ok(key);
        }
        let key = open()?;
        Ok(self.0.get_or_init(|| key))
    }
}

impl std::fmt::Debug for OpenedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.0.get().is_some() {
            "opened"
        } else {
            "sealed"
        };
        f.write_str(state)
    }
}

/// The immutable snapshot read by `Authorize`.
#[derive(Debug, Clone, Default)]
pub struct AuthzView {
    /// The revision (Raft log index) of the last applied write it reflects.
    pub revision: u64,
    principals: Shards<PrincipalView>,
    keys: Shards<KeyView>,
    /// The SCP levels (root first) that apply to each member account of the organization;
    /// absent for the management account and accounts outside it.
    scps: Arc<rustc_hash::FxHashMap<String, Arc<Vec<PolicySet>>>>,
    /// The organization keys of each account in the organization (management included).
    orgs: Arc<rustc_hash::FxHashMap<String, OrgKeys>>,
}

/// What AWS puts in the request context of a principal whose account is in an
/// organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgKeys {
    /// `aws:PrincipalOrgID`: `o-` and 10 characters.
    pub id: String,
    /// `aws:PrincipalOrgPaths`: see [`crate::model::Organization::path_of`].
    pub path: String,
}

impl AuthzView {
    /// The key of a principal: `ACCOUNT:user:name`, `ACCOUNT:role:name` (name lowercased)
    /// or `ACCOUNT:root`.
    pub fn principal_key(account: &str, kind: PrincipalKind, name: &str) -> String {
        match kind {
            PrincipalKind::Root => format!("{account}:root"),
            PrincipalKind::User => format!("{account}:user:{}", name.to_ascii_lowercase()),
            PrincipalKind::Role => format!("{account}:role:{}", name.to_ascii_lowercase()),
        }
    }

    /// A principal by key.
    pub fn principal(&self, key: &str) -> Option<&Arc<PrincipalView>> {
        self.principals.get(key)
    }

    /// The principal whose key is [`Self::principal_key`]`(account, kind, name)`, the key
    /// built on the stack (this is on every `Authorize` that names its subject).
    fn principal_of(
        &self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
    ) -> Option<&Arc<PrincipalView>> {
        let infix: &[u8] = match kind {
            PrincipalKind::Root => b":root",
            PrincipalKind::User => b":user:",
            PrincipalKind::Role => b":role:",
        };
        let name = if kind == PrincipalKind::Root {
            ""
        } else {
            name
        };
        let mut buf = [0u8; 192];
        let len = account.len() + infix.len() + name.len();
        let Some(key) = buf.get_mut(..len) else {
            return self.principal(&Self::principal_key(account, kind, name));
        };
        let (head, lower) = key.split_at_mut(account.len() + infix.len());
        let (acct, mid) = head.split_at_mut(account.len());
        acct.copy_from_slice(account.as_bytes());
        mid.copy_from_slice(infix);
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        // ASCII lowercasing keeps UTF-8 valid.
        self.principal(std::str::from_utf8(key).ok()?)
    }

    /// The principal an IAM ARN names (`user/…`, `role/…`, `root`) or whose session an STS
    /// ARN names (`assumed-role/ROLE/…`).
    pub fn principal_by_arn(&self, arn: &str) -> Option<&Arc<PrincipalView>> {
        let iam_policy::ArnFields {
            service,
            account,
            resource,
            ..
        } = iam_policy::arn_fields(arn)?;
        let (kind, name) = match (service, resource.split_once('/')) {
            ("iam", None) if resource == "root" => (PrincipalKind::Root, ""),
            ("iam", Some(("user", path))) => (PrincipalKind::User, path.rsplit('/').next()?),
            ("iam", Some(("role", path))) => (PrincipalKind::Role, path.rsplit('/').next()?),
            ("sts", Some(("assumed-role", rest))) => (PrincipalKind::Role, rest.split('/').next()?),
            _ => return None,
        };
        let found = self.principal_of(account, kind, name)?;
        // A user or role ARN must match exactly (path included); a session names the role.
        let exact = service == "sts" || found.arn == arn;
        exact.then_some(found)
    }

    /// An access key by id.
    pub fn key(&self, access_key_id: &str) -> Option<&Arc<KeyView>> {
        self.keys.get(access_key_id)
    }

    /// The service control policies that apply to an account, one set per level, root first;
    /// empty when none apply.
    pub fn scps(&self, account: &str) -> &[PolicySet] {
        self.scps
            .get(account)
            .map_or(&[][..], |levels| levels.as_slice())
    }

    /// The organization keys of an account's principals; `None` outside an organization.
    pub fn org_keys(&self, account: &str) -> Option<&OrgKeys> {
        self.orgs.get(account)
    }

    /// Number of principals in the view.
    pub fn principal_count(&self) -> usize {
        self.principals.len()
    }
}

#[cfg(test)]
mod tests {
    use super::{OpenedSecret, VerifyingKey};

    #[test]
    fn a_secret_is_opened_once_and_never_shown() {
        const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let slot = OpenedSecret::default();
        assert_eq!(format!("{slot:?}"), "sealed");
        let failed = slot.get_or_open(|| Err("wrong key"));
        assert_eq!(failed.err(), Some("wrong key"));
        let mut opened = 0;
        for _ in 0..3 {
            let key = slot.get_or_open(|| -> Result<_, ()> {
                opened += 1;
                Ok(VerifyingKey::new("AKIAIOSFODNN7EXAMPLE", SECRET))
            });
            assert_eq!(key.map(VerifyingKey::secret), Ok(SECRET));
        }
        assert_eq!(opened, 1);
        assert_eq!(format!("{slot:?}"), "opened");
    }
}
