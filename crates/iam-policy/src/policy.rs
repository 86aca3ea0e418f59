//! A compiled policy document and the test of one statement against a request.

use crate::condition::{Condition, EvalError, EvalErrorReason};
use crate::context::Request;
use crate::error::PolicyError;
use crate::kind::PolicyKind;
use crate::pattern::{Template, Unresolved};
use crate::principal::{Grant, PrincipalBlock};

/// `Effect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    /// `"Allow"`
    Allow,
    /// `"Deny"`
    Deny,
}

/// The policy language version: only `2012-10-17` knows policy variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`
    V2012_10_17,
    /// `2008-10-17`, or no `Version` element: `${…}` is literal text.
    V2008_10_17,
}

/// A parsed, validated and compiled policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) id: Option<Box<str>>,
    pub(crate) version: Version,
    pub(crate) kind: PolicyKind,
    pub(crate) statements: Vec<Statement>,
}

impl Policy {
    /// Parses, validates and compiles a policy document of the given kind.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        crate::parse::parse_policy_text(text, kind)
    }

    /// Parses an already decoded JSON document.
    pub fn from_json(value: &serde_json::Value, kind: PolicyKind) -> Result<Policy, PolicyError> {
        crate::parse::parse_policy(value, kind)
    }

    /// The `Id` element, if any.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The language version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The kind the policy was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

/// An `Action`/`NotAction` or `Resource`/`NotResource` element.
#[derive(Debug, Clone)]
pub(crate) struct Matchers {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<Template>,
}

impl Matchers {
    fn test(&self, text: &str, req: &Request<'_>) -> Result<bool, EvalError> {
        let mut any = false;
        for p in &self.patterns {
            match p.matches(text, req) {
                Ok(true) => {
                    any = true;
                    break;
                }
                Ok(false) | Err(Unresolved::Missing) => {}
                Err(Unresolved::Multivalued) => {
                    return Err(EvalError {
                        reason: EvalErrorReason::MultivaluedVariable,
                    });
                }
            }
        }
        Ok(any != self.negated)
    }
}

/// One statement of a policy.
#[derive(Debug, Clone)]
pub struct Statement {
    pub(crate) sid: Option<Box<str>>,
    pub(crate) effect: Effect,
    pub(crate) action: Matchers,
    pub(crate) resource: Option<Matchers>,
    pub(crate) principal: Option<PrincipalBlock>,
    pub(crate) conditions: Vec<Condition>,
}

/// How a statement relates to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applies {
    No,
    /// It applies; for a resource-based policy, how its `Principal` named the caller.
    Yes(Option<Grant>),
    /// It could not be evaluated.
    Error(EvalError),
}

impl Statement {
    /// The `Sid`, if any.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// The `Effect`.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// Tests the statement; the keys its conditions found missing are passed to `missing`.
    ///
    /// `has_boundary` tells whether the caller has a permissions boundary: AWS always applies
    /// a `NotPrincipal` Deny to such a caller, whatever the element lists.
    pub(crate) fn applies<'p>(
        &'p self,
        req: &Request<'_>,
        has_boundary: bool,
        missing: &mut impl FnMut(&'p str),
    ) -> Applies {
        match self.action.test(&req.action, req) {
            Ok(true) => {}
            Ok(false) => return Applies::No,
            Err(e) => return Applies::Error(e),
        }
        if let Some(resource) = &self.resource {
            match resource.test(req.resource, req) {
                Ok(true) => {}
                Ok(false) => return Applies::No,
                Err(e) => return Applies::Error(e),
            }
        }
        let grant = match &self.principal {
            Some(block) if block.negated && has_boundary && self.effect == Effect::Deny => {
                Some(Grant::Limited)
            }
            Some(block) => match block.grant_for(&req.caller) {
                Some(grant) => Some(grant),
                None => return Applies::No,
            },
            None => None,
        };
        // Conditions are AND'ed: one false makes the statement not apply, even when another
        // could not be evaluated; every condition is visited so missing keys are all reported.
        let mut any_false = false;
        let mut error = None;
        for condition in &self.conditions {
            let mut absent = false;
            let outcome = condition.evaluate(req, &mut absent);
            if absent {
                missing(condition.key_as_written());
            }
            match outcome {
                Ok(true) => {}
                Ok(false) => any_false = true,
                Err(e) => error = error.or(Some(e)),
            }
        }
        match (any_false, error) {
            (true, _) => Applies::No,
            (false, Some(e)) => Applies::Error(e),
            (false, None) => Applies::Yes(grant),
        }
    }

    /// The service prefixes (lowercased) the `Action` element is limited to, or `None` when
    /// it may match any service (`NotAction`, or a wildcard in a service prefix).
    pub(crate) fn services(&self) -> Option<Vec<&str>> {
        if self.action.negated {
            return None;
        }
        let mut services = Vec::new();
        for pattern in &self.action.patterns {
            let text = pattern.literal_prefix();
            let (service, _) = text.split_once(':')?;
            if !services.contains(&service) {
                services.push(service);
            }
        }
        Some(services)
    }
}
