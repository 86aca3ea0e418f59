//! `SimulatePrincipalPolicy` and `SimulateCustomPolicy`: AWS's policy simulator, answered
//! from this node's memory by the policy engine. One result per action and resource pair,
//! actions in the order given, then resources; paged by the position of the next pair.

use std::sync::Arc;

use iam_api::v1 as pb;
use iam_policy::{
    Context, Decision, DecisionKind, Effect, Hit, Policies, Policy, PolicyKind, PolicySet,
    PolicyType, Request as EngineRequest, evaluate,
};
use iam_store::model::Account;
use iam_store::view::PrincipalKind;
use iam_store::{IamState, library};
use tonic::{Code, Request, Status};

use super::authorization::explanation;
use super::{caller, required};
use crate::errors;
use crate::node::Node;

mod context;
mod request;
pub(crate) use request::{arn_parts, is_account_id};

pub use request::{MAX_ACTIONS, MAX_INPUT_POLICIES, MAX_PAIRS, MAX_RESOURCES};

use context::{context_entries, root_keys, simulation_context};
use request::{Grid, Inputs, Labelled, SourceArn, SourceKind, caller_arn_account, resource_owner};

/// Simulates the policies of a stored user, group or role.
pub async fn simulate_principal_policy(
    node: &Node,
    req: Request<pb::SimulatePrincipalPolicyRequest>,
) -> Result<pb::SimulatePrincipalPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let source = SourceArn::parse(required("policy_source_arn", &r.policy_source_arn)?)?;
    let grid = Grid::new(&r.action_names, &r.resource_arns, &r.marker, r.max_items)?;
    let owner = resource_owner(&r.resource_owner)?;
    let inputs = Inputs::parse(
        &r.policy_input_list,
        &r.permissions_boundary_policy_input_list,
        &r.resource_policy,
    )?;
    let entries = context_entries(&r.context_entries)?;
    node.authorize(&c, "iam:SimulatePrincipalPolicy", source.arn)?;
    if source.account != c.principal.account {
        return Err(no_such_source(source.arn));
    }
    if r.min_revision > 0 {
        node.wait_revision(r.min_revision).await?;
    }
    let view = node.view.load();
    let subject = match source.kind {
        SourceKind::User | SourceKind::Role => view
            .principal_by_arn(source.arn)
            .filter(|p| matches!(p.kind, PrincipalKind::User | PrincipalKind::Role))
            .map(|p| Subject {
                arn: p.arn.clone(),
                account: p.account.clone(),
                identity: p.identity.clone(),
                boundary: p.boundary.clone(),
                tag_context: Arc::clone(&p.tag_context),
            }),
        SourceKind::Group => group_subject(node, &source).await?,
    }
    .ok_or_else(|| no_such_source(source.arn))?;
    let mut identity = subject.identity;
    for (label, policy) in inputs.identity {
        identity.push(label, policy);
    }
    let context = simulation_context(subject.tag_context, &entries);
    let sim = Simulation {
        principal: &subject.arn,
        account: &subject.account,
        owner,
        context: &context,
        policies: Policies {
            identity: Some(&identity),
            resource: inputs.resource.as_ref(),
            boundary: inputs.boundary.as_ref().or(subject.boundary.as_ref()),
            scps: view.scps(&subject.account),
            ..Policies::default()
        },
    };
    Ok(pb::SimulatePrincipalPolicyResponse {
        evaluation_results: sim.run(&grid),
        revision: view.revision,
        is_truncated: grid.is_truncated(),
        marker: grid.next_marker(),
    })
}

/// Simulates policies given in the request only.
pub async fn simulate_custom_policy(
    node: &Node,
    req: Request<pb::SimulateCustomPolicyRequest>,
) -> Result<pb::SimulateCustomPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    if r.policy_input_list.is_empty() {
        return Err(errors::invalid(
            "policy_input_list",
            format!("`policy_input_list` must hold 1 to {MAX_INPUT_POLICIES} policies"),
        ));
    }
    let grid = Grid::new(&r.action_names, &r.resource_arns, &r.marker, r.max_items)?;
    let owner = resource_owner(&r.resource_owner)?;
    let inputs = Inputs::parse(
        &r.policy_input_list,
        &r.permissions_boundary_policy_input_list,
        &r.resource_policy,
    )?;
    let entries = context_entries(&r.context_entries)?;
    let (principal, account) = if r.caller_arn.is_empty() {
        (c.principal.arn.as_str(), c.principal.account.as_str())
    } else {
        (r.caller_arn.as_str(), caller_arn_account(&r.caller_arn)?)
    };
    node.authorize(&c, "iam:SimulateCustomPolicy", "*")?;
    let identity = PolicySet::new(inputs.identity);
    // The engine gives an account root every identity-side permission; a simulation
    // evaluates the given policies only, so a root caller is simulated as an anonymous
    // principal of its account that carries the root's principal keys.
    let is_root = r.caller_arn.is_empty() && c.principal.kind == PrincipalKind::Root;
    let derived = if is_root {
        root_keys(principal, account)
    } else {
        Arc::default()
    };
    let context = simulation_context(derived, &entries);
    let sim = Simulation {
        principal: if is_root { "" } else { principal },
        account,
        owner,
        context: &context,
        policies: Policies {
            identity: Some(&identity),
            resource: inputs.resource.as_ref(),
            boundary: inputs.boundary.as_ref(),
            ..Policies::default()
        },
    };
    Ok(pb::SimulateCustomPolicyResponse {
        evaluation_results: sim.run(&grid),
        is_truncated: grid.is_truncated(),
        marker: grid.next_marker(),
    })
}

fn no_such_source(arn: &str) -> Status {
    errors::status(
        Code::NotFound,
        "NoSuchEntity",
        &format!("the principal `{arn}` cannot be found"),
        Some("policy_source_arn"),
    )
}

/// The principal whose stored policies are simulated.
#[derive(Debug)]
struct Subject {
    arn: String,
    account: String,
    identity: PolicySet,
    boundary: Option<PolicySet>,
    /// The keys derived from its tags, as the view prepared them for `Authorize`.
    tag_context: Arc<Context>,
}

/// A group's own policies, read from the state and compiled as the view compiles a user's.
async fn group_subject(node: &Node, source: &SourceArn<'_>) -> Result<Option<Subject>, Status> {
    let (arn, account, name) = (
        source.arn.to_owned(),
        source.account.to_owned(),
        source.name.to_ascii_lowercase(),
    );
    let docs = node
        .read(move |s| group_documents(s, &account, &name, &arn))
        .await?;
    Ok(docs.map(|docs| Subject {
        arn: source.arn.to_owned(),
        account: source.account.to_owned(),
        identity: PolicySet::new(docs.into_iter().filter_map(compile_stored)),
        boundary: None,
        tag_context: Arc::default(),
    }))
}

/// Labelled policy documents of a group: inline ones as `GROUP_ARN#NAME` (group inline
/// kind), attached ones by ARN (managed kind); `None` when no group has this exact ARN.
fn group_documents(
    s: &IamState,
    account: &str,
    name: &str,
    arn: &str,
) -> Option<Vec<(String, String, PolicyKind)>> {
    let acct = s.account(account)?;
    let group = acct.groups.get(name).filter(|g| g.arn == arn)?;
    let inline = group
        .permissions
        .inline
        .iter()
        .map(|(n, doc)| (format!("{arn}#{n}"), doc.clone(), PolicyKind::GroupInline));
    let attached = group
        .permissions
        .attached
        .iter()
        .filter_map(|p| Some((p.clone(), managed_document(acct, p)?, PolicyKind::Managed)));
    Some(inline.chain(attached).collect())
}

/// The default version of a managed policy (AWS managed or of the account).
fn managed_document(acct: &Account, arn: &str) -> Option<String> {
    if let Some(p) = library::get(arn) {
        return Some(p.document.to_owned());
    }
    let name = arn.rsplit('/').next()?.to_ascii_lowercase();
    let p = acct.policies.get(&name).filter(|p| p.arn == arn)?;
    p.versions
        .get(&p.default_version)
        .map(|v| v.document.clone())
}

fn compile_stored((label, doc, kind): (String, String, PolicyKind)) -> Option<Labelled> {
    match Policy::parse(&doc, kind) {
        Ok(p) => Some((label.into(), Arc::new(p))),
        Err(error) => {
            // Documents are validated when written; as in the view, such a policy grants
            // nothing.
            tracing::error!(%error, policy = %label, "stored policy no longer parses");
            None
        }
    }
}

/// One simulation: who, the policies in force, and the context of every pair.
#[derive(Debug)]
struct Simulation<'a> {
    principal: &'a str,
    account: &'a str,
    owner: Option<&'a str>,
    context: &'a Context,
    policies: Policies<'a>,
}

impl Simulation<'_> {
    fn run(&self, grid: &Grid<'_>) -> Vec<pb::EvaluationResult> {
        grid.pairs().map(|(a, r)| self.result(a, r)).collect()
    }

    fn result(&self, action: &str, resource: &str) -> pb::EvaluationResult {
        let resource_account = self
            .owner
            .unwrap_or_else(|| arn_parts(resource).map_or(self.account, |(_, account, _)| account));
        let req = EngineRequest::new(
            self.principal,
            self.account,
            resource_account,
            action,
            resource,
            self.context,
        );
        let d = evaluate(&self.policies, &req);
        pb::EvaluationResult {
            eval_action_name: action.to_owned(),
            eval_resource_name: resource.to_owned(),
            eval_decision: decision(d.kind) as i32,
            matched_statements: d.applicable().iter().map(statement).collect(),
            missing_context_values: d
                .missing_context_keys()
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
            allowed_by_organizations: self.allowed_by_organizations(&d),
            allowed_by_permissions_boundary: self
                .policies
                .boundary
                .map(|_| allows(&d, |t| t == PolicyType::PermissionsBoundary)),
            explanation: Some(explanation(&d)),
        }
    }

    /// Every SCP level has an applicable Allow and no SCP denies; `None` without SCPs.
    fn allowed_by_organizations(&self, d: &Decision<'_>) -> Option<bool> {
        let levels = self.policies.scps.len();
        (levels > 0).then(|| {
            (0..levels).all(|level| {
                let level = u32::try_from(level).unwrap_or(u32::MAX);
                d.applicable()
                    .iter()
                    .any(|h| h.policy_type == PolicyType::Scp(level) && h.effect == Effect::Allow)
            }) && allows(d, |t| matches!(t, PolicyType::Scp(_)))
        })
    }
}

/// An applicable Allow of the policy types `of`, and no applicable Deny among them.
fn allows(d: &Decision<'_>, of: impl Fn(PolicyType) -> bool) -> bool {
    let hits = || d.applicable().iter().filter(|h| of(h.policy_type));
    hits().any(|h| h.effect == Effect::Allow) && !hits().any(|h| h.effect == Effect::Deny)
}

fn decision(k: DecisionKind) -> pb::Decision {
    match k {
        DecisionKind::Allowed => pb::Decision::Allowed,
        DecisionKind::ExplicitDeny => pb::Decision::ExplicitDeny,
        DecisionKind::ImplicitDeny => pb::Decision::ImplicitDeny,
    }
}

/// A statement that applied, on the wire.
fn statement(h: &Hit<'_>) -> pb::DecidingStatement {
    let (ty, level) = match h.policy_type {
        PolicyType::Scp(level) => (pb::PolicyType::Scp, level),
        PolicyType::Resource => (pb::PolicyType::Resource, 0),
        PolicyType::Identity => (pb::PolicyType::Identity, 0),
        PolicyType::PermissionsBoundary => (pb::PolicyType::PermissionsBoundary, 0),
        PolicyType::Session => (pb::PolicyType::Session, 0),
    };
    pb::DecidingStatement {
        policy_type: ty as i32,
        scp_level: level,
        policy_id: h.policy_id.to_owned(),
        statement_index: u32::try_from(h.statement_index).unwrap_or(u32::MAX),
        sid: h.sid.unwrap_or_default().to_owned(),
        effect: match h.effect {
            Effect::Allow => pb::Effect::Allow as i32,
            Effect::Deny => pb::Effect::Deny as i32,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(label: &str, text: &str, kind: PolicyKind) -> PolicySet {
        let policy = Policy::parse(text, kind).unwrap();
        PolicySet::new([(Arc::from(label), Arc::new(policy))])
    }

    const IDENTITY: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"Any","Effect":"Allow","Action":"s3:*","Resource":"*"},
        {"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#;
    const READS: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["s3:Get*","s3:DeleteObject"],"Resource":"*"}]}"#;

    fn run(sim: &Simulation<'_>, action: &str) -> pb::EvaluationResult {
        sim.result(action, "arn:aws:s3:::bucket/key")
    }

    #[test]
    fn results_carry_every_matched_statement_and_the_boundary_detail() {
        let identity = set("PolicyInputList.1", IDENTITY, PolicyKind::Managed);
        let boundary = set(
            "PermissionsBoundaryPolicyInputList.1",
            READS,
            PolicyKind::Managed,
        );
        let context = Context::new();
        let sim = Simulation {
            principal: "arn:aws:iam::111111111111:user/alice",
            account: "111111111111",
            owner: None,
            context: &context,
            policies: Policies {
                identity: Some(&identity),
                boundary: Some(&boundary),
                ..Policies::default()
            },
        };
        let get = run(&sim, "s3:GetObject");
        assert_eq!(get.eval_decision, pb::Decision::Allowed as i32);
        assert_eq!(get.allowed_by_permissions_boundary, Some(true));
        assert_eq!(get.allowed_by_organizations, None, "no SCP applies");
        assert_eq!(get.matched_statements.len(), 2);

        let put = run(&sim, "s3:PutObject");
        assert_eq!(put.eval_decision, pb::Decision::ImplicitDeny as i32);
        assert_eq!(put.allowed_by_permissions_boundary, Some(false));
        let reason = put.explanation.map(|e| e.reason).unwrap_or_default();
        assert_eq!(reason, "permissions_boundary_not_allowed");

        let delete = run(&sim, "s3:DeleteObject");
        assert_eq!(delete.eval_decision, pb::Decision::ExplicitDeny as i32);
        let sids: Vec<&str> = delete
            .matched_statements
            .iter()
            .map(|s| s.sid.as_str())
            .collect();
        assert_eq!(sids, ["Any", "NoDelete", ""], "both effects, every type");
        let deny = &delete.matched_statements[1];
        assert_eq!(deny.effect, pb::Effect::Deny as i32);
        assert_eq!(deny.policy_id, "PolicyInputList.1");
        assert_eq!(deny.statement_index, 1);
    }

    #[test]
    fn organizations_detail_needs_an_allow_at_every_level() {
        let identity = set("PolicyInputList.1", IDENTITY, PolicyKind::Managed);
        let scps = [
            set("p-FullAWSAccess", READS, PolicyKind::Scp),
            set("p-reads", READS, PolicyKind::Scp),
        ];
        let context = Context::new();
        let sim = Simulation {
            principal: "arn:aws:iam::111111111111:user/alice",
            account: "111111111111",
            owner: None,
            context: &context,
            policies: Policies {
                identity: Some(&identity),
                scps: &scps,
                ..Policies::default()
            },
        };
        assert_eq!(
            run(&sim, "s3:GetObject").allowed_by_organizations,
            Some(true)
        );
        let put = run(&sim, "s3:PutObject");
        assert_eq!(put.allowed_by_organizations, Some(false));
        assert_eq!(put.eval_decision, pb::Decision::ImplicitDeny as i32);
    }

    #[test]
    fn a_simulated_root_gets_only_what_the_policies_give() {
        let identity = set("PolicyInputList.1", READS, PolicyKind::Managed);
        let context = simulation_context(
            root_keys("arn:aws:iam::111111111111:root", "111111111111"),
            &[],
        );
        let sim = Simulation {
            principal: "",
            account: "111111111111",
            owner: None,
            context: &context,
            policies: Policies {
                identity: Some(&identity),
                ..Policies::default()
            },
        };
        let put = run(&sim, "s3:PutObject");
        assert_eq!(put.eval_decision, pb::Decision::ImplicitDeny as i32);
        assert_eq!(
            run(&sim, "s3:GetObject").eval_decision,
            pb::Decision::Allowed as i32
        );
    }
}
