//! The organization: accounts, organizational units and service control policies. Only
//! principals of the management account may manage it (and the bootstrap account may create
//! the organization), each call authorized with its AWS Organizations action.

use iam_api::v1 as pb;
use iam_store::model::{Organization, OrganizationalUnit, ServiceControlPolicy};
use iam_store::{ErrorCode, Op, Outcome, StoreError};
use tonic::{Code, Request, Status};

use super::{caller, convert, page, required};
use crate::auth::Caller;
use crate::errors;
use crate::node::Node;

fn org_arn(org: &Organization) -> String {
    format!(
        "arn:aws:organizations::{}:organization/{}",
        org.management_account, org.id
    )
}

fn org_out(org: &Organization) -> pb::Organization {
    pb::Organization {
        id: org.id.clone(),
        arn: org_arn(org),
        master_account_id: org.management_account.clone(),
        master_account_arn: resource_arn(org, &org.management_account),
        master_account_email: String::new(),
        root_id: org.root_id.clone(),
    }
}

fn unit_out(org: &Organization, u: &OrganizationalUnit) -> pb::OrganizationalUnit {
    pb::OrganizationalUnit {
        id: u.id.clone(),
        arn: resource_arn(org, &u.id),
        name: u.name.clone(),
        parent_id: u.parent_id.clone(),
    }
}

fn scp_out(org: &Organization, p: &ServiceControlPolicy) -> pb::ServiceControlPolicy {
    pb::ServiceControlPolicy {
        id: p.id.clone(),
        arn: resource_arn(org, &p.id),
        name: p.name.clone(),
        description: p.description.clone(),
        aws_managed: p.aws_managed,
        content: p.content.clone(),
        tags: Vec::new(),
        target_ids: org
            .attachments
            .iter()
            .filter(|(_, ids)| ids.contains(&p.id))
            .map(|(target, _)| target.clone())
            .collect(),
    }
}

/// The organization, or `AWSOrganizationsNotInUseException`.
async fn organization(node: &Node) -> Result<Organization, Status> {
    node.read(|s| s.organization().cloned())
        .await?
        .ok_or_else(|| {
            errors::status(
                Code::FailedPrecondition,
                "AWSOrganizationsNotInUseException",
                "the store has no organization",
                None,
            )
        })
}

/// The ARN of the root, OU, account or service control policy an id names, as AWS
/// Organizations writes it (`root/o-…/r-…`, `ou/o-…/ou-…`, `account/o-…/ID`,
/// `policy/o-…/service_control_policy/p-…`; `FullAWSAccess` is AWS's own).
fn resource_arn(org: &Organization, id: &str) -> String {
    let (m, o) = (&org.management_account, &org.id);
    if id.starts_with("r-") {
        format!("arn:aws:organizations::{m}:root/{o}/{id}")
    } else if id.starts_with("ou-") {
        format!("arn:aws:organizations::{m}:ou/{o}/{id}")
    } else if id == iam_store::apply::FULL_AWS_ACCESS {
        format!("arn:aws:organizations::aws:policy/service_control_policy/{id}")
    } else if id.starts_with("p-") {
        format!("arn:aws:organizations::{m}:policy/{o}/service_control_policy/{id}")
    } else {
        format!("arn:aws:organizations::{m}:account/{o}/{id}")
    }
}

/// Authorizes an organizations action for a principal of the management account, on each
/// resource AWS's authorization reference names for it (the policy and the target of
/// `AttachPolicy`, the account and both parents of `MoveAccount`, …), all of which must be
/// allowed; `*` for the actions that take no resource (`CreateAccount`, `ListAccounts`,
/// `CreatePolicy`, `ListPolicies`).
async fn management(
    node: &Node,
    c: &Caller,
    action: &str,
    ids: &[&str],
) -> Result<Organization, Status> {
    let org = organization(node).await?;
    if c.principal.account != org.management_account {
        return Err(errors::access_denied(
            &c.principal.arn,
            action,
            &org_arn(&org),
            "only the management account manages the organization",
        ));
    }
    if ids.is_empty() {
        node.authorize(c, action, "*")?;
    }
    for id in ids {
        node.authorize(c, action, &resource_arn(&org, id))?;
    }
    Ok(org)
}

pub async fn create_organization(
    node: &Node,
    req: Request<pb::CreateOrganizationRequest>,
) -> Result<pb::CreateOrganizationResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    if c.principal.account != node.config.bootstrap_account_id {
        return Err(errors::access_denied(
            &c.principal.arn,
            "organizations:CreateOrganization",
            "*",
            "only the bootstrap account may create the organization",
        ));
    }
    node.authorize(&c, "organizations:CreateOrganization", "*")?;
    let op = Op::CreateOrganization {
        management_account: c.principal.account.clone(),
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::Organization(org) = outcome else {
        return Err(errors::internal(
            "create organization answered no organization",
        ));
    };
    Ok(pb::CreateOrganizationResponse {
        organization: Some(org_out(&org)),
        revision,
    })
}

pub async fn describe_organization(
    node: &Node,
    req: Request<pb::DescribeOrganizationRequest>,
) -> Result<pb::DescribeOrganizationResponse, Status> {
    let c = caller(&req)?;
    let org = organization(node).await?;
    node.authorize(&c, "organizations:DescribeOrganization", &org_arn(&org))?;
    Ok(pb::DescribeOrganizationResponse {
        organization: Some(org_out(&org)),
    })
}

pub async fn create_account(
    node: &Node,
    req: Request<pb::CreateAccountRequest>,
) -> Result<pb::CreateAccountResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = required("account_name", &r.account_name)?;
    no_tags(&r.tags)?;
    if !r.email.is_empty() {
        let address = r.email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
        let len = r.email.chars().count();
        if !(6..=64).contains(&len) || !address || r.email.chars().any(char::is_whitespace) {
            return Err(errors::invalid(
                "email",
                "`email` must be an address (`local@domain`) of 6 to 64 characters",
            ));
        }
    }
    management(node, &c, "organizations:CreateAccount", &[]).await?;
    let account_id = if r.account_id.is_empty() {
        random_account_id()?
    } else {
        r.account_id.clone()
    };
    let role_name = if r.role_name.is_empty() {
        "OrganizationAccountAccessRole".to_owned()
    } else {
        r.role_name.clone()
    };
    let op = Op::CreateMemberAccount {
        account_id,
        name: name.to_owned(),
        role_name,
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::MemberAccount { account, role_arn } = outcome else {
        return Err(errors::internal("create account answered no account"));
    };
    let org = organization(node).await?;
    Ok(pb::CreateAccountResponse {
        account: Some(account_out(
            &org,
            &account.account_id,
            &account.name,
            account.create_date,
        )),
        role_arn,
        revision,
    })
}

fn random_account_id() -> Result<String, Status> {
    // 12 digits drawn from the operating system's random source (through a fresh key id).
    let id = iam_sts::secrets::new_access_key_id().map_err(|e| errors::internal(&e.to_string()))?;
    let digits: String = id
        .bytes()
        .skip(4)
        .map(|b| char::from(b'0' + b % 10))
        .take(12)
        .collect();
    Ok(digits)
}

fn account_out(org: &Organization, id: &str, name: &str, created: i64) -> pb::Account {
    pb::Account {
        id: id.to_owned(),
        arn: resource_arn(org, id),
        name: name.to_owned(),
        email: String::new(),
        status: pb::AccountStatus::Active as i32,
        joined_timestamp: convert::ts(created),
        parent_id: org.account_parent.get(id).cloned().unwrap_or_default(),
    }
}

/// Organization accounts, OUs and SCPs keep no tags: a request that brings some is refused
/// rather than its tags dropped.
fn no_tags(tags: &[pb::Tag]) -> Result<(), Status> {
    if tags.is_empty() {
        Ok(())
    } else {
        Err(errors::invalid(
            "tags",
            "iamd keeps no tags on organization accounts, organizational units or service \
             control policies: send none",
        ))
    }
}

pub async fn list_accounts(
    node: &Node,
    req: Request<pb::ListAccountsRequest>,
) -> Result<pb::ListAccountsResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    // With a parent, AWS's action is ListAccountsForParent, on that root or OU.
    let (action, parents) = if r.parent_id.is_empty() {
        ("organizations:ListAccounts", Vec::new())
    } else {
        (
            "organizations:ListAccountsForParent",
            vec![r.parent_id.as_str()],
        )
    };
    let org = management(node, &c, action, &parents).await?;
    let parent = r.parent_id.clone();
    if !parent.is_empty() && !org.is_parent(&parent) {
        return Err(errors::from_store(&StoreError::field(
            ErrorCode::NoSuchEntity,
            "parent_id",
            format!(
                "ParentNotFoundException: `{parent}` is neither the root nor an organizational unit"
            ),
        )));
    }
    let accounts = node
        .read(move |s| {
            s.accounts()
                .values()
                .map(|a| (a.account_id.clone(), a.name.clone(), a.create_date))
                .collect::<Vec<_>>()
        })
        .await?;
    let items: Vec<pb::Account> = accounts
        .iter()
        .filter(|(id, _, _)| parent.is_empty() || org.account_parent.get(id) == Some(&parent))
        .map(|(id, name, created)| account_out(&org, id, name, *created))
        .collect();
    let p = page(items, |a| a.id.clone(), &r.marker, r.max_items)?;
    Ok(pb::ListAccountsResponse {
        accounts: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn create_organizational_unit(
    node: &Node,
    req: Request<pb::CreateOrganizationalUnitRequest>,
) -> Result<pb::CreateOrganizationalUnitResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let parent_id = required("parent_id", &r.parent_id)?;
    let name = required("name", &r.name)?;
    no_tags(&r.tags)?;
    let org = management(
        node,
        &c,
        "organizations:CreateOrganizationalUnit",
        &[parent_id],
    )
    .await?;
    // Checked against the state read here, not in `apply`, whose results must not change
    // between versions of iamd replaying the same log.
    let taken = org
        .units
        .values()
        .any(|u| u.parent_id == parent_id && u.name == name);
    if taken {
        return Err(errors::status(
            Code::AlreadyExists,
            "EntityAlreadyExists",
            &format!(
                "DuplicateOrganizationalUnitException: `{parent_id}` already has an organizational unit named `{name}`"
            ),
            Some("name"),
        ));
    }
    let op = Op::CreateOrganizationalUnit {
        parent_id: parent_id.to_owned(),
        name: name.to_owned(),
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::OrganizationalUnit(u) = outcome else {
        return Err(errors::internal(
            "create organizational unit answered no unit",
        ));
    };
    Ok(pb::CreateOrganizationalUnitResponse {
        organizational_unit: Some(unit_out(&org, &u)),
        revision,
    })
}

pub async fn delete_organizational_unit(
    node: &Node,
    req: Request<pb::DeleteOrganizationalUnitRequest>,
) -> Result<pb::DeleteOrganizationalUnitResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let id = required("organizational_unit_id", &r.organizational_unit_id)?;
    management(node, &c, "organizations:DeleteOrganizationalUnit", &[id]).await?;
    let op = Op::DeleteOrganizationalUnit {
        ou_id: id.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeleteOrganizationalUnitResponse { revision })
}

pub async fn list_organizational_units_for_parent(
    node: &Node,
    req: Request<pb::ListOrganizationalUnitsForParentRequest>,
) -> Result<pb::ListOrganizationalUnitsForParentResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let parent = required("parent_id", &r.parent_id)?;
    let org = management(
        node,
        &c,
        "organizations:ListOrganizationalUnitsForParent",
        &[parent],
    )
    .await?;
    if !org.is_parent(parent) {
        return Err(errors::from_store(&StoreError::no_such(
            "parent",
            "parent_id",
            parent,
        )));
    }
    let units: Vec<pb::OrganizationalUnit> = org
        .units
        .values()
        .filter(|u| u.parent_id == parent)
        .map(|u| unit_out(&org, u))
        .collect();
    let p = page(units, |u| u.id.clone(), &r.marker, r.max_items)?;
    Ok(pb::ListOrganizationalUnitsForParentResponse {
        organizational_units: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn move_account(
    node: &Node,
    req: Request<pb::MoveAccountRequest>,
) -> Result<pb::MoveAccountResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let account_id = required("account_id", &r.account_id)?;
    let source = required("source_parent_id", &r.source_parent_id)?;
    let destination = required("destination_parent_id", &r.destination_parent_id)?;
    management(
        node,
        &c,
        "organizations:MoveAccount",
        &[account_id, source, destination],
    )
    .await?;
    let op = Op::MoveAccount {
        account_id: account_id.to_owned(),
        source_parent_id: source.to_owned(),
        destination_parent_id: destination.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::MoveAccountResponse { revision })
}

pub async fn create_service_control_policy(
    node: &Node,
    req: Request<pb::CreateServiceControlPolicyRequest>,
) -> Result<pb::CreateServiceControlPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let name = required("name", &r.name)?;
    no_tags(&r.tags)?;
    let content = required("content", &r.content)?;
    management(node, &c, "organizations:CreatePolicy", &[]).await?;
    let op = Op::CreateServiceControlPolicy {
        name: name.to_owned(),
        description: r.description.clone(),
        content: content.to_owned(),
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::ServiceControlPolicy(p) = outcome else {
        return Err(errors::internal("create policy answered no policy"));
    };
    let org = organization(node).await?;
    Ok(pb::CreateServiceControlPolicyResponse {
        policy: Some(scp_out(&org, &p)),
        revision,
    })
}

pub async fn update_service_control_policy(
    node: &Node,
    req: Request<pb::UpdateServiceControlPolicyRequest>,
) -> Result<pb::UpdateServiceControlPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let id = required("policy_id", &r.policy_id)?;
    let org = management(node, &c, "organizations:UpdatePolicy", &[id]).await?;
    // As for OU names, checked here rather than in `apply`.
    if let Some(name) = &r.name
        && org.policies.values().any(|p| p.id != id && p.name == *name)
    {
        return Err(errors::status(
            Code::AlreadyExists,
            "EntityAlreadyExists",
            &format!("DuplicatePolicyException: a service control policy is named `{name}`"),
            Some("name"),
        ));
    }
    let op = Op::UpdateServiceControlPolicy {
        policy_id: id.to_owned(),
        name: r.name.clone(),
        description: r.description.clone(),
        content: r.content.clone(),
    };
    let (revision, outcome) = node.write(&c, &r.idempotency_key, op).await?;
    let Outcome::ServiceControlPolicy(p) = outcome else {
        return Err(errors::internal("update policy answered no policy"));
    };
    let org = organization(node).await?;
    Ok(pb::UpdateServiceControlPolicyResponse {
        policy: Some(scp_out(&org, &p)),
        revision,
    })
}

pub async fn delete_service_control_policy(
    node: &Node,
    req: Request<pb::DeleteServiceControlPolicyRequest>,
) -> Result<pb::DeleteServiceControlPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let id = required("policy_id", &r.policy_id)?;
    management(node, &c, "organizations:DeletePolicy", &[id]).await?;
    let op = Op::DeleteServiceControlPolicy {
        policy_id: id.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DeleteServiceControlPolicyResponse { revision })
}

pub async fn list_service_control_policies(
    node: &Node,
    req: Request<pb::ListServiceControlPoliciesRequest>,
) -> Result<pb::ListServiceControlPoliciesResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let action = if r.target_id.is_empty() {
        "organizations:ListPolicies"
    } else {
        "organizations:ListPoliciesForTarget"
    };
    let targets: Vec<&str> = [r.target_id.as_str()]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect();
    let org = management(node, &c, action, &targets).await?;
    if !r.target_id.is_empty() && !org.is_target(&r.target_id) {
        return Err(errors::from_store(&StoreError::field(
            ErrorCode::NoSuchEntity,
            "target_id",
            format!(
                "TargetNotFoundException: `{}` is not the root, an organizational unit or an account",
                r.target_id
            ),
        )));
    }
    let items: Vec<pb::ServiceControlPolicy> = org
        .policies
        .values()
        .filter(|p| {
            r.target_id.is_empty()
                || org
                    .attachments
                    .get(&r.target_id)
                    .is_some_and(|ids| ids.contains(&p.id))
        })
        .map(|p| scp_out(&org, p))
        .collect();
    let p = page(items, |p| p.id.clone(), &r.marker, r.max_items)?;
    Ok(pb::ListServiceControlPoliciesResponse {
        policies: p.items,
        is_truncated: p.is_truncated,
        marker: p.marker,
    })
}

pub async fn attach_service_control_policy(
    node: &Node,
    req: Request<pb::AttachServiceControlPolicyRequest>,
) -> Result<pb::AttachServiceControlPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let policy_id = required("policy_id", &r.policy_id)?;
    let target_id = required("target_id", &r.target_id)?;
    management(
        node,
        &c,
        "organizations:AttachPolicy",
        &[policy_id, target_id],
    )
    .await?;
    let op = Op::AttachServiceControlPolicy {
        policy_id: policy_id.to_owned(),
        target_id: target_id.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::AttachServiceControlPolicyResponse { revision })
}

pub async fn detach_service_control_policy(
    node: &Node,
    req: Request<pb::DetachServiceControlPolicyRequest>,
) -> Result<pb::DetachServiceControlPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let policy_id = required("policy_id", &r.policy_id)?;
    let target_id = required("target_id", &r.target_id)?;
    management(
        node,
        &c,
        "organizations:DetachPolicy",
        &[policy_id, target_id],
    )
    .await?;
    let op = Op::DetachServiceControlPolicy {
        policy_id: policy_id.to_owned(),
        target_id: target_id.to_owned(),
    };
    let (revision, _) = node.write(&c, &r.idempotency_key, op).await?;
    Ok(pb::DetachServiceControlPolicyResponse { revision })
}
