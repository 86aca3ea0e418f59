//! Users and groups.

use std::collections::BTreeSet;

use crate::command::Op;
use crate::error::{StoreError, StoreResult};
use crate::model::{Group, Permissions, User};
use crate::state::{IamState, Outcome, conflict};
use crate::validate::{self, quota};

use super::{arn, key, policy_exists};

impl IamState {
    pub(crate) fn apply_user(&mut self, op: &Op, at: i64) -> StoreResult<Outcome> {
        match op {
            Op::CreateUser {
                account,
                user_name,
                path,
                tags,
                permissions_boundary,
            } => {
                validate::name("user_name", user_name, 64)?;
                validate::path("path", path)?;
                validate::tags("tags", tags)?;
                let acct = self.account_ref(account)?;
                if acct.users.contains_key(&key(user_name)) {
                    return Err(StoreError::exists("user", "user_name", user_name));
                }
                if acct.users.len() >= quota::USERS {
                    return Err(StoreError::limit("user_name", "users", quota::USERS));
                }
                if let Some(b) = permissions_boundary {
                    policy_exists(self, account, b, "permissions_boundary")?;
                }
                let user_id = self.new_id("AIDA");
                if let Some(b) = permissions_boundary {
                    self.adjust_policy_usage(account, b, 0, 1);
                }
                let user = User {
                    name: user_name.clone(),
                    path: path.clone(),
                    user_id,
                    arn: arn(account, "user", path, user_name),
                    create_date: at,
                    tags: tags.clone(),
                    permissions: Permissions::default(),
                    boundary: permissions_boundary.clone(),
                    groups: BTreeSet::new(),
                    access_keys: Vec::new(),
                    login_profile: None,
                    mfa_devices: Vec::new(),
                };
                self.account_mut(account)?
                    .users
                    .insert(key(user_name), user.clone());
                self.user_changed(account, user_name);
                Ok(Outcome::User(Box::new(user)))
            }
            Op::UpdateUser {
                account,
                user_name,
                new_user_name,
                new_path,
            } => self.update_user(
                account,
                user_name,
                new_user_name.as_deref(),
                new_path.as_deref(),
            ),
            Op::DeleteUser { account, user_name } => {
                let acct = self.account_ref(account)?;
                let user = acct
                    .users
                    .get(&key(user_name))
                    .ok_or_else(|| StoreError::no_such("user", "user_name", user_name))?;
                let blockers = [
                    (!user.access_keys.is_empty(), "access keys"),
                    (user.login_profile.is_some(), "a login profile"),
                    (!user.permissions.inline.is_empty(), "inline policies"),
                    (!user.permissions.attached.is_empty(), "attached policies"),
                    (!user.groups.is_empty(), "group memberships"),
                    (!user.mfa_devices.is_empty(), "MFA devices"),
                ];
                if let Some((_, what)) = blockers.iter().find(|(blocked, _)| *blocked) {
                    return Err(conflict(
                        "user_name",
                        format!("cannot delete user `{user_name}`: it still has {what}"),
                    ));
                }
                let arn = user.arn.clone();
                let boundary = user.boundary.clone();
                if let Some(b) = boundary {
                    self.adjust_policy_usage(account, &b, 0, -1);
                }
                self.account_mut(account)?.users.remove(&key(user_name));
                self.record(|c| {
                    c.removed.insert(arn);
                });
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not a user operation")),
        }
    }

    fn update_user(
        &mut self,
        account: &str,
        user_name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> StoreResult<Outcome> {
        if let Some(n) = new_name {
            validate::name("new_user_name", n, 64)?;
        }
        if let Some(p) = new_path {
            validate::path("new_path", p)?;
        }
        let acct = self.account_ref(account)?;
        let old_key = key(user_name);
        let user = acct
            .users
            .get(&old_key)
            .ok_or_else(|| StoreError::no_such("user", "user_name", user_name))?;
        let renamed = new_name.filter(|n| key(n) != old_key);
        if let Some(n) = renamed {
            if acct.users.contains_key(&key(n)) {
                return Err(StoreError::exists("user", "new_user_name", n));
            }
        }
        let mut user = user.clone();
        let old_arn = user.arn.clone();
        if let Some(n) = new_name {
            user.name = n.to_owned();
        }
        if let Some(p) = new_path {
            user.path = p.to_owned();
        }
        user.arn = arn(account, "user", &user.path, &user.name);
        let new_key = key(&user.name);
        let acct = self.account_mut(account)?;
        acct.users.remove(&old_key);
        if new_key != old_key {
            for g in &user.groups {
                if let Some(group) = acct.groups.get_mut(g) {
                    group.members.remove(&old_key);
                    group.members.insert(new_key.clone());
                }
            }
        }
        let keys = user.access_keys.clone();
        acct.users.insert(new_key.clone(), user.clone());
        for k in &keys {
            if let Some(ak) = self.access_keys.get_mut(k) {
                ak.user = Some(new_key.clone());
            }
        }
        self.record(|c| {
            c.removed.insert(old_arn);
            c.users.insert((account.to_owned(), new_key));
            c.keys.extend(keys);
        });
        Ok(Outcome::User(Box::new(user)))
    }

    pub(crate) fn apply_group(&mut self, op: &Op, at: i64) -> StoreResult<Outcome> {
        match op {
            Op::CreateGroup {
                account,
                group_name,
                path,
            } => {
                validate::name("group_name", group_name, 128)?;
                validate::path("path", path)?;
                let acct = self.account_ref(account)?;
                if acct.groups.contains_key(&key(group_name)) {
                    return Err(StoreError::exists("group", "group_name", group_name));
                }
                if acct.groups.len() >= quota::GROUPS {
                    return Err(StoreError::limit("group_name", "groups", quota::GROUPS));
                }
                let group = Group {
                    name: group_name.clone(),
                    path: path.clone(),
                    group_id: self.new_id("AGPA"),
                    arn: arn(account, "group", path, group_name),
                    create_date: at,
                    permissions: Permissions::default(),
                    members: BTreeSet::new(),
                };
                self.account_mut(account)?
                    .groups
                    .insert(key(group_name), group.clone());
                Ok(Outcome::Group(Box::new(group)))
            }
            Op::UpdateGroup {
                account,
                group_name,
                new_group_name,
                new_path,
            } => self.update_group(
                account,
                group_name,
                new_group_name.as_deref(),
                new_path.as_deref(),
            ),
            Op::DeleteGroup {
                account,
                group_name,
            } => {
                let acct = self.account_ref(account)?;
                let group = acct
                    .groups
                    .get(&key(group_name))
                    .ok_or_else(|| StoreError::no_such("group", "group_name", group_name))?;
                let blockers = [
                    (!group.members.is_empty(), "members"),
                    (!group.permissions.inline.is_empty(), "inline policies"),
                    (!group.permissions.attached.is_empty(), "attached policies"),
                ];
                if let Some((_, what)) = blockers.iter().find(|(blocked, _)| *blocked) {
                    return Err(conflict(
                        "group_name",
                        format!("cannot delete group `{group_name}`: it still has {what}"),
                    ));
                }
                self.account_mut(account)?.groups.remove(&key(group_name));
                Ok(Outcome::Done)
            }
            Op::AddUserToGroup {
                account,
                group_name,
                user_name,
            } => {
                let (gk, uk) = (key(group_name), key(user_name));
                let acct = self.account_ref(account)?;
                if !acct.groups.contains_key(&gk) {
                    return Err(StoreError::no_such("group", "group_name", group_name));
                }
                let user = acct
                    .users
                    .get(&uk)
                    .ok_or_else(|| StoreError::no_such("user", "user_name", user_name))?;
                if user.groups.contains(&gk) {
                    return Ok(Outcome::Done);
                }
                if user.groups.len() >= quota::GROUPS_PER_USER {
                    return Err(StoreError::limit(
                        "group_name",
                        "groups per user",
                        quota::GROUPS_PER_USER,
                    ));
                }
                let acct = self.account_mut(account)?;
                if let Some(g) = acct.groups.get_mut(&gk) {
                    g.members.insert(uk.clone());
                }
                if let Some(u) = acct.users.get_mut(&uk) {
                    u.groups.insert(gk);
                }
                self.user_changed(account, user_name);
                Ok(Outcome::Done)
            }
            Op::RemoveUserFromGroup {
                account,
                group_name,
                user_name,
            } => {
                let (gk, uk) = (key(group_name), key(user_name));
                let acct = self.account_ref(account)?;
                let group = acct
                    .groups
                    .get(&gk)
                    .ok_or_else(|| StoreError::no_such("group", "group_name", group_name))?;
                if !acct.users.contains_key(&uk) {
                    return Err(StoreError::no_such("user", "user_name", user_name));
                }
                if !group.members.contains(&uk) {
                    // As in AWS: removing a user that is not a member succeeds, changing
                    // nothing.
                    return Ok(Outcome::Done);
                }
                let acct = self.account_mut(account)?;
                if let Some(g) = acct.groups.get_mut(&gk) {
                    g.members.remove(&uk);
                }
                if let Some(u) = acct.users.get_mut(&uk) {
                    u.groups.remove(&gk);
                }
                self.user_changed(account, user_name);
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not a group operation")),
        }
    }

    fn update_group(
        &mut self,
        account: &str,
        group_name: &str,
        new_name: Option<&str>,
        new_path: Option<&str>,
    ) -> StoreResult<Outcome> {
        if let Some(n) = new_name {
            validate::name("new_group_name", n, 128)?;
        }
        if let Some(p) = new_path {
            validate::path("new_path", p)?;
        }
        let acct = self.account_ref(account)?;
        let old_key = key(group_name);
        let group = acct
            .groups
            .get(&old_key)
            .ok_or_else(|| StoreError::no_such("group", "group_name", group_name))?;
        if let Some(n) = new_name.filter(|n| key(n) != old_key) {
            if acct.groups.contains_key(&key(n)) {
                return Err(StoreError::exists("group", "new_group_name", n));
            }
        }
        let mut group = group.clone();
        if let Some(n) = new_name {
            group.name = n.to_owned();
        }
        if let Some(p) = new_path {
            group.path = p.to_owned();
        }
        group.arn = arn(account, "group", &group.path, &group.name);
        let new_key = key(&group.name);
        let acct = self.account_mut(account)?;
        acct.groups.remove(&old_key);
        for m in &group.members {
            if let Some(u) = acct.users.get_mut(m) {
                u.groups.remove(&old_key);
                u.groups.insert(new_key.clone());
            }
        }
        acct.groups.insert(new_key, group.clone());
        Ok(Outcome::Group(Box::new(group)))
    }

    /// Marks a user's authorization view for rebuild.
    pub(crate) fn user_changed(&self, account: &str, user_name: &str) {
        self.record(|c| {
            c.users.insert((account.to_owned(), key(user_name)));
        });
    }

    /// Marks every member of a group for rebuild.
    pub(crate) fn group_changed(&self, account: &str, group_key: &str) {
        let members: Vec<String> = self
            .accounts
            .get(account)
            .and_then(|a| a.groups.get(group_key))
            .map(|g| g.members.iter().cloned().collect())
            .unwrap_or_default();
        self.record(|c| {
            for m in members {
                c.users.insert((account.to_owned(), m));
            }
        });
    }
}
