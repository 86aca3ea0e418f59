//! Roles and their trust policies.

use iam_policy::PolicyKind;

use crate::command::Op;
use crate::error::{StoreError, StoreResult};
use crate::model::{Permissions, Role};
use crate::state::{IamState, Outcome, conflict};
use crate::validate::{self, quota};

use super::{arn, check_document, key, policy_exists};

/// `MaxSessionDuration` bounds, in seconds.
pub const MIN_SESSION: u32 = 3_600;
/// `MaxSessionDuration` upper bound.
pub const MAX_SESSION: u32 = 43_200;

fn check_duration(field: &str, seconds: u32) -> StoreResult<()> {
    if (MIN_SESSION..=MAX_SESSION).contains(&seconds) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            format!("`{field}` must be between {MIN_SESSION} and {MAX_SESSION} seconds"),
        ))
    }
}

impl IamState {
    pub(crate) fn apply_role(&mut self, op: &Op, at: i64) -> StoreResult<Outcome> {
        match op {
            Op::CreateRole {
                account,
                role_name,
                path,
                assume_role_policy_document,
                description,
                max_session_duration,
                tags,
                permissions_boundary,
            } => {
                validate::name("role_name", role_name, 64)?;
                validate::path("path", path)?;
                validate::description("description", description, 1_000)?;
                validate::tags("tags", tags)?;
                check_duration("max_session_duration", *max_session_duration)?;
                check_document(
                    "assume_role_policy_document",
                    assume_role_policy_document,
                    PolicyKind::Trust,
                )?;
                let acct = self.account_ref(account)?;
                if acct.roles.contains_key(&key(role_name)) {
                    return Err(StoreError::exists("role", "role_name", role_name));
                }
                if acct.roles.len() >= quota::ROLES {
                    return Err(StoreError::limit("role_name", "roles", quota::ROLES));
                }
                if let Some(b) = permissions_boundary {
                    policy_exists(self, account, b, "permissions_boundary")?;
                    self.adjust_policy_usage(account, b, 0, 1);
                }
                let role = Role {
                    name: role_name.clone(),
                    path: path.clone(),
                    role_id: self.new_id("AROA"),
                    arn: arn(account, "role", path, role_name),
                    create_date: at,
                    description: description.clone(),
                    assume_role_policy: assume_role_policy_document.clone(),
                    max_session_duration: *max_session_duration,
                    tags: tags.clone(),
                    permissions: Permissions::default(),
                    boundary: permissions_boundary.clone(),
                };
                self.account_mut(account)?
                    .roles
                    .insert(key(role_name), role.clone());
                self.role_changed(account, role_name);
                Ok(Outcome::Role(Box::new(role)))
            }
            Op::UpdateRole {
                account,
                role_name,
                description,
                max_session_duration,
            } => {
                if let Some(d) = description {
                    validate::description("description", d, 1_000)?;
                }
                if let Some(s) = max_session_duration {
                    check_duration("max_session_duration", *s)?;
                }
                let role = self.role_mut(account, role_name)?;
                if let Some(d) = description {
                    role.description = d.clone();
                }
                if let Some(s) = max_session_duration {
                    role.max_session_duration = *s;
                }
                let role = role.clone();
                self.role_changed(account, role_name);
                Ok(Outcome::Role(Box::new(role)))
            }
            Op::UpdateAssumeRolePolicy {
                account,
                role_name,
                policy_document,
            } => {
                check_document("policy_document", policy_document, PolicyKind::Trust)?;
                self.role_mut(account, role_name)?.assume_role_policy = policy_document.clone();
                self.role_changed(account, role_name);
                Ok(Outcome::Done)
            }
            Op::DeleteRole { account, role_name } => {
                let role = self.role_mut(account, role_name)?;
                if !role.permissions.inline.is_empty() || !role.permissions.attached.is_empty() {
                    return Err(conflict(
                        "role_name",
                        format!("cannot delete role `{role_name}`: it still has policies"),
                    ));
                }
                let (arn, boundary) = (role.arn.clone(), role.boundary.clone());
                if let Some(b) = boundary {
                    self.adjust_policy_usage(account, &b, 0, -1);
                }
                self.account_mut(account)?.roles.remove(&key(role_name));
                self.record(|c| {
                    c.removed.insert(arn);
                });
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not a role operation")),
        }
    }

    pub(crate) fn role_mut(&mut self, account: &str, role_name: &str) -> StoreResult<&mut Role> {
        self.account_mut(account)?
            .roles
            .get_mut(&key(role_name))
            .ok_or_else(|| StoreError::no_such("role", "role_name", role_name))
    }

    /// Marks a role's authorization view for rebuild.
    pub(crate) fn role_changed(&self, account: &str, role_name: &str) {
        self.record(|c| {
            c.roles.insert((account.to_owned(), key(role_name)));
        });
    }
}
