//! The offline simulator's case format (`iamctl simulate`): one JSON document holding the
//! policies in force and a request, decided without any store.
//!
//! Unknown top-level fields (`name`, `description`, `expect`, `source`, …) are ignored.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::context::{Context, ContextValue, Request};
use crate::decision::DecisionKind;
use crate::evaluate::{Policies, evaluate};
use crate::kind::PolicyKind;
use crate::policy::Policy;
use crate::policy_set::PolicySet;

/// The decision of one case and its explanation.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `allowed`, `explicitDeny` or `implicitDeny`.
    pub decision: DecisionKind,
    /// The explanation (see [`crate::Decision::explanation`]).
    pub explanation: Value,
}

/// Decides one case given as JSON text. The error names the field at fault.
pub fn simulate(case_text: &str) -> Result<Outcome, String> {
    let case: Value =
        serde_json::from_str(case_text).map_err(|e| format!("case is not valid JSON: {e}"))?;
    simulate_value(&case)
}

/// Decides one case given as decoded JSON.
pub fn simulate_value(case: &Value) -> Result<Outcome, String> {
    let Value::Object(case) = case else {
        return Err("a case must be a JSON object".into());
    };
    let identity = policy_list(case, "identity_policies", PolicyKind::Managed)?;
    let resource = optional_policy(case, "resource_policy", PolicyKind::Resource)?;
    let boundary = optional_policy(case, "permissions_boundary", PolicyKind::Managed)?;
    let session = policy_list(case, "session_policies", PolicyKind::Session)?;
    let scps = match case.get("scps") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(levels)) => levels
            .iter()
            .enumerate()
            .map(|(i, level)| scp_level(level, i))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err("`scps` must be a list of policies".into()),
    };
    let request = match case.get("request") {
        Some(Value::Object(r)) => r,
        _ => return Err("`request` must be an object".into()),
    };
    let context = parse_context(request.get("context"))?;
    let principal = required_str(request, "principal")?;
    let action = required_str(request, "action")?;
    let resource_arn = required_str(request, "resource")?;
    let principal_account = optional_str(request, "principal_account")?
        .map(str::to_owned)
        .unwrap_or_else(|| arn_account(principal).to_owned());
    let resource_account = optional_str(request, "resource_account")?
        .map(str::to_owned)
        .unwrap_or_else(|| principal_account.clone());
    let req = Request::new(
        principal,
        &principal_account,
        &resource_account,
        action,
        resource_arn,
        &context,
    );
    let policies = Policies {
        identity: Some(&identity),
        resource: resource.as_ref(),
        boundary: boundary.as_ref(),
        session: (!session.is_empty()).then_some(&session),
        scps: &scps,
    };
    let decision = evaluate(&policies, &req);
    Ok(Outcome {
        decision: decision.kind,
        explanation: decision.explanation(),
    })
}

fn parse_one(
    value: &Value,
    slot: &str,
    kind: PolicyKind,
) -> Result<(Arc<str>, Arc<Policy>), String> {
    let policy = match value {
        // A policy may also be given as the JSON text of the document.
        Value::String(text) => Policy::parse(text, kind),
        other => Policy::from_json(other, kind),
    }
    .map_err(|e| format!("{slot}: {e}"))?;
    let label: Arc<str> = policy.id().map_or_else(|| slot.into(), Into::into);
    Ok((label, Arc::new(policy)))
}

fn policy_list(
    case: &Map<String, Value>,
    field: &str,
    kind: PolicyKind,
) -> Result<PolicySet, String> {
    match case.get(field) {
        None | Some(Value::Null) => Ok(PolicySet::default()),
        Some(Value::Array(items)) => {
            let mut set = PolicySet::default();
            for (i, item) in items.iter().enumerate() {
                let (label, policy) = parse_one(item, &format!("{field}[{i}]"), kind)?;
                set.push(label, policy);
            }
            Ok(set)
        }
        Some(_) => Err(format!("`{field}` must be a list of policies")),
    }
}

fn optional_policy(
    case: &Map<String, Value>,
    field: &str,
    kind: PolicyKind,
) -> Result<Option<PolicySet>, String> {
    match case.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            let (label, policy) = parse_one(value, field, kind)?;
            Ok(Some(PolicySet::new([(label, policy)])))
        }
    }
}

/// One level of SCPs: a policy, or a list of policies attached at that level.
fn scp_level(level: &Value, i: usize) -> Result<PolicySet, String> {
    let mut set = PolicySet::default();
    match level {
        Value::Array(items) => {
            for (j, item) in items.iter().enumerate() {
                let (label, policy) = parse_one(item, &format!("scps[{i}][{j}]"), PolicyKind::Scp)?;
                set.push(label, policy);
            }
        }
        other => {
            let (label, policy) = parse_one(other, &format!("scps[{i}]"), PolicyKind::Scp)?;
            set.push(label, policy);
        }
    }
    Ok(set)
}

fn parse_context(value: Option<&Value>) -> Result<Context, String> {
    let mut context = Context::new();
    let map = match value {
        None | Some(Value::Null) => return Ok(context),
        Some(Value::Object(map)) => map,
        Some(_) => return Err("`request.context` must be an object".into()),
    };
    for (key, value) in map {
        let v = match value {
            Value::Array(items) => ContextValue::Multi(
                items
                    .iter()
                    .map(|item| scalar_text(item, key))
                    .collect::<Result<_, _>>()?,
            ),
            other => ContextValue::Single(scalar_text(other, key)?),
        };
        context.insert(key, v);
    }
    Ok(context)
}

fn scalar_text(value: &Value, key: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(format!(
            "`request.context.{key}` must be a string or a list of strings"
        )),
    }
}

fn required_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<&'a str, String> {
    optional_str(map, field)?.ok_or_else(|| format!("`request.{field}` is required"))
}

fn optional_str<'a>(map: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, String> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`request.{field}` must be a string")),
    }
}

/// The account field of an ARN (empty when there is none).
fn arn_account(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}
