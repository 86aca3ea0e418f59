//! The request being authorized: who, what action, which resource, and the context keys.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::principal::{Caller, CallerKind};

/// The value of one context key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single-valued key, such as `aws:SourceIp`.
    Single(String),
    /// A multivalued key, such as `aws:TagKeys`; an empty list is a present but empty set.
    Multi(Vec<String>),
}

/// The context keys of a request. Key names are case-insensitive.
///
/// A context may stand on a shared base (see [`Context::on`]): the keys that are the same
/// for every request of a principal, such as its tags, are prepared once and only the
/// request's own keys are inserted per request. A key set here hides the base's.
#[derive(Debug, Clone, Default)]
pub struct Context {
    values: FxHashMap<Box<str>, ContextValue>,
    base: Option<Arc<Context>>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty context standing on `base`: every key of `base` is visible until set here.
    pub fn on(base: Arc<Context>) -> Self {
        Self {
            values: FxHashMap::default(),
            base: Some(base),
        }
    }

    /// Makes room for `additional` more keys of the request's own, so that inserting them
    /// does not grow the table step by step.
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional);
    }

    /// Sets a key, replacing any earlier value of the same key (in any letter case).
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        self.values.insert(key.to_ascii_lowercase().into(), value);
    }

    /// Sets a single-valued key.
    pub fn insert_single(&mut self, key: &str, value: impl Into<String>) {
        self.insert(key, ContextValue::Single(value.into()));
    }

    /// The value of a key, whatever its letter case.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.get_lowercase(&key.to_ascii_lowercase())
        } else {
            self.get_lowercase(key)
        }
    }

    /// The value of a lowercased key, here or in the base.
    fn get_lowercase(&self, key: &str) -> Option<&ContextValue> {
        match self.values.get(key) {
            Some(value) => Some(value),
            None => self.base.as_deref().and_then(|b| b.get_lowercase(key)),
        }
    }

    /// Number of keys, the base's included.
    pub fn len(&self) -> usize {
        let hidden = |b: &Context| {
            self.values
                .keys()
                .filter(|k| b.get_lowercase(k).is_some())
                .count()
        };
        match self.base.as_deref() {
            Some(b) => self.values.len() + b.len() - hidden(b),
            None => self.values.len(),
        }
    }

    /// True when no key is set, here or in the base.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The result of looking a key up in a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup<'a> {
    Single(&'a str),
    Multi(&'a [String]),
    Absent,
}

/// A request prepared for evaluation: the action lowercased, the caller parsed, and the keys
/// that AWS derives from the principal available alongside the explicit context.
#[derive(Debug)]
pub struct Request<'a> {
    pub(crate) principal_account: &'a str,
    pub(crate) resource_account: &'a str,
    pub(crate) action: String,
    pub(crate) resource: &'a str,
    pub(crate) context: &'a Context,
    pub(crate) caller: Caller<'a>,
}

impl<'a> Request<'a> {
    /// Prepares a request. `principal` is the caller's ARN (or a service or federated
    /// principal name); the accounts decide whether the request is cross-account.
    pub fn new(
        principal: &'a str,
        principal_account: &'a str,
        resource_account: &'a str,
        action: &str,
        resource: &'a str,
        context: &'a Context,
    ) -> Self {
        Request {
            principal_account,
            resource_account,
            action: action.to_ascii_lowercase(),
            resource,
            context,
            caller: Caller::parse(principal),
        }
    }

    /// The service prefix of the action (`s3` in `s3:GetObject`), lowercased.
    pub(crate) fn service(&self) -> &str {
        self.action
            .split_once(':')
            .map_or(self.action.as_str(), |(s, _)| s)
    }

    /// True when the principal and the resource are in different accounts.
    pub fn is_cross_account(&self) -> bool {
        self.principal_account != self.resource_account
    }

    /// Looks a (lowercased) key up: the explicit context first, then the keys AWS derives
    /// from the principal (`aws:username`, `aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:PrincipalType`, and `aws:userid` where it follows from the ARN).
    pub(crate) fn lookup(&self, key: &str) -> Lookup<'_> {
        if let Some(value) = self.context.get_lowercase(key) {
            return match value {
                ContextValue::Single(s) => Lookup::Single(s),
                ContextValue::Multi(v) => Lookup::Multi(v),
            };
        }
        self.derived(key).map_or(Lookup::Absent, Lookup::Single)
    }

    fn derived(&self, key: &str) -> Option<&str> {
        let caller = &self.caller;
        match key {
            "aws:username" => match caller.kind {
                CallerKind::User { name } => Some(name),
                _ => None,
            },
            "aws:principalarn" => caller.principal_arn(),
            "aws:principalaccount" => {
                (!self.principal_account.is_empty()).then_some(self.principal_account)
            }
            "aws:principaltype" => caller.principal_type(),
            "aws:userid" => match caller.kind {
                CallerKind::Root => caller.account,
                _ => None,
            },
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single(v: &str) -> ContextValue {
        ContextValue::Single(v.into())
    }

    #[test]
    fn a_context_on_a_base_sees_the_base_and_hides_what_it_sets_again() {
        let mut base = Context::new();
        base.insert_single("aws:PrincipalTag/desk", "delta");
        base.insert_single("aws:SourceIp", "10.0.0.1");
        let base = Arc::new(base);

        let mut ctx = Context::on(Arc::clone(&base));
        ctx.insert_single("AWS:SOURCEIP", "10.9.9.9");
        ctx.insert_single("aws:RequestedRegion", "eu-west-1");

        assert_eq!(ctx.get("aws:principaltag/DESK"), Some(&single("delta")));
        assert_eq!(ctx.get("aws:SourceIp"), Some(&single("10.9.9.9")));
        assert_eq!(base.get("aws:SourceIp"), Some(&single("10.0.0.1")));
        assert_eq!(ctx.get("aws:requestedregion"), Some(&single("eu-west-1")));
        assert_eq!(ctx.get("aws:MissingKey"), None);
        assert_eq!(ctx.len(), 3, "the key set again counts once");
        assert!(!Context::on(base).is_empty());
        assert!(Context::on(Arc::new(Context::new())).is_empty());
    }

    #[test]
    fn conditions_read_the_base_through_a_request() {
        let mut base = Context::new();
        base.insert_single("aws:PrincipalTag/team", "quant");
        let ctx = Context::on(Arc::new(base));
        let req = Request::new(
            "arn:aws:iam::111111111111:user/alice",
            "111111111111",
            "111111111111",
            "s3:GetObject",
            "*",
            &ctx,
        );
        assert!(matches!(
            req.lookup("aws:principaltag/team"),
            Lookup::Single("quant")
        ));
        assert!(matches!(
            req.lookup("aws:username"),
            Lookup::Single("alice")
        ));
    }
}
