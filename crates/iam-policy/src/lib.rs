//! The AWS IAM policy language: parse, validate, compile, evaluate and explain.
//!
//! This crate is the pure core of iamd. It does no I/O, reads no clock, spawns nothing and
//! does not panic: documents and requests come in as values, decisions go out as values.
//!
//! - [`Policy::parse`] validates a JSON document with AWS's rules (`MalformedPolicyDocument`
//!   with the JSON path of the problem) and compiles it: wildcards are prepared, condition
//!   values typed, variables located.
//! - [`PolicySet`] groups the policies of one type and indexes statements by service prefix,
//!   so a decision visits only statements that can apply to the request's service.
//! - [`evaluate`] applies AWS's logic across SCPs, resource-based policies, identity-based
//!   policies, permissions boundaries and session policies, and returns a [`Decision`] that
//!   says which statements decided and which condition keys were missing.
//! - [`simulate`] runs one case of the offline simulator format used by `iamctl simulate`.

mod arn;
mod condition;
mod context;
mod date;
mod decision;
mod error;
mod evaluate;
mod kind;
mod parse;
mod pattern;
mod policy;
mod policy_set;
mod principal;
pub mod simulate;

pub use arn::{ArnFields, arn_fields};
pub use condition::{EvalError, EvalErrorReason};
pub use context::{Context, ContextValue, Request};
pub use date::{civil_from_days, format_iso, parse as parse_instant};
pub use decision::{Decision, DecisionKind, Hit, PolicyType, Reason};
pub use error::PolicyError;
pub use evaluate::{Policies, evaluate};
pub use kind::{PolicyKind, check_size, policy_size};
pub use policy::{Effect, Policy, Statement, Version};
pub use policy_set::PolicySet;
