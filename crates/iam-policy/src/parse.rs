//! From JSON text to a validated, compiled [`Policy`], with AWS's validation rules.

use serde_json::{Map, Value};

use crate::condition::parse_condition_block;
use crate::error::{Path, PolicyError};
use crate::kind::PolicyKind;
use crate::pattern::{Syntax, Template};
use crate::policy::{Effect, Matchers, Policy, Statement, Version};
use crate::principal::{PrincipalBlock, PrincipalEntry};

const STATEMENT_KEYS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

pub(crate) fn parse_policy_text(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(text).map_err(|e| PolicyError {
        code: "MalformedPolicyDocument",
        path: "$".into(),
        message: format!("policy document is not valid JSON: {e}"),
    })?;
    parse_policy(&value, kind)
}

pub(crate) fn parse_policy(value: &Value, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let root = Path::Root;
    let Value::Object(doc) = value else {
        return Err(PolicyError::malformed(
            &root,
            "a policy document must be a JSON object",
        ));
    };
    for key in doc.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(PolicyError::malformed(
                &root.key(key),
                format!("unknown policy element `{key}`"),
            ));
        }
    }
    let version = match doc.get("Version") {
        None => Version::V2008_10_17,
        Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
        Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
        Some(other) => {
            return Err(PolicyError::malformed(
                &root.key("Version"),
                format!("invalid Version `{}`: use `2012-10-17`", text_of(other)),
            ));
        }
    };
    let id = match doc.get("Id") {
        None => None,
        Some(Value::String(id)) => Some(id.as_str().into()),
        Some(_) => {
            return Err(PolicyError::malformed(
                &root.key("Id"),
                "Id must be a string",
            ));
        }
    };
    let st_path = root.key("Statement");
    let statements: Vec<(Path<'_>, &Map<String, Value>)> = match doc.get("Statement") {
        None => {
            return Err(PolicyError::malformed(
                &root,
                "missing required element `Statement`",
            ));
        }
        Some(Value::Object(one)) => vec![(st_path, one)],
        Some(Value::Array(list)) => {
            let mut out = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                match item {
                    Value::Object(st) => out.push((st_path.index(i), st)),
                    _ => {
                        return Err(PolicyError::malformed(
                            &st_path.index(i),
                            "a statement must be a JSON object",
                        ));
                    }
                }
            }
            out
        }
        Some(_) => {
            return Err(PolicyError::malformed(
                &st_path,
                "Statement must be an object or a list of objects",
            ));
        }
    };
    let variables = version == Version::V2012_10_17;
    let mut compiled = Vec::with_capacity(statements.len());
    for (path, st) in &statements {
        compiled.push(parse_statement(st, path, kind, variables)?);
    }
    check_sids(&compiled, &statements, kind)?;
    Ok(Policy {
        id,
        version,
        kind,
        statements: compiled,
    })
}

fn check_sids(
    compiled: &[Statement],
    paths: &[(Path<'_>, &Map<String, Value>)],
    kind: PolicyKind,
) -> Result<(), PolicyError> {
    if !kind.strict_sids() {
        return Ok(());
    }
    for (i, (st, (path, _))) in compiled.iter().zip(paths).enumerate() {
        let Some(sid) = st.sid.as_deref() else {
            continue;
        };
        if !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(PolicyError::malformed(
                &path.key("Sid"),
                format!("statement ids (Sid) must be alphanumeric: `{sid}`"),
            ));
        }
        let earlier = compiled.iter().take(i);
        if !sid.is_empty() && earlier.filter_map(|s| s.sid.as_deref()).any(|s| s == sid) {
            return Err(PolicyError::malformed(
                &path.key("Sid"),
                format!("statement ids (Sid) in a policy must be unique: `{sid}`"),
            ));
        }
    }
    Ok(())
}

fn parse_statement(
    st: &Map<String, Value>,
    path: &Path<'_>,
    kind: PolicyKind,
    variables: bool,
) -> Result<Statement, PolicyError> {
    for key in st.keys() {
        if !STATEMENT_KEYS.contains(&key.as_str()) {
            return Err(PolicyError::malformed(
                &path.key(key),
                format!("unknown statement element `{key}`"),
            ));
        }
    }
    let sid = match st.get("Sid") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str().into()),
        Some(_) => {
            return Err(PolicyError::malformed(
                &path.key("Sid"),
                "Sid must be a string",
            ));
        }
    };
    let effect = match st.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(PolicyError::malformed(
                &path.key("Effect"),
                format!("invalid Effect `{}`: use `Allow` or `Deny`", text_of(other)),
            ));
        }
        None => {
            return Err(PolicyError::malformed(
                path,
                "missing required element `Effect`",
            ));
        }
    };
    let action = match pick(st, path, "Action", "NotAction")? {
        Some((negated, name, value)) => {
            let list_path = path.key(name);
            let items = strings(value, &list_path, name)?;
            for (i, a) in items.iter().enumerate() {
                validate_action(a, &item_path(&list_path, i, items.len()))?;
            }
            let syntax = Syntax {
                wildcards: true,
                variables: false,
                ignore_case: true,
            };
            Matchers {
                negated,
                patterns: items.iter().map(|a| Template::parse(a, syntax)).collect(),
            }
        }
        None => {
            return Err(PolicyError::malformed(
                path,
                "a statement must contain `Action` or `NotAction`",
            ));
        }
    };
    let resource = parse_resource(st, path, kind, variables)?;
    let principal = match pick(st, path, "Principal", "NotPrincipal")? {
        Some((negated, name, value)) => {
            if !kind.takes_principal() {
                return Err(PolicyError::malformed(
                    &path.key(name),
                    format!("`{name}` is not allowed in this kind of policy"),
                ));
            }
            Some(PrincipalBlock {
                negated,
                entries: parse_principal(value, &path.key(name))?,
            })
        }
        None if kind.takes_principal() => {
            return Err(PolicyError::malformed(
                path,
                "a statement of a resource-based policy must contain `Principal` or `NotPrincipal`",
            ));
        }
        None => None,
    };
    let conditions = match st.get("Condition") {
        Some(block) => parse_condition_block(block, &path.key("Condition"), variables)?,
        None => Vec::new(),
    };
    Ok(Statement {
        sid,
        effect,
        action,
        resource,
        principal,
        conditions,
    })
}

fn parse_resource(
    st: &Map<String, Value>,
    path: &Path<'_>,
    kind: PolicyKind,
    variables: bool,
) -> Result<Option<Matchers>, PolicyError> {
    let Some((negated, name, value)) = pick(st, path, "Resource", "NotResource")? else {
        return match kind.resource_rule() {
            Some(true) => Err(PolicyError::malformed(
                path,
                "a statement must contain `Resource` or `NotResource`",
            )),
            _ => Ok(None),
        };
    };
    if kind.resource_rule().is_none() {
        return Err(PolicyError::malformed(
            &path.key(name),
            format!("`{name}` is not allowed in a trust policy"),
        ));
    }
    let list_path = path.key(name);
    let items = strings(value, &list_path, name)?;
    for (i, r) in items.iter().enumerate() {
        validate_resource(r, &item_path(&list_path, i, items.len()))?;
    }
    let syntax = Syntax {
        wildcards: true,
        variables,
        ignore_case: false,
    };
    Ok(Some(Matchers {
        negated,
        patterns: items.iter().map(|r| Template::parse(r, syntax)).collect(),
    }))
}

/// The path of the `i`th entry of an element that may be a string or a list.
fn item_path<'a>(list: &'a Path<'a>, i: usize, len: usize) -> Path<'a> {
    if len > 1 { list.index(i) } else { *list }
}

/// Finds exactly one of `name` and `not_name`.
fn pick<'v>(
    st: &'v Map<String, Value>,
    path: &Path<'_>,
    name: &'static str,
    not_name: &'static str,
) -> Result<Option<(bool, &'static str, &'v Value)>, PolicyError> {
    match (st.get(name), st.get(not_name)) {
        (Some(_), Some(_)) => Err(PolicyError::malformed(
            path,
            format!("a statement cannot contain both `{name}` and `{not_name}`"),
        )),
        (Some(v), None) => Ok(Some((false, name, v))),
        (None, Some(v)) => Ok(Some((true, not_name, v))),
        (None, None) => Ok(None),
    }
}

/// A string or a non-empty list of strings.
fn strings(value: &Value, path: &Path<'_>, name: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(PolicyError::malformed(
                    &path.index(i),
                    format!("each `{name}` entry must be a string"),
                )),
            })
            .collect(),
        Value::Array(_) => Err(PolicyError::malformed(path, format!("empty `{name}` list"))),
        _ => Err(PolicyError::malformed(
            path,
            format!("`{name}` must be a string or a list of strings"),
        )),
    }
}

fn validate_action(action: &str, path: &Path<'_>) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let valid = match action.split_once(':') {
        Some((service, name)) => {
            !service.is_empty()
                && !name.is_empty()
                && service
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*' | b'?'))
                && !name.contains(':')
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(PolicyError::malformed(
            path,
            format!("action `{action}` must be `*` or `service:action` with a service prefix"),
        ))
    }
}

fn validate_resource(resource: &str, path: &Path<'_>) -> Result<(), PolicyError> {
    let valid = resource == "*"
        || resource.strip_prefix("arn:").is_some_and(|rest| {
            !rest.is_empty() && (rest.matches(':').count() >= 4 || rest.contains('*'))
        });
    if valid {
        Ok(())
    } else {
        Err(PolicyError::malformed(
            path,
            format!("resource `{resource}` must be in ARN format or `*`"),
        ))
    }
}

fn parse_principal(value: &Value, path: &Path<'_>) -> Result<Vec<PrincipalEntry>, PolicyError> {
    let map = match value {
        Value::String(s) if s == "*" => return Ok(vec![PrincipalEntry::Any]),
        Value::Object(map) if !map.is_empty() => map,
        _ => {
            return Err(PolicyError::malformed(
                path,
                "a principal must be `*` or an object such as {\"AWS\": …}",
            ));
        }
    };
    let mut entries = Vec::new();
    for (kind, names) in map {
        let kind_path = path.key(kind);
        let names = strings(names, &kind_path, kind)?;
        for (i, name) in names.iter().enumerate() {
            let p = kind_path.index(i);
            let entry = match kind.as_str() {
                "AWS" => aws_principal(name, &p)?,
                "Service" | "Federated" | "CanonicalUser" => {
                    if name.is_empty() || (name != "*" && name.contains(['*', '?'])) {
                        return Err(PolicyError::malformed(
                            &p,
                            format!("invalid principal `{name}`"),
                        ));
                    }
                    if name == "*" {
                        PrincipalEntry::Any
                    } else {
                        PrincipalEntry::Exact(name.as_str().into())
                    }
                }
                _ => {
                    return Err(PolicyError::malformed(
                        &kind_path,
                        format!("unknown principal type `{kind}`"),
                    ));
                }
            };
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn aws_principal(name: &str, path: &Path<'_>) -> Result<PrincipalEntry, PolicyError> {
    if name == "*" {
        return Ok(PrincipalEntry::Any);
    }
    if name.contains(['*', '?']) {
        return Err(PolicyError::malformed(
            path,
            format!("invalid principal `{name}`: wildcards are only allowed as `*` alone"),
        ));
    }
    let is_account = name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = name.splitn(6, ':').collect();
    let is_arn = matches!(
        parts[..],
        ["arn", partition, "iam" | "sts", "", account, resource]
            if !partition.is_empty() && account.len() == 12 && !resource.is_empty()
    );
    let is_unique_id = name.len() >= 16
        && name.starts_with('A')
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if is_account || is_arn || is_unique_id {
        Ok(PrincipalEntry::aws(name))
    } else {
        Err(PolicyError::malformed(
            path,
            format!("invalid principal `{name}`"),
        ))
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
