//! Customer managed policies and their versions.

use std::collections::BTreeMap;

use iam_policy::PolicyKind;

use crate::command::Op;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::model::{ManagedPolicy, PolicyVersion};
use crate::state::{IamState, Outcome, conflict};
use crate::validate::{self, quota};

use super::{arn, check_document, key, policy_exists};

/// Parses `v3` into 3.
fn version_number(version_id: &str) -> StoreResult<u32> {
    version_id
        .strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            StoreError::invalid(
                "version_id",
                format!("version id `{version_id}` must look like `v1`"),
            )
        })
}

impl IamState {
    pub(crate) fn apply_managed(&mut self, op: &Op, at: i64) -> StoreResult<Outcome> {
        match op {
            Op::CreatePolicy {
                account,
                policy_name,
                path,
                policy_document,
                description,
                tags,
            } => {
                validate::name("policy_name", policy_name, 128)?;
                validate::path("path", path)?;
                validate::description("description", description, 1_000)?;
                validate::tags("tags", tags)?;
                check_document("policy_document", policy_document, PolicyKind::Managed)?;
                let acct = self.account_ref(account)?;
                if acct.policies.contains_key(&key(policy_name)) {
                    return Err(StoreError::exists("policy", "policy_name", policy_name));
                }
                if acct.policies.len() >= quota::MANAGED_POLICIES {
                    return Err(StoreError::limit(
                        "policy_name",
                        "customer managed policies",
                        quota::MANAGED_POLICIES,
                    ));
                }
                let mut versions = BTreeMap::new();
                versions.insert(
                    1,
                    PolicyVersion {
                        document: policy_document.clone(),
                        create_date: at,
                    },
                );
                let policy = ManagedPolicy {
                    name: policy_name.clone(),
                    path: path.clone(),
                    policy_id: self.new_id("ANPA"),
                    arn: arn(account, "policy", path, policy_name),
                    description: description.clone(),
                    create_date: at,
                    update_date: at,
                    default_version: 1,
                    next_version: 2,
                    versions,
                    tags: tags.clone(),
                    attachment_count: 0,
                    boundary_usage_count: 0,
                };
                self.account_mut(account)?
                    .policies
                    .insert(key(policy_name), policy.clone());
                Ok(Outcome::Policy(Box::new(policy)))
            }
            Op::DeletePolicy {
                account,
                policy_arn,
            } => {
                let name = self.customer_policy(account, policy_arn)?;
                let p = self.policy_ref(account, &name)?;
                if p.attachment_count > 0 || p.boundary_usage_count > 0 {
                    return Err(conflict(
                        "policy_arn",
                        format!(
                            "cannot delete policy `{policy_arn}`: it is attached or used as a permissions boundary"
                        ),
                    ));
                }
                if p.versions.len() > 1 {
                    return Err(conflict(
                        "policy_arn",
                        format!(
                            "cannot delete policy `{policy_arn}`: delete its non-default versions first"
                        ),
                    ));
                }
                self.account_mut(account)?.policies.remove(&name);
                Ok(Outcome::Done)
            }
            Op::CreatePolicyVersion {
                account,
                policy_arn,
                policy_document,
                set_as_default,
            } => {
                check_document("policy_document", policy_document, PolicyKind::Managed)?;
                let name = self.customer_policy(account, policy_arn)?;
                let p = self.policy_ref(account, &name)?;
                if p.versions.len() >= quota::POLICY_VERSIONS {
                    return Err(StoreError::limit(
                        "policy_arn",
                        "versions per policy",
                        quota::POLICY_VERSIONS,
                    ));
                }
                let p = self.policy_mut(account, &name)?;
                let number = p.next_version;
                p.next_version += 1;
                p.versions.insert(
                    number,
                    PolicyVersion {
                        document: policy_document.clone(),
                        create_date: at,
                    },
                );
                if *set_as_default {
                    p.default_version = number;
                    p.update_date = at;
                    self.policy_changed(account, policy_arn);
                }
                Ok(Outcome::PolicyVersion {
                    version_id: format!("v{number}"),
                    is_default: *set_as_default,
                })
            }
            Op::DeletePolicyVersion {
                account,
                policy_arn,
                version_id,
            } => {
                let number = version_number(version_id)?;
                let name = self.customer_policy(account, policy_arn)?;
                let p = self.policy_mut(account, &name)?;
                if !p.versions.contains_key(&number) {
                    return Err(no_version(policy_arn, version_id));
                }
                if p.default_version == number {
                    return Err(conflict(
                        "version_id",
                        format!(
                            "cannot delete the default version `{version_id}` of policy `{policy_arn}`"
                        ),
                    ));
                }
                p.versions.remove(&number);
                Ok(Outcome::Done)
            }
            Op::SetDefaultPolicyVersion {
                account,
                policy_arn,
                version_id,
            } => {
                let number = version_number(version_id)?;
                let name = self.customer_policy(account, policy_arn)?;
                let p = self.policy_mut(account, &name)?;
                if !p.versions.contains_key(&number) {
                    return Err(no_version(policy_arn, version_id));
                }
                p.default_version = number;
                self.policy_changed(account, policy_arn);
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not a managed policy operation")),
        }
    }

    /// The lowercased name of a customer managed policy of the account; AWS managed
    /// policies cannot be changed.
    pub(crate) fn customer_policy(&self, account: &str, policy_arn: &str) -> StoreResult<String> {
        policy_exists(self, account, policy_arn, "policy_arn")?.ok_or_else(|| {
            StoreError::field(
                ErrorCode::UnmodifiableEntity,
                "policy_arn",
                format!("`{policy_arn}` is an AWS managed policy and cannot be changed"),
            )
        })
    }

    fn policy_ref(&self, account: &str, name: &str) -> StoreResult<&ManagedPolicy> {
        self.account_ref(account)?
            .policies
            .get(name)
            .ok_or_else(|| StoreError::no_such("policy", "policy_arn", name))
    }

    fn policy_mut(&mut self, account: &str, name: &str) -> StoreResult<&mut ManagedPolicy> {
        self.account_mut(account)?
            .policies
            .get_mut(name)
            .ok_or_else(|| StoreError::no_such("policy", "policy_arn", name))
    }

    /// Marks every user and role the policy applies to (attached directly, through a
    /// group, or as a boundary) for rebuild.
    pub(crate) fn policy_changed(&self, account: &str, policy_arn: &str) {
        let Some(acct) = self.accounts.get(account) else {
            return;
        };
        let mut users = Vec::new();
        let mut roles = Vec::new();
        for (k, u) in &acct.users {
            if u.permissions.attached.contains(policy_arn)
                || u.boundary.as_deref() == Some(policy_arn)
            {
                users.push(k.clone());
            }
        }
        for g in acct.groups.values() {
            if g.permissions.attached.contains(policy_arn) {
                users.extend(g.members.iter().cloned());
            }
        }
        for (k, r) in &acct.roles {
            if r.permissions.attached.contains(policy_arn)
                || r.boundary.as_deref() == Some(policy_arn)
            {
                roles.push(k.clone());
            }
        }
        self.record(|c| {
            c.users
                .extend(users.into_iter().map(|u| (account.to_owned(), u)));
            c.roles
                .extend(roles.into_iter().map(|r| (account.to_owned(), r)));
        });
    }
}

fn no_version(policy_arn: &str, version_id: &str) -> StoreError {
    StoreError::field(
        ErrorCode::NoSuchEntity,
        "version_id",
        format!("policy `{policy_arn}` has no version `{version_id}`"),
    )
}
