//! The result of an authorization: a decision and why.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::condition::EvalError;
use crate::policy::Effect;

/// Allowed, or which kind of deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DecisionKind {
    /// An applicable Allow in every policy type that must allow, and no applicable Deny.
    #[serde(rename = "allowed")]
    Allowed,
    /// An applicable Deny statement.
    #[serde(rename = "explicitDeny")]
    ExplicitDeny,
    /// No Deny, but a policy type that must allow did not.
    #[serde(rename = "implicitDeny")]
    ImplicitDeny,
}

impl DecisionKind {
    /// The name used in the API and the simulator output.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Allowed => "allowed",
            DecisionKind::ExplicitDeny => "explicitDeny",
            DecisionKind::ImplicitDeny => "implicitDeny",
        }
    }
}

/// The type of policy a statement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PolicyType {
    /// One level (0 = organization root) of service control policies.
    Scp(u32),
    /// The resource-based policy.
    Resource,
    /// An identity-based policy of the caller.
    Identity,
    /// The caller's permissions boundary.
    PermissionsBoundary,
    /// A session policy.
    Session,
}

impl PolicyType {
    /// The name used in explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Scp(_) => "scp",
            PolicyType::Resource => "resource",
            PolicyType::Identity => "identity",
            PolicyType::PermissionsBoundary => "permissions_boundary",
            PolicyType::Session => "session",
        }
    }
}

/// Why the decision is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A Deny statement applies.
    ExplicitDeny,
    /// This level of SCPs has no applicable Allow.
    ScpNotAllowed(u32),
    /// A same-account resource-based policy names the caller itself.
    AllowedByResourcePolicy,
    /// The identity side allows (and the resource side too, across accounts).
    Allowed,
    /// No identity-based policy (nor same-account resource policy) allows.
    NoIdentityAllow,
    /// The permissions boundary has no applicable Allow.
    BoundaryNotAllowed,
    /// The session policies have no applicable Allow.
    SessionNotAllowed,
    /// A federated user session without a session policy has no permissions.
    FederatedUserWithoutSessionPolicy,
    /// Across accounts, the resource-based policy does not allow the caller.
    NoResourceAllow,
}

impl Reason {
    /// A stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::ExplicitDeny => "explicit_deny",
            Reason::ScpNotAllowed(_) => "scp_not_allowed",
            Reason::AllowedByResourcePolicy => "allowed_by_resource_policy",
            Reason::Allowed => "allowed",
            Reason::NoIdentityAllow => "no_identity_allow",
            Reason::BoundaryNotAllowed => "permissions_boundary_not_allowed",
            Reason::SessionNotAllowed => "session_policy_not_allowed",
            Reason::FederatedUserWithoutSessionPolicy => "federated_user_without_session_policy",
            Reason::NoResourceAllow => "no_resource_policy_allow",
        }
    }

    /// A lowercase sentence.
    pub fn message(self) -> String {
        match self {
            Reason::ExplicitDeny => "an explicit deny applies".into(),
            Reason::ScpNotAllowed(level) => {
                format!("no statement in the service control policies of level {level} allows")
            }
            Reason::AllowedByResourcePolicy => {
                "the resource-based policy allows the caller by name".into()
            }
            Reason::Allowed => "allowed by every policy type that applies".into(),
            Reason::NoIdentityAllow => "no identity-based or resource-based policy allows".into(),
            Reason::BoundaryNotAllowed => "the permissions boundary does not allow".into(),
            Reason::SessionNotAllowed => "the session policies do not allow".into(),
            Reason::FederatedUserWithoutSessionPolicy => {
                "a federated user session without a session policy has no permissions".into()
            }
            Reason::NoResourceAllow => {
                "cross-account access needs the resource-based policy to allow the caller".into()
            }
        }
    }
}

/// A statement that applied to the request.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    /// The type of its policy.
    pub policy_type: PolicyType,
    /// The label its policy was given in its set (an ARN or a position).
    pub policy_id: &'a str,
    /// Its index in the policy's `Statement` list.
    pub statement_index: usize,
    /// Its `Sid`.
    pub sid: Option<&'a str>,
    /// Its `Effect`.
    pub effect: Effect,
}

impl Serialize for Hit<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("policy_type", self.policy_type.as_str())?;
        if let PolicyType::Scp(level) = self.policy_type {
            map.serialize_entry("scp_level", &level)?;
        }
        map.serialize_entry("policy_id", self.policy_id)?;
        map.serialize_entry("statement_index", &self.statement_index)?;
        map.serialize_entry("sid", &self.sid)?;
        map.serialize_entry("effect", &self.effect)?;
        map.end()
    }
}

/// A decision with its explanation. Borrows the policies it was computed from.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// Allowed or denied.
    pub kind: DecisionKind,
    /// Why.
    pub reason: Reason,
    pub(crate) hits: Vec<Hit<'a>>,
    pub(crate) errors: Vec<(Hit<'a>, EvalError)>,
    pub(crate) missing: Vec<&'a str>,
}

impl<'a> Decision<'a> {
    /// True when the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.kind == DecisionKind::Allowed
    }

    /// The statements that decided: the Deny statements of an explicit deny, the Allow
    /// statements of an allow, none for an implicit deny.
    pub fn deciding(&self) -> impl Iterator<Item = &Hit<'a>> {
        let effect = match self.kind {
            DecisionKind::Allowed => Some(Effect::Allow),
            DecisionKind::ExplicitDeny => Some(Effect::Deny),
            DecisionKind::ImplicitDeny => None,
        };
        self.hits.iter().filter(move |h| Some(h.effect) == effect)
    }

    /// Every statement that applied, of either effect.
    pub fn applicable(&self) -> &[Hit<'a>] {
        &self.hits
    }

    /// Statements that could not be evaluated (none of them allowed).
    pub fn errors(&self) -> impl Iterator<Item = (&Hit<'a>, &EvalError)> {
        self.errors.iter().map(|(h, e)| (h, e))
    }

    /// Condition keys that applicable statements asked for and the request did not carry.
    pub fn missing_context_keys(&self) -> &[&'a str] {
        &self.missing
    }

    /// The explanation as JSON: reason, deciding statements, missing keys, errors.
    pub fn explanation(&self) -> serde_json::Value {
        let errors: Vec<serde_json::Value> = self
            .errors
            .iter()
            .map(|(hit, e)| {
                serde_json::json!({
                    "policy_type": hit.policy_type.as_str(),
                    "policy_id": hit.policy_id,
                    "statement_index": hit.statement_index,
                    "sid": hit.sid,
                    "error": e.reason.message(),
                })
            })
            .collect();
        let deciding: Vec<&Hit<'a>> = self.deciding().collect();
        serde_json::json!({
            "reason": self.reason.code(),
            "message": self.reason.message(),
            "statements": deciding,
            "missing_context_keys": self.missing,
            "errors": errors,
        })
    }
}
