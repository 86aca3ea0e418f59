//! The `Authorization` service: `Authorize` and `BatchAuthorize`, answered from this node's
//! memory (the authorization view) by the policy engine.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use iam_api::v1 as pb;
use iam_api::v1::authorization_server::Authorization;
use iam_policy::{
    ContextValue, Decision, DecisionKind, Policies, Policy, PolicyKind, PolicySet, PolicyType,
    Request as EngineRequest, evaluate,
};
use iam_store::model::KeyStatus;
use iam_store::view::{AuthzView, PrincipalKind, PrincipalView};
use iam_sts::AuthError;
use iam_sts::sigv4::verify_string_to_sign;
use tonic::{Request, Response, Status};

use super::{caller, simulate};
use crate::auth::Caller;
use crate::errors;
use crate::node::{Node, base_context};

/// Limits of a request's context.
pub const MAX_CONTEXT_KEYS: usize = 100;
/// Values of one multivalued key.
pub const MAX_CONTEXT_VALUES: usize = 100;
/// Characters of one value.
pub const MAX_VALUE_CHARS: usize = 4_096;
/// Items of one `BatchAuthorize`.
pub const MAX_BATCH: usize = 100;

/// Keys only iamd sets, from the subject's identity: a caller may not supply them.
fn is_identity_key(key: &str) -> bool {
    const PREFIX: &str = "aws:principaltag/";
    let tag = key
        .get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX));
    tag || [
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:username",
        "aws:userid",
        "aws:principaltagkeys",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalisawsservice",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(key))
}

/// The `Authorization` service.
#[derive(Debug, Clone)]
pub struct AuthorizationApi {
    pub node: Arc<Node>,
}

/// One item to decide, whatever rpc it came from.
struct Item<'a> {
    action: &'a str,
    resource: &'a str,
    context: &'a std::collections::HashMap<String, pb::ContextValue>,
    resource_policy: &'a str,
    resource_account: &'a str,
    principal_arn: Option<&'a str>,
    sigv4: Option<&'a pb::SigV4Signature>,
    /// Before each field's name in errors: empty for `Authorize`, `items[N].` in a batch.
    prefix: &'a str,
}

impl Item<'_> {
    /// `InvalidArgument` naming this item's `field`.
    fn invalid(&self, field: &str, message: impl AsRef<str>) -> Status {
        errors::invalid(&format!("{}{field}", self.prefix), message)
    }
}

/// The longest action (`service:Action`).
pub const MAX_ACTION_CHARS: usize = 128;
/// The longest resource.
pub const MAX_RESOURCE_CHARS: usize = 2_048;
/// The longest context key.
pub const MAX_KEY_CHARS: usize = 256;

/// An action as a request names it: `service:Action`, a prefix of letters, digits and `-`
/// and a name of letters and digits (compared ignoring case).
fn is_action(action: &str) -> bool {
    action.split_once(':').is_some_and(|(service, name)| {
        !service.is_empty()
            && !name.is_empty()
            && service
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && name.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The subject of an item, or why it could not be established (a decision, not an error).
enum Subject {
    /// The principal, and for a `sigv4` subject the region of its credential scope.
    Found(Arc<PrincipalView>, Option<String>),
    Failed(&'static str),
}

/// Two keys of `context` that differ only in letter case, if any: pairwise for the few keys
/// of a usual request, through a set of lowercased keys beyond (at most 100 keys of 256
/// characters, in each of 100 items).
fn same_key_twice(
    context: &std::collections::HashMap<String, pb::ContextValue>,
) -> Option<(&str, &str)> {
    if context.len() <= 8 {
        for (i, one) in context.keys().enumerate() {
            let mut later = context.keys().skip(i + 1);
            if let Some(other) = later.find(|k| k.eq_ignore_ascii_case(one)) {
                return Some((one.as_str(), other.as_str()));
            }
        }
        return None;
    }
    let mut seen: std::collections::HashMap<String, &str> =
        std::collections::HashMap::with_capacity(context.len());
    for key in context.keys() {
        if let Some(one) = seen.insert(key.to_ascii_lowercase(), key.as_str()) {
            return Some((one, key.as_str()));
        }
    }
    None
}

/// Keys of a session, which a `sigv4` subject's own credentials determine: the caller may
/// not supply them for it.
fn is_session_key(key: &str) -> bool {
    [
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:tokenissuetime",
        "aws:sourceidentity",
        "aws:federatedprovider",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(key))
}

impl AuthorizationApi {
    async fn consistency(&self, min_revision: u64, consistency: i32) -> Result<(), Status> {
        if pb::Consistency::try_from(consistency).is_err() {
            return Err(errors::invalid(
                "consistency",
                format!("`consistency` {consistency} is not a known consistency"),
            ));
        }
        if consistency == pb::Consistency::Linearizable as i32 {
            let timeout = Duration::from_millis(self.node.config.min_revision_wait_ms);
            let index = self
                .node
                .raft
                .linearizable_barrier(timeout)
                .await
                .map_err(|e| {
                    errors::unavailable(
                        &format!("cannot confirm leadership for a linearizable read: {e}"),
                        None,
                    )
                })?;
            self.node.wait_revision(index).await?;
        }
        if min_revision > 0 {
            self.node.wait_revision(min_revision).await?;
        }
        Ok(())
    }

    fn subject(
        &self,
        caller: &Caller,
        view: &AuthzView,
        item: &Item<'_>,
    ) -> Result<Subject, Status> {
        let (found, region) = match (item.principal_arn, item.sigv4) {
            (None, None) => return Ok(Subject::Found(Arc::clone(&caller.principal), None)),
            (Some(arn), _) => match view.principal_by_arn(arn) {
                Some(p) => (Arc::clone(p), None),
                None => {
                    // Ask before answering, so unauthorized callers learn nothing.
                    self.node
                        .authorize(caller, "iam:AuthorizeOnBehalfOf", arn)?;
                    return Ok(Subject::Failed("subject_not_found"));
                }
            },
            (None, Some(sig)) => match self.verify_client(view, sig) {
                Ok((p, region)) => (p, Some(region)),
                Err(e) => return Ok(Subject::Failed(subject_code(e))),
            },
        };
        self.node.authorize_on_behalf_of(caller, &found)?;
        Ok(Subject::Found(found, region))
    }

    fn verify_client(
        &self,
        view: &AuthzView,
        sig: &pb::SigV4Signature,
    ) -> Result<(Arc<PrincipalView>, String), AuthError> {
        let key = view
            .key(&sig.access_key_id)
            .ok_or(AuthError::UnknownAccessKey)?;
        if key.status != KeyStatus::Active {
            return Err(AuthError::InactiveAccessKey);
        }
        if !sig.session_token.is_empty() {
            return Err(AuthError::InvalidSessionToken);
        }
        let opened = crate::auth::open_secret(&self.node.cluster_key, key)?;
        let (region, _service) = verify_string_to_sign(
            &sig.string_to_sign,
            &sig.signature,
            opened.secret(),
            SystemTime::now(),
        )?;
        let principal = view
            .principal(&key.principal)
            .cloned()
            .ok_or(AuthError::UnknownAccessKey)?;
        Ok((principal, region))
    }

    fn decide(
        &self,
        caller: &Caller,
        view: &AuthzView,
        item: &Item<'_>,
    ) -> Result<pb::AuthorizeResult, Status> {
        if item.action.is_empty() {
            return Err(item.invalid("action", "`action` is required"));
        }
        if item.action.len() > MAX_ACTION_CHARS || !is_action(item.action) {
            return Err(item.invalid(
                "action",
                format!(
                    "`action` must be `service:Action` (letters, digits and `-`, then letters \
                     and digits), at most {MAX_ACTION_CHARS} characters"
                ),
            ));
        }
        if item.resource.is_empty() {
            return Err(item.invalid("resource", "`resource` is required"));
        }
        if item.resource.chars().count() > MAX_RESOURCE_CHARS {
            return Err(item.invalid(
                "resource",
                format!("`resource` is longer than {MAX_RESOURCE_CHARS} characters"),
            ));
        }
        if item.context.len() > MAX_CONTEXT_KEYS {
            return Err(item.invalid(
                "context",
                format!("at most {MAX_CONTEXT_KEYS} context keys"),
            ));
        }
        if let Some(long) = item
            .context
            .keys()
            .find(|k| k.chars().count() > MAX_KEY_CHARS)
        {
            let head: String = long.chars().take(32).collect();
            return Err(item.invalid(
                "context",
                format!("context key `{head}…` is longer than {MAX_KEY_CHARS} characters"),
            ));
        }
        let (subject, region) = match self.subject(caller, view, item)? {
            Subject::Found(p, region) => (p, region),
            Subject::Failed(code) => {
                return Ok(pb::AuthorizeResult {
                    decision: pb::Decision::ImplicitDeny as i32,
                    explanation: Some(pb::Explanation {
                        reason: code.into(),
                        message: "the subject could not be authenticated or found".into(),
                        ..pb::Explanation::default()
                    }),
                    principal_arn: String::new(),
                });
            }
        };
        let mut ctx = base_context(view, &subject, item.context.len());
        // Only a role can be the subject of a session ARN: a user's ARN is not parsed again.
        let session = (subject.kind == PrincipalKind::Role)
            .then_some(item.principal_arn)
            .flatten()
            .and_then(session_name);
        if let Some(session) = session {
            // A role session's `aws:userid` is the role's unique id and the session's name.
            ctx.insert_single("aws:userid", format!("{}:{session}", subject.unique_id));
        }
        if let Some(region) = region {
            // The credential scope's region, unless the resource server says otherwise.
            ctx.insert_single("aws:RequestedRegion", region);
        }
        if let Some((one, other)) = same_key_twice(item.context) {
            // Keys are compared ignoring case: two spellings of one key would leave the value
            // to the map's order.
            return Err(item.invalid(
                "context",
                format!("context keys `{one}` and `{other}` are the same key"),
            ));
        }
        for (key, value) in item.context {
            if is_identity_key(key) {
                return Err(item.invalid(
                    "context",
                    format!("context key `{key}` is set by iamd from the subject"),
                ));
            }
            if item.sigv4.is_some() && is_session_key(key) {
                return Err(item.invalid(
                    "context",
                    format!(
                        "context key `{key}` is set by the subject's own credentials \
                         (a `sigv4` subject)"
                    ),
                ));
            }
            ctx.insert(key, context_value(item, key, value)?);
        }
        let resource_policy = match item.resource_policy {
            "" => None,
            text => {
                let field = format!("{}resource_policy", item.prefix);
                let p = iam_policy::check_size(text, PolicyKind::Resource)
                    .map_err(|e| {
                        errors::status(
                            tonic::Code::ResourceExhausted,
                            e.code,
                            &e.message,
                            Some(&field),
                        )
                    })
                    .and_then(|()| {
                        Policy::parse(text, PolicyKind::Resource).map_err(|e| {
                            errors::status(
                                tonic::Code::InvalidArgument,
                                e.code,
                                &e.message,
                                Some(&field),
                            )
                        })
                    })?;
                Some(PolicySet::new([(
                    Arc::from("resource_policy"),
                    Arc::new(p),
                )]))
            }
        };
        // As the proto says: the given account, else the one in the resource's ARN, else
        // (an ARN without one, as `s3`'s, or `*`) the subject's. A resource in another
        // account makes the request cross-account: its resource policy must allow too.
        let resource_account = match item.resource_account {
            "" => simulate::arn_parts(item.resource)
                .map_or(subject.account.as_str(), |(_, account, _)| account),
            id if simulate::is_account_id(id) => id,
            other => {
                return Err(item.invalid(
                    "resource_account",
                    format!("`resource_account` must be a 12-digit account id, not `{other}`"),
                ));
            }
        };
        let req = EngineRequest::new(
            &subject.arn,
            &subject.account,
            resource_account,
            item.action,
            item.resource,
            &ctx,
        );
        let policies = Policies {
            identity: Some(&subject.identity),
            resource: resource_policy.as_ref(),
            boundary: subject.boundary.as_ref(),
            scps: view.scps(&subject.account),
            ..Policies::default()
        };
        let decision = evaluate(&policies, &req);
        Ok(pb::AuthorizeResult {
            decision: decision_kind(decision.kind) as i32,
            explanation: Some(explanation(&decision)),
            principal_arn: subject.arn.clone(),
        })
    }
}

#[tonic::async_trait]
impl Authorization for AuthorizationApi {
    async fn authorize(
        &self,
        request: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let c = caller(&request)?;
        let r = request.into_inner();
        self.consistency(r.min_revision, r.consistency).await?;
        let view = self.node.view.load();
        let (principal_arn, sigv4) = subject_of(r.subject.as_ref());
        let item = Item {
            action: &r.action,
            resource: &r.resource,
            context: &r.context,
            resource_policy: &r.resource_policy,
            resource_account: &r.resource_account,
            principal_arn,
            sigv4,
            prefix: "",
        };
        let result = self.decide(&c, &view, &item)?;
        Ok(Response::new(pb::AuthorizeResponse {
            decision: result.decision,
            explanation: result.explanation,
            revision: view.revision,
            stale: self.node.is_stale(),
            principal_arn: result.principal_arn,
        }))
    }

    async fn batch_authorize(
        &self,
        request: Request<pb::BatchAuthorizeRequest>,
    ) -> Result<Response<pb::BatchAuthorizeResponse>, Status> {
        let c = caller(&request)?;
        let r = request.into_inner();
        if r.items.is_empty() {
            return Err(errors::invalid(
                "items",
                format!("`items` is required (1 to {MAX_BATCH} items)"),
            ));
        }
        if r.items.len() > MAX_BATCH {
            return Err(errors::status(
                tonic::Code::ResourceExhausted,
                "LimitExceeded",
                &format!(
                    "`items` holds {} items, more than {MAX_BATCH}",
                    r.items.len()
                ),
                Some("items"),
            ));
        }
        self.consistency(r.min_revision, r.consistency).await?;
        let view = self.node.view.load();
        let mut results = Vec::with_capacity(r.items.len());
        for (i, it) in r.items.iter().enumerate() {
            let prefix = format!("items[{i}].");
            let (principal_arn, sigv4) = item_subject(it.subject.as_ref());
            let item = Item {
                action: &it.action,
                resource: &it.resource,
                context: &it.context,
                resource_policy: &it.resource_policy,
                resource_account: &it.resource_account,
                principal_arn,
                sigv4,
                prefix: &prefix,
            };
            results.push(self.decide(&c, &view, &item)?);
        }
        Ok(Response::new(pb::BatchAuthorizeResponse {
            results,
            revision: view.revision,
            stale: self.node.is_stale(),
        }))
    }

    async fn simulate_principal_policy(
        &self,
        request: Request<pb::SimulatePrincipalPolicyRequest>,
    ) -> Result<Response<pb::SimulatePrincipalPolicyResponse>, Status> {
        simulate::simulate_principal_policy(&self.node, request)
            .await
            .map(Response::new)
    }

    async fn simulate_custom_policy(
        &self,
        request: Request<pb::SimulateCustomPolicyRequest>,
    ) -> Result<Response<pb::SimulateCustomPolicyResponse>, Status> {
        simulate::simulate_custom_policy(&self.node, request)
            .await
            .map(Response::new)
    }
}

fn subject_of(
    s: Option<&pb::authorize_request::Subject>,
) -> (Option<&str>, Option<&pb::SigV4Signature>) {
    match s {
        Some(pb::authorize_request::Subject::PrincipalArn(a)) => (Some(a.as_str()), None),
        Some(pb::authorize_request::Subject::Sigv4(s)) => (None, Some(s)),
        None => (None, None),
    }
}

fn item_subject(
    s: Option<&pb::authorize_item::Subject>,
) -> (Option<&str>, Option<&pb::SigV4Signature>) {
    match s {
        Some(pb::authorize_item::Subject::PrincipalArn(a)) => (Some(a.as_str()), None),
        Some(pb::authorize_item::Subject::Sigv4(s)) => (None, Some(s)),
        None => (None, None),
    }
}

/// The session name of an assumed-role session ARN
/// (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
fn session_name(arn: &str) -> Option<&str> {
    let fields = iam_policy::arn_fields(arn).filter(|f| f.service == "sts")?;
    let (_role, session) = fields
        .resource
        .strip_prefix("assumed-role/")?
        .split_once('/')?;
    (!session.is_empty()).then_some(session)
}

fn subject_code(e: AuthError) -> &'static str {
    match e {
        AuthError::UnknownAccessKey | AuthError::InactiveAccessKey => {
            "subject_invalid_client_token_id"
        }
        AuthError::RequestExpired => "subject_request_expired",
        AuthError::InvalidSessionToken => "subject_expired_token",
        AuthError::MissingAuthentication
        | AuthError::MalformedAuthorization
        | AuthError::UnsupportedAlgorithm
        | AuthError::MissingDate
        | AuthError::MissingSignedHeader
        | AuthError::CredentialScopeMismatch
        | AuthError::SignatureMismatch => "subject_signature_does_not_match",
    }
}

fn context_value(
    item: &Item<'_>,
    key: &str,
    value: &pb::ContextValue,
) -> Result<ContextValue, Status> {
    let check = |v: &str| {
        if v.chars().count() > MAX_VALUE_CHARS {
            Err(item.invalid(
                "context",
                format!("the value of `{key}` is longer than {MAX_VALUE_CHARS} characters"),
            ))
        } else {
            Ok(())
        }
    };
    match &value.value {
        Some(pb::context_value::Value::StringValue(s)) => {
            check(s)?;
            Ok(ContextValue::Single(s.clone()))
        }
        Some(pb::context_value::Value::StringList(list)) => {
            if list.values.len() > MAX_CONTEXT_VALUES {
                return Err(item.invalid(
                    "context",
                    format!("`{key}` has more than {MAX_CONTEXT_VALUES} values"),
                ));
            }
            for v in &list.values {
                check(v)?;
            }
            Ok(ContextValue::Multi(list.values.clone()))
        }
        None => Err(item.invalid("context", format!("`{key}` has no value"))),
    }
}

fn decision_kind(k: DecisionKind) -> pb::Decision {
    match k {
        DecisionKind::Allowed => pb::Decision::Allowed,
        DecisionKind::ExplicitDeny => pb::Decision::ExplicitDeny,
        DecisionKind::ImplicitDeny => pb::Decision::ImplicitDeny,
    }
}

fn policy_type(t: PolicyType) -> (pb::PolicyType, u32) {
    match t {
        PolicyType::Scp(level) => (pb::PolicyType::Scp, level),
        PolicyType::Resource => (pb::PolicyType::Resource, 0),
        PolicyType::Identity => (pb::PolicyType::Identity, 0),
        PolicyType::PermissionsBoundary => (pb::PolicyType::PermissionsBoundary, 0),
        PolicyType::Session => (pb::PolicyType::Session, 0),
    }
}

/// The engine's explanation on the wire.
pub fn explanation(d: &Decision<'_>) -> pb::Explanation {
    pb::Explanation {
        reason: d.reason.code().into(),
        message: d.reason.message(),
        deciding_statements: d
            .deciding()
            .map(|h| {
                let (ty, level) = policy_type(h.policy_type);
                pb::DecidingStatement {
                    policy_type: ty as i32,
                    scp_level: level,
                    policy_id: h.policy_id.into(),
                    statement_index: u32::try_from(h.statement_index).unwrap_or(u32::MAX),
                    sid: h.sid.unwrap_or_default().into(),
                    effect: match h.effect {
                        iam_policy::Effect::Allow => pb::Effect::Allow as i32,
                        iam_policy::Effect::Deny => pb::Effect::Deny as i32,
                    },
                }
            })
            .collect(),
        missing_context_keys: d
            .missing_context_keys()
            .iter()
            .map(|k| (*k).to_owned())
            .collect(),
        evaluation_errors: d
            .errors()
            .map(|(h, e)| {
                let (ty, level) = policy_type(h.policy_type);
                pb::EvaluationError {
                    policy_type: ty as i32,
                    scp_level: level,
                    policy_id: h.policy_id.into(),
                    statement_index: u32::try_from(h.statement_index).unwrap_or(u32::MAX),
                    sid: h.sid.unwrap_or_default().into(),
                    message: e.reason.message().into(),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::is_identity_key;

    #[test]
    fn a_session_arn_names_its_session() {
        use super::session_name;
        assert_eq!(
            session_name("arn:aws:sts::111111111111:assumed-role/bot/run-7"),
            Some("run-7")
        );
        for other in [
            "arn:aws:iam::111111111111:role/bot",
            "arn:aws:sts::111111111111:assumed-role/bot",
            "arn:aws:sts::111111111111:assumed-role/bot/",
            "arn:aws:sts::111111111111:federated-user/bob",
            "arn:aws:iam::111111111111:user/assumed-role/x/y",
        ] {
            assert_eq!(session_name(other), None, "{other}");
        }
    }

    #[test]
    fn two_spellings_of_a_key_are_found_among_few_keys_or_many() {
        use super::same_key_twice;
        let value = iam_api::v1::ContextValue::default();
        for n in [2usize, 8, 9, 100] {
            let mut context: std::collections::HashMap<String, _> = (0..n - 1)
                .map(|i| (format!("trading:Key{i}"), value.clone()))
                .collect();
            assert!(same_key_twice(&context).is_none(), "{n}");
            context.insert("TRADING:KEY0".into(), value.clone());
            let (a, b) = same_key_twice(&context).expect("found");
            assert!(a.eq_ignore_ascii_case(b) && a != b, "{n}: {a} {b}");
        }
    }

    #[test]
    fn identity_keys_are_recognised_in_any_case() {
        for key in [
            "aws:PrincipalArn",
            "AWS:USERID",
            "aws:principaltagkeys",
            "aws:PrincipalTag/desk",
            "AWS:PRINCIPALTAG/",
            "aws:PrincipalOrgID",
            "aws:PrincipalOrgPaths",
            "AWS:PrincipalIsAWSService",
        ] {
            assert!(is_identity_key(key), "{key}");
        }
        for key in [
            "aws:SourceIp",
            "aws:PrincipalTa",
            "aws:ResourceTag/desk",
            "aws:PrincipalArnX",
            "",
            "é",
        ] {
            assert!(!is_identity_key(key), "{key}");
        }
    }
}
