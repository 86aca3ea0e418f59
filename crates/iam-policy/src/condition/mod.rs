//! The `Condition` element: operators, keys and values, compiled for evaluation.
//!
//! Within one condition the policy's values are OR'ed; the conditions of a statement (every
//! key of every operator) are AND'ed by the statement.

mod operator;
mod parse;
mod values;

use crate::context::{Lookup, Request};
use crate::pattern::Unresolved;

pub(crate) use operator::{Operator, SetOp};
pub(crate) use parse::parse_condition_block;
use values::Values;

/// One key of one operator: `"StringEquals": {"aws:username": ["alice", "bob"]}`.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) op: Operator,
    /// The key as written, for explanations.
    pub(crate) key_name: Box<str>,
    /// The key lowercased, for lookups.
    key: Box<str>,
    values: Values,
}

/// A condition that could not be evaluated (never an Allow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalError {
    /// What went wrong.
    pub reason: EvalErrorReason,
}

/// Why a condition could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalErrorReason {
    /// A policy variable names a multivalued context key.
    MultivaluedVariable,
}

impl EvalErrorReason {
    /// A lowercase description.
    pub fn message(self) -> &'static str {
        match self {
            EvalErrorReason::MultivaluedVariable => {
                "a policy variable names a multivalued context key"
            }
        }
    }
}

impl Condition {
    /// Evaluates the condition. When the key is absent from the request, `missing` is set.
    pub(crate) fn evaluate(
        &self,
        req: &Request<'_>,
        missing: &mut bool,
    ) -> Result<bool, EvalError> {
        let lookup = req.lookup(&self.key);
        if let Values::Null(expect_absent) = &self.values {
            let absent = matches!(lookup, Lookup::Absent);
            *missing = absent;
            return Ok(expect_absent.contains(&absent));
        }
        let op = self.op;
        let values: &[String] = match lookup {
            Lookup::Absent => {
                *missing = true;
                return Ok(match op.set {
                    _ if op.if_exists => true,
                    Some(SetOp::ForAllValues) => true,
                    Some(SetOp::ForAnyValue) => false,
                    None => op.negated,
                });
            }
            Lookup::Single(v) => return self.single(v, req).map(|m| m != op.negated),
            Lookup::Multi(values) => values,
        };
        let test = |v: &String| self.matches(v, req).map(|m| m != op.negated);
        match op.set {
            Some(SetOp::ForAllValues) => {
                for v in values {
                    if !test(v)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Some(SetOp::ForAnyValue) => {
                for v in values {
                    if test(v)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            None => {
                // A plain operator on a multivalued key: does any value match?
                let mut any = false;
                for v in values {
                    if self.matches(v, req)? {
                        any = true;
                        break;
                    }
                }
                Ok(any != op.negated)
            }
        }
    }

    /// The positive match of a single-valued key (set operators treat it as a one-value set).
    fn single(&self, value: &str, req: &Request<'_>) -> Result<bool, EvalError> {
        self.matches(value, req)
    }

    /// True when `value` matches any of the policy's values (positive form).
    fn matches(&self, value: &str, req: &Request<'_>) -> Result<bool, EvalError> {
        self.values.matches(value, req).map_err(|u| match u {
            Unresolved::Multivalued | Unresolved::Missing => EvalError {
                reason: EvalErrorReason::MultivaluedVariable,
            },
        })
    }

    /// The key as written in the policy.
    pub(crate) fn key_as_written(&self) -> &str {
        &self.key_name
    }
}
