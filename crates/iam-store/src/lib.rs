//! iamd's replicated state.
//!
//! - [`Machine`]: the contract of a deterministic, replicated state machine, and
//!   [`IamState`], the identity store that implements it: accounts, users, groups, roles,
//!   managed and inline policies, boundaries, tags, access keys, login profiles.
//! - [`Write`]/[`Op`]: the replicated commands; time and random ids come from the proposer.
//! - [`view`]: the authorization view, compiled per principal at write time, updated
//!   incrementally and swapped atomically for lock-free reads.
//! - `raft`: openraft storage on sled — the Raft log, vote and committed index, and the
//!   state machine with its snapshots. sled and openraft types stay inside this crate and
//!   `iam-raft`.

pub mod apply;
pub mod command;
pub mod error;
pub mod library;
mod machine;
pub mod model;
pub mod raft;
pub mod state;
pub mod validate;
pub mod view;

pub use command::{Op, PrincipalKind, Taggable, Write};
pub use error::{ErrorCode, StoreError, StoreResult};
pub use machine::{AppliedHook, Machine};
pub use state::{Changes, IamState, Outcome, Response};
