//! Parsing and validating a `Condition` block.

use serde_json::Value;

use super::Condition;
use super::operator::{Family, Operator, StrOp};
use super::values::{Values, decode_base64, parse_bool, parse_cidr, parse_number};
use crate::date;
use crate::error::{Path, PolicyError};
use crate::pattern::{Syntax, Template};

/// Parses `{"Operator": {"key": value-or-values, …}, …}`.
pub(crate) fn parse_condition_block(
    block: &Value,
    path: &Path<'_>,
    variables: bool,
) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(ops) = block else {
        return Err(PolicyError::malformed(
            path,
            "the Condition element must be an object of condition operators",
        ));
    };
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let op_path = path.key(op_name);
        let op = Operator::parse(op_name).ok_or_else(|| {
            PolicyError::malformed(&op_path, format!("invalid condition operator `{op_name}`"))
        })?;
        let Value::Object(keys) = keys else {
            return Err(PolicyError::malformed(
                &op_path,
                format!("condition operator `{op_name}` must map condition keys to values"),
            ));
        };
        if keys.is_empty() {
            return Err(PolicyError::malformed(
                &op_path,
                format!("condition operator `{op_name}` names no condition key"),
            ));
        }
        for (key, raw) in keys {
            let key_path = op_path.key(key);
            if key.trim().is_empty() {
                return Err(PolicyError::malformed(&key_path, "empty condition key"));
            }
            let texts = value_texts(raw, &key_path)?;
            let values = typed_values(op, &texts, &key_path, variables)?;
            out.push(Condition {
                op,
                key_name: key.as_str().into(),
                key: key.to_ascii_lowercase().into(),
                values,
            });
        }
    }
    Ok(out)
}

/// A condition value is a string, number or boolean, or a non-empty list of them.
fn value_texts(raw: &Value, path: &Path<'_>) -> Result<Vec<String>, PolicyError> {
    let scalar = |v: &Value, p: &Path<'_>| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(PolicyError::malformed(
            p,
            "a condition value must be a string, number or boolean",
        )),
    };
    match raw {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(PolicyError::malformed(
                    path,
                    "empty list of condition values",
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| scalar(v, &path.index(i)))
                .collect()
        }
        other => Ok(vec![scalar(other, path)?]),
    }
}

fn typed_values(
    op: Operator,
    texts: &[String],
    path: &Path<'_>,
    variables: bool,
) -> Result<Values, PolicyError> {
    let each = |f: &dyn Fn(&str) -> Option<()>, what: &str| -> Result<(), PolicyError> {
        for (i, t) in texts.iter().enumerate() {
            if f(t).is_none() {
                let p = if texts.len() > 1 {
                    path.index(i)
                } else {
                    *path
                };
                return Err(PolicyError::malformed(&p, format!("invalid {what} `{t}`")));
            }
        }
        Ok(())
    };
    Ok(match op.family {
        Family::String(str_op) => {
            let syntax = Syntax {
                wildcards: str_op == StrOp::Like,
                variables,
                ignore_case: str_op == StrOp::EqualsIgnoreCase,
            };
            Values::Str(
                str_op,
                texts.iter().map(|t| Template::parse(t, syntax)).collect(),
            )
        }
        Family::Arn => {
            let syntax = Syntax {
                wildcards: true,
                variables,
                ignore_case: false,
            };
            Values::Arn(texts.iter().map(|t| Template::parse(t, syntax)).collect())
        }
        Family::Numeric(cmp) => {
            each(&|t| parse_number(t).map(drop), "number")?;
            Values::Numeric(cmp, texts.iter().filter_map(|t| parse_number(t)).collect())
        }
        Family::Date(cmp) => {
            each(&|t| date::parse(t).map(drop), "date")?;
            Values::Date(cmp, texts.iter().filter_map(|t| date::parse(t)).collect())
        }
        Family::Bool => {
            each(&|t| parse_bool(t).map(drop), "boolean")?;
            Values::Bool(texts.iter().filter_map(|t| parse_bool(t)).collect())
        }
        Family::Binary => {
            each(&|t| decode_base64(t).map(drop), "base64 value")?;
            Values::Binary(texts.iter().filter_map(|t| decode_base64(t)).collect())
        }
        Family::Ip => {
            each(&|t| parse_cidr(t).map(drop), "IP address or CIDR block")?;
            Values::Ip(texts.iter().filter_map(|t| parse_cidr(t)).collect())
        }
        Family::Null => {
            if let Some(t) = texts.iter().find(|t| t.contains("${")) {
                return Err(PolicyError::malformed(
                    path,
                    format!("policy variables are not allowed in a Null condition: `{t}`"),
                ));
            }
            each(
                &|t| parse_bool(t).map(drop),
                "Null value (expected true or false)",
            )?;
            Values::Null(texts.iter().filter_map(|t| parse_bool(t)).collect())
        }
    })
}
