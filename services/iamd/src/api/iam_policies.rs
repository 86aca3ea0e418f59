//! Managed policies (customer managed, and the AWS managed ones of `iam_store::library`)
//! and their versions.

use iam_api::v1 as pb;
use iam_store::library::{self, LibraryPolicy};
use iam_store::model::ManagedPolicy;
use iam_store::{ErrorCode, IamState, Op, Outcome, StoreError};
use tonic::{Request, Status};

use super::convert::{self, tags_in};
use super::{caller, entity_name, page, path_or_root, path_prefix, required};
use crate::errors;
use crate::node::Node;

mod usage;

use usage::{Filter, Kinds, aws_policies, entities, library_usage, usage_in};

pub async fn create_policy(
    node: &Node,
    req: Request<pb::CreatePolicyRequest>,
) -> Result<pb::CreatePolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = entity_name("policy_name", &r.policy_name)?;
    let document = required("policy_document", &r.policy_document)?;
    let path = path_or_root(&r.path);
    let account = c.principal.account.clone();
    super::authorize_create(
        node,
        &c,
        ("iam:CreatePolicy", "iam:TagPolicy"),
        &format!("arn:aws:iam::{account}:policy{path}{name}"),
        &r.tags,
        "",
    )?;
    let op = Op::CreatePolicy {
        account,
        policy_name: name.to_owned(),
        path,
        policy_document: document.to_owned(),
        description: r.description.clone(),
        tags: tags_in(&r.tags),
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::Policy(p) = outcome else {
        return Err(errors::internal("create policy answered no policy"));
    };
    Ok(pb::CreatePolicyResponse {
        policy: Some(convert::policy(&p)),
        revision,
    })
}

pub async fn get_policy(
    node: &Node,
    req: Request<pb::GetPolicyRequest>,
) -> Result<pb::GetPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    authorize_on_policy(node, &c, "iam:GetPolicy", arn).await?;
    let policy = match find(node, &c.principal.account, arn).await? {
        Found::Aws(p, attachments, boundaries) => {
            convert::library_policy_used(p, attachments, boundaries)
        }
        Found::Local(p) => convert::policy(&p),
    };
    Ok(pb::GetPolicyResponse {
        policy: Some(policy),
    })
}

pub async fn delete_policy(
    node: &Node,
    req: Request<pb::DeletePolicyRequest>,
) -> Result<pb::DeletePolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    authorize_on_policy(node, &c, "iam:DeletePolicy", arn).await?;
    let op = Op::DeletePolicy {
        account: c.principal.account.clone(),
        policy_arn: arn.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeletePolicyResponse { revision })
}

pub async fn list_policies(
    node: &Node,
    req: Request<pb::ListPoliciesRequest>,
) -> Result<pb::ListPoliciesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let (aws, local) = match pb::PolicyScopeType::try_from(r.scope) {
        Ok(pb::PolicyScopeType::Unspecified | pb::PolicyScopeType::All) => (true, true),
        Ok(pb::PolicyScopeType::Aws) => (true, false),
        Ok(pb::PolicyScopeType::Local) => (false, true),
        Err(_) => {
            return Err(errors::invalid(
                "scope",
                "`scope` must be ALL, AWS or LOCAL",
            ));
        }
    };
    let filter = Filter {
        prefix: path_prefix(&r.path_prefix)?,
        only_attached: r.only_attached,
        usage: usage_in(r.policy_usage_filter)?,
    };
    let account = c.principal.account.clone();
    node.authorize(
        &c,
        "iam:ListPolicies",
        &format!("arn:aws:iam::{account}:policy/"),
    )?;
    let mut policies = node
        .read(move |s| {
            let Some(acct) = s.account(&account) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            if aws {
                out.extend(aws_policies(acct, &filter));
            }
            if local {
                out.extend(
                    acct.policies
                        .values()
                        .filter(|p| {
                            filter.keeps(&p.path, p.attachment_count, p.boundary_usage_count)
                        })
                        .map(convert::policy_summary),
                );
            }
            out
        })
        .await?;
    policies.sort_by_key(|p| policy_key(&p.policy_name, &p.arn));
    let p = page(
        policies,
        |p| policy_key(&p.policy_name, &p.arn),
        &r.marker,
        r.max_items,
    )?;
    Ok(pb::ListPoliciesResponse {
        policies: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn create_policy_version(
    node: &Node,
    req: Request<pb::CreatePolicyVersionRequest>,
) -> Result<pb::CreatePolicyVersionResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?.to_owned();
    let document = required("policy_document", &r.policy_document)?;
    authorize_on_policy(node, &c, "iam:CreatePolicyVersion", &arn).await?;
    let account = c.principal.account.clone();
    let op = Op::CreatePolicyVersion {
        account: account.clone(),
        policy_arn: arn.clone(),
        policy_document: document.to_owned(),
        set_as_default: r.set_as_default,
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::PolicyVersion {
        version_id,
        is_default,
    } = outcome
    else {
        return Err(errors::internal(
            "create policy version answered no version",
        ));
    };
    let number = version_number(&version_id)?;
    let created = node
        .read(move |s| {
            customer_policy(s, &account, &arn)
                .and_then(|p| p.versions.get(&number))
                .map(|v| v.create_date)
        })
        .await?;
    Ok(pb::CreatePolicyVersionResponse {
        policy_version: Some(convert::policy_version(
            number,
            created,
            is_default,
            String::new(),
        )),
        revision,
    })
}

pub async fn get_policy_version(
    node: &Node,
    req: Request<pb::GetPolicyVersionRequest>,
) -> Result<pb::GetPolicyVersionResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    let version_id = required("version_id", &r.version_id)?;
    let number = version_number(version_id)?;
    authorize_on_policy(node, &c, "iam:GetPolicyVersion", arn).await?;
    let version = match find(node, &c.principal.account, arn).await? {
        Found::Aws(p, ..) if number == 1 => {
            convert::policy_version(1, None, true, p.document.to_owned())
        }
        Found::Aws(..) => return Err(no_version(arn, version_id)),
        Found::Local(p) => {
            let v = p
                .versions
                .get(&number)
                .ok_or_else(|| no_version(arn, version_id))?;
            convert::policy_version(
                number,
                Some(v.create_date),
                p.default_version == number,
                v.document.clone(),
            )
        }
    };
    Ok(pb::GetPolicyVersionResponse {
        policy_version: Some(version),
    })
}

pub async fn delete_policy_version(
    node: &Node,
    req: Request<pb::DeletePolicyVersionRequest>,
) -> Result<pb::DeletePolicyVersionResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    let version_id = required("version_id", &r.version_id)?;
    version_number(version_id)?;
    authorize_on_policy(node, &c, "iam:DeletePolicyVersion", arn).await?;
    let op = Op::DeletePolicyVersion {
        account: c.principal.account.clone(),
        policy_arn: arn.to_owned(),
        version_id: version_id.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeletePolicyVersionResponse { revision })
}

pub async fn list_policy_versions(
    node: &Node,
    req: Request<pb::ListPolicyVersionsRequest>,
) -> Result<pb::ListPolicyVersionsResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    authorize_on_policy(node, &c, "iam:ListPolicyVersions", arn).await?;
    let versions = match find(node, &c.principal.account, arn).await? {
        Found::Aws(..) => vec![convert::policy_version(1, None, true, String::new())],
        // Newest first: the map is in version order.
        Found::Local(p) => p
            .versions
            .iter()
            .rev()
            .map(|(n, v)| {
                convert::policy_version(
                    *n,
                    Some(v.create_date),
                    p.default_version == *n,
                    String::new(),
                )
            })
            .collect(),
    };
    let p = page(versions, newest_first_key, &r.marker, r.max_items)?;
    Ok(pb::ListPolicyVersionsResponse {
        versions: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn set_default_policy_version(
    node: &Node,
    req: Request<pb::SetDefaultPolicyVersionRequest>,
) -> Result<pb::SetDefaultPolicyVersionResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?;
    let version_id = required("version_id", &r.version_id)?;
    version_number(version_id)?;
    authorize_on_policy(node, &c, "iam:SetDefaultPolicyVersion", arn).await?;
    let op = Op::SetDefaultPolicyVersion {
        account: c.principal.account.clone(),
        policy_arn: arn.to_owned(),
        version_id: version_id.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::SetDefaultPolicyVersionResponse { revision })
}

pub async fn list_entities_for_policy(
    node: &Node,
    req: Request<pb::ListEntitiesForPolicyRequest>,
) -> Result<pb::ListEntitiesForPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let arn = policy_arn_in("policy_arn", &r.policy_arn)?.to_owned();
    let kinds = Kinds::from_filter(r.entity_filter)?;
    let usage = usage_in(r.policy_usage_filter)?;
    let prefix = path_prefix(&r.path_prefix)?;
    authorize_on_policy(node, &c, "iam:ListEntitiesForPolicy", &arn).await?;
    let account = c.principal.account.clone();
    find(node, &account, &arn).await?;
    let listed = node
        .read(move |s| {
            s.account(&account)
                .map(|a| entities(a, &arn, kinds, usage, &prefix))
                .unwrap_or_default()
        })
        .await?;
    let p = page(listed, |e| e.key.clone(), &r.marker, r.max_items)?;
    Ok(usage::response(p))
}

/// The customer managed policy of the account an ARN names.
pub fn customer_policy<'s>(s: &'s IamState, account: &str, arn: &str) -> Option<&'s ManagedPolicy> {
    let rest = arn.strip_prefix(&format!("arn:aws:iam::{account}:policy/"))?;
    let name = rest.rsplit('/').next()?;
    s.account(account)?
        .policies
        .get(&name.to_ascii_lowercase())
        .filter(|p| p.arn == arn)
}

/// `aws:ResourceTag/…` of the customer managed policy `arn` of the caller's account (none
/// for an AWS managed policy, which has no tags, or one that does not exist).
pub async fn policy_tag_keys(node: &Node, account: &str, arn: &str) -> Result<super::Keys, Status> {
    let (acct, arn) = (account.to_owned(), arn.to_owned());
    node.read(move |s| {
        customer_policy(s, &acct, &arn)
            .map(|p| {
                p.tags
                    .iter()
                    .map(|t| {
                        (
                            format!("aws:ResourceTag/{}", t.key),
                            iam_policy::ContextValue::Single(t.value.clone()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
    .await
}

/// Authorizes `action` on the managed policy `arn`, with its tags as `aws:ResourceTag/…`.
async fn authorize_on_policy(
    node: &Node,
    c: &crate::auth::Caller,
    action: &str,
    arn: &str,
) -> Result<(), Status> {
    let keys = policy_tag_keys(node, &c.principal.account, arn).await?;
    node.authorize_with(c, action, arn, &keys)
}

/// A required field holding a managed policy ARN (`arn:aws:iam::ACCOUNT:policy/PATH/NAME`,
/// or `arn:aws:iam::aws:policy/…` for an AWS managed policy).
pub fn policy_arn_in<'a>(field: &str, arn: &'a str) -> Result<&'a str, Status> {
    let arn = required(field, arn)?;
    if is_policy_arn(arn) {
        Ok(arn)
    } else {
        Err(errors::invalid(
            field,
            format!("`{field}` `{arn}` is not a managed policy ARN"),
        ))
    }
}

/// The page key of a policy: in name order, the ARN telling apart policies of the same
/// name. A space sorts below every character a name may hold.
pub fn policy_key(name: &str, arn: &str) -> String {
    format!("{} {arn}", name.to_ascii_lowercase())
}

/// The name and path of a managed policy an entity has attached, by ARN.
pub fn name_and_path(s: &IamState, account: &str, arn: &str) -> (String, String) {
    if let Some(p) = library::get(arn) {
        return (p.name.to_owned(), "/".to_owned());
    }
    match customer_policy(s, account, arn) {
        Some(p) => (p.name.clone(), p.path.clone()),
        None => (
            arn.rsplit('/').next().unwrap_or(arn).to_owned(),
            "/".to_owned(),
        ),
    }
}

/// A managed policy an ARN names.
enum Found {
    /// An AWS managed policy, with its attachment and boundary counts in the account.
    Aws(&'static LibraryPolicy, u32, u32),
    Local(Box<ManagedPolicy>),
}

async fn find(node: &Node, account: &str, arn: &str) -> Result<Found, Status> {
    let (acct, owned) = (account.to_owned(), arn.to_owned());
    let found = node
        .read(move |s| match library::get(&owned) {
            Some(p) => {
                let (a, b) = s
                    .account(&acct)
                    .map(|a| library_usage(a, p.arn))
                    .unwrap_or_default();
                Some(Found::Aws(p, a, b))
            }
            None => customer_policy(s, &acct, &owned).map(|p| Found::Local(Box::new(p.clone()))),
        })
        .await?;
    found.ok_or_else(|| {
        errors::from_store(&StoreError::field(
            ErrorCode::NoSuchEntity,
            "policy_arn",
            format!("policy `{arn}` does not exist"),
        ))
    })
}

fn is_policy_arn(arn: &str) -> bool {
    match iam_policy::arn_fields(arn) {
        Some(iam_policy::ArnFields {
            partition: "aws",
            service: "iam",
            region: "",
            account: owner,
            resource,
        }) => {
            !owner.is_empty()
                && resource
                    .strip_prefix("policy/")
                    .is_some_and(|rest| !rest.is_empty() && !rest.ends_with('/'))
        }
        _ => false,
    }
}

/// Parses `v3` into 3: `v`, then a number without a leading zero or sign (AWS's pattern,
/// so `v01` and `v+1` are not `v1`).
fn version_number(version_id: &str) -> Result<u32, Status> {
    let digits = version_id.strip_prefix('v').unwrap_or_default();
    let plain = digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    plain
        .then(|| digits.parse::<u32>().ok())
        .flatten()
        .ok_or_else(|| {
            errors::invalid(
                "version_id",
                format!("`version_id` `{version_id}` must look like `v1`"),
            )
        })
}

fn no_version(arn: &str, version_id: &str) -> Status {
    errors::from_store(&StoreError::field(
        ErrorCode::NoSuchEntity,
        "version_id",
        format!("policy `{arn}` has no version `{version_id}`"),
    ))
}

/// Page key of a version listed newest first: grows as the version number shrinks.
fn newest_first_key(v: &pb::PolicyVersion) -> String {
    let n = v
        .version_id
        .strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    format!("{:010}", u32::MAX - n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_arns_are_told_from_other_strings() {
        assert!(is_policy_arn("arn:aws:iam::123456789012:policy/p"));
        assert!(is_policy_arn("arn:aws:iam::123456789012:policy/team/p"));
        assert!(is_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess"));
        assert!(!is_policy_arn("arn:aws:iam::123456789012:role/p"));
        assert!(!is_policy_arn("arn:aws:iam::123456789012:policy/"));
        assert!(!is_policy_arn(
            "arn:aws:iam:us-east-1:123456789012:policy/p"
        ));
        assert!(!is_policy_arn("AdministratorAccess"));
    }

    #[test]
    fn policy_keys_sort_by_name_before_arn() {
        let short = policy_key("ab", "arn:aws:iam::1:policy/ab");
        let long = policy_key("ab1", "arn:aws:iam::1:policy/ab1");
        let aws = policy_key("Ab", "arn:aws:iam::aws:policy/Ab");
        assert!(short < long);
        assert!(short < aws && aws < long);
    }

    #[test]
    fn versions_list_newest_first() {
        let v = |n: u32| convert::policy_version(n, None, false, String::new());
        assert!(newest_first_key(&v(3)) < newest_first_key(&v(2)));
        assert!(newest_first_key(&v(10)) < newest_first_key(&v(9)));
    }

    #[test]
    fn version_ids_parse() {
        assert_eq!(version_number("v3").ok(), Some(3));
        assert!(version_number("v0").is_err());
        assert!(version_number("3").is_err());
        assert!(version_number("vx").is_err());
    }
}
