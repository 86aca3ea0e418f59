//! AWS's evaluation logic across policy types.
//!
//! 1. A Deny in any policy (SCPs, resource-based, identity-based, boundary, session) wins.
//! 2. Every level of SCPs must contain an applicable Allow.
//! 3. Same account: a resource-based Allow naming the caller itself (user, role session,
//!    federated user) is enough. Otherwise the identity side must allow — identity-based
//!    policies (or a resource-based Allow naming the role or `*`), within the permissions
//!    boundary and the session policies.
//! 4. Cross-account: the identity side and the resource-based policy must both allow.
//!
//! A federated user session without a session policy has no identity-side permissions.
//! The account root user has every identity-side permission in its account.

use crate::context::Request;
use crate::decision::{Decision, DecisionKind, PolicyType, Reason};
use crate::policy_set::{PolicySet, Scan, SetResult};
use crate::principal::Grant;

/// Every policy in force for one request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policies<'a> {
    /// Identity-based policies of the caller (for a federated user, those of the IAM user
    /// who created the session).
    pub identity: Option<&'a PolicySet>,
    /// The resource-based policy of the resource.
    pub resource: Option<&'a PolicySet>,
    /// The caller's permissions boundary.
    pub boundary: Option<&'a PolicySet>,
    /// The session policies; `None` when the session has none.
    pub session: Option<&'a PolicySet>,
    /// Service control policies, one set per level of the organization, root first.
    pub scps: &'a [PolicySet],
}

/// Decides a request.
pub fn evaluate<'a>(policies: &Policies<'a>, req: &Request<'_>) -> Decision<'a> {
    let mut scan = Scan::default();
    let has_boundary = policies.boundary.is_some();
    let run = |set: Option<&'a PolicySet>, ty: PolicyType, scan: &mut Scan<'a>| {
        set.map(|s| s.scan(ty, req, has_boundary, scan))
    };
    let identity = run(policies.identity, PolicyType::Identity, &mut scan).unwrap_or_default();
    let resource = run(policies.resource, PolicyType::Resource, &mut scan).unwrap_or_default();
    let boundary = run(
        policies.boundary,
        PolicyType::PermissionsBoundary,
        &mut scan,
    );
    let session = run(policies.session, PolicyType::Session, &mut scan);
    let mut scp_denied = false;
    let mut scp_gap = None;
    for (level, set) in policies.scps.iter().enumerate() {
        let level = u32::try_from(level).unwrap_or(u32::MAX);
        let r = set.scan(PolicyType::Scp(level), req, has_boundary, &mut scan);
        scp_denied |= r.denied;
        if !r.allowed && scp_gap.is_none() {
            scp_gap = Some(level);
        }
    }

    let denied = scp_denied
        || identity.denied
        || resource.denied
        || boundary.is_some_and(|b| b.denied)
        || session.is_some_and(|s| s.denied);
    let outcome = if denied {
        Err(Reason::ExplicitDeny)
    } else if let Some(level) = scp_gap {
        Err(Reason::ScpNotAllowed(level))
    } else if req.is_cross_account() {
        identity_side(req, identity, boundary, session, false).and_then(|()| {
            if resource.grant.is_some() {
                Ok(Reason::Allowed)
            } else {
                Err(Reason::NoResourceAllow)
            }
        })
    } else if resource.grant == Some(Grant::Direct) {
        Ok(Reason::AllowedByResourcePolicy)
    } else {
        let limited_grant = resource.grant == Some(Grant::Limited);
        identity_side(req, identity, boundary, session, limited_grant).map(|()| Reason::Allowed)
    };
    finish(outcome, scan)
}

/// The caller's own permissions: identity-based policies (or a same-account resource grant
/// that is limited like them), within the boundary and the session policies.
fn identity_side(
    req: &Request<'_>,
    identity: SetResult,
    boundary: Option<SetResult>,
    session: Option<SetResult>,
    resource_grant: bool,
) -> Result<(), Reason> {
    if req.caller.is_federated_user() && session.is_none() {
        return Err(Reason::FederatedUserWithoutSessionPolicy);
    }
    if !(identity.allowed || resource_grant || req.caller.is_root()) {
        return Err(Reason::NoIdentityAllow);
    }
    if boundary.is_some_and(|b| !b.allowed) {
        return Err(Reason::BoundaryNotAllowed);
    }
    if session.is_some_and(|s| !s.allowed) {
        return Err(Reason::SessionNotAllowed);
    }
    Ok(())
}

fn finish(outcome: Result<Reason, Reason>, mut scan: Scan<'_>) -> Decision<'_> {
    let (kind, reason) = match outcome {
        Ok(reason) => (DecisionKind::Allowed, reason),
        Err(Reason::ExplicitDeny) => (DecisionKind::ExplicitDeny, Reason::ExplicitDeny),
        Err(reason) => (DecisionKind::ImplicitDeny, reason),
    };
    scan.hits.sort_by(|a, b| {
        (a.policy_type, a.policy_id, a.statement_index).cmp(&(
            b.policy_type,
            b.policy_id,
            b.statement_index,
        ))
    });
    if scan.missing.len() > 1 {
        scan.missing
            .sort_unstable_by_key(|k| k.to_ascii_lowercase());
        scan.missing.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    }
    Decision {
        kind,
        reason,
        hits: scan.hits,
        errors: scan.errors,
        missing: scan.missing,
    }
}
