//! Login profiles (users' passwords) and the account password policy.
//!
//! Passwords are checked against the account's password policy and hashed (Argon2id, random
//! salt) here, at the edge: the replicated command carries only the hash. A password is
//! never logged nor put in an error message.

use argon2::{Argon2, PasswordHash, PasswordHasher};
use iam_api::v1 as pb;
use iam_store::model::PasswordPolicy;
use iam_store::view::PrincipalKind;
use iam_store::{ErrorCode, Op, StoreError};
use tonic::{Code, Request, Status};

use super::iam_users::user_arn;
use super::{caller, convert, entity_name, required};
use crate::auth::Caller;
use crate::errors;
use crate::node::Node;

/// The longest password, in characters (AWS's limit).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The minimum length of a policy set without one (AWS's default for the API).
pub const DEFAULT_MINIMUM_LENGTH: u32 = 6;
/// The characters a password policy counts as symbols (AWS's set).
pub const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// The resource of the account-level password policy actions: AWS names none, so `*`.
const ACCOUNT_RESOURCE: &str = "*";

pub async fn create_login_profile(
    node: &Node,
    req: Request<pb::CreateLoginProfileRequest>,
) -> Result<pb::CreateLoginProfileResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let password = required("password", &r.password)?;
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:CreateLoginProfile",
        &user_arn(node, &account, name),
    )?;
    let password_hash = checked_hash(node, &account, password).await?;
    let op = Op::CreateLoginProfile {
        account: account.clone(),
        user_name: name.to_owned(),
        password_hash,
        password_reset_required: r.password_reset_required,
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    let login_profile = match profile(node, &account, name).await {
        Ok(p) => p,
        // Deleted again since: answer what was created.
        Err(_) => pb::LoginProfile {
            user_name: name.to_owned(),
            create_date: None,
            password_reset_required: r.password_reset_required,
        },
    };
    Ok(pb::CreateLoginProfileResponse {
        login_profile: Some(login_profile),
        revision,
    })
}

pub async fn get_login_profile(
    node: &Node,
    req: Request<pb::GetLoginProfileRequest>,
) -> Result<pb::GetLoginProfileResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = profile_owner(&c, &r.user_name)?;
    let account = c.principal.account.clone();
    node.authorize(&c, "iam:GetLoginProfile", &user_arn(node, &account, &name))?;
    Ok(pb::GetLoginProfileResponse {
        login_profile: Some(profile(node, &account, &name).await?),
    })
}

pub async fn update_login_profile(
    node: &Node,
    req: Request<pb::UpdateLoginProfileRequest>,
) -> Result<pb::UpdateLoginProfileResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    if let Some(p) = &r.password {
        required("password", p)?;
    }
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:UpdateLoginProfile",
        &user_arn(node, &account, name),
    )?;
    let password_hash = match &r.password {
        Some(p) => Some(checked_hash(node, &account, p).await?),
        None => None,
    };
    let op = Op::UpdateLoginProfile {
        account,
        user_name: name.to_owned(),
        password_hash,
        password_reset_required: r.password_reset_required,
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::UpdateLoginProfileResponse { revision })
}

pub async fn delete_login_profile(
    node: &Node,
    req: Request<pb::DeleteLoginProfileRequest>,
) -> Result<pb::DeleteLoginProfileResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("user_name", &r.user_name)?;
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:DeleteLoginProfile",
        &user_arn(node, &account, name),
    )?;
    let op = Op::DeleteLoginProfile {
        account,
        user_name: name.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeleteLoginProfileResponse { revision })
}

pub async fn update_account_password_policy(
    node: &Node,
    req: Request<pb::UpdateAccountPasswordPolicyRequest>,
) -> Result<pb::UpdateAccountPasswordPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let policy = policy_in(&r)?;
    node.authorize(&c, "iam:UpdateAccountPasswordPolicy", ACCOUNT_RESOURCE)?;
    let op = Op::UpdateAccountPasswordPolicy {
        account: c.principal.account.clone(),
        policy,
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::UpdateAccountPasswordPolicyResponse { revision })
}

pub async fn get_account_password_policy(
    node: &Node,
    req: Request<pb::GetAccountPasswordPolicyRequest>,
) -> Result<pb::GetAccountPasswordPolicyResponse, Status> {
    let c = caller(&req)?;
    node.authorize(&c, "iam:GetAccountPasswordPolicy", ACCOUNT_RESOURCE)?;
    let account = c.principal.account.clone();
    let policy = node
        .read(move |s| s.account(&account).and_then(|a| a.password_policy.clone()))
        .await?
        .ok_or_else(|| {
            errors::from_store(&StoreError::new(
                ErrorCode::NoSuchEntity,
                "the account has no password policy",
            ))
        })?;
    Ok(pb::GetAccountPasswordPolicyResponse {
        password_policy: Some(convert::password_policy(&policy)),
    })
}

pub async fn delete_account_password_policy(
    node: &Node,
    req: Request<pb::DeleteAccountPasswordPolicyRequest>,
) -> Result<pb::DeleteAccountPasswordPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    node.authorize(&c, "iam:DeleteAccountPasswordPolicy", ACCOUNT_RESOURCE)?;
    let op = Op::DeleteAccountPasswordPolicy {
        account: c.principal.account.clone(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeleteAccountPasswordPolicyResponse { revision })
}

/// What a password lacks under a password policy, in words; empty when it satisfies it.
pub fn password_violations(policy: &PasswordPolicy, password: &str) -> Vec<String> {
    let mut lacks = Vec::new();
    let min = usize::try_from(policy.minimum_password_length).unwrap_or(usize::MAX);
    if password.chars().count() < min {
        lacks.push(format!("at least {min} characters"));
    }
    let rules = [
        (
            policy.require_symbols,
            "a symbol",
            has_symbol as fn(char) -> bool,
        ),
        (policy.require_numbers, "a number", |ch: char| {
            ch.is_ascii_digit()
        }),
        (
            policy.require_uppercase_characters,
            "an uppercase letter",
            |ch: char| ch.is_ascii_uppercase(),
        ),
        (
            policy.require_lowercase_characters,
            "a lowercase letter",
            |ch: char| ch.is_ascii_lowercase(),
        ),
    ];
    for (required, what, is) in rules {
        if required && !password.chars().any(is) {
            lacks.push(what.to_owned());
        }
    }
    lacks
}

/// What a password lacks under AWS's default password policy, which applies while the
/// account has none of its own: at least 8 characters, three of the four kinds (uppercase,
/// lowercase, digits, symbols), and not the account's name.
pub fn default_policy_violations(password: &str, account_name: &str) -> Vec<String> {
    let mut lacks = Vec::new();
    if password.chars().count() < 8 {
        lacks.push("at least 8 characters".to_owned());
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(has_symbol),
    ];
    if kinds.iter().filter(|k| **k).count() < 3 {
        lacks.push(
            "three of: an uppercase letter, a lowercase letter, a number, a symbol \
             (AWS's default policy; the account has none of its own)"
                .to_owned(),
        );
    }
    if !account_name.is_empty() && password.eq_ignore_ascii_case(account_name) {
        lacks.push("to differ from the account's name".to_owned());
    }
    lacks
}

fn has_symbol(ch: char) -> bool {
    SYMBOLS.contains(ch)
}

/// Checks a password against the account's policy (AWS's default when it has none) and
/// hashes it.
async fn checked_hash(node: &Node, account: &str, password: &str) -> Result<String, Status> {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(errors::invalid(
            "password",
            format!("the password must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    // AWS's pattern for passwords: tab, line feed, carriage return and U+0020 to U+00FF.
    let allowed = |c: char| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}');
    if !password.chars().all(allowed) {
        return Err(errors::invalid(
            "password",
            "the password may hold only tab, line feed, carriage return and the characters \
             U+0020 to U+00FF",
        ));
    }
    let acct = account.to_owned();
    let (policy, account_name) = node
        .read(move |s| {
            s.account(&acct)
                .map(|a| (a.password_policy.clone(), a.name.clone()))
                .unwrap_or_default()
        })
        .await?;
    let lacks = match policy {
        Some(policy) => password_violations(&policy, password),
        None => default_policy_violations(password, &account_name),
    };
    if !lacks.is_empty() {
        return Err(errors::status(
            Code::InvalidArgument,
            "PasswordPolicyViolation",
            &format!(
                "the password does not satisfy the account password policy: it needs {}",
                lacks.join(", ")
            ),
            Some("password"),
        ));
    }
    hash(password.to_owned()).await
}

/// Argon2id with a random salt, off the async workers (it is slow on purpose).
async fn hash(password: String) -> Result<String, Status> {
    tokio::task::spawn_blocking(move || {
        let hashed: Result<PasswordHash, _> = Argon2::default().hash_password(password.as_bytes());
        hashed.map(|h| h.to_string())
    })
    .await
    .map_err(|e| errors::internal(&format!("password hashing did not finish: {e}")))?
    .map_err(|e| errors::internal(&format!("cannot hash a password: {e}")))
}

/// The user a `GetLoginProfile` names: the caller (an IAM user) when empty.
fn profile_owner(c: &Caller, user_name: &str) -> Result<String, Status> {
    if user_name.is_empty() && c.principal.kind == PrincipalKind::User {
        Ok(c.principal.name.clone())
    } else {
        entity_name("user_name", user_name).map(str::to_owned)
    }
}

async fn profile(node: &Node, account: &str, name: &str) -> Result<pb::LoginProfile, Status> {
    let (acct, owned) = (account.to_owned(), name.to_owned());
    node.read(move |s| {
        let user = s
            .account(&acct)
            .and_then(|a| a.users.get(&owned.to_ascii_lowercase()))
            .ok_or_else(|| StoreError::no_such("user", "user_name", &owned))?;
        user.login_profile
            .as_ref()
            .map(|p| convert::login_profile(&user.name, p))
            .ok_or_else(|| StoreError::no_such("login profile", "user_name", &owned))
    })
    .await?
    .map_err(|e| errors::from_store(&e))
}

/// The policy an update sets: every field not given takes its default (as in AWS).
fn policy_in(r: &pb::UpdateAccountPasswordPolicyRequest) -> Result<PasswordPolicy, Status> {
    let minimum_password_length = match r.minimum_password_length {
        0 => DEFAULT_MINIMUM_LENGTH,
        n => convert::non_negative("minimum_password_length", n)?,
    };
    Ok(PasswordPolicy {
        minimum_password_length,
        require_symbols: r.require_symbols,
        require_numbers: r.require_numbers,
        require_uppercase_characters: r.require_uppercase_characters,
        require_lowercase_characters: r.require_lowercase_characters,
        allow_users_to_change_password: r.allow_users_to_change_password,
        max_password_age: convert::non_negative("max_password_age", r.max_password_age)?,
        password_reuse_prevention: convert::non_negative(
            "password_reuse_prevention",
            r.password_reuse_prevention,
        )?,
        hard_expiry: r.hard_expiry,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn without_a_policy_of_its_own_an_account_has_aws_default_policy() {
        use super::default_policy_violations as lacks;
        assert!(lacks("Tr4ding-desk", "prod-trading").is_empty());
        assert!(
            lacks("tradingdesk7", "prod-trading").len() == 1,
            "two kinds"
        );
        assert!(lacks("abcdefgh", "prod-trading").len() == 1, "one kind");
        assert!(lacks("Ab1!", "prod-trading").len() == 1, "too short");
        assert!(
            lacks("Prod-Trading1", "prod-trading1").len() == 1,
            "the name"
        );
        assert!(
            lacks("PROD-TRADING1", "prod-trading1").len() == 1,
            "the name"
        );
    }

    use super::*;

    fn strict() -> PasswordPolicy {
        PasswordPolicy {
            minimum_password_length: 10,
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            ..PasswordPolicy::default()
        }
    }

    #[test]
    fn a_policy_without_requirements_asks_only_for_its_length() {
        let policy = PasswordPolicy::default();
        assert!(password_violations(&policy, "abcdefgh").is_empty());
        assert_eq!(
            password_violations(&policy, "abcdefg"),
            vec!["at least 8 characters"]
        );
    }

    #[test]
    fn a_strict_policy_names_everything_missing() {
        assert_eq!(
            password_violations(&strict(), "short"),
            vec![
                "at least 10 characters",
                "a symbol",
                "a number",
                "an uppercase letter"
            ]
        );
        assert!(password_violations(&strict(), "Abcdef-123").is_empty());
    }

    #[test]
    fn only_aws_symbols_count_as_symbols() {
        let policy = PasswordPolicy {
            minimum_password_length: 6,
            require_symbols: true,
            ..PasswordPolicy::default()
        };
        for ok in ["abcdef!", "abcdef'", "abcdef|", "abcdef["] {
            assert!(password_violations(&policy, ok).is_empty(), "{ok}");
        }
        for lacking in ["abcdef~", "abcdef.", "abcdef ", "abcdefé"] {
            assert_eq!(password_violations(&policy, lacking), vec!["a symbol"]);
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            password_violations(&policy, "éééééé"),
            vec!["at least 8 characters"]
        );
    }

    #[test]
    fn an_update_fills_defaults_and_refuses_negative_numbers() {
        let r = pb::UpdateAccountPasswordPolicyRequest::default();
        let p = policy_in(&r).unwrap_or_default();
        assert_eq!(p.minimum_password_length, DEFAULT_MINIMUM_LENGTH);
        assert_eq!(p.max_password_age, 0);
        let negative = pb::UpdateAccountPasswordPolicyRequest {
            max_password_age: -1,
            ..Default::default()
        };
        assert!(policy_in(&negative).is_err());
    }
}
