//! Inline policies, attachments, permissions boundaries and tags.

use iam_policy::{PolicyKind, policy_size};

use crate::command::{Op, PrincipalKind, Taggable};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::model::{Permissions, Tag};
use crate::state::{IamState, Outcome};
use crate::validate::{self, quota};

use super::{check_document, key, policy_exists};

impl IamState {
    pub(crate) fn apply_permissions(&mut self, op: &Op) -> StoreResult<Outcome> {
        match op {
            Op::PutInlinePolicy {
                account,
                kind,
                name,
                policy_name,
                policy_document,
            } => {
                validate::name("policy_name", policy_name, 128)?;
                let (doc_kind, limit) = match kind {
                    PrincipalKind::User => (PolicyKind::UserInline, quota::USER_INLINE_BYTES),
                    PrincipalKind::Group => (PolicyKind::GroupInline, quota::GROUP_INLINE_BYTES),
                    PrincipalKind::Role => (PolicyKind::RoleInline, quota::ROLE_INLINE_BYTES),
                };
                check_document("policy_document", policy_document, doc_kind)?;
                let perms = self.permissions(account, *kind, name)?;
                let others: usize = perms
                    .inline
                    .iter()
                    .filter(|(n, _)| *n != policy_name)
                    .map(|(_, d)| policy_size(d))
                    .sum();
                if others + policy_size(policy_document) > limit {
                    return Err(StoreError::limit(
                        "policy_document",
                        &format!("the total size of a {}'s inline policies", kind.noun()),
                        limit,
                    ));
                }
                self.permissions_mut(account, *kind, name)?
                    .inline
                    .insert(policy_name.clone(), policy_document.clone());
                self.principal_changed(account, *kind, name);
                Ok(Outcome::Done)
            }
            Op::DeleteInlinePolicy {
                account,
                kind,
                name,
                policy_name,
            } => {
                let perms = self.permissions_mut(account, *kind, name)?;
                if perms.inline.remove(policy_name).is_none() {
                    return Err(StoreError::no_such("policy", "policy_name", policy_name));
                }
                self.principal_changed(account, *kind, name);
                Ok(Outcome::Done)
            }
            Op::AttachPolicy {
                account,
                kind,
                name,
                policy_arn,
            } => {
                policy_exists(self, account, policy_arn, "policy_arn")?;
                let perms = self.permissions(account, *kind, name)?;
                if perms.attached.contains(policy_arn) {
                    return Ok(Outcome::Done);
                }
                if perms.attached.len() >= quota::ATTACHED_POLICIES {
                    return Err(StoreError::limit(
                        "policy_arn",
                        &format!("managed policies attached to a {}", kind.noun()),
                        quota::ATTACHED_POLICIES,
                    ));
                }
                self.permissions_mut(account, *kind, name)?
                    .attached
                    .insert(policy_arn.clone());
                self.adjust_policy_usage(account, policy_arn, 1, 0);
                self.principal_changed(account, *kind, name);
                Ok(Outcome::Done)
            }
            Op::DetachPolicy {
                account,
                kind,
                name,
                policy_arn,
            } => {
                if !self
                    .permissions_mut(account, *kind, name)?
                    .attached
                    .remove(policy_arn)
                {
                    return Err(StoreError::field(
                        ErrorCode::NoSuchEntity,
                        "policy_arn",
                        format!(
                            "policy `{policy_arn}` is not attached to {} `{name}`",
                            kind.noun()
                        ),
                    ));
                }
                self.adjust_policy_usage(account, policy_arn, -1, 0);
                self.principal_changed(account, *kind, name);
                Ok(Outcome::Done)
            }
            Op::PutPermissionsBoundary {
                account,
                kind,
                name,
                permissions_boundary,
            } => {
                policy_exists(self, account, permissions_boundary, "permissions_boundary")?;
                let old = self
                    .boundary_mut(account, *kind, name)?
                    .replace(permissions_boundary.clone());
                if let Some(old) = old {
                    self.adjust_policy_usage(account, &old, 0, -1);
                }
                self.adjust_policy_usage(account, permissions_boundary, 0, 1);
                self.principal_changed(account, *kind, name);
                Ok(Outcome::Done)
            }
            Op::DeletePermissionsBoundary {
                account,
                kind,
                name,
            } => {
                let old = self.boundary_mut(account, *kind, name)?.take();
                match old {
                    Some(old) => self.adjust_policy_usage(account, &old, 0, -1),
                    None => {
                        return Err(StoreError::field(
                            ErrorCode::NoSuchEntity,
                            kind.field(),
                            format!("{} `{name}` has no permissions boundary", kind.noun()),
                        ));
                    }
                }
                self.principal_changed(account, *kind, name);
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not a permissions operation")),
        }
    }

    pub(crate) fn apply_tags(&mut self, op: &Op) -> StoreResult<Outcome> {
        match op {
            Op::Tag {
                account,
                target,
                name,
                tags,
            } => {
                validate::tags("tags", tags)?;
                let mut merged = self.tags_mut(account, *target, name)?.clone();
                for t in tags {
                    merged.retain(|old| !old.key.eq_ignore_ascii_case(&t.key));
                    merged.push(t.clone());
                }
                validate::tags("tags", &merged)?;
                *self.tags_mut(account, *target, name)? = merged;
                self.tagged(account, *target, name);
                Ok(Outcome::Done)
            }
            Op::Untag {
                account,
                target,
                name,
                tag_keys,
            } => {
                let tags = self.tags_mut(account, *target, name)?;
                tags.retain(|t| !tag_keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
                self.tagged(account, *target, name);
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not a tag operation")),
        }
    }

    fn tagged(&self, account: &str, target: Taggable, name: &str) {
        match target {
            Taggable::User => self.user_changed(account, name),
            Taggable::Role => self.role_changed(account, name),
            Taggable::Policy => {}
        }
    }

    fn tags_mut(
        &mut self,
        account: &str,
        target: Taggable,
        name: &str,
    ) -> StoreResult<&mut Vec<Tag>> {
        match target {
            Taggable::User => self
                .account_mut(account)?
                .users
                .get_mut(&key(name))
                .map(|u| &mut u.tags)
                .ok_or_else(|| StoreError::no_such("user", "user_name", name)),
            Taggable::Role => Ok(&mut self.role_mut(account, name)?.tags),
            Taggable::Policy => {
                let policy = self.customer_policy(account, name)?;
                self.account_mut(account)?
                    .policies
                    .get_mut(&policy)
                    .map(|p| &mut p.tags)
                    .ok_or_else(|| StoreError::no_such("policy", "policy_arn", name))
            }
        }
    }

    fn permissions(
        &self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
    ) -> StoreResult<&Permissions> {
        let acct = self.account_ref(account)?;
        let k = key(name);
        let found = match kind {
            PrincipalKind::User => acct.users.get(&k).map(|u| &u.permissions),
            PrincipalKind::Group => acct.groups.get(&k).map(|g| &g.permissions),
            PrincipalKind::Role => acct.roles.get(&k).map(|r| &r.permissions),
        };
        found.ok_or_else(|| StoreError::no_such(kind.noun(), kind.field(), name))
    }

    fn permissions_mut(
        &mut self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
    ) -> StoreResult<&mut Permissions> {
        let acct = self.account_mut(account)?;
        let k = key(name);
        let found = match kind {
            PrincipalKind::User => acct.users.get_mut(&k).map(|u| &mut u.permissions),
            PrincipalKind::Group => acct.groups.get_mut(&k).map(|g| &mut g.permissions),
            PrincipalKind::Role => acct.roles.get_mut(&k).map(|r| &mut r.permissions),
        };
        found.ok_or_else(|| StoreError::no_such(kind.noun(), kind.field(), name))
    }

    fn boundary_mut(
        &mut self,
        account: &str,
        kind: PrincipalKind,
        name: &str,
    ) -> StoreResult<&mut Option<String>> {
        let acct = self.account_mut(account)?;
        let k = key(name);
        match kind {
            PrincipalKind::User => acct.users.get_mut(&k).map(|u| &mut u.boundary),
            PrincipalKind::Role => acct.roles.get_mut(&k).map(|r| &mut r.boundary),
            PrincipalKind::Group => {
                return Err(StoreError::invalid(
                    "group_name",
                    "a permissions boundary can be set only on a user or a role",
                ));
            }
        }
        .ok_or_else(|| StoreError::no_such(kind.noun(), kind.field(), name))
    }

    fn principal_changed(&self, account: &str, kind: PrincipalKind, name: &str) {
        match kind {
            PrincipalKind::User => self.user_changed(account, name),
            PrincipalKind::Role => self.role_changed(account, name),
            PrincipalKind::Group => self.group_changed(account, &key(name)),
        }
    }
}
