//! A set of compiled policies of one type, indexed by the service prefixes of their actions so
//! that a request only visits the statements that can apply to its service.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::condition::EvalError;
use crate::context::Request;
use crate::decision::{Hit, PolicyType};
use crate::policy::{Applies, Effect, Policy, Statement};
use crate::principal::Grant;

/// Where a statement lives in a set.
#[derive(Debug, Clone, Copy)]
struct Loc {
    policy: u32,
    statement: u32,
}

/// A labelled policy of a set.
#[derive(Debug, Clone)]
struct Entry {
    label: Arc<str>,
    policy: Arc<Policy>,
}

/// Compiled policies of one type (all the identity policies of a principal, a boundary, one
/// level of SCPs, …), with an index from service prefix to statements.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    entries: Vec<Entry>,
    by_service: FxHashMap<Box<str>, Vec<Loc>>,
    any_service: Vec<Loc>,
}

/// What a set says about a request.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SetResult {
    pub(crate) allowed: bool,
    pub(crate) denied: bool,
    /// For a resource-based policy: the strongest way an applicable Allow named the caller.
    pub(crate) grant: Option<Grant>,
}

/// What the scan of every set collects.
#[derive(Debug, Default)]
pub(crate) struct Scan<'a> {
    pub(crate) hits: Vec<Hit<'a>>,
    pub(crate) errors: Vec<(Hit<'a>, EvalError)>,
    pub(crate) missing: Vec<&'a str>,
}

impl PolicySet {
    /// Builds a set from labelled policies. The label names the policy in explanations
    /// (an ARN, or a position such as `identity_policies[2]`).
    pub fn new(policies: impl IntoIterator<Item = (Arc<str>, Arc<Policy>)>) -> Self {
        let mut set = PolicySet::default();
        for (label, policy) in policies {
            set.push(label, policy);
        }
        set
    }

    /// Adds a policy to the set.
    pub fn push(&mut self, label: Arc<str>, policy: Arc<Policy>) {
        let p = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        for (s, statement) in policy.statements().iter().enumerate() {
            let loc = Loc {
                policy: p,
                statement: u32::try_from(s).unwrap_or(u32::MAX),
            };
            match statement.services() {
                Some(services) => {
                    for service in services {
                        self.by_service.entry(service.into()).or_default().push(loc);
                    }
                }
                None => self.any_service.push(loc),
            }
        }
        self.entries.push(Entry { label, policy });
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the set holds no policy.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The labelled policies, in insertion order.
    pub fn policies(&self) -> impl Iterator<Item = (&str, &Policy)> {
        self.entries.iter().map(|e| (&*e.label, &*e.policy))
    }

    /// Tests every statement that can apply to the request's service.
    pub(crate) fn scan<'a>(
        &'a self,
        policy_type: PolicyType,
        req: &Request<'_>,
        has_boundary: bool,
        scan: &mut Scan<'a>,
    ) -> SetResult {
        let mut result = SetResult::default();
        let bucket = self
            .by_service
            .get(req.service())
            .map_or(&[][..], Vec::as_slice);
        for loc in bucket.iter().chain(&self.any_service) {
            let Some((hit, statement)) = self.hit(policy_type, *loc) else {
                continue;
            };
            let mut missing = |key: &'a str| scan.missing.push(key);
            match (
                statement.applies(req, has_boundary, &mut missing),
                statement.effect(),
            ) {
                (Applies::No, _) => {}
                (Applies::Yes(grant), Effect::Allow) => {
                    result.allowed = true;
                    result.grant = result.grant.max(grant);
                    scan.hits.push(hit);
                }
                (Applies::Yes(_), Effect::Deny) => {
                    result.denied = true;
                    scan.hits.push(hit);
                }
                // A statement that cannot be evaluated never allows; a Deny that cannot be
                // evaluated denies, so an error never turns into an Allow.
                (Applies::Error(e), effect) => {
                    if effect == Effect::Deny {
                        result.denied = true;
                        scan.hits.push(hit);
                    }
                    scan.errors.push((hit, e));
                }
            }
        }
        result
    }

    fn hit(&self, policy_type: PolicyType, loc: Loc) -> Option<(Hit<'_>, &Statement)> {
        let entry = self.entries.get(loc.policy as usize)?;
        let statement = entry.policy.statements().get(loc.statement as usize)?;
        let hit = Hit {
            policy_type,
            policy_id: &entry.label,
            statement_index: loc.statement as usize,
            sid: statement.sid(),
            effect: statement.effect(),
        };
        Some((hit, statement))
    }
}
