//! `apply` for each family of operations, and the helpers they share.

mod keys;
mod org;
mod permissions;
mod policies;
mod roles;
mod users;

use iam_policy::{Policy, PolicyKind, check_size};

use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::library;
pub use org::FULL_AWS_ACCESS;

use crate::state::IamState;

/// The map key of a name: names are unique per account without regard to case.
pub(crate) fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// `arn:aws:iam::ACCOUNT:KIND/PATH/NAME` (the path starts and ends with `/`).
pub(crate) fn arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

/// Validates a policy document of a kind: grammar and size.
pub(crate) fn check_document(field: &str, text: &str, kind: PolicyKind) -> StoreResult<Policy> {
    check_size(text, kind)
        .map_err(|e| StoreError::field(ErrorCode::LimitExceeded, field, e.message))?;
    Policy::parse(text, kind).map_err(|e| {
        StoreError::field(
            ErrorCode::MalformedPolicyDocument,
            field,
            format!("{} (at `{}`)", e.message, e.path),
        )
    })
}

/// The lowercased name of the customer managed policy `arn` names in `account`, or `None`
/// for an AWS managed policy. Errors when the ARN names neither.
pub(crate) fn policy_exists(
    state: &IamState,
    account: &str,
    policy_arn: &str,
    field: &str,
) -> StoreResult<Option<String>> {
    if library::get(policy_arn).is_some() {
        return Ok(None);
    }
    let missing = || {
        StoreError::field(
            ErrorCode::NoSuchEntity,
            field,
            format!("policy `{policy_arn}` does not exist or is not attachable"),
        )
    };
    let prefix = format!("arn:aws:iam::{account}:policy/");
    let rest = policy_arn.strip_prefix(&prefix).ok_or_else(missing)?;
    let name = rest.rsplit('/').next().unwrap_or(rest);
    let name_key = key(name);
    let acct = state.account_ref(account)?;
    match acct.policies.get(&name_key) {
        Some(p) if p.arn == policy_arn => Ok(Some(name_key)),
        _ => Err(missing()),
    }
}

impl IamState {
    /// Adjusts the attachment and boundary-use counts of a customer managed policy (AWS
    /// managed policies are not counted).
    pub(crate) fn adjust_policy_usage(
        &mut self,
        account: &str,
        policy_arn: &str,
        attachments: i64,
        boundaries: i64,
    ) {
        let Ok(Some(name)) = policy_exists(self, account, policy_arn, "policy_arn") else {
            return;
        };
        if let Some(p) = self
            .accounts
            .get_mut(account)
            .and_then(|a| a.policies.get_mut(&name))
        {
            p.attachment_count = add(p.attachment_count, attachments);
            p.boundary_usage_count = add(p.boundary_usage_count, boundaries);
        }
    }
}

fn add(count: u32, delta: i64) -> u32 {
    u32::try_from((i64::from(count) + delta).max(0)).unwrap_or(u32::MAX)
}
