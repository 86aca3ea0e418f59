//! Access keys, login profiles and the account password policy.

use crate::command::Op;
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::model::{AccessKey, KeyLastUsed, KeyStatus, LoginProfile, PasswordPolicy};
use crate::state::{IamState, Outcome};
use crate::validate::quota;

use super::key;

impl IamState {
    pub(crate) fn apply_access_key(&mut self, op: &Op, at: i64) -> StoreResult<Outcome> {
        match op {
            Op::CreateAccessKey {
                account,
                user_name,
                access_key_id,
                sealed_secret,
            } => {
                let valid_id = access_key_id.len() == 20
                    && access_key_id.starts_with("AKIA")
                    && access_key_id
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !valid_id {
                    return Err(StoreError::invalid(
                        "access_key_id",
                        "an access key id is `AKIA` and 16 uppercase letters or digits",
                    ));
                }
                if self.access_keys.contains_key(access_key_id) {
                    return Err(StoreError::exists(
                        "access key",
                        "access_key_id",
                        access_key_id,
                    ));
                }
                let owned = self.key_list(account, user_name.as_deref())?;
                if owned.len() >= quota::ACCESS_KEYS {
                    return Err(StoreError::limit(
                        "user_name",
                        "access keys per user",
                        quota::ACCESS_KEYS,
                    ));
                }
                owned.push(access_key_id.clone());
                let record = AccessKey {
                    access_key_id: access_key_id.clone(),
                    account_id: account.clone(),
                    user: user_name.as_deref().map(key),
                    sealed_secret: sealed_secret.clone(),
                    status: KeyStatus::Active,
                    create_date: at,
                    last_used: None,
                };
                self.access_keys
                    .insert(access_key_id.clone(), record.clone());
                self.key_changed(access_key_id);
                Ok(Outcome::AccessKey(Box::new(record)))
            }
            Op::UpdateAccessKey {
                account,
                user_name,
                access_key_id,
                status,
            } => {
                self.owned_key(account, user_name.as_deref(), access_key_id)?;
                if let Some(k) = self.access_keys.get_mut(access_key_id) {
                    k.status = *status;
                }
                self.key_changed(access_key_id);
                Ok(Outcome::Done)
            }
            Op::DeleteAccessKey {
                account,
                user_name,
                access_key_id,
            } => {
                self.owned_key(account, user_name.as_deref(), access_key_id)?;
                self.key_list(account, user_name.as_deref())?
                    .retain(|k| k != access_key_id);
                self.access_keys.remove(access_key_id);
                self.key_changed(access_key_id);
                Ok(Outcome::Done)
            }
            Op::RecordAccessKeyUse {
                access_key_id,
                service_name,
                region,
            } => {
                let k = self.access_keys.get_mut(access_key_id).ok_or_else(|| {
                    StoreError::no_such("access key", "access_key_id", access_key_id)
                })?;
                k.last_used = Some(KeyLastUsed {
                    date: at,
                    service_name: service_name.clone(),
                    region: region.clone(),
                });
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not an access key operation")),
        }
    }

    pub(crate) fn apply_login(&mut self, op: &Op, at: i64) -> StoreResult<Outcome> {
        match op {
            Op::CreateLoginProfile {
                account,
                user_name,
                password_hash,
                password_reset_required,
            } => {
                let profile = &mut self.user_mut(account, user_name)?.login_profile;
                if profile.is_some() {
                    return Err(StoreError::exists("login profile", "user_name", user_name));
                }
                *profile = Some(LoginProfile {
                    password_hash: password_hash.clone(),
                    create_date: at,
                    password_reset_required: *password_reset_required,
                });
                Ok(Outcome::Done)
            }
            Op::UpdateLoginProfile {
                account,
                user_name,
                password_hash,
                password_reset_required,
            } => {
                let profile = self
                    .user_mut(account, user_name)?
                    .login_profile
                    .as_mut()
                    .ok_or_else(|| StoreError::no_such("login profile", "user_name", user_name))?;
                if let Some(h) = password_hash {
                    profile.password_hash = h.clone();
                }
                if let Some(r) = password_reset_required {
                    profile.password_reset_required = *r;
                }
                Ok(Outcome::Done)
            }
            Op::DeleteLoginProfile { account, user_name } => {
                let profile = &mut self.user_mut(account, user_name)?.login_profile;
                if profile.take().is_none() {
                    return Err(StoreError::no_such("login profile", "user_name", user_name));
                }
                Ok(Outcome::Done)
            }
            Op::UpdateAccountPasswordPolicy { account, policy } => {
                check_password_policy(policy)?;
                self.account_mut(account)?.password_policy = Some(policy.clone());
                Ok(Outcome::Done)
            }
            Op::DeleteAccountPasswordPolicy { account } => {
                if self.account_mut(account)?.password_policy.take().is_none() {
                    return Err(StoreError::new(
                        ErrorCode::NoSuchEntity,
                        "the account has no password policy",
                    ));
                }
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not a login operation")),
        }
    }

    fn user_mut(&mut self, account: &str, user_name: &str) -> StoreResult<&mut crate::model::User> {
        self.account_mut(account)?
            .users
            .get_mut(&key(user_name))
            .ok_or_else(|| StoreError::no_such("user", "user_name", user_name))
    }

    /// The key list of a user, or of the account root when `user_name` is `None`.
    fn key_list(
        &mut self,
        account: &str,
        user_name: Option<&str>,
    ) -> StoreResult<&mut Vec<String>> {
        match user_name {
            Some(u) => Ok(&mut self.user_mut(account, u)?.access_keys),
            None => Ok(&mut self.account_mut(account)?.root_access_keys),
        }
    }

    /// Checks that the key exists and belongs to that user (or root) of that account.
    fn owned_key(
        &self,
        account: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> StoreResult<()> {
        let owned = self.access_keys.get(access_key_id).is_some_and(|k| {
            k.account_id == account && k.user.as_deref() == user_name.map(key).as_deref()
        });
        if owned {
            Ok(())
        } else {
            Err(StoreError::no_such(
                "access key",
                "access_key_id",
                access_key_id,
            ))
        }
    }

    fn key_changed(&self, access_key_id: &str) {
        self.record(|c| {
            c.keys.insert(access_key_id.to_owned());
        });
    }
}

fn check_password_policy(p: &PasswordPolicy) -> StoreResult<()> {
    if !(6..=128).contains(&p.minimum_password_length) {
        return Err(StoreError::invalid(
            "minimum_password_length",
            "`minimum_password_length` must be between 6 and 128",
        ));
    }
    if p.max_password_age > 1_095 {
        return Err(StoreError::invalid(
            "max_password_age",
            "`max_password_age` must be between 0 and 1095 days",
        ));
    }
    if p.password_reuse_prevention > 24 {
        return Err(StoreError::invalid(
            "password_reuse_prevention",
            "`password_reuse_prevention` must be between 0 and 24",
        ));
    }
    Ok(())
}
