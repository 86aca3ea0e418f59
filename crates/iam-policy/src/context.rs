//! The request being authorized: who, what action, which resource, and the context keys.

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
#[derive(Debug, Clone, Default)]
pub struct Context {
    values: FxHashMap<Box<str>, ContextValue>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
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
            self.values.get(key.to_ascii_lowercase().as_str())
        } else {
            self.values.get(key)
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no key is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
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
        if let Some(value) = self.context.values.get(key) {
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
